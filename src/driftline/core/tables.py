"""Names of the lakehouse tables (DESIGN.md, "Delta tables"), in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from driftline.core.pipeline import PipelineConfig

INGEST_MANIFEST = "ingest_manifest"
FEATURES = "features"
LABELS = "labels"
PREDICTIONS = "predictions"
VALIDATION_RESULTS = "validation_results"
MONITORING_METRICS = "monitoring_metrics"
DECISIONS = "decisions"

# `monitoring_metrics.feature` of rows about the model as a whole (drift share, accuracy).
MODEL_LEVEL = "__model__"

# Partition columns of every table that is written per run (`core.intervals`): the date,
# and in an hourly pipeline also the hour.
RUN_DATE = "_run_date"
RUN_HOUR = "_run_hour"
# Quarantine is also partitioned by the stage that rejected the row (ingest, validate), so
# each stage replaces only its own rejects when a date is re-run.
STAGE = "_stage"


def run_partition_columns(hourly: bool) -> list[str]:
    """The columns a pipeline's per-run tables are partitioned by (`core.intervals`)."""
    return [RUN_DATE, RUN_HOUR] if hourly else [RUN_DATE]


def run_partition_ddl(hourly: bool) -> str:
    """The partition columns as a Spark DDL fragment, for the schema of an empty table."""
    return f"{RUN_DATE} date" + (f", {RUN_HOUR} int" if hourly else "")


def bronze_metadata_ddl(hourly: bool) -> str:
    """Lineage columns every bronze and quarantine row carries, and the run's partition."""
    return (
        "_source string, _source_file string, _file_checksum string, _ingested_at timestamp, "
        f"{run_partition_ddl(hourly)}, _row_number long"
    )


def bronze_metadata(hourly: bool) -> tuple[str, ...]:
    return tuple(part.split()[0] for part in bronze_metadata_ddl(hourly).split(", "))


def bronze(source: str) -> str:
    return f"bronze/{source}"


def quarantine(source: str) -> str:
    return f"quarantine/{source}"


def silver(entity: str) -> str:
    return f"silver/{entity}"


def validated_sources(pipeline: PipelineConfig) -> dict[str, str]:
    """Table each validated batch is headed for -> the source it comes from (one source may
    feed both, when a file carries features and outcome)."""
    return {
        silver(pipeline.entity.name): pipeline.entity.source,
        LABELS: pipeline.label.source,
    }


def all_tables(pipeline: PipelineConfig) -> list[str]:
    """Every table a pipeline writes (the ones maintenance looks after)."""
    per_source = [t for s in pipeline.sources for t in (bronze(s.name), quarantine(s.name))]
    return [
        *per_source,
        silver(pipeline.entity.name),
        INGEST_MANIFEST,
        VALIDATION_RESULTS,
        FEATURES,
        LABELS,
        PREDICTIONS,
        MONITORING_METRICS,
        DECISIONS,
    ]
