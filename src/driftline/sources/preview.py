"""A source's delivered rows for a date, parsed as ingest would parse them, without writing
anything: what `driftline expectations suggest --source` learns a starter suite from before
the first run has made any table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftline.context import RunContext
from driftline.core.errors import SourceError
from driftline.core.intervals import RunInterval
from driftline.core.source_config import SourceConfig
from driftline.sources import shared_staging
from driftline.sources.acquire import acquire
from driftline.sources.readers import CORRUPT, read
from driftline.sources.staging import fresh_dir
from driftline.sources.unpack import members

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def delivered_rows(ctx: RunContext, source: SourceConfig, interval: RunInterval) -> DataFrame:
    """The parseable rows of what `source` delivered for `interval`, declared columns as
    strings (as bronze holds them); unpacked under the staging folder's `preview`."""
    delivered = acquire(ctx.settings, source, interval)
    if not delivered.files:
        raise SourceError(
            f"source {source.name} delivered nothing for {interval.label}: pick a --date with files"
        )
    workdir = fresh_dir(ctx.settings.resolved_staging_root, source.name, interval, "preview")
    readable = []
    for index, file in enumerate(delivered.files):
        readable.extend(members(source, file, workdir, index))
    # A preview's rows are read lazily by whoever uses them: its shared copies stay until
    # the next preview of the date replaces them or its ingest removes them.
    readable = shared_staging.share(ctx.settings, source.name, interval, "preview", readable)
    parsed, broken = read(ctx.spark, source, readable)
    if not parsed:
        reasons = "; ".join(f"{m.label}: {why}" for m, why in broken)
        raise SourceError(f"no readable file from source {source.name}: {reasons}")
    frame = parsed[0].frame
    for group in parsed[1:]:
        frame = frame.unionByName(group.frame, allowMissingColumns=True)
    return frame.where(frame[CORRUPT].isNull()).select(*source.columns)


def as_validated(typed_rows: DataFrame, hourly: bool) -> DataFrame:
    """Delivered rows (typed) with bronze's lineage columns beside them, empty: the columns
    validate sees, so a suite learned here (its column set) holds on the first night."""
    from pyspark.sql import functions as F

    from driftline.core import tables

    lineage = [
        F.lit(None).cast(kind).alias(name)
        for name, kind in (part.split() for part in tables.bronze_metadata_ddl(hourly).split(", "))
        if name not in typed_rows.columns
    ]
    return typed_rows.select("*", *lineage)
