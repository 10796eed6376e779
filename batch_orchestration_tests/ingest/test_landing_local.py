from __future__ import annotations

import os
from pathlib import Path

import pytest

from batch_orchestration.ingest.landing import LandingNameError, LandingZone, LocalLandingZone, SkippedEntry

from .conftest import WriteFile


def test_is_a_landing_zone(local_zone: LocalLandingZone) -> None:
    assert isinstance(local_zone, LandingZone)


def test_list_days_sorted_and_from_the_cursor(local_zone: LocalLandingZone, write_file: WriteFile) -> None:
    for day in ("2024-01-16", "2024-01-14", "2024-01-15", "2024-02-01"):
        write_file(f"customers/{day}/export.csv", "CUST_NO\n")
    assert local_zone.list_days("customers") == ["2024-01-14", "2024-01-15", "2024-01-16", "2024-02-01"]
    assert local_zone.list_days("customers", since="2024-01-15") == ["2024-01-15", "2024-01-16", "2024-02-01"]
    assert local_zone.list_days("customers", since="2024-03-01") == []
    assert local_zone.list_days("invoices") == []


def test_bad_day_folders_are_skipped_and_described(
    local_zone: LocalLandingZone, write_file: WriteFile, landing_root: Path
) -> None:
    write_file("customers/2024-01-15/export.csv", "CUST_NO\n")
    for name in ("2024-02-30", "latest", "2024-1-5", "20240115"):
        (landing_root / "customers" / name).mkdir()
    write_file("customers/2024-01-20", "a file, not a folder")
    assert local_zone.list_days("customers") == ["2024-01-15"]
    skipped = {entry.key for entry in local_zone.skipped}
    assert skipped == {"customers/2024-02-30", "customers/latest", "customers/2024-1-5", "customers/20240115"}
    assert "customers/2024-02-30 (folder name is not a YYYY-MM-DD date)" in local_zone.describe()


@pytest.mark.parametrize("entity", ["../etc", "customers/../x", "Customers", "", "cust omers"])
def test_entity_must_be_a_plain_identifier(local_zone: LocalLandingZone, entity: str) -> None:
    with pytest.raises(LandingNameError):
        local_zone.list_days(entity)
    with pytest.raises(LandingNameError):
        local_zone.list_files(entity, "2024-01-15")


@pytest.mark.parametrize("day", ["../2024-01-15", "2024-13-01", "2024-02-30", "20240115", "latest"])
def test_day_must_be_a_real_date(local_zone: LocalLandingZone, day: str) -> None:
    with pytest.raises(LandingNameError):
        local_zone.list_files("customers", day)
    with pytest.raises(LandingNameError):
        local_zone.list_days("customers", since=day)


def test_list_files_only_direct_csv_children(
    local_zone: LocalLandingZone, write_file: WriteFile, landing_root: Path
) -> None:
    write_file("customers/2024-01-15/b.csv", "CUST_NO\nC2\n")
    write_file("customers/2024-01-15/a.CSV", "CUST_NO\nC1\n")
    write_file("customers/2024-01-15/readme.txt", "not data")
    write_file("customers/2024-01-15/.partial.csv", "uploading")
    write_file("customers/2024-01-15/nested/c.csv", "CUST_NO\n")
    (landing_root / "customers/2024-01-15/folder.csv").mkdir()
    files = local_zone.list_files("customers", "2024-01-15")
    assert [f.key for f in files] == ["customers/2024-01-15/a.CSV", "customers/2024-01-15/b.csv"]
    assert [f.name for f in files] == ["a.CSV", "b.csv"]
    with files[1].open() as stream:
        assert stream.read() == b"CUST_NO\nC2\n"
    assert files[1].size == len(b"CUST_NO\nC2\n")
    assert local_zone.list_files("customers", "2024-01-16") == []


def test_list_day_gives_every_entry_not_staged_with_its_reason(
    local_zone: LocalLandingZone, write_file: WriteFile, landing_root: Path
) -> None:
    day = landing_root / "customers/2024-01-15"
    write_file("customers/2024-01-15/a.csv", "CUST_NO\nC1\n")
    for name in ("..hidden; export.csv", "export.csv.txt", ".DS_Store", "tab\there.csv", "nested/c.csv"):
        write_file(f"customers/2024-01-15/{name}", "CUST_NO\nC2\n")
    (day / "folder.csv").mkdir()
    os.mkfifo(day / "pipe.csv")
    (day / "gone.csv").symlink_to(day / "missing")

    listing = local_zone.list_day("customers", "2024-01-15")

    assert [f.key for f in listing.files] == ["customers/2024-01-15/a.csv"]
    folder = "a folder: only the files directly in the day folder are staged"
    assert [(e.key, e.reason) for e in listing.ignored] == [
        ("customers/2024-01-15/..hidden; export.csv", "hidden or partial file"),
        ("customers/2024-01-15/.DS_Store", "hidden or partial file"),
        ("customers/2024-01-15/export.csv.txt", "not a .csv file"),
        ("customers/2024-01-15/folder.csv", folder),
        ("customers/2024-01-15/gone.csv", "not a regular file"),
        ("customers/2024-01-15/nested", folder),
        ("customers/2024-01-15/pipe.csv", "not a regular file"),
        ("customers/2024-01-15/tab\there.csv", "unsafe characters in name"),
    ]
    assert set(listing.ignored) <= set(local_zone.skipped)  # and described, as before
    assert local_zone.list_files("customers", "2024-01-15") == listing.files


def test_version_changes_with_content_even_at_the_same_size(
    local_zone: LocalLandingZone, write_file: WriteFile
) -> None:
    path = write_file("customers/2024-01-15/a.csv", "CUST_NO\nC1\n")
    (before,) = local_zone.list_files("customers", "2024-01-15")
    path.write_bytes(b"CUST_NO\nC2\n")
    later = path.stat().st_mtime_ns + 1_000_000_000  # filesystems with coarse clocks still differ
    os.utime(path, ns=(later, later))
    (after,) = local_zone.list_files("customers", "2024-01-15")
    assert before.key == after.key
    assert before.size == after.size == 11
    assert before.version != after.version
    assert local_zone.list_files("customers", "2024-01-15")[0].version == after.version


def test_symlinks_leading_outside_the_root_are_skipped(
    local_zone: LocalLandingZone, write_file: WriteFile, landing_root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    (outside / "2024-01-17").mkdir(parents=True)
    (outside / "secret.csv").write_text("CUST_NO\nstolen\n")
    write_file("customers/2024-01-15/ok.csv", "CUST_NO\nC1\n")
    (landing_root / "customers/2024-01-15/escape.csv").symlink_to(outside / "secret.csv")
    (landing_root / "customers/2024-01-17").symlink_to(outside / "2024-01-17")
    (landing_root / "invoices").symlink_to(outside)

    assert [f.name for f in local_zone.list_files("customers", "2024-01-15")] == ["ok.csv"]
    assert local_zone.list_days("customers") == ["2024-01-15"]
    assert local_zone.list_files("customers", "2024-01-17") == []
    assert local_zone.list_day("customers", "2024-01-17").ignored == [
        SkippedEntry("customers/2024-01-17", "day folder leads outside the landing root")
    ]
    assert local_zone.list_day("invoices", "2024-01-17").ignored == [
        SkippedEntry("invoices", "entity folder leads outside the landing root")
    ]
    assert local_zone.list_days("invoices") == []
    reasons = {e.key: e.reason for e in local_zone.skipped}
    assert reasons["customers/2024-01-15/escape.csv"] == "file leads outside the landing root"
    assert reasons["customers/2024-01-17"] == "day folder leads outside the landing root"
    assert reasons["invoices"] == "entity folder leads outside the landing root"


def test_symlink_inside_the_root_is_followed(
    local_zone: LocalLandingZone, write_file: WriteFile, landing_root: Path
) -> None:
    target = write_file("shared/common.csv", "CUST_NO\nC9\n")
    write_file("customers/2024-01-15/.keep.txt", "")
    (landing_root / "customers/2024-01-15/linked.csv").symlink_to(target)
    (linked,) = local_zone.list_files("customers", "2024-01-15")
    with linked.open() as stream:
        assert stream.read() == b"CUST_NO\nC9\n"


def test_missing_root_lists_nothing(tmp_path: Path) -> None:
    zone = LocalLandingZone(tmp_path / "absent")
    assert zone.list_days("customers") == []
    assert zone.list_files("customers", "2024-01-15") == []
