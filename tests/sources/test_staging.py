"""Remote names cannot write outside the staging folder or over each other, and an archive
cannot unpack past its source's cap."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

from driftline.core.errors import SourceError
from driftline.core.source_config import SourceConfig
from driftline.sources.files import DroppedFile
from driftline.sources.staging import inside, safe_name, staged_name
from driftline.sources.unpack import members


@pytest.mark.parametrize(
    ("remote", "local"),
    [
        ("orders.csv", "orders.csv"),
        ("../../etc/passwd", "passwd"),
        ("/abs/path/x.csv", "x.csv"),
        ("..\\..\\windows\\x.csv", "x.csv"),
        ("crm/2024-03-01/a b;rm -rf.csv", "a_b_rm_-rf.csv"),
        ("résumé.csv", "r_sum_.csv"),
    ],
)
def test_safe_name_keeps_only_a_flat_harmless_name(remote: str, local: str) -> None:
    assert safe_name(remote) == local


@pytest.mark.parametrize("remote", ["..", ".", "a/..", "", "x\x00.csv", "..."])
def test_unusable_names_are_refused(remote: str) -> None:
    with pytest.raises(SourceError):
        safe_name(remote)


def test_inside_refuses_escapes(tmp_path: Path) -> None:
    assert inside(tmp_path, "a.csv") == (tmp_path / "a.csv").resolve()
    with pytest.raises(SourceError, match="outside"):
        inside(tmp_path, "../a.csv")


def test_staged_names_keep_names_that_clean_up_alike_apart() -> None:
    assert safe_name("a b.csv") == safe_name("a_b.csv")
    assert staged_name(0, "a b.csv") != staged_name(1, "a_b.csv")
    assert staged_name(7, "../x/a b.csv") == "00007-a_b.csv"


def _dropped(path: Path) -> DroppedFile:
    return DroppedFile(path.name, path, path.stat().st_size, "0" * 64, str(path))


def test_an_archive_that_unpacks_past_its_cap_is_refused(tmp_path: Path) -> None:
    """A decompression bomb (here 3 MB of zeros in a few KB) stops at the source's cap,
    counted on the bytes written, whatever the archive declares."""
    source = SourceConfig(name="s", path="*.gz", columns={"a": "string"}, max_unpacked_mb=2)
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"a\n" + b"0" * (3 * 1024 * 1024)))
    assert bomb.stat().st_size < 50_000
    with pytest.raises(SourceError, match=r"bomb.csv.gz: unpacks to more than 2 MB"):
        members(source, _dropped(bomb), tmp_path / "work", 0)

    zipped = tmp_path / "two.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.csv", b"a\n" + b"1" * (1024 * 1024))
        archive.writestr("b.csv", b"a\n" + b"2" * (1024 * 1024 + 10))
    with pytest.raises(SourceError, match="max_unpacked_mb"):
        members(source, _dropped(zipped), tmp_path / "work", 1)

    fine = tmp_path / "fine.csv.gz"
    fine.write_bytes(gzip.compress(b"a\n1\n"))
    (member,) = members(source, _dropped(fine), tmp_path / "work", 2)
    assert member.path.read_bytes() == b"a\n1\n"
