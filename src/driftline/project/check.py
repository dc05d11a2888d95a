"""`driftline check`: every problem of a project at once, before any run.

A pipeline that fails at 02:00 on its first night, one key at a time, is how a new user
learns to distrust it. This reads everything a night needs (settings, the pipeline file,
the expectation suites and the columns they name, connections, the drop folder, the DAG
files) without starting Spark or touching a source, and reports all it finds.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from driftline.core import object_store, tables
from driftline.core.errors import ConfigError, SparkUnavailableError
from driftline.core.loading import (
    PipelineFile,
    load_project_pipeline,
    pipeline_settings,
    project_pipelines,
    shared_models,
)
from driftline.core.pipeline import PipelineConfig
from driftline.core.settings import Settings, load_settings
from driftline.data.features import AS_OF

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    level: Literal["error", "warning"]
    where: str  # the file, key or connection it is about
    message: str


def check_project(dags_folder: Path | None = None) -> list[Problem]:
    """All problems found, in every pipeline of the project; an empty list means the
    project is ready to run."""
    try:
        settings = load_settings()
        found = project_pipelines(settings)
    except ConfigError as error:
        return [Problem("error", "DRIFTLINE_* settings and pipeline files", str(error))]
    problems: list[Problem] = [*store_problems(settings), *spark_problems(settings)]
    loaded = []
    unparseable = False  # then the DAG files would only fail on the same pipeline files
    for chosen in found:
        try:
            scoped = pipeline_settings(settings, chosen.name)
            pipeline = load_project_pipeline(chosen)
        except ConfigError as error:
            problems.append(Problem("error", str(chosen.path), str(error)))
            unparseable = True
            continue
        found_here = [
            *suite_problems(scoped, pipeline),
            *connection_problems(pipeline),
            *path_problems(scoped, pipeline),
        ]
        # In a project of many, each problem says whose it is.
        prefix = f"{chosen.name}: " if chosen.name else ""
        problems += [Problem(p.level, prefix + p.where, p.message) for p in found_here]
        loaded.append((chosen, pipeline))
    for chosen, pipeline, first in shared_models(loaded):
        unparseable = True
        problems.append(
            Problem(
                "error",
                f"{chosen.path}: model.name",
                f"model {pipeline.model.name!r} is also pipeline {first!r}'s: each "
                "pipeline registers its own model",
            )
        )
    problems += leftover_problems(settings, found)
    if unparseable:
        return problems
    problems += dag_problems(dags_folder or settings.home / "dags", found)
    return problems


def store_problems(settings: Settings) -> list[Problem]:
    """The object store a lake or staging URI on `s3://` is reached at: a malformed
    endpoint would otherwise surface only inside the first task that touches the store."""
    if not settings.on_object_store:
        return []
    try:
        object_store.endpoint()
    except ConfigError as error:
        return [Problem("error", "AWS_ENDPOINT_URL", str(error))]
    return []


def spark_problems(settings: Settings) -> list[Problem]:
    """The Spark Connect server `DRIFTLINE_SPARK_REMOTE` names must answer (otherwise
    every task would wait for it and then fail), and the jars folder
    `DRIFTLINE_SPARK_JARS_DIR` names must hold the jars (otherwise every session fails)."""
    from driftline.core.spark import node_jars_conf, wait_for_server

    problems = []
    try:
        node_jars_conf(settings)
    except ConfigError as error:
        problems.append(Problem("error", "DRIFTLINE_SPARK_JARS_DIR", str(error)))
    if settings.spark_remote is not None:
        try:
            wait_for_server(settings.spark_remote, seconds=2)
        except SparkUnavailableError as error:
            problems.append(Problem("error", "DRIFTLINE_SPARK_REMOTE", str(error)))
    return problems


def leftover_problems(settings: Settings, found: list[PipelineFile]) -> list[Problem]:
    """Tables a project left behind when it moved from `driftline.yaml` to
    `pipelines/<name>.yaml`: each pipeline now reads `<lake>/<name>/`, so the old
    `<lake>/features`, `<lake>/ingest_manifest`, ... (history, manifest, predictions
    auditors may ask about) are read by nothing, and the first night of the new layout
    would ingest every file again into the new tables."""
    names = {chosen.name for chosen in found if chosen.name}
    lake = settings.resolved_lake_uri
    if not names or ("://" in lake and not lake.startswith("file://")):
        return []
    root = Path(lake.removeprefix("file://"))
    if not root.is_dir():
        return []
    orphans = sorted(
        entry.name
        for entry in root.iterdir()
        if entry.is_dir()
        and entry.name not in names
        and not entry.name.startswith("_")
        and ((entry / "_delta_log").is_dir() or any(entry.glob("*/_delta_log")))
    )
    if not orphans:
        return []
    first = sorted(names)[0]
    return [
        Problem(
            "warning",
            str(root),
            f"tables of the one-pipeline layout ({', '.join(orphans)}) are read by no "
            f"pipeline: each reads {root}/<name>/ now. To keep their history for one "
            f"pipeline, move them there before its first night (e.g. mv {root}/{orphans[0]} "
            f"{root}/{first}/); otherwise archive or delete them",
        )
    ]


def suite_problems(settings: Settings, pipeline: PipelineConfig) -> list[Problem]:
    """Each suite validate needs exists, is a valid GE suite, and names declared columns."""
    from driftline.quality.suites import load_suite

    problems = []
    entity = pipeline.entity
    partition = tables.run_partition_columns(pipeline.hourly)
    # Each suite's table and the columns it has: its source's declared ones with the lineage
    # ingest adds to every row (a suite `expectations suggest` writes names them in its
    # column set), or the feature table's (checked when it is built, trained on and scored).
    targets = {
        table: (
            f"source {source!r} with its lineage columns",
            {*pipeline.source(source).columns, *tables.bronze_metadata(pipeline.hourly)},
        )
        for table, source in tables.validated_sources(pipeline).items()
    }
    targets[tables.FEATURES] = (
        "the features table",
        {
            entity.key,
            AS_OF,
            *pipeline.feature_names,
            *partition,
        },
    )
    for table, (owner, declared) in targets.items():
        try:
            suite = load_suite(settings.resolved_expectations_dir, table)
        except ConfigError as error:
            problems.append(Problem("error", table, str(error)))
            continue
        data = json.loads(suite.path.read_text(encoding="utf-8"))
        for index, expectation in enumerate(data.get("expectations", [])):
            kwargs = expectation.get("kwargs") or {}
            named = [kwargs["column"]] if "column" in kwargs else []
            named += list(kwargs.get("column_list") or [])
            named += list(kwargs.get("column_set") or [])
            for column in named:
                if column not in declared:
                    problems.append(
                        Problem(
                            "error",
                            f"{suite.path.name}: expectations[{index}]",
                            f"{expectation.get('type')} names column {column!r}, which "
                            f"{owner} does not have ({sorted(declared)})",
                        )
                    )
            exact = kwargs.get("exact_match") and "column_set" in kwargs
            lacking = [c for c in partition if exact and c not in kwargs["column_set"]]
            if lacking:
                problems.append(
                    Problem(
                        "error",
                        f"{suite.path.name}: expectations[{index}]",
                        f"{expectation.get('type')} must match exactly, but its column_set "
                        f"lacks {lacking}, which every run's rows have (the pipeline's "
                        f"schedule {pipeline.schedule!r} partitions by {partition}): add them",
                    )
                )
    return problems


def connection_problems(pipeline: PipelineConfig) -> list[Problem]:
    """Every `conn_id` a source names resolves, from the environment (`AIRFLOW_CONN_*`) or
    Airflow's own connection store."""
    problems = []
    for source in pipeline.sources:
        if source.conn_id is None or _connection_exists(source.conn_id):
            continue
        problems.append(
            Problem(
                "error",
                f"sources.{source.name}.conn_id",
                f"Airflow connection {source.conn_id!r} not found: set "
                f"AIRFLOW_CONN_{source.conn_id.upper()} (a URI or JSON) or add it in the "
                "Airflow UI under Admin > Connections",
            )
        )
    return problems


def _connection_exists(conn_id: str) -> bool:
    if f"AIRFLOW_CONN_{conn_id.upper()}" in os.environ:
        return True
    try:
        from airflow.models.connection import Connection

        Connection.get_connection_from_secrets(conn_id)
    except Exception:  # not found, or no metadata DB to look in: either way not usable
        logger.debug("connection %s not resolvable", conn_id, exc_info=True)
        return False
    return True


def path_problems(settings: Settings, pipeline: PipelineConfig) -> list[Problem]:
    """Local sources' folders: a missing drop root is an error, a source without any
    delivered file yet a warning (the first night would record it as missing)."""
    local = [s for s in pipeline.sources if s.kind == "local" and s.path]
    if not local:
        return []
    root = settings.resolved_drop_root
    if not root.is_dir():
        return [
            Problem(
                "error",
                "DRIFTLINE_DROP_ROOT",
                f"drop folder {root} does not exist: create it, or point DRIFTLINE_DROP_ROOT "
                "at the folder your local sources deliver into",
            )
        ]
    problems = []
    for source in local:
        assert source.path is not None
        pattern = source.path_for("*")
        if not any(root.glob(pattern)):
            problems.append(
                Problem(
                    "warning",
                    f"sources.{source.name}.path",
                    f"no file under {root} matches {pattern!r} for any date yet",
                )
            )
    return problems


def dag_problems(dags_folder: Path, found: list[PipelineFile]) -> list[Problem]:
    """The DAG files import (as Airflow's parser would run them)."""
    if not dags_folder.is_dir():
        return [
            Problem(
                "error",
                str(dags_folder),
                "no dags/ folder: `driftline init` writes one (one short file per DAG)",
            )
        ]
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(dags_folder))
    problems = [
        Problem("error", str(path), f"DAG file failed to import: {error.strip().splitlines()[-1]}")
        for path, error in bag.import_errors.items()
    ]
    for chosen in found if not bag.import_errors else []:
        if chosen.dag_id("nightly") not in bag.dag_ids:
            problems.append(
                Problem("error", str(dags_folder), f"no {chosen.dag_id('nightly')} DAG in it")
            )
    return problems
