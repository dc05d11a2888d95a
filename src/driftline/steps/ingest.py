"""Ingest: what a source delivered for the run date into `bronze/<source>`, every row
accounted for.

Files come from a local drop folder, SFTP, S3 or a SQL extract (`driftline.sources`), are
unpacked and decoded, parsed (a CSV by Arrow on the executors, `sources.arrow_csv`, where
that reads it as Spark would; the rest by Spark's readers, one job per group of alike
files), and land
(`sources.landing`): a row that cannot be parsed goes to `quarantine/<source>` with its raw
text and a reason; a file broken as a whole (truncated archive, undecodable, missing or
mistyped column) is quarantined whole and the other files go on. The `ingest_manifest`
(`sources.manifest`) records, per delivered file, rows read = rows in bronze + rows in
quarantine, and makes ingest exactly-once: a file whose content was already ingested for
another date is not ingested again.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from driftline.context import RunContext, StepResult
from driftline.core import notify, tables
from driftline.core.errors import SourceError
from driftline.core.source_config import SourceConfig
from driftline.sources import arrow_csv, landing, manifest, shared_staging
from driftline.sources.acquire import acquire
from driftline.sources.files import DroppedFile
from driftline.sources.readers import read
from driftline.sources.staging import fresh_dir
from driftline.sources.unpack import Member, members

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)


def run(ctx: RunContext, source: str | None = None) -> StepResult:
    """Ingest one source (an Airflow mapped task) or, without `source`, all of them."""
    names = [source] if source else [s.name for s in ctx.pipeline.sources]
    result = StepResult("ingest", ctx.ds)
    for name in names:
        outcomes, versions, new_columns = ingest_source(ctx, ctx.pipeline.source(name))
        result.table_versions.update(versions)
        result.metrics[name] = {
            "files": len(outcomes),
            "rows_read": sum(o.rows_read for o in outcomes),
            "rows_bronze": sum(o.rows_bronze for o in outcomes),
            "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
            "duplicates": sum(o.status == "duplicate" for o in outcomes),
            "quarantined_files": sum(o.status == "quarantined" for o in outcomes),
            "not_ready": sum(o.status == "not_ready" for o in outcomes),
            "missing": any(o.status == "missing" for o in outcomes),
            "new_columns": new_columns,
        }
    return result


def ingest_source(
    ctx: RunContext, source: SourceConfig
) -> tuple[list[manifest.FileOutcome], dict[str, int], list[str]]:
    delivered = acquire(ctx.settings, source, ctx.interval, manifest.watermarks(ctx, source))
    logger.info("source %s: %d file(s) for %s", source.name, len(delivered.files), ctx.ds)
    seen_elsewhere, earlier = manifest.recorded_deliveries(ctx, source.name)
    workdir = fresh_dir(ctx.settings.resolved_staging_root, source.name, ctx.interval, "unpacked")

    outcomes = [manifest.FileOutcome(None, "not_ready", name) for name in delivered.not_ready]
    if source.kind != "sql" and not delivered.files and not delivered.not_ready:
        outcomes.append(missing_delivery(source, ctx.ds))
    by_file: dict[str, manifest.FileOutcome] = {}
    readable: list[Member] = []
    broken: list[tuple[Member | DroppedFile, str]] = []
    seen_today: dict[str, str] = {}
    for index, file in enumerate(delivered.files):
        outcome = manifest.FileOutcome(file, "ingested", file.name)
        outcomes.append(outcome)
        if earlier.get(file.name, file.checksum) != file.checksum:
            outcome.replaces = earlier[file.name]
            outcome.reasons.append(
                f"corrected re-delivery: replaces the content ingested before "
                f"(sha256 {earlier[file.name][:16]}...)"
            )
        if file.size == 0:
            outcome.status = "empty"
            outcome.reasons.append("file is empty")
            continue
        if file.checksum in seen_elsewhere:
            outcome.status = "duplicate"
            outcome.reasons.append(
                f"same content already ingested for {seen_elsewhere[file.checksum]}"
            )
            continue
        if file.checksum in seen_today:
            outcome.status = "duplicate"
            outcome.reasons.append(f"same content as {seen_today[file.checksum]} in this drop")
            continue
        seen_today[file.checksum] = file.name
        by_file[file.checksum] = outcome
        try:
            readable.extend(members(source, file, workdir, index))
        except SourceError as error:
            broken.append((file, str(error)))

    readable = shared_staging.share(ctx.settings, source.name, ctx.interval, "unpacked", readable)
    by_arrow: list[arrow_csv.Chosen] = []
    by_spark = readable
    if ctx.settings.csv_reader == "auto":
        by_arrow, by_spark = arrow_csv.choose(source, readable)
    parsed, broken_members = read(ctx.spark, source, by_spark)
    broken.extend(broken_members)

    ingested_at = datetime.now(UTC)  # audit metadata only; never used to choose data
    found = [g.extra_columns for g in parsed]
    found += [[n for n in c.names if n not in source.columns] for c in by_arrow]
    extras, added = landing.bronze_extras(ctx, source, found)
    # Every readable member and every file quarantined whole gets a number, which the
    # write groups its files by, so each one's rows are counted from the files written.
    units: list[tuple[str, str]] = [(m.parent.checksum, m.label) for m in readable]
    unit_of = {os.path.abspath(m.path): i for i, m in enumerate(readable)}
    parts: list[DataFrame] = []
    for group in parsed:
        frame = landing.with_lineage(
            ctx,
            source,
            group,
            [unit_of[os.path.abspath(f)] for f in group.files],
            units,
            ingested_at,
        )
        parts.append(landing.unified(frame, source, extras, ctx.pipeline.hourly))
        for member in group.members:
            by_file[member.parent.checksum].columns.update(group.extra_columns)
            by_file[member.parent.checksum].renamed.update(group.renamed)
    whole: dict[str, tuple[DroppedFile, str]] = {}
    for item, reason in broken:
        file = item.parent if isinstance(item, Member) else item
        label = item.label if isinstance(item, Member) else item.name
        units.append((file.checksum, label))
        quarantined = landing.whole_file(ctx, source, item, reason, ingested_at, len(units) - 1)
        parts.append(landing.unified(quarantined, source, extras, ctx.pipeline.hourly))
        whole[label] = (file, reason)
        logger.warning("source %s: quarantined %s whole: %s", source.name, label, reason)

    for chosen in by_arrow:
        outcome = by_file[chosen.member.parent.checksum]
        outcome.columns.update(n for n in chosen.names if n not in source.columns)
        outcome.renamed.update(chosen.renamed)
    staged = _parse_with_arrow(ctx, source, by_arrow, unit_of, extras, ingested_at)

    versions, counts = landing.write_rows(ctx, source, parts, extras, staged)
    shared_staging.clear(ctx.settings, source.name, ctx.interval)
    for (unit, target), rows in sorted(counts.items()):
        checksum, label = units[unit]
        outcome = by_file[checksum]
        outcome.rows_read += rows
        if target == landing.BRONZE:
            outcome.rows_bronze += rows
        else:
            outcome.rows_quarantined += rows
            if label not in whole:
                outcome.reasons.append(f"{rows} malformed row(s) in {label}")
    for label, (file, reason) in whole.items():
        by_file[file.checksum].reasons.append(f"{label} quarantined whole: {reason}")
    for outcome in by_file.values():
        if outcome.rows_read == 0:
            outcome.status = "empty"
            outcome.reasons.append("no rows (empty or header only)")
        elif outcome.rows_bronze == 0:
            outcome.status = "quarantined"
    versions.update(manifest.write_manifest(ctx, source, outcomes, added))
    for outcome in outcomes:
        if outcome.status == "missing":
            _act_on_missing_delivery(ctx, source, outcome)
    return outcomes, versions, added


def _parse_with_arrow(
    ctx: RunContext,
    source: SourceConfig,
    by_arrow: list[arrow_csv.Chosen],
    unit_of: dict[str, int],
    extras: list[str],
    ingested_at: datetime,
) -> str | None:
    """Land the files Arrow parses as Parquet in bronze's staging folder, laid out as the
    ingest write lays out its own; returns the folder, for the write to commit (None when
    there is nothing in it)."""
    if not by_arrow:
        return None
    staged = ctx.lake.staging_uri(tables.bronze(source.name))
    files = [
        arrow_csv.ArrowFile(
            c.member.spark_path,
            unit_of[os.path.abspath(c.member.path)],
            c.member.label,
            c.member.parent.checksum,
            tuple(c.names),
            c.ranges,
        )
        for c in by_arrow
    ]
    written = arrow_csv.land(
        ctx.spark,
        files,
        [*source.columns, *extras],
        {"_source": source.name, "_ingested_at": ingested_at},
        staged,
        source.csv.delimiter,
        source.csv.quote,
        source.csv.header,
    )
    return staged if written else None


def missing_delivery(source: SourceConfig, ds: str) -> manifest.FileOutcome:
    where = f"{source.path!r}" + (f" in bucket {source.bucket}" if source.bucket else "")
    return manifest.FileOutcome(
        None,
        "missing",
        "(nothing delivered)",
        reasons=[f"no file matched {where} for {ds}"],
    )


def _act_on_missing_delivery(
    ctx: RunContext, source: SourceConfig, outcome: manifest.FileOutcome
) -> None:
    """A date without data is not a quiet success: the manifest says so (above), then the
    source's `when_missing` decides whether the night goes on."""
    message = (
        f"source {source.name} delivered nothing for {ctx.ds}: {outcome.reason}. "
        "Ask the sender, or re-run the date once the file has landed"
    )
    if source.when_missing == "ignore":
        logger.info(message)
        return
    first_due = ctx.pipeline.start_date + timedelta(days=source.lag_days)
    if ctx.run_date < first_due:
        logger.info("%s; none is due before %s (lag_days %d)", message, first_due, source.lag_days)
        return
    notify.send(
        ctx.settings,
        notify.Event(
            "missing_delivery",
            message,
            "error" if source.when_missing == "block" else "warning",
            {"source": source.name, "run_date": ctx.ds, "pipeline": ctx.pipeline.pipeline},
        ),
    )
    if source.when_missing == "block":
        raise SourceError(f"{message} (the source's when_missing is block)")
