"""Maintain: VACUUM every table of the lakehouse, keeping the audit retention.

Nightly writes replace partitions, so superseded files pile up, and a write killed before
its commit leaves files no version references. Both stay as long as time travel may need
them (`DRIFTLINE_AUDIT_RETENTION_DAYS`, seven years unless set) and are reclaimed after.
Running it again removes nothing more: it is safe to retry and to run beside the nightly
DAG, whose in-flight files are always younger than the retention.
"""

from __future__ import annotations

import logging

from driftline.context import RunContext, StepResult
from driftline.core import tables

logger = logging.getLogger(__name__)


def run(ctx: RunContext) -> StepResult:
    result = StepResult("maintain", ctx.ds)
    retention = ctx.settings.audit_retention_days
    maintained: dict[str, dict[str, int]] = {}
    for table in tables.all_tables(ctx.pipeline):
        if not ctx.lake.exists(table):
            continue
        done = ctx.lake.maintain(table, retention)
        result.table_versions[table] = ctx.lake.version(table)
        maintained[table] = {
            "files_removed": done.files_removed,
            "staging_folders_removed": done.staging_folders_removed,
        }
    result.metrics.update({"retention_days": retention, "tables": maintained})
    return result
