"""Reading the pipeline file: the full, validated load that steps use, and the cheap
reads a DAG file may make at parse time (schedule, start date, watched sources).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from driftline.core.errors import ConfigError
from driftline.core.pipeline import PipelineConfig
from driftline.core.settings import load_settings
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


def dag_pipeline(path: Path | None = None) -> PipelineConfig:
    """The pipeline a DAG file is built from, read at parse time (a local file, no network).

    A missing, unreadable or invalid file raises: the DAG then fails to import with the
    message, which Airflow shows under import errors, instead of parsing with a guessed
    schedule and start date and catching up on dates nobody asked for.
    """
    return load_pipeline(path or load_settings().resolved_pipeline_file)


def dag_schedule(path: Path | None = None) -> str:
    return dag_pipeline(path).schedule


def dag_start_date(path: Path | None = None) -> datetime:
    return first_logical_date(dag_pipeline(path))


def first_logical_date(pipeline: PipelineConfig) -> datetime:
    """The pipeline's `start_date` as a UTC midnight.

    Airflow runs no task before its DAG's start date, so a pipeline whose data starts in
    1996 must be able to say so (backfills and replays of old dates depend on it).
    """
    value = pipeline.start_date
    return datetime(value.year, value.month, value.day, tzinfo=UTC)
