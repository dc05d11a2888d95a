"""Which listed files are complete: the done-marker or the stable-size rule of a source.

A sender that writes in place (most legacy SFTP jobs) leaves a half-written file visible
for a while; reading it then would ingest a truncated file and mark its checksum as done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from driftline.core.source_config import ArrivalRule

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listed:
    """A file as a listing shows it: name relative to its folder, size, modification stamp."""

    name: str
    size: int
    modified: float


def ready_files(
    listing: list[Listed],
    rule: ArrivalRule,
    relist: Callable[[], list[Listed]],
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[Listed], list[Listed]]:
    """Split a listing into (ready, not yet ready) under `rule`; marker files are neither."""
    marker = rule.done_marker
    names = {f.name for f in listing}
    candidates = [f for f in listing if not (marker and f.name.endswith(marker))]
    if marker:
        ready = [f for f in candidates if f.name + marker in names]
        waiting = [f for f in candidates if f.name + marker not in names]
    else:
        ready, waiting = candidates, []
    if rule.stable_seconds > 0 and ready:
        sleep(rule.stable_seconds)
        again = {f.name: f for f in relist()}
        stable = []
        for f in ready:
            now = again.get(f.name)
            if now is not None and (now.size, now.modified) == (f.size, f.modified):
                stable.append(f)
            else:
                waiting.append(f)
        ready = stable
    for f in waiting:
        logger.info("%s is not complete yet (%s); a later run picks it up", f.name, _why(rule))
    return ready, waiting


def _why(rule: ArrivalRule) -> str:
    if rule.done_marker:
        return f"no {rule.done_marker} marker or still changing"
    return f"size or mtime changed within {rule.stable_seconds:g}s"
