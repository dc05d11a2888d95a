"""Names of the lakehouse tables (DESIGN.md, "Delta tables"), in one place."""

from __future__ import annotations

INGEST_MANIFEST = "ingest_manifest"
FEATURES = "features"
LABELS = "labels"
PREDICTIONS = "predictions"
VALIDATION_RESULTS = "validation_results"
MONITORING_METRICS = "monitoring_metrics"
DECISIONS = "decisions"

# Partition column of every table that is written per logical date.
RUN_DATE = "_run_date"


def bronze(source: str) -> str:
    return f"bronze/{source}"


def quarantine(source: str) -> str:
    return f"quarantine/{source}"


def silver(entity: str) -> str:
    return f"silver/{entity}"
