"""Answering an auditor: which model and which data produced a past prediction, and why.

Everything comes from what was recorded at the time (the prediction's lineage columns, the
model version's tags in the registry, Delta time travel to the features version it read),
never from the current state of the tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.errors import DriftlineError
from driftline.core.intervals import RunInterval
from driftline.data.features import AS_OF
from driftline.model import registry


@dataclass(frozen=True)
class AuditRecord:
    entity: str
    as_of_date: date
    score: float
    model_name: str
    model_version: str
    model_alias: str
    mlflow_run_id: str
    features_version: int
    training: dict[str, str]
    feature_values: dict[str, Any]
    contributions: list[tuple[str, float]] = field(default_factory=list)
    # saabas | tree_shap; None for predictions written before rows recorded it
    contribution_method: str | None = None
    exact_contributions: list[tuple[str, float]] = field(default_factory=list)
    # A multiclass model's answer: the predicted class (whose probability `score` is, and
    # towards which the contributions are) and every class's probability.
    predicted_class: str | None = None
    class_probabilities: dict[str, float] = field(default_factory=dict)


def audit(ctx: RunContext, entity: str, run: date | RunInterval) -> list[AuditRecord]:
    """One record per model that scored `entity` in the run of `run` (champion and
    shadows)."""
    import mlflow
    from pyspark.sql import functions as F

    key = ctx.pipeline.entity.key
    run = run if isinstance(run, RunInterval) else RunInterval(run)
    if not ctx.lake.exists(tables.PREDICTIONS):
        raise DriftlineError("no predictions have been written yet")
    rows = (
        ctx.lake.read(tables.PREDICTIONS)
        .where(run.is_this() & (F.col(key) == F.lit(entity)))
        .collect()
    )
    if not rows:
        raise DriftlineError(
            f"no prediction for {key}={entity!r} on {run.label}: check the id and the "
            "date (predictions are keyed on the run's logical date)"
        )
    registry.configure_mlflow(ctx.settings, f"driftline-{ctx.pipeline.pipeline}")
    client = mlflow.MlflowClient()
    records = []
    for row in rows:
        version = client.get_model_version(row["model_name"], row["model_version"])
        training = {
            name.removeprefix("driftline."): value
            for name, value in (version.tags or {}).items()
            if name.startswith("driftline.")
        }
        features = (
            ctx.lake.read(tables.FEATURES, version=int(row["features_version"]))
            .where((F.col(AS_OF) == F.lit(row[AS_OF])) & (F.col(key) == F.lit(entity)))
            .select(*ctx.pipeline.feature_names)
            .first()
        )
        recorded = row.asDict()
        classes = ctx.pipeline.task.classes
        predicted_class = recorded.get("predicted_class")
        towards = classes.index(predicted_class) if predicted_class in classes else None
        exact: list[tuple[str, float]] = []
        if features is not None:
            exact = _exact_contributions(
                registry.ModelRef(
                    row["model_name"],
                    row["model_version"],
                    row["model_alias"],
                    row["mlflow_run_id"],
                ),
                features.asDict(),
                k=len(row["top_contributions"] or []) or 3,
                towards=towards,
            )
        records.append(
            AuditRecord(
                entity=entity,
                as_of_date=row[AS_OF],
                score=float(row["score"]),
                model_name=row["model_name"],
                model_version=row["model_version"],
                model_alias=row["model_alias"],
                mlflow_run_id=row["mlflow_run_id"],
                features_version=int(row["features_version"]),
                training=training,
                feature_values=features.asDict() if features else {},
                contributions=[
                    (c["feature"], float(c["contribution"]))
                    for c in (row["top_contributions"] or [])
                ],
                # Absent from a table no scoring run has written since rows recorded it.
                contribution_method=recorded.get("contribution_method"),
                exact_contributions=exact,
                predicted_class=predicted_class,
                class_probabilities=dict(
                    zip(classes, recorded.get("class_probabilities") or [], strict=False)
                ),
            )
        )
    return records


def _exact_contributions(
    ref: registry.ModelRef, values: dict[str, Any], k: int, towards: int | None = None
) -> list[tuple[str, float]]:
    """Exact TreeSHAP values for one row, from the model version that scored it (towards
    class `towards` for a multiclass model)."""
    import pyarrow as pa

    from driftline.model.scoring import contributions, top_of

    model = registry.load(ref)
    row = pa.table({name: [values.get(name)] for name in model.encoding.names})
    names = model.encoding.names
    values_of = contributions(model.booster, model.encoding.matrix(row), names, approx=False)
    per_feature = values_of[:, towards, :-1] if towards is not None else values_of[:, :-1]
    array = top_of(per_feature, names, k)
    return [(c["feature"], float(c["contribution"])) for c in array[0].as_py()]
