"""A regression champion's expected error per row, learnt from its frozen holdout, so the
monitor can estimate tonight's MAE and RMSE before any label arrives.

A predicted value carries no probability, so there is no confidence to read as in the
classifiers' estimates. Instead two small XGBoost models learn, on the holdout rows the
champion never trained on, the absolute and the squared error it makes from the row's
features (direct loss estimation, as NannyML's DLE does); averaged over tonight's rows
they give the expected MAE and MSE, and with the spread of tonight's predictions, R²
(`expected_r2`). Unlike the errors binned by prediction
(`error_by_score`, the fallback for a holdout too small to learn from), they see where the
noise grows with a feature the prediction ignores. Like every estimate from the inputs
alone they assume P(y | x) holds, and a tree's expected error stays flat beyond the
holdout's range of a feature.

The models are small (depth 3, `ROUNDS` trees) and travel with the champion as MLflow
extra files of its model (`loss_<name>.ubj`); the monitor applies them on the executors in
the pass that sketches the features for drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from driftline.data.features import FeatureEncoding

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from pyspark.sql import DataFrame

# Which error each model learns: absolute (MAE) and squared (MSE, hence RMSE).
LOSSES = ("absolute", "squared")
# Below this many holdout rows the loss models would learn noise: errors per bin instead.
MIN_HOLDOUT_ROWS = 200
ROUNDS = 200
PARAMS: dict[str, Any] = {
    "objective": "reg:squarederror",  # the conditional mean of the loss
    "max_depth": 3,
    "eta": 0.05,
    "min_child_weight": 20,
    "subsample": 0.8,
    "nthread": 2,
}
# Each model's file among the champion's MLflow extra files.
FILE = "loss_{loss}.ubj"
# The columns the monitor adds to tonight's features: each row's expected loss.
COLUMNS = {loss: f"__expected_{loss}_error" for loss in LOSSES}

# A regression's holdout errors are kept per quantile bin of its prediction: fine enough
# to follow where tonight's predictions fall, each bin's mean over about this many rows
# or more (tied predictions stay together).
ERROR_BINS = 50
MIN_ERROR_BIN_ROWS = 20


def fit_loss_models(
    x: np.ndarray, errors: np.ndarray, names: list[str], seed: int
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The loss models (raw UBJ bytes per loss) and what the monitor needs beside them:
    the holdout's rows and the spread of each per-row loss (the estimates' sampling
    error). None fitted, and an empty dict, below `MIN_HOLDOUT_ROWS` rows."""
    import numpy as np
    import xgboost as xgb

    errors = np.asarray(errors, dtype=np.float64)
    if len(errors) < MIN_HOLDOUT_ROWS:
        return {}, {}
    targets = {"absolute": np.abs(errors), "squared": errors * errors}
    models: dict[str, bytes] = {}
    for loss, target in targets.items():
        booster = xgb.train(
            {**PARAMS, "seed": seed},
            xgb.DMatrix(x, target, missing=np.nan, feature_names=names),
            num_boost_round=ROUNDS,
        )
        models[loss] = bytes(booster.save_raw("ubj"))
    reference = {
        "rows": len(errors),
        **{f"{loss}_mean": float(target.mean()) for loss, target in targets.items()},
        **{f"{loss}_sd": float(target.std()) for loss, target in targets.items()},
    }
    return models, reference


def expected_losses(
    df: DataFrame, models: dict[str, bytes], encoding: FeatureEncoding
) -> DataFrame:
    """The encoded features of `df` with each row's expected losses (`COLUMNS`), computed
    on the executors, one Arrow batch at a time."""
    from pyspark.sql.types import DoubleType, StructField, StructType

    encoding_dict = encoding.to_dict()
    names = list(encoding.names)
    schema = StructType(
        [
            *[df.schema[c] for c in names],
            *[StructField(COLUMNS[loss], DoubleType()) for loss in models],
        ]
    )

    def predict(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        boosters = load_loss_models(models, nthread=1)  # one thread per Spark task
        encoder = FeatureEncoding.from_dict(encoding_dict)
        for batch in batches:
            if not batch.num_rows:
                continue
            matrix = encoder.matrix(batch)
            yield pa.RecordBatch.from_arrays(
                [
                    *[batch.column(c) for c in names],
                    *[pa.array(b.inplace_predict(matrix), pa.float64()) for b in boosters.values()],
                ],
                names=[*names, *[COLUMNS[loss] for loss in boosters]],
            )

    return df.select(*names).mapInArrow(predict, schema)


def load_loss_models(models: dict[str, bytes], nthread: int | None = None) -> dict[str, Any]:
    """The boosters of `models` (raw UBJ per loss), rebuilt in this process."""
    import xgboost as xgb

    boosters = {}
    for loss, raw in models.items():
        booster = xgb.Booster()
        booster.load_model(bytearray(raw))
        if nthread is not None:
            booster.set_param({"nthread": nthread})
        boosters[loss] = booster
    return boosters


def predict_losses(models: dict[str, bytes], matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Each row's expected losses, in this process (the benchmark's and tests' path)."""
    import numpy as np

    return {
        loss: np.asarray(booster.inplace_predict(matrix), dtype=np.float64)
        for loss, booster in load_loss_models(models).items()
    }


def error_by_score(scores: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """A regression champion's holdout errors per quantile bin of its prediction (up to
    `ERROR_BINS` bins of about `MIN_ERROR_BIN_ROWS` rows or more): each bin's rows, mean
    absolute error, and the means of the squared and fourth-power errors that give both
    estimates their sampling error. Tonight's drift scan counts the predictions in these
    bins (`error_bin_profile`) in the pass that sketches the score.

    A tree ensemble predicts few distinct values, so the edges sit halfway between
    neighbouring distinct predictions, never on one: rows that tie stay in one bin (which
    may then hold more rows), and a prediction that differs from the holdout's by a
    rounding step (another device, another XGBoost build) still lands in its bin."""
    import numpy as np

    scores = np.asarray(scores, dtype=np.float64)
    errors = np.asarray(labels, dtype=np.float64) - scores
    distinct = np.unique(scores)
    bins = max(1, min(ERROR_BINS, len(scores) // MIN_ERROR_BIN_ROWS))
    quantiles = np.quantile(scores, np.linspace(0, 1, bins + 1)[1:-1])
    above = np.searchsorted(distinct, quantiles, side="right")  # first distinct value above
    inside = (above > 0) & (above < len(distinct))
    edges = sorted(
        {float((distinct[i - 1] + distinct[i]) / 2) for i in above[inside]},
    )
    index = np.searchsorted(np.asarray(edges, dtype=np.float64), scores, side="left")
    bins = len(edges) + 1
    rows = np.bincount(index, minlength=bins).astype(np.float64)

    def mean(values: np.ndarray) -> list[float]:
        sums = np.bincount(index, weights=values, minlength=bins)
        return [float(v) for v in np.divide(sums, rows, out=np.zeros(bins), where=rows > 0)]

    squared = errors * errors
    return {
        "edges": edges,
        "rows": [int(r) for r in rows],
        "absolute": mean(np.abs(errors)),
        "squared": mean(squared),
        "fourth": mean(squared * squared),
    }


def expected_r2(mse: float, variance: float) -> float | None:
    """R² from an expected MSE and the variance of tonight's predictions: the labels'
    variance is not known before they arrive, so it is taken as the predictions' plus the
    expected squared error (y = prediction + error, the error of mean zero and
    uncorrelated with the prediction), and R² = 1 - MSE / that. None when both are zero."""
    total = variance + mse
    return 1 - mse / total if total > 0 else None


def r2_reference(scores: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """What the holdout says about `expected_r2`, for its interval: how far it missed the
    realised R² there given the realised MSE (what the errors' mean and their correlation
    with the prediction add to the labels' variance), and how many rows judged it."""
    import numpy as np

    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    mse = float(np.mean((labels - scores) ** 2))
    expected = expected_r2(mse, float(np.var(scores)))
    spread = float(np.var(labels))
    if expected is None or spread == 0:
        return {"rows": len(labels), "gap": 0.0}
    return {"rows": len(labels), "gap": expected - (1 - mse / spread)}
