"""Recording a fitted model in MLflow: its run (parameters, holdout metrics, reference
profile, importance, input table versions) and the registered version that scoring loads.

Everything an auditor needs to reproduce a prediction goes into the run and the version's
tags here, in one place, whichever engine fitted the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from driftline import __version__
from driftline.context import RunContext

if TYPE_CHECKING:
    from driftline.model.training import Trained


@dataclass(frozen=True)
class Logged:
    """The MLflow run and registered version a fit became."""

    run_id: str
    version: str
    tags: dict[str, str]


def log_run(ctx: RunContext, trained: Trained, versions: dict[str, int], reason: str) -> Logged:
    """Log the run (params, metrics, profile, importance, inputs, model), register it as a
    new version of the pipeline's model and tag the version with the run's lineage."""
    import tempfile

    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.models import infer_signature

    from driftline.model.booster import importance_figure

    model = ctx.pipeline.model
    figure, importance = importance_figure(trained.booster)
    tags = {
        "driftline.holdout_start": trained.holdout_dates[0],
        "driftline.holdout_end": trained.holdout_dates[1],
        "driftline.reason": reason,
        "driftline.device": str(trained.params.get("device", "cpu")),
        "driftline.engine": trained.engine,
        "driftline.code_version": code_version(),
        "driftline.run_date": ctx.ds,
        "driftline.window_start": trained.window[0],
        "driftline.window_end": trained.window[1],
        "driftline.features": ",".join(trained.encoding.names),
        "driftline.beats_baseline": str(bool(trained.metrics["beats_baseline"])).lower(),
        "driftline.leakage": "; ".join(trained.leakage) or "none found",
        **{f"driftline.input.{table}.version": str(v) for table, v in versions.items()},
    }
    # Doubles, as the features table stores them, so pyfunc/spark_udf accept its rows.
    example = pd.DataFrame(trained.example.astype(np.float64), columns=trained.encoding.names)
    with (
        tempfile.TemporaryDirectory(prefix="driftline-loss-") as folder,
        mlflow.start_run(run_name=f"train-{ctx.ds}", tags=tags) as active,
    ):
        mlflow.log_params(trained.params)
        mlflow.log_metrics({k: float(v) for k, v in trained.metrics.items() if v is not None})
        mlflow.log_dict(trained.profile, "reference_profile.json")
        mlflow.log_dict(importance, "feature_importance.json")
        mlflow.log_figure(figure, "feature_importance.png")
        for table, table_version in versions.items():
            mlflow.log_input(
                from_pandas(
                    pd.DataFrame({"table": [table], "delta_version": [table_version]}),
                    source=f"{ctx.settings.resolved_lake_uri}/{table}@v{table_version}",
                    name=table,
                ),
                context="training",
            )
        info = mlflow.xgboost.log_model(
            trained.booster,
            name="model",
            # A regression's loss models travel with it (MLflow's `extra_files/`).
            extra_files=_loss_model_files(trained.loss_models, folder) or None,
            signature=infer_signature(example, trained.booster.inplace_predict(trained.example)),
            input_example=example,
            registered_model_name=model.name,
            metadata={
                "driftline": {
                    "encoding": trained.encoding.to_dict(),
                    "profile": json.dumps(trained.profile),
                    "importance": importance,
                }
            },
        )
        run_id = active.info.run_id
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(model.name, version, key, value)
    return Logged(run_id, version, tags)


def _loss_model_files(models: dict[str, bytes], folder: str) -> list[str]:
    """Each loss model written as `loss_<name>.ubj` in `folder`, for `extra_files`."""
    from pathlib import Path

    from driftline.model.loss_model import FILE

    paths = []
    for loss, raw in models.items():
        path = Path(folder) / FILE.format(loss=loss)
        path.write_bytes(raw)
        paths.append(str(path))
    return paths


def code_version() -> str:
    """The git commit of the checkout Driftline runs from, else the package version."""
    import subprocess
    from pathlib import Path

    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except OSError:
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__
