"""Where uploaded and produced files live: a real S3 bucket, or the sandbox's own signed storage.

With ``config.s3_endpoint_url`` set, files go to ``config.s3_bucket`` and clients get boto3
presigned URLs. Otherwise the sandbox keeps files in its SQLite database and hands out its own
expiring HMAC-signed URLs under ``/sandbox-uploads/<key>``: ``PUT`` to upload, ``GET`` to download,
403 when the signature is wrong or the URL has expired.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request, Response

from batch_orchestration.sandbox.context import SandboxContext
from batch_orchestration.sandbox.store import Store, utc_now

UPLOAD_PREFIX = "/sandbox-uploads"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sandbox_blobs (key TEXT PRIMARY KEY, content BLOB NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sandbox_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class BlobStore(Protocol):
    def exists(self, key: str) -> bool: ...
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, content: bytes, content_type: str = "text/csv") -> None: ...
    def upload_url(self, key: str, base_url: str) -> str: ...
    def download_url(self, key: str, base_url: str) -> str: ...


class LocalBlobStore:
    """Files in the sandbox database, reachable through signed ``/sandbox-uploads`` URLs."""

    def __init__(self, store: Store, ttl_seconds: int) -> None:
        self._store = store
        self._ttl = ttl_seconds
        store.ensure_schema(_SCHEMA)
        store.execute(
            "INSERT OR IGNORE INTO sandbox_secrets (name, value) VALUES ('blob-signing', ?)",
            (secrets.token_hex(32),),
        )
        # Persisted, so URLs handed out before a restart stay valid after it.
        self._secret = store.execute("SELECT value FROM sandbox_secrets WHERE name = 'blob-signing'")[0][0]

    def exists(self, key: str) -> bool:
        return bool(self._store.execute("SELECT 1 FROM sandbox_blobs WHERE key = ?", (key,)))

    def get(self, key: str) -> bytes | None:
        rows = self._store.execute("SELECT content FROM sandbox_blobs WHERE key = ?", (key,))
        return bytes(rows[0][0]) if rows else None

    def put(self, key: str, content: bytes, content_type: str = "text/csv") -> None:
        self._store.execute(
            "INSERT INTO sandbox_blobs (key, content, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET content = excluded.content, updated_at = excluded.updated_at",
            (key, content, utc_now()),
        )

    def signature(self, method: str, key: str, expires: int) -> str:
        message = f"{method}\n{key}\n{expires}".encode()
        return hmac.new(self._secret.encode(), message, hashlib.sha256).hexdigest()

    def verify(self, method: str, key: str, expires: str, signature: str) -> bool:
        """True when the signature is this server's for (method, key, expires) and not yet expired."""
        if not expires.isdigit():
            return False
        expected = self.signature(method, key, int(expires))
        return hmac.compare_digest(expected, signature) and time.time() < int(expires)

    def _signed(self, method: str, key: str, base_url: str) -> str:
        expires = int(time.time()) + self._ttl
        query = urlencode({"expires": expires, "signature": self.signature(method, key, expires)})
        return f"{base_url.rstrip('/')}{UPLOAD_PREFIX}/{quote(key)}?{query}"

    def upload_url(self, key: str, base_url: str) -> str:
        return self._signed("PUT", key, base_url)

    def download_url(self, key: str, base_url: str) -> str:
        return self._signed("GET", key, base_url)


class S3BlobStore:
    """Files in an S3 bucket (moto's server in tests), with boto3 presigned URLs."""

    def __init__(self, endpoint_url: str, bucket: str, ttl_seconds: int) -> None:
        import boto3
        from botocore.config import Config

        self._bucket = bucket
        self._ttl = ttl_seconds
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def put(self, key: str, content: bytes, content_type: str = "text/csv") -> None:
        self._client.put_object(Bucket=self._bucket, Key=key, Body=content, ContentType=content_type)

    def _presign(self, operation: str, key: str) -> str:
        return self._client.generate_presigned_url(
            operation, Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=self._ttl
        )

    def upload_url(self, key: str, base_url: str) -> str:
        return self._presign("put_object", key)

    def download_url(self, key: str, base_url: str) -> str:
        return self._presign("get_object", key)


def blob_store_for(ctx: SandboxContext) -> BlobStore:
    config = ctx.config
    if config.s3_endpoint_url:
        return S3BlobStore(config.s3_endpoint_url, config.s3_bucket, config.upload_url_ttl_seconds)
    return LocalBlobStore(ctx.store, config.upload_url_ttl_seconds)


def install_signed_url_routes(app: FastAPI, blobs: LocalBlobStore) -> None:
    """Serve ``PUT``/``GET /sandbox-uploads/<key>`` for the URLs ``blobs`` signs."""
    router = APIRouter(prefix=UPLOAD_PREFIX, tags=["sandbox signed uploads"])
    forbidden = Response("Signature invalid or URL expired", status_code=403, media_type="text/plain")

    @router.put("/{key:path}")
    async def upload(key: str, request: Request, expires: str = "", signature: str = "") -> Response:
        if not blobs.verify("PUT", key, expires, signature):
            return forbidden
        blobs.put(key, await request.body(), request.headers.get("content-type", "text/csv"))
        return Response(status_code=200)

    @router.get("/{key:path}")
    def download(key: str, expires: str = "", signature: str = "") -> Response:
        if not blobs.verify("GET", key, expires, signature):
            return forbidden
        content = blobs.get(key)
        if content is None:
            return Response("No such file", status_code=404, media_type="text/plain")
        return Response(content, media_type="text/csv")

    app.include_router(router)
