from __future__ import annotations

import numpy as np

from driftline.model.booster import class_weight, fit_baseline, fit_booster, latest_dates_mask


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
    params = {"objective": "binary:logistic", "tree_method": "hist", "seed": 1, "nthread": 1}
    first = fit_booster(x, y, dates, params, ["a", "b", "c"], 100, trials=3, seed=1)
    second = fit_booster(x, y, dates, params, ["a", "b", "c"], 100, trials=3, seed=1)
    assert first.params == second.params
    assert np.array_equal(first.booster.inplace_predict(x), second.booster.inplace_predict(x))
    assert first.trials == 3 and first.best_iteration < 100
    assert first.params["scale_pos_weight"] > 1  # the positive class is the rare one
    baseline = fit_baseline(x, y, seed=1)
    assert baseline.predict_proba(x).shape == (len(x), 2)
