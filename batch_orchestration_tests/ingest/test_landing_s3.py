"""The S3 landing zone against moto's S3 server, through real boto3 calls."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from batch_orchestration.ingest.landing import LandingNameError, LandingZone, S3LandingZone
from batch_orchestration.ingest.mapping import parse_mapping
from batch_orchestration.ingest.staging import stage_partition
from batch_orchestration_tests.ingest.collector import FrameCollector


def put(client: Any, bucket: str, key: str, body: bytes = b"CUST_NO\nC1\n") -> None:
    client.put_object(Bucket=bucket, Key=key, Body=body)


@pytest.fixture
def zone(s3_client: Any, bucket: str) -> S3LandingZone:
    return S3LandingZone(bucket, "exports/legacy/", s3_client)


def test_is_a_landing_zone(zone: S3LandingZone) -> None:
    assert isinstance(zone, LandingZone)
    assert zone.describe().startswith("S3 landing zone s3://")


def test_list_days_from_the_cursor(zone: S3LandingZone, s3_client: Any, bucket: str) -> None:
    for day in ("2024-01-14", "2024-01-15", "2024-01-16", "2024-02-01"):
        put(s3_client, bucket, f"exports/legacy/customers/{day}/export.csv")
    put(s3_client, bucket, "exports/legacy/invoices/2024-01-10/export.csv")
    put(s3_client, bucket, "exports/other/customers/2024-01-20/export.csv")
    assert zone.list_days("customers") == ["2024-01-14", "2024-01-15", "2024-01-16", "2024-02-01"]
    assert zone.list_days("customers", since="2024-01-15") == ["2024-01-15", "2024-01-16", "2024-02-01"]
    assert zone.list_days("customers", since="2024-02-02") == []
    assert zone.list_days("invoices") == ["2024-01-10"]
    assert zone.list_days("invoice_line_items") == []


def test_list_days_pages_and_lists_only_from_the_cursor(s3_client: Any, bucket: str) -> None:
    days = [f"2024-{month:02d}-{day:02d}" for month in (1, 2, 3) for day in range(1, 29)]
    for day in days:
        put(s3_client, bucket, f"customers/{day}/a.csv")
    zone = S3LandingZone(bucket, "", s3_client, page_size=10)  # fewer than the folders: pages are followed
    assert zone.list_days("customers") == days

    listed: list[str] = []

    def record(parsed: dict[str, Any], **_: Any) -> None:
        listed.extend(p["Prefix"] for p in parsed.get("CommonPrefixes", []))
        listed.extend(c["Key"] for c in parsed.get("Contents", []))

    s3_client.meta.events.register("after-call.s3.ListObjectsV2", record)
    assert zone.list_days("customers", since="2024-03-01") == days[56:]
    # What S3 sent back is only the folders from the cursor on, never the whole bucket.
    assert listed == [f"customers/{day}/" for day in days[56:]]


def test_bad_day_prefixes_are_skipped_and_described(zone: S3LandingZone, s3_client: Any, bucket: str) -> None:
    put(s3_client, bucket, "exports/legacy/customers/2024-01-15/export.csv")
    put(s3_client, bucket, "exports/legacy/customers/2024-02-30/export.csv")
    put(s3_client, bucket, "exports/legacy/customers/latest/export.csv")
    put(s3_client, bucket, "exports/legacy/customers/stray.csv")
    assert zone.list_days("customers") == ["2024-01-15"]
    assert {e.key for e in zone.skipped} == {"customers/2024-02-30", "customers/latest"}
    assert "customers/latest (folder name is not a YYYY-MM-DD date)" in zone.describe()


def test_list_files_and_read_content(zone: S3LandingZone, s3_client: Any, bucket: str) -> None:
    day = "exports/legacy/customers/2024-01-15"
    put(s3_client, bucket, f"{day}/b.csv", b"CUST_NO\nC2\n")
    put(s3_client, bucket, f"{day}/a.csv", b"CUST_NO\nC1\n")
    put(s3_client, bucket, f"{day}/manifest.json", b"{}")
    put(s3_client, bucket, f"{day}/nested/c.csv")
    put(s3_client, bucket, f"{day}/.hidden.csv")
    put(s3_client, bucket, f"{day}/../escape.csv")
    files = zone.list_files("customers", "2024-01-15")
    assert [f.key for f in files] == ["customers/2024-01-15/a.csv", "customers/2024-01-15/b.csv"]
    assert [f.size for f in files] == [11, 11]
    with files[1].open() as stream:
        assert stream.read() == b"CUST_NO\nC2\n"
    assert zone.list_files("customers", "2024-01-16") == []


def test_list_day_gives_every_object_not_staged_with_its_reason(
    zone: S3LandingZone, s3_client: Any, bucket: str
) -> None:
    day = "exports/legacy/customers/2024-01-15"
    put(s3_client, bucket, f"{day}/", b"")  # the marker an S3 console's "create folder" leaves: not a file
    for name in ("a.csv", "..hidden; export.csv", "export.csv.txt", "back\\slash.csv", "nested/c.csv"):
        put(s3_client, bucket, f"{day}/{name}")
    listing = zone.list_day("customers", "2024-01-15")
    assert [f.key for f in listing.files] == ["customers/2024-01-15/a.csv"]
    assert [(e.key, e.reason) for e in listing.ignored] == [
        ("customers/2024-01-15/..hidden; export.csv", "hidden or partial file"),
        ("customers/2024-01-15/back\\slash.csv", "unsafe characters in name"),
        ("customers/2024-01-15/export.csv.txt", "not a .csv file"),
        ("customers/2024-01-15/nested", "a folder: only the files directly in the day folder are staged"),
    ]
    assert set(listing.ignored) <= set(zone.skipped)


def test_version_is_the_etag_and_changes_on_overwrite(zone: S3LandingZone, s3_client: Any, bucket: str) -> None:
    key = "exports/legacy/customers/2024-01-15/a.csv"
    put(s3_client, bucket, key, b"CUST_NO\nC1\n")
    (before,) = zone.list_files("customers", "2024-01-15")
    assert before.version == s3_client.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    put(s3_client, bucket, key, b"CUST_NO\nC2\n")
    (after,) = zone.list_files("customers", "2024-01-15")
    assert after.version != before.version
    with after.open() as stream:
        assert stream.read() == b"CUST_NO\nC2\n"


def test_reading_a_listed_file_replaced_since_fails_loudly(zone: S3LandingZone, s3_client: Any, bucket: str) -> None:
    key = "exports/legacy/customers/2024-01-15/a.csv"
    put(s3_client, bucket, key, b"CUST_NO\nC1\n")
    (listed,) = zone.list_files("customers", "2024-01-15")
    put(s3_client, bucket, key, b"CUST_NO\nC1\nC2\n")
    with pytest.raises(ClientError, match="PreconditionFailed"):
        listed.open()


def test_names_are_checked(zone: S3LandingZone, s3_client: Any) -> None:
    with pytest.raises(LandingNameError):
        zone.list_days("../customers")
    with pytest.raises(LandingNameError):
        zone.list_files("customers", "2024-02-30")
    with pytest.raises(LandingNameError):
        zone.list_days("customers", since="yesterday")
    with pytest.raises(LandingNameError):
        S3LandingZone("b", "exports/../other", s3_client)


def test_no_prefix(s3_client: Any, bucket: str) -> None:
    put(s3_client, bucket, "customers/2024-01-15/a.csv")
    zone = S3LandingZone(bucket, "", s3_client)
    assert zone.list_days("customers") == ["2024-01-15"]
    assert [f.key for f in zone.list_files("customers", "2024-01-15")] == ["customers/2024-01-15/a.csv"]


def test_staging_streams_from_s3(zone: S3LandingZone, s3_client: Any, bucket: str) -> None:
    body = "CUST_NO,CUST_NAME\n" + "".join(f"C{i},Name {i}\n" for i in range(1, 2001))
    put(s3_client, bucket, "exports/legacy/customers/2024-01-15/a.csv", body.encode())
    mapping = parse_mapping("entity: customers\ncolumns: {customer_key: CUST_NO, name: CUST_NAME}\n")
    sink = FrameCollector()
    result = stage_partition(zone, mapping, "2024-01-15", sink, chunk_rows=500)
    assert result.rows_staged == 2000
    assert len(sink.frames) == 4
    frame = sink.frame()
    assert frame["source_row"].tolist() == list(range(1, 2001))
    assert frame["customer_key"].iloc[-1] == "C2000"
