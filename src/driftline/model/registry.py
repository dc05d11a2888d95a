"""MLflow tracking and the model registry: where models come from and how they're found.

A registered model version carries everything scoring and monitoring need (booster,
feature encoding, reference profile) in its own artifacts, so `models:/<name>/<version>`
alone reproduces a past prediction.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftline.core.errors import ModelNotFoundError
from driftline.core.settings import Settings

if TYPE_CHECKING:
    import xgboost as xgb

    from driftline.data.features import FeatureEncoding

logger = logging.getLogger(__name__)

try:
    from yaml import CSafeLoader as _YAML_LOADER
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _YAML_LOADER  # type: ignore[assignment]

CHAMPION = "champion"
CHALLENGER_PREFIX = "challenger-"


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str
    alias: str
    run_id: str

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True)
class LoadedModel:
    ref: ModelRef
    booster: xgb.Booster
    encoding: FeatureEncoding
    profile: dict[str, Any]
    importance: dict[str, float]
    # A regression's loss models (`model.loss_model`), raw UBJ per loss; empty otherwise.
    loss_models: dict[str, bytes] = field(default_factory=dict)


def configure_mlflow(settings: Settings, experiment: str) -> str:
    """Point MLflow at the configured backend and the pipeline's experiment (created with
    its artifacts under `DRIFTLINE_MLFLOW_ARTIFACT_ROOT`); return the experiment id.

    Runs this process starts go to that experiment, so each pipeline's runs and model
    artifacts stay its own.
    """
    import mlflow

    mlflow.set_tracking_uri(settings.resolved_mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.resolved_mlflow_tracking_uri)
    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        experiment_id = str(found.experiment_id)
    else:
        try:
            experiment_id = str(
                client.create_experiment(
                    experiment,
                    artifact_location=f"{settings.resolved_mlflow_artifact_root}/{experiment}",
                )
            )
        except mlflow.exceptions.MlflowException:
            # Another run of the pipeline (a backfill beside the nightly) created it first.
            created = client.get_experiment_by_name(experiment)
            if created is None:
                raise
            experiment_id = str(created.experiment_id)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def prepare_tracking_store(tracking_uri: str) -> None:
    """Create MLflow's tables before any task runs.

    MLflow migrates a database-backed store the first time a client opens it; two Airflow
    tasks doing that at once on a fresh SQLite file race and one fails
    ("Online migration expected to match one row"). An MLflow server (the compose stack)
    migrates its own database, so this matters for embedded stores.
    """
    import mlflow

    mlflow.MlflowClient(tracking_uri=tracking_uri).search_experiments(max_results=1)


def find_alias(name: str, alias: str = CHAMPION) -> ModelRef | None:
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    return ModelRef(name, str(version.version), alias, str(version.run_id))


def challenger_alias(run_date: str) -> str:
    return f"{CHALLENGER_PREFIX}{run_date.replace('-', '')}"


def scoring_models(name: str) -> list[ModelRef]:
    """The champion first, then every `challenger-*` (scored in shadow), newest last."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        aliases = client.get_registered_model(name).aliases or {}
    except MlflowException:
        return []
    refs = []
    champion = aliases.get(CHAMPION)
    for alias, version in aliases.items():
        if alias.startswith(CHALLENGER_PREFIX) and version == champion:
            continue  # already scored as the champion
        if alias == CHAMPION or alias.startswith(CHALLENGER_PREFIX):
            run_id = client.get_model_version(name, str(version)).run_id
            refs.append(ModelRef(name, str(version), alias, str(run_id)))
    return sorted(refs, key=lambda r: (r.alias != CHAMPION, int(r.version)))


def run_id_of(name: str, version: str) -> str:
    import mlflow

    return str(mlflow.MlflowClient().get_model_version(name, version).run_id)


def require_alias(name: str, alias: str = CHAMPION) -> ModelRef:
    ref = find_alias(name, alias)
    if ref is None:
        raise ModelNotFoundError(
            f"registered model {name!r} has no version with alias {alias!r}: train one "
            "(the retrain DAG, or the nightly run once labels have arrived)"
        )
    return ref


@functools.lru_cache(maxsize=8)
def load(ref: ModelRef) -> LoadedModel:
    """The version's booster and Driftline's metadata. A registered version never changes,
    so a process loads it once (score, monitor and report under one `dag.test()`); the
    result is shared by every caller and must not be modified (copy the booster first).

    The artifacts are fetched through MLflow once and the `MLmodel` file parsed with
    libyaml: its metadata holds the reference profile, and MLflow's own loader parsed that
    file with pure-Python YAML three times per load (2 s of a 400-row night's monitor
    step). The booster is the xgboost flavor's model file, read by XGBoost itself."""
    import tempfile

    import mlflow
    import xgboost as xgb
    import yaml
    from mlflow.models import Model

    from driftline.data.features import FeatureEncoding
    from driftline.model.loss_model import FILE, LOSSES

    # A progress bar per load would fill every task log that scores or monitors.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with tempfile.TemporaryDirectory(prefix="driftline-model-") as folder:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=ref.uri, dst_path=folder))
        with (local / "MLmodel").open(encoding="utf-8") as handle:
            model = Model.from_dict(yaml.load(handle, Loader=_YAML_LOADER))
        flavor = model.flavors.get("xgboost")
        metadata = model.metadata or {}
        if flavor is None or "driftline" not in metadata:
            raise ModelNotFoundError(
                f"{ref.uri} was not logged by Driftline (no xgboost flavor or no feature "
                "encoding in its metadata)"
            )
        booster = xgb.Booster()
        booster.load_model(str(local / flavor["data"]))
        loss_models = {
            loss: path.read_bytes()
            for loss in LOSSES
            if (path := local / "extra_files" / FILE.format(loss=loss)).exists()
        }
    info = metadata["driftline"]
    return LoadedModel(
        ref=ref,
        booster=booster,
        encoding=FeatureEncoding.from_dict(info["encoding"]),
        profile=json.loads(info["profile"])
        if isinstance(info["profile"], str)
        else info["profile"],
        importance={k: float(v) for k, v in (info.get("importance") or {}).items()},
        loss_models=loss_models,
    )


@dataclass(frozen=True)
class VersionFacts:
    """What the retraining policy needs to know about a version: when it was trained
    (the logical date of its training run) and its frozen-holdout metrics."""

    trained_on: str
    holdout: dict[str, float]
    tags: dict[str, str]


def version_facts(ref: ModelRef) -> VersionFacts:
    import mlflow

    client = mlflow.MlflowClient()
    version = client.get_model_version(ref.name, ref.version)
    metrics = client.get_run(ref.run_id).data.metrics if ref.run_id else {}
    tags = dict(version.tags or {})
    return VersionFacts(
        trained_on=tags.get("driftline.run_date", ""),
        holdout={
            key.removeprefix("holdout_"): float(value)
            for key, value in metrics.items()
            if key.startswith("holdout_") and "__" not in key
        },
        tags=tags,
    )
