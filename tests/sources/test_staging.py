"""Remote names cannot write outside the staging folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.core.errors import SourceError
from driftline.sources.staging import inside, safe_name


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
