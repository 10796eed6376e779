"""What staging found, per file and per partition: counts, rejects, notes, column surprises."""

from __future__ import annotations

from dataclasses import dataclass, field

from batch_orchestration.ingest.landing import SkippedEntry
from batch_orchestration.validate.rejects import RejectRecord

# File-level reject codes (the whole file is refused, nothing of it staged).
EMPTY_FILE = "EMPTY_FILE"
INVALID_UTF8 = "INVALID_UTF8"
INVALID_ENCODING = "INVALID_ENCODING"  # a declared encoding other than UTF-8 does not fit the file
MALFORMED_CSV = "MALFORMED_CSV"
DUPLICATE_HEADER = "DUPLICATE_HEADER"
MISSING_COLUMNS = "MISSING_COLUMNS"
UNKNOWN_COLUMNS = "UNKNOWN_COLUMNS"
# Row-level reject codes (that row refused, the rest of the file staged).
RAGGED_ROW = "RAGGED_ROW"
NUL_BYTE = "NUL_BYTE"
# Notes (informational; never block anything).
HEADERS_ONLY = "HEADERS_ONLY"
BLANK_LINES = "BLANK_LINES"
MISSING_OPTIONAL_COLUMNS = "MISSING_OPTIONAL_COLUMNS"


@dataclass(frozen=True)
class FileNote:
    code: str
    message: str


@dataclass
class FileReport:
    """One file's outcome. Invariant: ``rows_read == rows_staged + rows_rejected`` unless ``rejected``."""

    key: str
    version: str
    size: int
    rows_read: int = 0
    rows_staged: int = 0
    rejected: bool = False
    rejects: list[RejectRecord] = field(default_factory=list)
    notes: list[FileNote] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    read_by: str = ""  # "lines" (the block reader) or "records" (csv.reader, for what the block reader cannot read)

    @property
    def rows_rejected(self) -> int:
        return sum(1 for r in self.rejects if r.source_row is not None)


@dataclass
class PartitionResult:
    """Every file of one entity and day, with totals for Dagster metadata and asset checks.

    ``ignored`` is what the day folder held besides the files staged, each with why it was not staged.
    """

    entity: str
    day: str
    files: list[FileReport] = field(default_factory=list)
    ignored: list[SkippedEntry] = field(default_factory=list)

    @property
    def rows_staged(self) -> int:
        return sum(f.rows_staged for f in self.files)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def files_rejected(self) -> int:
        return sum(1 for f in self.files if f.rejected)

    @property
    def rejects(self) -> list[RejectRecord]:
        return [r for f in self.files for r in f.rejects]

    def summary(self) -> dict[str, int]:
        """Flat numbers, ready to be Dagster metadata."""
        return {
            "files": len(self.files),
            "files_rejected": self.files_rejected,
            "files_ignored": len(self.ignored),
            "rows_read": self.rows_read,
            "rows_staged": self.rows_staged,
            "rows_rejected": self.rows_rejected,
        }
