"""Late: the earlier dates whose files changed after their night ran, to run again.

The nightly DAG triggers one `driftline_nightly` run per date this returns; the re-run's
ingest replaces the date's partitions and records in the manifest what replaced what.
"""

from __future__ import annotations

import hashlib
import logging

from driftline.context import RunContext, StepResult
from driftline.sources.late import late_deliveries

logger = logging.getLogger(__name__)


def run(ctx: RunContext) -> StepResult:
    result = StepResult("late", ctx.ds)
    found = late_deliveries(ctx)
    by_date: dict[str, list[str]] = {}
    contents: dict[str, list[str]] = {}
    for item in found:
        kind = f"corrects {item.replaces[:12]}" if item.replaces else "late"
        by_date.setdefault(item.interval.label, []).append(f"{item.source}/{item.name} ({kind})")
        contents.setdefault(item.interval.label, []).append(item.checksum)
        logger.warning(
            "source %s: %s landed for %s after its night ran (%s); re-running that date",
            item.source,
            item.name,
            item.interval.label,
            kind,
        )
    result.metrics["files"] = by_date
    # One re-run per date and content: the same late files never re-run a date twice, a
    # later change of that date does.
    # Airflow keeps one run per logical date, so a re-run is a run without one that names
    # its date in conf (`orchestration.logical_date_of` reads it).
    result.metrics["reruns"] = [
        {
            "logical_date": None,
            "conf": {"run_date": day, "reason": "late files"},
            "trigger_run_id": "late__{}__{}".format(
                day, hashlib.sha256("|".join(sorted(checksums)).encode()).hexdigest()[:12]
            ),
        }
        for day, checksums in sorted(contents.items())
    ]
    return result
