"""Files that landed for a date after its night ran: late deliveries and corrections.

Each night compares what the drop holds for the source's recent dates with what the
`ingest_manifest` recorded for them. A file whose content no manifest row knows is either
late (a new name) or a correction (a name recorded with other content); the nightly DAG
then re-runs those dates, whose ingest replaces the date's partitions, so the late rows
count once and a correction's rows replace the old file's.

Local drops only: a remote source would have to be downloaded again to be compared, and its
late files are re-run by an operator (`driftline run --date D`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.intervals import RunInterval
from driftline.core.source_config import SourceConfig
from driftline.sources.files import local_files

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LateDelivery:
    source: str
    interval: RunInterval
    name: str
    checksum: str
    replaces: str | None = None  # the checksum of the file a correction replaces


def late_deliveries(ctx: RunContext) -> list[LateDelivery]:
    """What landed for earlier dates of local sources after their night ran."""
    found: list[LateDelivery] = []
    if not ctx.lake.exists(tables.INGEST_MANIFEST):
        return found
    for source in ctx.pipeline.sources:
        if source.late_files.action != "rerun":
            continue
        if source.kind != "local":
            logger.info(
                "source %s: late files of a %s source are not looked for", source.name, source.kind
            )
            continue
        found.extend(_late_for_source(ctx, source))
    return found


def _late_for_source(ctx: RunContext, source: SourceConfig) -> list[LateDelivery]:
    from pyspark.sql import functions as F

    since = ctx.run_date - timedelta(days=source.late_files.lookback_days)
    everything = (
        ctx.lake.read(tables.INGEST_MANIFEST)
        .where(F.col("source") == source.name)
        .select(
            ctx.interval.label_column().alias("run"),
            (ctx.interval.before() & (F.col(tables.RUN_DATE) >= F.lit(since))).alias("recent"),
            "file_name",
            "checksum",
            "status",
        )
        .collect()
    )
    recorded = [r for r in everything if r["checksum"] is not None]
    ingested = {r["checksum"] for r in recorded if r["status"] in ("ingested", "quarantined")}
    found = []
    for label in sorted({r["run"] for r in everything if r["recent"]}):
        run = RunInterval.of(label, ctx.interval.hourly)
        on_day = {r["file_name"]: r["checksum"] for r in recorded if r["run"] == label}
        for file in local_files(ctx.settings.resolved_drop_root, source, run).files:
            if file.checksum in on_day.values() or file.checksum in ingested:
                continue  # ingested already, here or (a duplicate) on another date
            replaces = on_day.get(file.name)
            if replaces is not None and source.late_files.corrections == "ignore":
                logger.warning(
                    "source %s: %s of %s was delivered again with other content; ignored "
                    "(late_files.corrections: ignore)",
                    source.name,
                    file.name,
                    label,
                )
                continue
            found.append(LateDelivery(source.name, run, file.name, file.checksum, replaces))
    return found
