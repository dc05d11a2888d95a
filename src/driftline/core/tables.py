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

# Partition column of every table that is written per logical date.
RUN_DATE = "_run_date"
# Quarantine is also partitioned by the stage that rejected the row (ingest, validate), so
# each stage replaces only its own rejects when a date is re-run.
STAGE = "_stage"

# Lineage columns every bronze and quarantine row carries.
BRONZE_METADATA_DDL = (
    "_source string, _source_file string, _file_checksum string, _ingested_at timestamp, "
    f"{RUN_DATE} date, _row_number long"
)
BRONZE_METADATA = tuple(part.split()[0] for part in BRONZE_METADATA_DDL.split(", "))


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
