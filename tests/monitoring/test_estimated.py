"""Performance before labels: the AUC estimated from calibrated scores matches the AUC the
labels later give, under covariate shift, and a miscalibrated model is mapped first; the
same for a multiclass model's accuracy, log loss and macro-F1 and a regression's MAE,
RMSE and R²."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, r2_score, roc_auc_score

from driftline.model.calibration import (
    calibrated,
    calibration_error,
    expected_logloss,
    expected_outcomes,
    f1_counts,
    fit_calibration,
    logloss_reference,
    macro_f1,
    macro_f1_reference,
)
from driftline.model.loss_model import ERROR_BINS, error_by_score, expected_r2, r2_reference
from driftline.monitoring.estimated import (
    EXPECTED_LOGLOSS,
    Estimate,
    batch_expectations,
    estimate_accuracy,
    estimate_auc,
    estimate_breached,
    estimate_errors,
    estimate_logloss,
    estimate_macro_f1,
    estimate_r2,
    f1_columns,
    score_histogram,
)


def _night(rng: np.random.Generator, rows: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """A calibrated model's scores and the outcomes drawn from them; `shift` moves the
    feature the score rests on (covariate shift: P(y | x) holds)."""
    x = rng.normal(loc=shift, size=rows)
    probability = 1 / (1 + np.exp(-(1.5 * x - 1.0)))
    return probability, (rng.random(rows) < probability).astype(float)


@pytest.mark.parametrize("shift", [0.0, -0.8, 1.2])
def test_a_calibrated_models_estimate_matches_the_realised_auc(shift: float) -> None:
    rng = np.random.default_rng(11)
    scores, labels = _night(rng, 20_000, shift)
    estimate = estimate_auc(score_histogram(scores), {"applied": False})
    assert estimate is not None
    realised = roc_auc_score(labels, scores)
    assert estimate.value == pytest.approx(realised, abs=0.01)
    assert estimate.low < realised < estimate.high
    assert estimate.expected_positives == pytest.approx(labels.sum(), rel=0.05)
    assert not estimate.calibrated


def test_a_miscalibrated_models_scores_are_mapped_on_the_holdout_first() -> None:
    rng = np.random.default_rng(12)
    probability, labels = _night(rng, 20_000, 0.0)
    squashed = 0.5 + 0.4 * (probability - 0.5)  # right order, wrong probabilities
    calibration = fit_calibration(labels[:10_000], squashed[:10_000])
    assert calibration["applied"] and calibration["ece_raw"] > 0.05
    # Not a sigmoid of the logit: the isotonic map predicts the held-out half better.
    assert calibration["method"] == "isotonic" and calibration["ece_mapped"] < 0.02
    night = score_histogram(squashed[10_000:])
    realised = roc_auc_score(labels[10_000:], squashed[10_000:])
    mapped = estimate_auc(night, calibration)
    unmapped = estimate_auc(night, {"applied": False})
    assert mapped is not None and unmapped is not None and mapped.calibrated
    assert mapped.value == pytest.approx(realised, abs=0.01)
    assert abs(unmapped.value - realised) > 0.05  # the raw scores would have misled it


def test_calibration_error_and_the_edges() -> None:
    rng = np.random.default_rng(13)
    scores, labels = _night(rng, 50_000, 0.0)
    assert calibration_error(labels, scores) < 0.01
    # Calibrated scores: the map fitted on them is close to no map at all.
    calibration = fit_calibration(labels, scores)
    assert calibration["applied"] and calibration["method"] == "sigmoid"
    grid = np.linspace(0.01, 0.99, 99)
    assert np.allclose(calibrated(grid, calibration), grid, atol=0.01)
    # One class on the holdout: nothing to fit.
    assert not fit_calibration(np.zeros(100), scores[:100])["applied"]
    assert estimate_auc(np.zeros(1000), None) is None
    # Every score near 1: no negative expected, no AUC to estimate.
    assert estimate_auc(score_histogram(np.full(10, 0.9999)), None) is None


def _multiclass_night(
    rng: np.random.Generator, rows: int, shift: float
) -> tuple[np.ndarray, np.ndarray]:
    """A calibrated three-class model's probabilities and classes drawn from them; the
    shift moves rows towards where one class dominates (the model grows surer and
    more often right), P(class | x) unchanged."""
    x = rng.normal(loc=shift, size=rows)
    logits = np.stack([1.5 * x, np.zeros(rows), -1.5 * x + 0.3], axis=1)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    drawn = (rng.random(rows)[:, None] > np.cumsum(probabilities, axis=1)).sum(axis=1)
    return probabilities, drawn


@pytest.mark.parametrize("shift", [0.0, 1.5])
def test_a_multiclass_models_accuracy_is_its_mean_calibrated_confidence(shift: float) -> None:
    rng = np.random.default_rng(21)
    holdout, holdout_classes = _multiclass_night(rng, 20_000, 0.0)
    right = (holdout.argmax(axis=1) == holdout_classes).astype(float)
    calibration = fit_calibration(right, holdout.max(axis=1))
    # Calibrated by construction: a map close to none (a sigmoid's two parameters, fitted
    # where most rows are, near 1, drift a little at the sparse low end).
    grid = np.linspace(0.4, 0.99, 60)
    assert np.allclose(calibrated(grid, calibration), grid, atol=0.02)
    night, classes = _multiclass_night(rng, 20_000, shift)
    estimate = estimate_accuracy(score_histogram(night.max(axis=1)), calibration)
    assert estimate is not None and estimate.metric == "accuracy"
    realised = float(np.mean(night.argmax(axis=1) == classes))
    assert estimate.value == pytest.approx(realised, abs=0.01)
    assert estimate.low < realised < estimate.high
    assert estimate_accuracy(np.zeros(100), calibration) is None


def test_an_overconfident_multiclass_model_is_mapped_on_the_holdout() -> None:
    rng = np.random.default_rng(22)
    probabilities, classes = _multiclass_night(rng, 40_000, 0.0)
    confident = probabilities**3 / (probabilities**3).sum(axis=1, keepdims=True)
    right = (confident.argmax(axis=1) == classes).astype(float)
    calibration = fit_calibration(right[:20_000], confident[:20_000].max(axis=1))
    assert calibration["applied"]
    night = score_histogram(confident[20_000:].max(axis=1))
    realised = float(np.mean(right[20_000:]))
    mapped = estimate_accuracy(night, calibration)
    raw = estimate_accuracy(night, {"applied": False})
    assert mapped is not None and raw is not None and mapped.calibrated
    assert mapped.value == pytest.approx(realised, abs=0.01)
    assert raw.value - realised > 0.05  # taken at its word, it would have looked better


def _regression_night(
    rng: np.random.Generator, rows: int, shift: float
) -> tuple[np.ndarray, np.ndarray]:
    """A model's predictions and the truth: the noise grows with x, so moving x towards
    high predictions makes the live errors larger, though y given x is unchanged."""
    x = rng.normal(loc=shift, size=rows)
    prediction = 3.0 * x
    truth = prediction + rng.normal(size=rows) * (0.5 + np.abs(x))
    return prediction, truth


@pytest.mark.parametrize("shift", [0.0, 1.0, -1.5])
def test_a_regressions_errors_follow_where_tonights_predictions_fall(shift: float) -> None:
    rng = np.random.default_rng(31)
    holdout, holdout_truth = _regression_night(rng, 20_000, 0.0)
    reference = error_by_score(holdout, holdout_truth)
    edges = reference["edges"]
    assert sum(reference["rows"]) == 20_000 and len(reference["absolute"]) == len(edges) + 1
    assert len(edges) + 1 == ERROR_BINS
    prediction, truth = _regression_night(rng, 20_000, shift)
    counts = np.bincount(np.searchsorted(edges, prediction, side="left"), minlength=len(edges) + 1)
    mae, rmse = estimate_errors(counts, reference)
    realised_mae = float(np.mean(np.abs(truth - prediction)))
    realised_rmse = float(np.sqrt(np.mean((truth - prediction) ** 2)))
    assert (mae.metric, rmse.metric) == ("mae", "rmse")
    holdout_mae = float(np.mean(np.abs(holdout_truth - holdout)))
    if not shift:
        assert mae.low < realised_mae < mae.high
        assert rmse.low < realised_rmse < rmse.high
    else:
        # Within 10% where the holdout's own MAE, carried forward, misses the change by
        # 20-40%: the outermost bins are open-ended, so rows beyond most of the holdout's
        # predictions take its tail's errors, and a shift of 1.5 standard deviations into
        # a tail whose errors keep growing reads low by about 5%.
        assert mae.value == pytest.approx(realised_mae, rel=0.1)
        assert rmse.value == pytest.approx(realised_rmse, rel=0.1)
        assert abs(mae.value - realised_mae) < abs(holdout_mae - realised_mae) / 4


def test_a_regression_bin_empty_on_the_holdout_borrows_its_neighbours_errors() -> None:
    reference = {
        "edges": [0.0, 1.0],
        "rows": [100, 0, 100],
        "absolute": [1.0, 0.0, 3.0],
        "squared": [2.0, 0.0, 10.0],
        "fourth": [5.0, 0.0, 120.0],
    }
    mae, rmse = estimate_errors([0, 0, 50], reference)
    assert mae.value == pytest.approx(3.0) and rmse.value == pytest.approx(10**0.5)
    (mae,) = [e for e in estimate_errors([0, 10, 0], reference) if e.metric == "mae"]
    assert mae.value == pytest.approx(1.0)  # the nearest filled bin, the lower one on a tie
    assert estimate_errors([0, 0, 0], reference) == []


def test_an_estimate_is_judged_only_as_the_policys_metric_and_by_its_whole_interval() -> None:
    def rmse(low: float, high: float) -> Estimate:
        return Estimate("rmse", (low + high) / 2, low, high, 1000, None, False)

    holdout = {"rmse": 0.20, "mae": 0.15, "auc": 0.80}
    # An error: breached when even its interval's low end is above holdout + margin.
    assert estimate_breached(rmse(0.26, 0.30), "rmse", holdout, 0.05) == (
        pytest.approx(0.25),
        True,
    )
    assert estimate_breached(rmse(0.24, 0.30), "rmse", holdout, 0.05)[1] is False
    # The policy judges another metric: recorded, not judged.
    assert estimate_breached(rmse(0.5, 0.6), "r2", holdout, 0.05) == (None, False)
    auc = Estimate("auc", 0.70, 0.68, 0.72, 1000, 300.0, False)
    assert estimate_breached(auc, "auc", holdout, 0.05) == (pytest.approx(0.75), True)
    assert estimate_breached(auc, "auc", {"rmse": 0.2}, 0.05) == (None, False)
    # R² depends on the night's spread: shown, never judged, even as the policy's metric.
    r2 = Estimate("r2", 0.2, 0.1, 0.3, 1000, None, False, "loss_model")
    assert estimate_breached(r2, "r2", {"r2": 0.8}, 0.05) == (None, False)


def test_the_holdouts_gap_is_taken_off_the_expected_log_loss() -> None:
    reference = {"rows": 4000, "sd": 0.5, "gap": -0.05}  # the expectation read low there
    estimate = estimate_logloss("mlogloss", 600.0, 1000, reference)
    assert estimate is not None
    assert estimate.value == pytest.approx(0.65)
    half = 1.96 * 0.5 * np.sqrt(1 / 1000 + 1 / 4000)
    assert (estimate.low, estimate.high) == pytest.approx((0.65 - half, 0.65 + half))
    reading_high = estimate_logloss("mlogloss", 10.0, 1000, {**reference, "gap": 0.5})
    assert reading_high is not None and reading_high.value == 0.0 <= reading_high.low


def test_a_binary_models_expected_log_loss_follows_covariate_shift() -> None:
    rng = np.random.default_rng(51)
    holdout, holdout_labels = _night(rng, 20_000, 0.0)
    calibration = fit_calibration(holdout_labels, holdout)
    realised_holdout = -(
        holdout_labels * np.log(holdout) + (1 - holdout_labels) * np.log(1 - holdout)
    )
    reference = logloss_reference(
        realised_holdout, expected_logloss(holdout, calibration), calibration
    )
    assert abs(reference["gap"]) < 0.01
    scores, labels = _night(rng, 20_000, -1.5)  # rows move where the model is surer
    expected = expected_logloss(scores, calibration)
    estimate = estimate_logloss("logloss", float(expected.sum()), len(scores), reference)
    assert estimate is not None and estimate.metric == "logloss"
    realised = float(np.mean(-(labels * np.log(scores) + (1 - labels) * np.log(1 - scores))))
    assert estimate.value == pytest.approx(realised, abs=0.01)
    assert estimate.low < realised < estimate.high
    assert abs(float(np.mean(realised_holdout)) - realised) > 0.05  # carried forward: off
    assert estimate_logloss("logloss", 0.0, 0, reference) is None


def test_a_multiclass_models_expected_log_loss_spreads_the_rest_as_the_model_does() -> None:
    rng = np.random.default_rng(52)
    night, classes = _multiclass_night(rng, 20_000, 1.5)
    top = night.max(axis=1)
    expected = expected_logloss(top, {"applied": False}, night)
    # Calibrated by construction: the expectation is each row's entropy.
    assert np.allclose(expected, -(night * np.log(night)).sum(axis=1))
    realised = float(np.mean(-np.log(night[np.arange(len(classes)), classes])))
    assert float(np.mean(expected)) == pytest.approx(realised, abs=0.01)


def test_a_confident_multiclass_row_costs_what_a_wrong_answer_would() -> None:
    """Float32 probabilities: the top one rounds to 1.0 while the others still hold a
    little. The expectation must stay near -log of theirs, not divide by 1 - 1.0."""
    logits = np.array([[40.0, 20.0, 0.0], [1.0, 0.5, 0.2]])
    probabilities = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32)
    top = probabilities.max(axis=1).astype(np.float64)
    assert top[0] == 1.0 and probabilities[0, 1] > 0
    calibration = {"applied": True, "grid": [0.0, 1.0], "probabilities": [0.0, 0.99]}
    expected = expected_logloss(top, calibration, probabilities)
    assert np.all(np.isfinite(expected)) and expected[0] < 45  # -log p of the runner-up: 20
    # All mass on one class: a wrong answer costs the clipped probability's loss.
    certain = expected_logloss(np.array([1.0]), calibration, np.array([[1.0, 0.0, 0.0]]))
    assert certain[0] == pytest.approx(0.01 * -np.log(1e-15) - 0.99 * np.log(1 - 1e-15), rel=1e-6)


def test_a_row_without_its_full_vector_of_probabilities_has_no_expectation() -> None:
    import pyarrow as pa

    batch = pa.RecordBatch.from_arrays(
        [
            pa.array([0.6, 0.5, 0.7]),
            pa.array([[0.6, 0.3, 0.1], None, [0.7, 0.3]], pa.list_(pa.float64())),
        ],
        names=["score", "class_probabilities"],
    )
    found = batch_expectations(batch, {"applied": False}, multiclass=True, f1_classes=3)
    scores, loss = found["score"], found[EXPECTED_LOGLOSS]
    assert list(scores) == [0.6, 0.5, 0.7]
    assert np.isfinite(loss[0]) and np.isnan(loss[1]) and np.isnan(loss[2])
    assert loss[0] == pytest.approx(-(0.6 * np.log(0.6) + 0.3 * np.log(0.3) + 0.1 * np.log(0.1)))
    columns = f1_columns(3)
    # Row 0 predicts class 0, right with 0.6; it is class 1 with 0.3 and class 2 with 0.1.
    assert [found[c][0] for c in columns["right"]] == pytest.approx([0.6, 0.0, 0.0])
    assert [found[c][0] for c in columns["predicted"]] == [1.0, 0.0, 0.0]
    assert [found[c][0] for c in columns["support"]] == pytest.approx([0.6, 0.3, 0.1])
    assert all(np.isnan(found[c][1]) and np.isnan(found[c][2]) for g in columns.values() for c in g)
    # A missing score does not matter (the vector says which class and how sure); a
    # vector with a NaN in it is left out of every count, not half-counted.
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array([None, 0.5], pa.float64()),
            pa.array([[0.2, 0.7, 0.1], [0.5, float("nan"), 0.5]], pa.list_(pa.float64())),
        ],
        names=["score", "class_probabilities"],
    )
    found = batch_expectations(batch, {"applied": False}, multiclass=True, f1_classes=3)
    assert [found[c][0] for c in columns["predicted"]] == [0.0, 1.0, 0.0]
    assert [found[c][0] for c in columns["right"]] == pytest.approx([0.0, 0.7, 0.0])
    assert all(np.isnan(found[c][1]) for g in columns.values() for c in g)


@pytest.mark.parametrize("shift", [0.0, 2.5])
def test_a_multiclass_models_macro_f1_follows_covariate_shift(shift: float) -> None:
    """Calibrated by construction: the expected per-class counts give the macro-F1 the
    classes drawn from the probabilities later give, within the interval."""
    rng = np.random.default_rng(61)
    holdout, holdout_classes = _multiclass_night(rng, 20_000, 0.0)
    right = (holdout.argmax(axis=1) == holdout_classes).astype(float)
    calibration = fit_calibration(right, holdout.max(axis=1))
    reference = macro_f1_reference(holdout_classes, holdout, calibration)
    assert reference["rows"] == 20_000 and abs(reference["gap"]) < 0.01
    night, classes = _multiclass_night(rng, 20_000, shift)
    chosen = night.argmax(axis=1)
    outcomes = expected_outcomes(night.max(axis=1), calibration, night)
    # Calibrated: each row's chances are (close to) its probabilities.
    assert np.allclose(outcomes, night, atol=0.01)
    estimate = estimate_macro_f1(*f1_counts(outcomes, chosen, 3), reference, applied=False)
    assert estimate is not None and estimate.metric == "macro_f1"
    realised = f1_score(classes, chosen, average="macro")
    # A rare class (~170 predictions after the shift) makes the realised value itself
    # vary by about 0.01 from one draw to the next.
    assert estimate.value == pytest.approx(realised, abs=0.02)
    assert estimate.low < realised < estimate.high
    if shift:
        held = f1_score(holdout_classes, holdout.argmax(axis=1), average="macro")
        assert abs(held - realised) > 0.05  # carried forward: off
    assert estimate_macro_f1([0, 0, 0], [0, 0, 0], [0, 0, 0], reference, applied=False) is None


def test_macro_f1_counts_only_the_classes_present() -> None:
    """As the realised metric (`model.judging`): a class neither predicted nor turned up is
    left out, one that turned up unpredicted counts with F1 0."""
    truth = np.array([0, 0, 1, 1])
    chosen = np.array([0, 1, 1, 1])
    counts = f1_counts(np.eye(4)[truth], chosen, 4)
    value, _, present = macro_f1(*counts)
    assert list(present) == [True, True, False, False]
    assert value == pytest.approx(f1_score(truth, chosen, average="macro"))
    counts = f1_counts(np.eye(3)[np.array([0, 2])], np.array([0, 0]), 3)
    assert macro_f1(*counts)[0] == pytest.approx(0.5 * (2 / 3))


@pytest.mark.parametrize("shift", [0.0, 1.0])
def test_a_regressions_r2_follows_from_its_expected_errors(shift: float) -> None:
    """A model that knows its noise: y = 2x + noise, predicted 2x. R² from the expected
    MSE and tonight's spread of predictions matches the realised one as the spread of x
    grows (R² rises though the error does not), where the holdout's R² carried forward
    misses."""
    rng = np.random.default_rng(62)
    x = rng.normal(size=20_000)
    y = 2 * x + rng.normal(size=20_000)
    reference = r2_reference(2 * x, y)
    assert abs(reference["gap"]) < 0.01
    x = rng.normal(scale=1 + shift, size=20_000)
    y = 2 * x + rng.normal(size=20_000)
    rmse = Estimate("rmse", 1.0, 0.98, 1.02, 20_000, None, False, "loss_model")
    estimate = estimate_r2(rmse, float(np.var(2 * x)), reference)
    assert estimate is not None and estimate.metric == "r2" and estimate.method == "loss_model"
    realised = r2_score(y, 2 * x)
    assert estimate.value == pytest.approx(realised, abs=0.01)
    assert estimate.low < realised < estimate.high
    if shift:
        assert realised - (1 - 1 / 5) > 0.1  # the holdout's R² (4 / 5) carried forward
    assert expected_r2(0.0, 0.0) is None
