"""A regression's holdout errors for the monitor: the loss models, learnt from the features
alone, whose mean over tonight's rows follows the night's MAE and RMSE where the errors
binned by prediction cannot (noise that grows with a feature the prediction ignores); and
those bins, the fallback for a small holdout."""

from __future__ import annotations

import numpy as np
import pytest

from driftline.model.loss_model import (
    MIN_ERROR_BIN_ROWS,
    MIN_HOLDOUT_ROWS,
    error_by_score,
    fit_loss_models,
    predict_losses,
)
from driftline.monitoring.estimated import estimate_errors, estimate_from_losses

NAMES = ["x0", "x1", "x2"]


def _rows(rng: np.random.Generator, rows: int, spread: float) -> tuple[np.ndarray, np.ndarray]:
    """Features, and a model's errors on them: the prediction rests on x0, the noise on
    x1, whose spread tonight may differ from the holdout's."""
    x = rng.normal(size=(rows, len(NAMES)))
    x[:, 1] *= spread
    return x, rng.normal(size=rows) * (0.3 + np.abs(x[:, 1]))


def _estimates(
    models: dict[str, bytes], reference: dict[str, float], x: np.ndarray
) -> dict[str, float]:
    losses = predict_losses(models, x.astype(np.float32))
    return {
        e.metric: e.value
        for e in estimate_from_losses(
            float(losses["absolute"].sum()), float(losses["squared"].sum()), len(x), reference
        )
    }


def test_the_loss_models_see_noise_that_the_prediction_ignores() -> None:
    rng = np.random.default_rng(41)
    holdout, errors = _rows(rng, 4000, 1.0)
    models, reference = fit_loss_models(holdout, errors, NAMES, seed=0)
    assert set(models) == {"absolute", "squared"}
    assert reference["rows"] == 4000 and reference["absolute_sd"] > 0
    night, night_errors = _rows(rng, 4000, 1.6)  # x1 widens: larger errors tonight
    realised_mae = float(np.mean(np.abs(night_errors)))
    realised_rmse = float(np.sqrt(np.mean(night_errors**2)))
    estimated = _estimates(models, reference, night)
    assert estimated["mae"] == pytest.approx(realised_mae, rel=0.08)
    assert estimated["rmse"] == pytest.approx(realised_rmse, rel=0.1)
    # The errors binned by prediction (x0 here) see nothing change: the holdout's MAE.
    prediction, night_prediction = 2 * holdout[:, 0], 2 * night[:, 0]
    bins = error_by_score(prediction, prediction + errors)
    counts = np.bincount(
        np.searchsorted(bins["edges"], night_prediction, side="left"),
        minlength=len(bins["edges"]) + 1,
    )
    binned, _ = estimate_errors(counts, bins)
    assert abs(binned.value - realised_mae) > 3 * abs(estimated["mae"] - realised_mae)


def test_the_interval_holds_both_samples_and_a_small_holdout_learns_nothing() -> None:
    rng = np.random.default_rng(42)
    reference = {"rows": 1000, "absolute_sd": 0.5, "squared_sd": 1.0}
    mae, rmse = estimate_from_losses(800.0, 1000.0, 1000, reference)
    assert (mae.value, rmse.value) == (pytest.approx(0.8), pytest.approx(1.0))
    half_width = 1.96 * 0.5 * np.sqrt(2 / 1000)
    assert mae.high - mae.value == pytest.approx(half_width)
    assert rmse.method == mae.method == "loss_model"
    assert estimate_from_losses(0.0, 0.0, 0, reference) == []
    x, errors = _rows(rng, MIN_HOLDOUT_ROWS - 1, 1.0)
    assert fit_loss_models(x, errors, NAMES, seed=0) == ({}, {})


def test_a_small_holdout_keeps_enough_rows_per_bin() -> None:
    rng = np.random.default_rng(32)
    x, errors = _rows(rng, 200, 1.0)
    reference = error_by_score(2 * x[:, 0], 2 * x[:, 0] + errors)
    assert len(reference["rows"]) == 200 // MIN_ERROR_BIN_ROWS
    assert min(reference["rows"]) >= MIN_ERROR_BIN_ROWS - 1


def test_tied_predictions_stay_in_one_bin_and_edges_sit_between_them() -> None:
    """A tree's few distinct predictions: no empty bin, and a prediction a rounding step
    off the holdout's still counts in its own bin."""
    scores = np.repeat([0.0, 1.0, 2.0, 3.0], 250)
    truth = scores + np.repeat([0.1, 0.2, 0.3, 0.4], 250)
    reference = error_by_score(scores, truth)
    assert reference["edges"] == [0.5, 1.5, 2.5]
    assert reference["rows"] == [250, 250, 250, 250]
    nudged = np.nextafter(np.full(100, 2.0), 3.0)
    counts = np.bincount(np.searchsorted(reference["edges"], nudged, side="left"), minlength=4)
    mae, _ = estimate_errors(counts, reference)
    assert mae.value == pytest.approx(0.3)
