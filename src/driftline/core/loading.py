"""Reading pipeline files: which pipelines a project has, the settings each one runs
with, the full validated load that steps use, and what a DAG file reads at parse time.

A project keeps one pipeline in `driftline.yaml`, or several in `pipelines/<name>.yaml`.
With several, each pipeline gets its own lake, staging and expectations folder under the
project's (`<lake>/<name>`, ...) and its own DAG ids, so no pipeline can read or replace
another's tables, and MLflow keeps them apart by experiment and model name.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from driftline.core.errors import ConfigError
from driftline.core.pipeline import PipelineConfig
from driftline.core.settings import Settings, load_settings
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


logger = logging.getLogger(__name__)

PIPELINE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class PipelineFile:
    """One pipeline of the project. `name` is None for the single `driftline.yaml`, whose
    DAG ids and folders carry no pipeline name (`driftline_nightly`, `<lake>/silver/...`)."""

    name: str | None
    path: Path

    def dag_id(self, kind: str) -> str:
        """`driftline_nightly`, or `driftline_<pipeline>_nightly` in a project of many."""
        return f"driftline_{kind}" if self.name is None else f"driftline_{self.name}_{kind}"


def project_pipelines(settings: Settings | None = None) -> list[PipelineFile]:
    """The project's pipelines: `DRIFTLINE_PIPELINE_FILE` where set, else every
    `pipelines/<name>.yaml`, else `driftline.yaml`."""
    settings = settings or load_settings()
    folder = settings.resolved_pipelines_dir
    if settings.pipeline_file is not None:
        if not settings.pipeline_scoped and folder.is_dir() and any(folder.glob("*.y*ml")):
            logger.warning(
                "DRIFTLINE_PIPELINE_FILE=%s is used alone; the pipelines in %s are ignored",
                settings.pipeline_file,
                folder,
            )
        return [PipelineFile(None, settings.pipeline_file)]
    single = settings.home / "driftline.yaml"
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []
    if not files:
        return [PipelineFile(None, single)]
    if single.is_file():
        raise ConfigError(
            f"both {single} and {folder}/ define pipelines: keep a single pipeline in "
            f"driftline.yaml, or move it to {folder}/<name>.yaml beside the others"
        )
    stems = [f.stem for f in files]
    twice = sorted({stem for stem in stems if stems.count(stem) > 1})
    if twice:
        raise ConfigError(
            f"pipelines {twice} each have a .yaml and a .yml file in {folder}: keep one"
        )
    bad = [f.name for f in files if not PIPELINE_NAME.match(f.stem)]
    if bad:
        raise ConfigError(
            f"pipeline files {bad} in {folder}: a pipeline file is named <pipeline>.yaml, "
            "lower case letters, digits and _ (the name goes into DAG ids and folders)"
        )
    return [PipelineFile(f.stem, f) for f in files]


def pipeline_file(settings: Settings, name: str | None = None) -> PipelineFile:
    """The pipeline `name` (or `DRIFTLINE_PIPELINE`) names; the only one when there is one."""
    found = project_pipelines(settings)
    wanted = name or settings.pipeline
    if wanted is None:
        if len(found) > 1:
            raise ConfigError(
                f"this project has {len(found)} pipelines ({', '.join(_names(found))}): name "
                "one with --pipeline (or DRIFTLINE_PIPELINE)"
            )
        return found[0]
    if found[0].name is None:
        # One pipeline in driftline.yaml: its name is the file's `pipeline` key.
        loaded = load_pipeline(found[0].path).pipeline
        if loaded != wanted:
            raise ConfigError(
                f"no pipeline {wanted!r}: this project's only pipeline is {loaded!r} "
                f"({found[0].path})"
            )
        return found[0]
    for candidate in found:
        if candidate.name == wanted:
            return candidate
    raise ConfigError(
        f"no pipeline {wanted!r}: this project has {', '.join(_names(found))} "
        f"(files in {settings.resolved_pipelines_dir})"
    )


def _names(found: list[PipelineFile]) -> list[str]:
    return [str(f.name) for f in found]


def pipeline_settings(settings: Settings | None = None, name: str | None = None) -> Settings:
    """The settings one pipeline's steps and commands run with.

    In a project of many pipelines, its lake, staging and expectations folders are the
    project's with the pipeline's name appended. Applying this twice changes nothing.
    """
    settings = settings or load_settings()
    if settings.pipeline_scoped:
        if name is not None and settings.pipeline is not None and name != settings.pipeline:
            raise ConfigError(
                f"these settings are pipeline {settings.pipeline!r}'s, not {name!r}'s"
            )
        return settings
    chosen = pipeline_file(settings, name)
    update: dict[str, Any] = {"pipeline_file": chosen.path, "pipeline": chosen.name}
    if chosen.name is not None:
        update |= {
            "lake_uri": f"{settings.resolved_lake_uri.rstrip('/')}/{chosen.name}",
            "staging_root": settings.resolved_staging_root / chosen.name,
            "staging_uri": (
                f"{settings.staging_uri.rstrip('/')}/{chosen.name}"
                if settings.staging_uri
                else None
            ),
            "expectations_dir": settings.resolved_expectations_dir / chosen.name,
        }
    scoped = settings.model_copy(update=update)
    scoped.mark_pipeline_scoped()
    return scoped


def load_project_pipeline(chosen: PipelineFile) -> PipelineConfig:
    """A project's pipeline file, whose `pipeline` key must match its file name."""
    pipeline = load_pipeline(chosen.path)
    if chosen.name is not None and pipeline.pipeline != chosen.name:
        raise ConfigError(
            f"{chosen.path}: pipeline is {pipeline.pipeline!r} but the file is named "
            f"{chosen.name!r}; name the file after its pipeline ({pipeline.pipeline}.yaml)"
        )
    return pipeline


def dag_pipelines() -> list[tuple[PipelineFile, PipelineConfig]]:
    """Every pipeline of the project, read when Airflow parses a DAG file (local files, no
    network).

    A missing, unreadable or invalid file raises: the DAG file then fails to import with
    the message, which Airflow shows under import errors, instead of parsing with a guessed
    schedule and start date and catching up on dates nobody asked for.
    """
    found = [(f, load_project_pipeline(f)) for f in project_pipelines()]
    for chosen, pipeline, other in shared_models(found):
        raise ConfigError(
            f"pipelines {other!r} and {pipeline.pipeline!r} both register model "
            f"{pipeline.model.name!r} ({chosen.path}): give each pipeline its own model.name"
        )
    return found


def shared_models(
    found: list[tuple[PipelineFile, PipelineConfig]],
) -> list[tuple[PipelineFile, PipelineConfig, str]]:
    """Each pipeline whose `model.name` an earlier one already registers, with that
    earlier pipeline's name: two pipelines must not share a registered model."""
    owners: dict[str, str] = {}
    clashes = []
    for chosen, pipeline in found:
        owner = owners.setdefault(pipeline.model.name, pipeline.pipeline)
        if owner != pipeline.pipeline:
            clashes.append((chosen, pipeline, owner))
    return clashes


def only_dag_pipeline() -> tuple[PipelineFile, PipelineConfig]:
    """The project's single pipeline, for a DAG file that builds one DAG."""
    found = dag_pipelines()
    if len(found) > 1:
        raise ConfigError(
            f"this project has {len(found)} pipelines: its DAG files must build one DAG per "
            "pipeline (`globals().update(nightly.build_all())`, as `driftline init` writes "
            "them), not `build()`"
        )
    return found[0]


def dag_pipeline(path: Path | None = None) -> PipelineConfig:
    """The pipeline of a single-pipeline project, read at parse time."""
    if path is not None:
        return load_pipeline(path)
    return load_project_pipeline(pipeline_file(load_settings()))


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
