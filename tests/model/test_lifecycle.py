"""Champion/challenger on real MLflow, XGBoost and Delta: shadow scoring, the promotion
gate, rollback and history; and reproducible training."""

from __future__ import annotations

from datetime import date

import mlflow
import numpy as np
import pytest

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.intervals import RunInterval
from driftline.core.loading import load_pipeline
from driftline.core.pipeline import PipelineConfig
from driftline.demo.data import DemoData, write_demo_drop
from driftline.model import registry, training
from driftline.model.lifecycle import history, rollback
from driftline.steps import conform, features, ingest, promote, score, train, validate
from tests.conftest import PROJECT, make_settings

pytestmark = pytest.mark.integration


def with_params(pipeline: PipelineConfig, **params: object) -> PipelineConfig:
    """The same pipeline with fixed XGBoost params (no search to override them)."""
    model = pipeline.model.model_copy(
        update={"params": {**pipeline.model.params, **params}, "search_trials": 0}
    )
    return pipeline.model_copy(update={"model": model})


@pytest.fixture(scope="module")
def lake_with_three_nights(spark, tmp_path_factory):  # type: ignore[no-untyped-def]
    from driftline.lake import open_lake

    root = tmp_path_factory.mktemp("lifecycle")
    settings = make_settings(root)
    pipeline = load_pipeline(PROJECT / "driftline.yaml")
    spec = DemoData(start=date(2024, 3, 1), days=3, drift_day=5, rows_per_day=300)
    write_demo_drop(root / "drop", spec)
    lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
    contexts = []
    for day in spec.dates:
        ctx = RunContext(RunInterval(day), f"t-{day}", settings, pipeline, spark, lake)
        for step in (ingest, validate, conform, features):
            step.run(ctx)
        contexts.append(ctx)
    return contexts


def test_gate_promotes_a_better_model_rejects_a_worse_one_and_rollback_restores(
    lake_with_three_nights,  # type: ignore[no-untyped-def]
) -> None:
    day2, day3 = lake_with_three_nights[1], lake_with_three_nights[2]
    # A champion that learned nothing (eta 0 keeps every score at 0.5).
    useless = with_params(day2.pipeline, eta=0.0)
    bootstrap = train.run(_with(day2, useless), reason="bootstrap", only_if_no_champion=True)
    assert bootstrap.metrics["alias"] == "champion"

    better = train.run(day3, reason="drift")
    assert better.metrics["alias"] == "challenger-20240303"
    score.run(day3)
    aliases = {r["model_alias"] for r in day3.lake.read(tables.PREDICTIONS).collect()}
    assert aliases == {"champion", "challenger-20240303"}  # the challenger scores in shadow

    promoted = promote.run(day3)
    assert promoted.metrics["promoted"], promoted.metrics["reasons"]
    assert (
        registry.require_alias(day3.pipeline.model.name).version == better.metrics["model_version"]
    )

    # A backfill of day 2 is scored by the model that was champion on day 2.
    score.run(day2)
    day2_rows = day3.lake.read(tables.PREDICTIONS).where("_run_date = '2024-03-02'").collect()
    assert {(r["model_version"], r["model_alias"]) for r in day2_rows} == {
        (bootstrap.metrics["model_version"], "champion")
    }

    worse = train.run(_with(day3, with_params(day3.pipeline, eta=0.0)), reason="manual")
    rejected = promote.run(day3)
    assert not rejected.metrics["promoted"]
    assert "below the margin" in " ".join(rejected.metrics["reasons"])
    assert registry.find_alias(day3.pipeline.model.name, "challenger-20240303") is None
    assert worse.metrics["model_version"] == rejected.metrics["challenger"]

    assert rollback(day3) == bootstrap.metrics["model_version"]
    tenures = history(day3)
    assert [(t.version, t.how) for t in tenures] == [
        (bootstrap.metrics["model_version"], "bootstrap"),
        (better.metrics["model_version"], "promote"),
        (bootstrap.metrics["model_version"], "rollback"),
    ]
    decisions = {r["kind"]: r for r in day3.lake.read(tables.DECISIONS).collect()}
    assert decisions["reject"]["challenger_value"] is not None
    assert decisions["promote"]["champion_before"] == bootstrap.metrics["model_version"]


def test_same_data_versions_and_seed_give_the_same_model(lake_with_three_nights) -> None:  # type: ignore[no-untyped-def]
    day3 = lake_with_three_nights[2]
    frame, versions = training.training_frame(day3)
    data = frame.orderBy("as_of_date", day3.pipeline.entity.key).toArrow()
    first = train.run(day3, reason="manual")
    second = train.run(day3, reason="manual")
    models = [
        registry.load(
            registry.ModelRef(
                day3.pipeline.model.name,
                r.metrics["model_version"],
                "x",
                r.metrics["mlflow_run_id"],
            )
        )
        for r in (first, second)
    ]
    matrix = models[0].encoding.matrix(data)
    assert np.array_equal(
        models[0].booster.inplace_predict(matrix), models[1].booster.inplace_predict(matrix)
    )
    assert first.metrics["holdout_auc"] == second.metrics["holdout_auc"]
    assert versions[tables.FEATURES] == day3.lake.version(tables.FEATURES)


def test_a_large_training_set_trains_on_the_executors(lake_with_three_nights) -> None:  # type: ignore[no-untyped-def]
    from driftline.data.features import FeatureEncoding
    from driftline.model.scoring import score_frame

    day3 = lake_with_three_nights[2]

    def with_threshold(rows: int) -> RunContext:
        model = day3.pipeline.model.model_copy(
            update={"spark_training_rows": rows, "search_trials": 2}
        )
        return _with(day3, day3.pipeline.model_copy(update={"model": model}))

    frame, _ = training.training_frame(day3)
    rows = frame.count()
    on_driver = train.run(with_threshold(rows + 1), reason="manual").metrics
    on_spark = train.run(with_threshold(rows // 3), reason="manual").metrics

    assert on_driver["engine"] == "xgboost"
    assert on_spark["engine"] == "xgboost.spark"
    assert on_spark["train_rows"] + on_spark["holdout_rows"] == rows
    assert on_spark["search_sample_rows"] <= rows // 3 < on_spark["train_rows"]
    assert on_spark["holdout_auc"] > 0.6, on_spark
    version = mlflow.MlflowClient().get_model_version(
        day3.pipeline.model.name, on_spark["model_version"]
    )
    assert version.tags["driftline.engine"] == "xgboost.spark"

    # The Spark encoding is the driver's, value for value; the booster scores like any other.
    loaded = registry.load(
        registry.ModelRef(
            day3.pipeline.model.name, on_spark["model_version"], "x", on_spark["mlflow_run_id"]
        )
    )
    frame = frame.orderBy("as_of_date", day3.pipeline.entity.key)
    data = frame.toArrow()
    encoding = FeatureEncoding.fit_frame(day3.pipeline, frame)
    assert encoding == FeatureEncoding.fit(day3.pipeline, data)
    in_spark = np.array(frame.select(*encoding.columns()).toPandas(), dtype=np.float32)
    np.testing.assert_array_equal(in_spark, encoding.matrix(data))
    key = day3.pipeline.entity.key
    scored = score_frame(frame, loaded.booster, loaded.encoding, keep=[key], top_k=0)
    scores = np.array([r["score"] for r in scored.collect()])
    assert len(scores) == rows and np.isfinite(scores).all() and scores.std() > 0


def _with(ctx: RunContext, pipeline: PipelineConfig) -> RunContext:
    return RunContext(ctx.interval, ctx.run_id, ctx.settings, pipeline, ctx.spark, ctx.lake)
