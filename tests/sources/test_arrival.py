"""The done-marker and stable-size rules decide which listed files are complete."""

from __future__ import annotations

from driftline.core.source_config import ArrivalRule
from driftline.sources.arrival import Listed, ready_files


def names(files: list[Listed]) -> list[str]:
    return sorted(f.name for f in files)


def test_without_a_rule_everything_listed_is_ready() -> None:
    listing = [Listed("a.csv", 10, 1.0), Listed("b.csv", 0, 1.0)]
    ready, waiting = ready_files(listing, ArrivalRule(), lambda: listing)
    assert names(ready) == ["a.csv", "b.csv"] and waiting == []


def test_done_marker_releases_only_marked_files_and_is_not_itself_data() -> None:
    listing = [Listed("a.csv", 10, 1.0), Listed("a.csv.done", 0, 1.0), Listed("b.csv", 5, 1.0)]
    ready, waiting = ready_files(listing, ArrivalRule(done_marker=".done"), lambda: listing)
    assert names(ready) == ["a.csv"] and names(waiting) == ["b.csv"]


def test_a_file_that_changes_during_the_wait_is_held_back() -> None:
    first = [Listed("a.csv", 10, 1.0), Listed("b.csv", 5, 1.0), Listed("c.csv", 5, 1.0)]
    later = [Listed("a.csv", 10, 1.0), Listed("b.csv", 9, 2.0)]  # b grew, c vanished
    waits: list[float] = []
    ready, waiting = ready_files(first, ArrivalRule(stable_seconds=3), lambda: later, waits.append)
    assert waits == [3]
    assert names(ready) == ["a.csv"] and names(waiting) == ["b.csv", "c.csv"]
