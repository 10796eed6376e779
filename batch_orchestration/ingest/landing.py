"""Landing zones: where the legacy exports arrive, laid out as ``<root>/<entity>/<YYYY-MM-DD>/*.csv``.

Everything found in a landing zone is untrusted: an entity must be a plain identifier, a day folder
must be a real calendar date, a file must be a direct ``.csv`` child of its day folder and must stay
inside the root (no ``..``, no symlink leading out). Anything else is skipped — a stray folder never
stops the pipeline — and never silently: ``list_day`` returns every entry of a day it does not stage
with the reason (staging reports them with the day), and ``describe()`` lists what was skipped so far.
"""

from __future__ import annotations

import logging
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

from batch_orchestration.warehouse.backend import is_identifier

log = logging.getLogger(__name__)

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_SKIPPED_KEPT = 100


class LandingNameError(ValueError):
    """An entity or day given by the caller that cannot name a landing folder."""


def check_entity(entity: str) -> str:
    if not is_identifier(entity):
        raise LandingNameError(f"entity must be a lower-case identifier, got {entity!r}")
    return entity


def is_day(name: str) -> bool:
    """``YYYY-MM-DD`` and a real calendar date (``2024-02-30`` is not)."""
    if not _DAY.match(name):
        return False
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


def check_day(day: str) -> str:
    if not is_day(day):
        raise LandingNameError(f"day must be a real date written YYYY-MM-DD, got {day!r}")
    return day


def file_name_problem(name: str) -> str | None:
    """Why a file name is not a stageable export, or None if it is."""
    if any(ch in name for ch in "/\\") or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "unsafe characters in name"
    if name.startswith("."):
        return "hidden or partial file"
    if not name.lower().endswith(".csv"):
        return "not a .csv file"
    return None


FOLDER_IN_DAY = "a folder: only the files directly in the day folder are staged"
_ENTITY_OUTSIDE = "entity folder leads outside the landing root"
_DAY_OUTSIDE = "day folder leads outside the landing root"


@dataclass(frozen=True)
class LandingFile:
    """One export file. ``version`` changes whenever the content does (local mtime+size, S3 ETag)."""

    key: str
    name: str
    version: str
    size: int
    opener: Callable[[], BinaryIO] = field(repr=False, compare=False)

    def open(self) -> BinaryIO:
        """A binary stream over the content; the caller closes it."""
        return self.opener()


@dataclass(frozen=True)
class SkippedEntry:
    key: str
    reason: str


@dataclass(frozen=True)
class DayListing:
    """One entity's day folder: the files to stage, and every other entry with why it is not staged."""

    files: list[LandingFile]
    ignored: list[SkippedEntry]


@runtime_checkable
class LandingZone(Protocol):
    def list_day(self, entity: str, day: str) -> DayListing:
        """The day's ``.csv`` files and what else it holds, each sorted by key; empty if the folder is missing."""
        ...

    def list_files(self, entity: str, day: str) -> list[LandingFile]:
        """The files of ``list_day``: the ``.csv`` files of one entity and day, sorted by key."""
        ...

    def list_days(self, entity: str, since: str | None = None) -> list[str]:
        """The valid date folders of an entity, sorted, from ``since`` (inclusive) on."""
        ...

    def describe(self) -> str:
        """Where the zone is, and what it skipped as untrustworthy so far."""
        ...


class _SkipLog:
    """Remembers (a bounded number of) skipped entries for ``describe()`` and logs each one once."""

    def __init__(self) -> None:
        self.skipped: list[SkippedEntry] = []
        self._seen: set[SkippedEntry] = set()

    def skip(self, key: str, reason: str) -> None:
        entry = SkippedEntry(key, reason)
        if entry in self._seen:
            return
        log.warning("landing zone: skipping %r: %s", key, reason)
        if len(self.skipped) < _MAX_SKIPPED_KEPT:
            self.skipped.append(entry)
            self._seen.add(entry)

    def summary(self) -> str:
        if not self.skipped:
            return ""
        listed = ", ".join(f"{e.key} ({e.reason})" for e in self.skipped)
        return f"; skipped {len(self.skipped)}: {listed}"


class _Zone(ABC):
    """What both zones share: the skip log, and a day's listing sorted out of ``_scan_day``."""

    def __init__(self) -> None:
        self._skips = _SkipLog()

    @property
    def skipped(self) -> list[SkippedEntry]:
        return list(self._skips.skipped)

    def list_day(self, entity: str, day: str) -> DayListing:
        files: list[LandingFile] = []
        ignored: list[SkippedEntry] = []
        for entry in self._scan_day(check_entity(entity), check_day(day)):
            if isinstance(entry, SkippedEntry):
                self._skips.skip(entry.key, entry.reason)
                ignored.append(entry)
            else:
                files.append(entry)
        return DayListing(sorted(files, key=lambda f: f.key), sorted(ignored, key=lambda e: e.key))

    def list_files(self, entity: str, day: str) -> list[LandingFile]:
        return self.list_day(entity, day).files

    @abstractmethod
    def _scan_day(self, entity: str, day: str) -> Iterator[LandingFile | SkippedEntry]:
        """Every entry of the (checked) day folder: a file to stage, or why it is not staged."""


class LocalLandingZone(_Zone):
    """A folder on local disk."""

    def __init__(self, root: str | Path) -> None:
        super().__init__()
        self.root = Path(root).resolve()

    def describe(self) -> str:
        return f"local landing zone {self.root}{self._skips.summary()}"

    def _inside(self, path: Path) -> bool:
        """True if the path, symlinks resolved, is still under the root."""
        return path.resolve().is_relative_to(self.root)

    def _entity_dir(self, entity: str) -> Path | None:
        directory = self.root / check_entity(entity)
        if not directory.is_dir():
            return None
        if not self._inside(directory):
            self._skips.skip(entity, _ENTITY_OUTSIDE)
            return None
        return directory

    def list_days(self, entity: str, since: str | None = None) -> list[str]:
        if since is not None:
            check_day(since)
        directory = self._entity_dir(entity)
        if directory is None:
            return []
        days = []
        with os.scandir(directory) as entries:
            for entry in entries:
                key = f"{entity}/{entry.name}"
                if not entry.is_dir():
                    continue
                if not is_day(entry.name):
                    self._skips.skip(key, "folder name is not a YYYY-MM-DD date")
                elif not self._inside(Path(entry.path)):
                    self._skips.skip(key, _DAY_OUTSIDE)
                elif since is None or entry.name >= since:
                    days.append(entry.name)
        return sorted(days)

    def _scan_day(self, entity: str, day: str) -> Iterator[LandingFile | SkippedEntry]:
        entity_dir = self.root / entity
        day_dir = entity_dir / day
        if not day_dir.is_dir():
            return
        if not self._inside(entity_dir):
            yield SkippedEntry(entity, _ENTITY_OUTSIDE)
        elif not self._inside(day_dir):
            yield SkippedEntry(f"{entity}/{day}", _DAY_OUTSIDE)
        else:
            with os.scandir(day_dir) as entries:
                for entry in entries:
                    key = f"{entity}/{day}/{entry.name}"
                    problem = self._entry_problem(entry)
                    if problem is not None:
                        yield SkippedEntry(key, problem)
                    else:
                        yield self._landing_file(key, entry.name, Path(entry.path).resolve())

    def _entry_problem(self, entry: os.DirEntry[str]) -> str | None:
        if not self._inside(Path(entry.path)):
            return "file leads outside the landing root"
        if entry.is_dir():
            return FOLDER_IN_DAY
        problem = file_name_problem(entry.name)
        if problem is None and not entry.is_file():
            return "not a regular file"
        return problem

    @staticmethod
    def _landing_file(key: str, name: str, path: Path) -> LandingFile:
        stat = path.stat()
        return LandingFile(
            key=key,
            name=name,
            version=f"{stat.st_mtime_ns}-{stat.st_size}",
            size=stat.st_size,
            opener=lambda: path.open("rb"),
        )


class S3LandingZone(_Zone):
    """A bucket and prefix in S3 (or anything speaking its API), through a boto3 client passed in.

    Listing uses ``Delimiter='/'`` so only the direct children of a folder are returned, and
    ``StartAfter`` so ``list_days(since=...)`` never walks the folders before the cursor.
    """

    def __init__(self, bucket: str, prefix: str, client: Any, page_size: int = 1000) -> None:
        prefix = prefix.strip("/")
        if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
            raise LandingNameError(f"unsafe S3 prefix {prefix!r}")
        super().__init__()
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.client = client
        self.page_size = page_size

    def describe(self) -> str:
        return f"S3 landing zone s3://{self.bucket}/{self.prefix}{self._skips.summary()}"

    def _pages(self, prefix: str, start_after: str | None = None) -> list[dict[str, Any]]:
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "Delimiter": "/"}
        if start_after is not None:
            arguments["StartAfter"] = start_after
        paginator = self.client.get_paginator("list_objects_v2")
        return list(paginator.paginate(**arguments, PaginationConfig={"PageSize": self.page_size}))

    def list_days(self, entity: str, since: str | None = None) -> list[str]:
        entity_prefix = f"{self.prefix}{check_entity(entity)}/"
        # "<entity>/<since>" sorts just before the "<entity>/<since>/" folder, so that day is kept.
        start_after = f"{entity_prefix}{check_day(since)}" if since is not None else None
        days = []
        for page in self._pages(entity_prefix, start_after):
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"][len(entity_prefix) :].rstrip("/")
                if is_day(name):
                    days.append(name)
                else:
                    self._skips.skip(f"{entity}/{name}", "folder name is not a YYYY-MM-DD date")
        return sorted(days)

    def _scan_day(self, entity: str, day: str) -> Iterator[LandingFile | SkippedEntry]:
        day_prefix = f"{self.prefix}{entity}/{day}/"
        for page in self._pages(day_prefix):
            for common in page.get("CommonPrefixes", []):
                folder = common["Prefix"][len(day_prefix) :].rstrip("/")
                yield SkippedEntry(f"{entity}/{day}/{folder}", FOLDER_IN_DAY)
            for item in page.get("Contents", []):
                name = item["Key"][len(day_prefix) :]
                if not name:
                    continue  # the day folder's own marker object (an S3 console's "create folder"), not a file
                key = f"{entity}/{day}/{name}"
                problem = file_name_problem(name)
                if problem is not None:
                    yield SkippedEntry(key, problem)
                else:
                    yield self._landing_file(key, name, item)

    def _landing_file(self, key: str, name: str, item: dict[str, Any]) -> LandingFile:
        s3_key = item["Key"]
        etag = str(item["ETag"]).strip('"')

        def opener() -> BinaryIO:
            # IfMatch: read exactly the version that was listed; a file replaced meanwhile fails
            # (and a retry re-lists) rather than staging content under the wrong version.
            response = self.client.get_object(Bucket=self.bucket, Key=s3_key, IfMatch=etag)
            return response["Body"]

        return LandingFile(key=key, name=name, version=etag, size=int(item["Size"]), opener=opener)
