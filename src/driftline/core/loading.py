"""Reading the pipeline file: the full, validated load that steps use, and the cheap
reads a DAG file may make at parse time (schedule, start date, watched sources).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from driftline.core.errors import ConfigError
from driftline.core.pipeline import DEFAULT_SCHEDULE, DEFAULT_START_DATE, PipelineConfig
from driftline.core.settings import load_settings
from driftline.core.source_config import SourceConfig
from driftline.core.validation import describe


def parse_pipeline(data: Any, origin: str = "<pipeline>") -> PipelineConfig:
    if not isinstance(data, dict):
        raise ConfigError(
            f"{origin}: expected a mapping at the top level, got {type(data).__name__}"
        )
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{origin} is invalid; fix these keys:\n{describe(error)}") from None


def load_pipeline(path: Path) -> PipelineConfig:
    if not path.is_file():
        raise ConfigError(
            f"pipeline file {path} not found: set DRIFTLINE_PIPELINE_FILE or DRIFTLINE_HOME "
            "to the folder that holds driftline.yaml (`driftline demo` writes an example)"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    return parse_pipeline(data, origin=str(path))


def _top_level(path: Path | None) -> dict[str, Any]:
    target = path or load_settings().resolved_pipeline_file
    try:
        data = yaml.safe_load(target.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def dag_schedule(path: Path | None = None) -> str:
    """The nightly schedule, read cheaply enough for a DAG file's top level.

    Only the `schedule` key is looked at and a missing file falls back to the default, so a
    DAG still parses on a scheduler that has no pipeline file yet.
    """
    schedule = _top_level(path).get("schedule", DEFAULT_SCHEDULE)
    return schedule if isinstance(schedule, str) else DEFAULT_SCHEDULE


def arrival_sources(path: Path | None = None) -> list[SourceConfig]:
    """The sources marked `on_arrival`, read as cheaply as `dag_schedule` (no network).

    An unreadable or invalid pipeline file gives none: the file-drop DAG then parses with
    no watches, and the nightly run reports the configuration error where it can be read.
    """
    target = path or load_settings().resolved_pipeline_file
    try:
        pipeline = load_pipeline(target)
    except ConfigError:
        return []
    return [s for s in pipeline.sources if s.on_arrival]


def dag_start_date(path: Path | None = None) -> datetime:
    """The pipeline's `start_date` as a UTC midnight, read as cheaply as `dag_schedule`.

    Airflow runs no task before its DAG's start date, so a pipeline whose data starts in
    1996 must be able to say so (backfills and replays of old dates depend on it).
    """
    value = _top_level(path).get("start_date", DEFAULT_START_DATE)
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            value = DEFAULT_START_DATE
    if not isinstance(value, date):
        value = DEFAULT_START_DATE
    return datetime(value.year, value.month, value.day, tzinfo=UTC)
