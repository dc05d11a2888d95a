"""Performance before labels for regression and multiclass champions: the monitor's
estimate beside what the night's labels later give, on synthetic streams under covariate
shift (P(y | x) holds, the features move).

Each stream has a reference window (`--reference-days` days of `--rows` rows) on which an
XGBoost champion trains, its latest fifth held out as the frozen holdout, as the train step
does; then 60 nights of `--rows` rows. What training keeps is built by the functions the
train step calls: a regression's loss models (`model.loss_model.fit_loss_models`, the
expected absolute and squared error of a row from its features) and, its fallback for a
small holdout, its errors per quantile bin of the prediction
(`model.loss_model.error_by_score`; rows `mae bins`, `rmse bins`, shown, not in
`RATIO`); a multiclass model's calibration of "the predicted class is right"
(`model.calibration.fit_calibration`), which gives its expected accuracy and, with the
rest of each row's mass spread as the model spreads it, its expected log loss
(`model.calibration.expected_logloss`) and each class's expected counts, hence its
macro-F1 (`model.calibration.expected_outcomes`); a regression's R² from its expected
RMSE and the spread of the night's predictions. Every night the estimate comes from the package's
own functions (`monitoring.estimated`), fed the sums and counts tonight's drift scan would
give (bins counted with the scan's own rule, `searchsorted(..., side="left")`).

Beside it, what a monitor without an estimate knows before labels: the holdout's own
metric, carried forward. Per stream and metric, the mean absolute error of each against
the realised metric (columns `estimate` and `carried`, in the metric's units); the last line
is `RATIO <carried-forward error / estimate error>`, each summed over streams and metrics
(higher is better; 1 means the estimate adds nothing; the metrics' scales are alike here:
MAE, RMSE and log loss near 1, accuracy, macro-F1 and R² between 0.5 and 0.9).

Streams (the change starts on night 30):

- stationary: nothing changes.
- sudden: x0, the feature the outcome rests on most, moves by 1 sd.
- gradual: x0 moves by 0.04 sd more each night from night 20.
- widening: x1, on which the noise grows (regression) or the classes blur (multiclass),
  widens to 1.6 sd.

    .venv/bin/python benchmarks/estimates.py --seeds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

NIGHTS = 60
CHANGE = 30
FEATURES = 5
STREAMS = ["stationary", "sudden", "gradual", "widening"]
NAMES = [f"x{i}" for i in range(FEATURES)]
# The regression's fallback (a holdout too small for loss models), shown, not in RATIO.
BINNED = "{} bins"


def _features(rng: Any, rows: int, stream: str, night: int) -> Any:
    """One night's features; night < 0 is the reference window."""
    x = rng.normal(size=(rows, FEATURES))
    if stream == "sudden" and night >= CHANGE:
        x[:, 0] += 1.0
    elif stream == "gradual" and night >= 20:
        x[:, 0] += 0.04 * (night - 20)
    elif stream == "widening" and night >= CHANGE:
        x[:, 1] *= 1.6
    return x


def _regression_target(rng: Any, x: Any) -> Any:
    import numpy as np

    signal = 2.0 * x[:, 0] + np.sin(2 * x[:, 2]) + 0.5 * x[:, 3]
    return signal + rng.normal(size=len(x)) * (0.3 + 0.6 * np.abs(x[:, 1]) + 0.3 * (x[:, 0] > 1))


def _multiclass_target(rng: Any, x: Any) -> Any:
    import numpy as np

    blur = 1.0 + np.abs(x[:, 1])
    logits = np.stack([1.8 * x[:, 0], 0.8 * x[:, 2], -1.8 * x[:, 0] + 0.3], axis=1) / blur[:, None]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return (rng.random(len(x))[:, None] > np.cumsum(probabilities, axis=1)).sum(axis=1)


def _champion(kind: str, x: Any, y: Any, seed: int) -> tuple[Any, dict[str, Any], dict[str, float]]:
    """The booster, its profile's score reference and its holdout metrics, as training
    keeps them."""
    import numpy as np
    import xgboost as xgb

    from driftline.model.calibration import (
        EPS,
        expected_logloss,
        fit_calibration,
        logloss_reference,
        macro_f1_reference,
    )
    from driftline.model.loss_model import error_by_score, fit_loss_models, r2_reference

    holdout = np.arange(len(x)) >= int(len(x) * 0.8)  # the latest fifth of the window
    params: dict[str, Any] = {"max_depth": 4, "eta": 0.1, "seed": seed, "nthread": 2}
    if kind == "regression":
        params["objective"] = "reg:squarederror"
    else:
        params.update(objective="multi:softprob", num_class=3)
    booster = xgb.train(params, xgb.DMatrix(x[~holdout], y[~holdout]), num_boost_round=150)
    predicted = booster.inplace_predict(x[holdout])
    truth = y[holdout]
    if kind == "regression":
        errors = truth - predicted
        models, losses = fit_loss_models(x[holdout], errors, NAMES, seed)
        mae, rmse = float(np.mean(np.abs(errors))), float(np.sqrt(np.mean(errors**2)))
        r2 = 1 - rmse**2 / float(np.var(truth))
        return (
            booster,
            {
                "bins": error_by_score(predicted, truth),
                "models": models,
                "losses": losses,
                "r2": r2_reference(predicted, truth),
            },
            {"mae": mae, "rmse": rmse, "r2": r2}
            | {BINNED.format(m): v for m, v in (("mae", mae), ("rmse", rmse), ("r2", r2))},
        )
    right = (predicted.argmax(axis=1) == truth).astype(float)
    top = predicted.max(axis=1)
    calibration = fit_calibration(right, top, seed=seed)
    realised = -np.log(np.clip(predicted[np.arange(len(truth)), truth], EPS, 1))
    expected = expected_logloss(top, calibration, predicted)
    return (
        booster,
        {
            "calibration": calibration,
            "logloss": logloss_reference(realised, expected, calibration),
            "macro_f1": macro_f1_reference(truth, predicted, calibration),
        },
        {
            "accuracy": float(right.mean()),
            "mlogloss": float(realised.mean()),
            "macro_f1": _realised_macro_f1(truth, predicted),
        },
    )


def _realised_macro_f1(truth: Any, predicted: Any) -> float:
    import numpy as np

    from driftline.model.calibration import f1_counts, macro_f1

    return macro_f1(*f1_counts(np.eye(3)[truth], predicted.argmax(axis=1), 3))[0]


def _night(
    kind: str, booster: Any, reference: dict[str, Any], x: Any, y: Any
) -> dict[str, tuple[float, float]]:
    """Per metric: (estimate, realised) for one night."""
    import numpy as np

    from driftline.model.calibration import EPS, expected_logloss, expected_outcomes, f1_counts
    from driftline.model.loss_model import predict_losses
    from driftline.monitoring.estimated import (
        estimate_accuracy,
        estimate_errors,
        estimate_from_losses,
        estimate_logloss,
        estimate_macro_f1,
        estimate_r2,
        score_histogram,
    )

    predicted = booster.inplace_predict(x)
    if kind == "regression":
        errors = y - predicted
        realised = {
            "mae": float(np.mean(np.abs(errors))),
            "rmse": float(np.sqrt(np.mean(errors**2))),
            "r2": 1 - float(np.mean(errors**2)) / float(np.var(y)),
        }
        losses = predict_losses(reference["models"], x.astype(np.float32))
        spread = float(np.var(predicted))
        found = {}
        for name, estimates in (
            (
                "{}",
                estimate_from_losses(
                    float(losses["absolute"].sum()),
                    float(losses["squared"].sum()),
                    len(x),
                    reference["losses"],
                ),
            ),
            (
                BINNED,
                estimate_errors(
                    np.bincount(
                        np.searchsorted(reference["bins"]["edges"], predicted, side="left"),
                        minlength=len(reference["bins"]["edges"]) + 1,
                    ),
                    reference["bins"],
                ),
            ),
        ):
            for e in estimates:
                found[name.format(e.metric)] = (e.value, realised[e.metric])
                if e.metric == "rmse" and (r2 := estimate_r2(e, spread, reference["r2"])):
                    found[name.format("r2")] = (r2.value, realised["r2"])
        return found
    top = predicted.max(axis=1)
    estimate = estimate_accuracy(score_histogram(top), reference["calibration"])
    assert estimate is not None
    expected = expected_logloss(top, reference["calibration"], predicted)
    loss = estimate_logloss("mlogloss", float(expected.sum()), len(x), reference["logloss"])
    assert loss is not None
    realised = -np.log(np.clip(predicted[np.arange(len(y)), y], EPS, 1))
    outcomes = expected_outcomes(top, reference["calibration"], predicted)
    f1 = estimate_macro_f1(
        *f1_counts(outcomes, predicted.argmax(axis=1), 3), reference["macro_f1"], applied=False
    )
    assert f1 is not None
    return {
        "accuracy": (estimate.value, float(np.mean(predicted.argmax(axis=1) == y))),
        "mlogloss": (loss.value, float(realised.mean())),
        "macro_f1": (f1.value, _realised_macro_f1(y, predicted)),
    }


def run_stream(
    kind: str, stream: str, seed: int, rows: int, reference_days: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Per metric: the estimate's and the carried-forward holdout's absolute errors per night."""
    import numpy as np

    rng = np.random.default_rng(seed * 1000 + STREAMS.index(stream))
    target = _regression_target if kind == "regression" else _multiclass_target
    x = np.concatenate([_features(rng, rows, stream, -1) for _ in range(reference_days)])
    booster, reference, holdout = _champion(kind, x, target(rng, x), seed)
    errors: dict[str, tuple[list[float], list[float]]] = {m: ([], []) for m in holdout}
    for night in range(NIGHTS):
        x = _features(rng, rows, stream, night)
        for metric, (estimate, realised) in _night(
            kind, booster, reference, x, target(rng, x)
        ).items():
            errors[metric][0].append(abs(estimate - realised))
            errors[metric][1].append(abs(holdout[metric] - realised))
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--rows", type=int, default=2000, help="rows per night")
    parser.add_argument("--reference-days", type=int, default=10)
    args = parser.parse_args(argv)

    estimate_total = carried_total = 0.0
    print(f"{'task':<11} {'stream':<11} {'metric':<9} {'estimate':>9} {'carried':>9} {'ratio':>6}")
    for kind in ("regression", "multiclass"):
        for stream in STREAMS:
            pooled: dict[str, tuple[list[float], list[float]]] = {}
            for seed in range(args.seeds):
                for metric, (estimate, carried) in run_stream(
                    kind, stream, seed, args.rows, args.reference_days
                ).items():
                    pooled.setdefault(metric, ([], []))
                    pooled[metric][0].extend(estimate)
                    pooled[metric][1].extend(carried)
            for metric, (estimate, carried) in pooled.items():
                e, c = statistics.mean(estimate), statistics.mean(carried)
                if not metric.endswith(BINNED.format("")):
                    estimate_total += e
                    carried_total += c
                ratio = c / max(e, 1e-12)
                print(f"{kind:<11} {stream:<11} {metric:<9} {e:>9.4f} {c:>9.4f} {ratio:>6.2f}")
    print(f"RATIO {carried_total / max(estimate_total, 1e-12):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
