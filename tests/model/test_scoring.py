"""Scores and top contributions from one contributions pass, as the executors compute them."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def booster():  # type: ignore[no-untyped-def]
    import xgboost as xgb

    rng = np.random.default_rng(7)
    x = rng.normal(size=(2000, 4)).astype(np.float32)
    y = (x[:, 0] - 2 * x[:, 2] + rng.normal(scale=0.3, size=2000) > 0).astype(np.float32)
    return xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "base_score": 0.3},
        xgb.DMatrix(x, label=y, feature_names=["a", "b", "c", "d"]),
        30,
    )


def test_the_contributions_sum_to_the_models_own_score(booster) -> None:  # type: ignore[no-untyped-def]
    from driftline.model.scoring import contributions, objective_of

    matrix = np.random.default_rng(8).normal(size=(500, 4)).astype(np.float32)
    matrix[::9, 1] = np.nan
    contribs = contributions(booster, matrix, ["a", "b", "c", "d"])
    scores = 1.0 / (1.0 + np.exp(-contribs.sum(axis=1, dtype=np.float64)))
    np.testing.assert_allclose(scores, booster.inplace_predict(matrix), atol=1e-6)
    assert objective_of(booster) == "binary:logistic"


def test_top_contributions_are_the_largest_by_magnitude_in_order() -> None:
    from driftline.model.scoring import top_of

    contribs = np.array([[0.1, -0.5, 0.3, 0.0], [2.0, 0.0, 0.0, -3.0]])
    rows = top_of(contribs, ["a", "b", "c", "d"], 2).to_pylist()
    assert rows == [
        [{"feature": "b", "contribution": -0.5}, {"feature": "c", "contribution": 0.3}],
        [{"feature": "d", "contribution": -3.0}, {"feature": "a", "contribution": 2.0}],
    ]
    assert len(top_of(contribs, ["a", "b", "c", "d"], 9)[0]) == 4


def _batch(rows: int):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    rng = np.random.default_rng(9)
    columns = {name: rng.normal(size=rows) for name in "abcd"}
    columns["a"][::7] = np.nan
    return pa.RecordBatch.from_pydict({"id": np.arange(rows), **columns})


@pytest.mark.filterwarnings("ignore:.*GPU:UserWarning")
@pytest.mark.parametrize("from_contributions", [True, False])
def test_a_batch_on_a_gpu_gets_exact_shap_and_the_same_scores(booster, from_contributions) -> None:  # type: ignore[no-untyped-def]
    """XGBoost's GPU predictor refuses approximate contributions, so a booster placed on
    `cuda` must ask for exact ones. Without a GPU XGBoost runs that path on the CPU, which
    is what this checks: the same scores, and contributions equal to exact TreeSHAP."""
    import xgboost as xgb

    from driftline.data.features import FeatureEncoding
    from driftline.model.scoring import score_batch

    names = ["a", "b", "c", "d"]
    encoder = FeatureEncoding(names=names, categorical={})
    batch = _batch(300)
    matrix = encoder.matrix(batch)
    on_gpu = booster.copy()
    on_gpu.set_param({"device": "cuda"})
    cpu = score_batch(booster, "cpu", encoder, batch, ["id"], 2, from_contributions)
    gpu = score_batch(on_gpu, "cuda", encoder, batch, ["id"], 2, from_contributions)

    np.testing.assert_allclose(gpu.column("score"), booster.inplace_predict(matrix), atol=1e-6)
    np.testing.assert_allclose(cpu.column("score"), gpu.column("score"), atol=1e-6)
    exact = booster.predict(xgb.DMatrix(matrix, feature_names=names), pred_contribs=True)
    for row, top in enumerate(gpu.column("top_contributions").to_pylist()):
        assert [t["feature"] for t in top] == [
            names[j] for j in np.argsort(-np.abs(exact[row, :-1]), kind="stable")[:2]
        ]
        np.testing.assert_allclose(
            [t["contribution"] for t in top],
            sorted(exact[row, :-1], key=abs, reverse=True)[:2],
            atol=1e-5,
        )
    assert gpu.column("id").to_pylist() == list(range(300))
    # Each row says which kind of contributions it carries.
    assert set(gpu.column("contribution_method").to_pylist()) == {"tree_shap"}
    assert set(cpu.column("contribution_method").to_pylist()) == {"saabas"}


def test_a_non_finite_score_fails_the_batch_naming_the_row() -> None:
    import json

    import pyarrow as pa
    import xgboost as xgb

    from driftline.core.errors import ScoringError
    from driftline.data.features import FeatureEncoding
    from driftline.model.scoring import score_batch

    x = np.array([[0.0], [1.0], [2.0]], dtype=np.float32)
    trained = xgb.train(
        {"objective": "reg:squarederror", "nthread": 1, "max_depth": 1},
        xgb.DMatrix(x, label=np.array([0.0, 1.0, 2.0], dtype=np.float32)),
        2,
    )
    # Both trees' right leaf near float32's maximum: only the row reaching both overflows.
    model = json.loads(trained.save_raw("json"))
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        right_leaf = [i for i, child in enumerate(tree["left_children"]) if child == -1][-1]
        tree["split_conditions"][right_leaf] = tree["base_weights"][right_leaf] = 3e38
    broken = xgb.Booster()
    broken.load_model(bytearray(json.dumps(model).encode()))
    batch = pa.RecordBatch.from_pydict({"id": ["r1", "r2", "r3"], "v": [0.0, 1.0, 2.0]})
    encoder = FeatureEncoding(names=["v"], categorical={})

    with pytest.raises(ScoringError, match=r"1 non-finite score.*'id': 'r3'"):
        score_batch(broken, "cpu", encoder, batch, ["id"], 0, False)
    ok = score_batch(broken, "cpu", encoder, batch.slice(0, 2), ["id"], 0, False)
    assert ok.column("id").to_pylist() == ["r1", "r2"]
    assert ok.column("contribution_method").to_pylist() == [None, None]  # none kept


def _fitted(objective: str, y: np.ndarray, x: np.ndarray, **params: object):  # type: ignore[no-untyped-def]
    import xgboost as xgb

    data = xgb.DMatrix(x, label=y, feature_names=["a", "b"])
    return xgb.train({"objective": objective, "max_depth": 3, **params}, data, 10)


def test_a_multiclass_row_gets_its_class_its_probabilities_and_why() -> None:
    import pyarrow as pa

    from driftline.data.features import FeatureEncoding
    from driftline.model.scoring import contributions, score_batch

    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, (300, 2)).astype(np.float32)
    y = np.digitize(x[:, 0] + 0.3 * rng.normal(0, 1, 300), [-0.5, 0.5])
    model = _fitted("multi:softprob", y, x, num_class=3)
    encoder = FeatureEncoding(["a", "b"], {})
    batch = pa.RecordBatch.from_pydict({"id": list(range(300)), "a": x[:, 0], "b": x[:, 1]})
    scored = score_batch(model, "cpu", encoder, batch, ["id"], 2, False, ["low", "mid", "high"])
    probabilities = np.asarray(scored.column("class_probabilities").to_pylist())
    assert probabilities.shape == (300, 3) and np.allclose(probabilities.sum(axis=1), 1)
    chosen = probabilities.argmax(axis=1)
    assert scored.column("predicted_class").to_pylist() == [
        ["low", "mid", "high"][c] for c in chosen
    ]
    assert np.allclose(scored.column("score").to_numpy(), probabilities.max(axis=1))
    # The contributions are towards the predicted class: that class's row of XGBoost's.
    towards = contributions(model, x, ["a", "b"])[np.arange(300), chosen, :-1]
    first = scored.column("top_contributions")[0].as_py()
    assert {c["feature"]: c["contribution"] for c in first} == pytest.approx(
        dict(zip(["a", "b"], towards[0].tolist(), strict=True))
    )


def test_a_regression_row_scores_its_value() -> None:
    import pyarrow as pa

    from driftline.data.features import FeatureEncoding
    from driftline.model.scoring import score_batch

    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (200, 2)).astype(np.float32)
    y = 3 * x[:, 0] + 10
    model = _fitted("reg:squarederror", y, x)
    batch = pa.RecordBatch.from_pydict({"id": list(range(200)), "a": x[:, 0], "b": x[:, 1]})
    scored = score_batch(model, "cpu", FeatureEncoding(["a", "b"], {}), batch, ["id"], 1, False)
    assert np.allclose(scored.column("score").to_numpy(), model.inplace_predict(x), atol=1e-5)
    assert "predicted_class" not in scored.schema.names
    assert scored.column("top_contributions")[0].as_py()[0]["feature"] in ("a", "b")


@pytest.mark.integration
def test_scoring_a_tables_files_with_arrow_matches_scoring_through_spark(
    booster, spark, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """The two ways rows reach the booster give the same rows: Spark's reader into
    `mapInArrow`, or Arrow reading the table's files inside the tasks. A file written
    before the table gained a feature reads it as null (NaN to the booster), and a
    timestamp `as_of_date` keeps its instant."""
    from datetime import UTC, datetime

    from driftline.data.features import FeatureEncoding
    from driftline.lake import open_lake
    from driftline.model.scoring import score_frame

    lake = open_lake(str(tmp_path / "lake"), spark, "delta-rs")
    at = datetime(2024, 1, 1, 5, tzinfo=UTC)
    rng = np.random.default_rng(3)
    old = [(i, at, *map(float, rng.normal(size=3)), "2024-01-01") for i in range(40)]
    lake.replace_partition(
        "features",
        spark.createDataFrame(
            old, "id long, as_of_date timestamp, a double, b double, c double, _run_date string"
        ),
        {"_run_date": "2024-01-01"},
    )
    new = [(i, at, *map(float, rng.normal(size=4)), "2024-01-02") for i in range(40, 90)]
    lake.replace_partition(
        "features",
        spark.createDataFrame(
            new,
            "id long, as_of_date timestamp, a double, b double, c double, "
            "d double, _run_date string",
        ),
        {"_run_date": "2024-01-02"},
    )
    encoding = FeatureEncoding(names=["a", "b", "c", "d"], categorical={})
    features = lake.read("features")
    files = [
        *(lake.data_files("features", {"_run_date": "2024-01-01"}) or []),
        *(lake.data_files("features", {"_run_date": "2024-01-02"}) or []),
    ]
    assert len(files) >= 2
    keep = ["id", "as_of_date"]
    by_spark = score_frame(features, booster, encoding, keep, top_k=2).collect()
    by_arrow = score_frame(features, booster, encoding, keep, top_k=2, files=files)
    assert by_arrow.schema == score_frame(features, booster, encoding, keep).schema
    assert sorted(map(tuple, by_arrow.collect())) == sorted(map(tuple, by_spark))
    assert {r["as_of_date"].astimezone(UTC) for r in by_spark} == {at}
    assert score_frame(features, booster, encoding, keep, files=[]).count() == 0
    gone = str(tmp_path / "moved-away.parquet")
    with pytest.raises(Exception, match="is not where the Delta log says"):
        score_frame(features, booster, encoding, keep, files=[gone]).collect()
