from __future__ import annotations

import math

import numpy as np
import pytest

from driftline.data.profile import EPSILON, MISSING, categorical_profile, numeric_profile, psi


def direct_psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.maximum(expected, EPSILON)
    a = np.maximum(actual, EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def test_psi_matches_direct_formula() -> None:
    expected = {"0": 0.2, "1": 0.3, "2": 0.5, MISSING: 0.0}
    actual = {"0": 0.1, "1": 0.3, "2": 0.55, MISSING: 0.05}
    want = direct_psi(np.array([0.2, 0.3, 0.5, 0.0]), np.array([0.1, 0.3, 0.55, 0.05]))
    assert psi(expected, actual) == pytest.approx(want, abs=1e-12)


def test_psi_of_identical_distributions_is_zero() -> None:
    shares = {"0": 0.25, "1": 0.75}
    assert psi(shares, shares) == 0.0


def test_numeric_profile_shares_sum_to_one_with_missing_bin() -> None:
    values = np.concatenate([np.arange(100, dtype=float), [np.nan] * 10])
    profile = numeric_profile(values, bins=10)
    assert len(profile["edges"]) == 9
    assert math.isclose(sum(profile["shares"].values()), 1.0)
    assert profile["shares"][MISSING] == pytest.approx(10 / 110)


def test_numeric_profile_deduplicates_tied_edges() -> None:
    profile = numeric_profile(np.array([0.0] * 90 + [1.0] * 10))
    assert profile["edges"] == sorted(set(profile["edges"]))


def test_categorical_profile_counts_nulls() -> None:
    profile = categorical_profile(["a", "a", None, "b"])
    assert profile["shares"] == {"a": 0.5, MISSING: 0.25, "b": 0.25, "__other__": 0.0}
