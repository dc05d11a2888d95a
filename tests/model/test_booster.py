from __future__ import annotations

import numpy as np

from driftline.core.tasks import Task
from driftline.model.booster import class_weight, fit_booster, latest_dates_mask
from driftline.model.judging import baseline as task_baseline


def synthetic(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=n) > 1.0).astype(np.float32)
    dates = np.repeat(np.arange("2024-03-01", "2024-03-07", dtype="datetime64[D]"), n // 6)
    return x, y, dates


def test_latest_dates_mask_holds_out_the_most_recent_dates() -> None:
    _, _, dates = synthetic()
    mask = latest_dates_mask(dates, 0.2)
    assert set(dates[mask]) == {np.datetime64("2024-03-06")}
    assert dates[~mask].max() < dates[mask].min()


def test_class_weight_is_negatives_per_positive() -> None:
    assert class_weight(np.array([0, 0, 0, 1])) == 3.0
    assert class_weight(np.array([0, 0])) == 1.0


def test_search_is_seeded_and_beats_the_baseline_on_signal() -> None:
    x, y, dates = synthetic()
    params = {
        **Task("binary", "binary:logistic").params,
        "tree_method": "hist",
        "seed": 1,
        "nthread": 1,
    }
    first = fit_booster(x, y, dates, params, ["a", "b", "c"], 100, trials=3, seed=1)
    second = fit_booster(x, y, dates, params, ["a", "b", "c"], 100, trials=3, seed=1)
    assert first.params == second.params
    assert np.array_equal(first.booster.inplace_predict(x), second.booster.inplace_predict(x))
    assert first.trials == 3 and first.best_iteration < 100
    assert first.params["scale_pos_weight"] > 1  # the positive class is the rare one
    baseline = task_baseline(Task("binary", "binary:logistic"), seed=1).fit(x, y)
    assert baseline.predict_proba(x).shape == (len(x), 2)


def test_a_regression_booster_is_stopped_by_its_own_metric() -> None:
    x, _, dates = synthetic()
    y = 3 * x[:, 0] + x[:, 1]
    params = {**Task("regression", "reg:squarederror").params, "seed": 1, "nthread": 1}
    fitted = fit_booster(x, y, dates, params, ["a", "b", "c"], 200, trials=0, seed=1)
    assert "scale_pos_weight" not in fitted.params
    assert fitted.booster.attributes()["best_score"]  # early-stopped on validation rmse
    assert float(np.sqrt(np.mean((fitted.booster.inplace_predict(x) - y) ** 2))) < 1.0


def test_held_back_days_follow_the_training_split() -> None:
    from driftline.model.booster import held_back_days

    # Five labelled dates: one holdout date, one early-stopping date, three fitted.
    assert held_back_days(5) == 2
    # A full 28-day window: six holdout dates, then four of the 22 left.
    assert held_back_days(28) == 10
    # One date is split by rows: no whole date is held back.
    assert held_back_days(1) == 0


def test_a_training_profile_keeps_the_delivered_values_not_float32_ones() -> None:
    """A constant price (0.414912) profiled from the booster's float32 matrix became
    0.41491198..., so every serving row of the same value fell out of the training range
    and the feature drifted every night (found on Elec2)."""
    from types import SimpleNamespace

    import pyarrow as pa

    from driftline.model.training import reference_profile

    n = 200
    train = pa.table(
        {
            "as_of_date": [f"2024-01-0{1 + i % 3}" for i in range(n)],
            "vicprice": [0.414912] * n,
            "nswprice": [0.05 + i / 1000 for i in range(n)],
            "label": [i % 2 for i in range(n)],
        }
    )
    names = ["vicprice", "nswprice"]
    encoding = SimpleNamespace(names=names, categorical=set())
    profile = reference_profile(train, np.full(n, 0.5), encoding, 10)  # type: ignore[arg-type]
    constant = profile["features"]["vicprice"]
    assert constant["min"] == constant["max"] == 0.414912
    assert profile["features"]["nswprice"]["max"] == 0.05 + (n - 1) / 1000
