"""Drift metrics from a reference profile and today's sketch, and which one judges.

Pure functions: the inputs are the model's stored profile (`driftline.data.profile`) and the
sketch of today's data (`driftline.monitoring.drift_scan`), both small. Where a number is exact it
equals what `scipy.stats` computes on the raw data; the Wasserstein distance is exact
wherever the two CDFs do not cross inside a grid bin, and each result carries a bound on
its error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from driftline.core.pipeline import DriftConfig
from driftline.data.profile import GRID_BINS, MIN_NORM, MISSING, OTHER, jensenshannon, psi
from driftline.monitoring.drift_scan import CategoricalSketch, NumericSketch, Sketch


@dataclass(frozen=True)
class FeatureDrift:
    """Every drift number of one column on one date, and the verdict of the chosen one."""

    feature: str
    kind: str  # numeric | categorical
    method: str  # the metric that judges: ks | chisquare | wasserstein | jensenshannon | psi
    statistic: float
    threshold: float
    drifted: bool
    p_value: float | None
    psi: float
    psi_level: str  # ok | warn | breach
    jensenshannon: float | None
    wasserstein: float | None
    wasserstein_error_bound: float | None
    ks_statistic: float | None
    ks_p_value: float | None
    ks_exact: bool
    chisquare_p_value: float | None
    null_share: float
    out_of_range_share: float
    rows: int
    reference_rows: int
    # The night's calibration (`calibrate`): the test's verdict alone, its p-value
    # corrected across the night's features, the effect size and the floor it must reach.
    significant: bool = False
    adjusted_p_value: float | None = None
    effect_size: float | None = None
    effect_floor: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(
    name: str, profile: dict[str, Any], sketch: Sketch, config: DriftConfig
) -> FeatureDrift:
    numbers: dict[str, Any] = {
        "jensenshannon": None,
        "wasserstein": None,
        "wasserstein_error_bound": None,
        "ks_statistic": None,
        "ks_p_value": None,
        "ks_exact": False,
        "chisquare_p_value": None,
    }
    rows = max(sketch.rows, 1)
    if isinstance(sketch, CategoricalSketch):
        kind = "categorical"
        reference_counts = dict(profile.get("counts", {}))
        current_counts = dict(sketch.counts)
        current_shares = _shares_against(profile["shares"], current_counts, sketch.missing, rows)
        unseen = sum(c for k, c in current_counts.items() if k not in reference_counts)
        numbers["out_of_range_share"] = unseen / rows
        categorical = True
    else:
        assert isinstance(sketch, NumericSketch)
        kind = "numeric"
        current_shares = {str(i): c / rows for i, c in enumerate(sketch.decile_counts.tolist())}
        current_shares[MISSING] = sketch.missing / rows
        numbers["out_of_range_share"] = (sketch.below + sketch.above) / rows
        categorical = "values" in profile
        reference_counts = dict(profile.get("values", {}))
        current_counts = dict(sketch.values)
        if profile.get("grid") and sketch.count:
            distance, bound = wasserstein(profile, sketch)
            norm = max(float(profile["std"]), MIN_NORM)
            numbers["wasserstein"] = distance / norm
            numbers["wasserstein_error_bound"] = bound / norm
        if sketch.count and profile.get("count"):
            statistic, exact = ks_statistic(profile, sketch)
            numbers["ks_statistic"] = statistic
            numbers["ks_exact"] = exact
            numbers["ks_p_value"] = ks_p_value(statistic, int(profile["count"]), sketch.count)
        if not categorical:
            reference_counts = _decile_counts(profile)
            current_counts = {str(i): c for i, c in enumerate(sketch.decile_counts.tolist())}
    numbers["jensenshannon"] = jensenshannon(reference_counts, current_counts)
    if categorical:
        numbers["chisquare_p_value"] = chisquare_p_value(reference_counts, current_counts)

    value = psi(profile["shares"], current_shares)
    method = choose_method(config, categorical, int(profile.get("rows", 0)))
    statistic, p_value, threshold, drifted = _judge(method, value, numbers, config)
    effect = numbers["jensenshannon"] if categorical else numbers["wasserstein"]
    return FeatureDrift(
        feature=name,
        kind=kind,
        method=method,
        statistic=statistic,
        threshold=threshold,
        drifted=drifted,
        p_value=p_value,
        psi=value,
        psi_level="breach"
        if value > config.psi_breach
        else "warn"
        if value > config.psi_warn
        else "ok",
        null_share=sketch.missing / rows,
        rows=sketch.rows,
        reference_rows=int(profile.get("rows", 0)),
        significant=drifted,
        adjusted_p_value=p_value,
        effect_size=effect,
        **numbers,
    )


def calibrate(
    drifts: list[FeatureDrift], profiles: Mapping[str, dict[str, Any]], config: DriftConfig
) -> list[FeatureDrift]:
    """Judge one night's features together, so the night's alerts can be trusted.

    A feature drifts when its change is significant once the p-values of every feature
    tested tonight are corrected (`config.correction`), and its effect size reaches the
    larger of `config.min_effect` and the reference's own day-to-day spread. Under a
    distance method the test is the one that belongs to the column (Kolmogorov-Smirnov for
    numeric, chi-square for categorical and few-valued ones): on a night of a few hundred
    rows a distance of 0.1 is within sampling noise, while on millions of rows every test
    is significant and the distance decides, as Evidently intends.
    """
    p_values = [_test_p_value(d) for d in drifts]
    tested = [i for i, p in enumerate(p_values) if p is not None]
    adjusted = _adjust([float(p_values[i] or 0.0) for i in tested], config.correction)
    corrected = dict(zip(tested, adjusted, strict=True))
    judged = []
    for i, drift in enumerate(drifts):
        spread = profiles.get(drift.feature, {}).get("day_effect") or {}
        floor = max(config.min_effect, float(spread.get("max", 0.0)))
        significant = drift.significant
        if i in corrected:
            significant = significant and corrected[i] < config.p_value
        effect = drift.effect_size
        big_enough = effect is None or math.isnan(effect) or effect >= floor
        judged.append(
            replace(
                drift,
                adjusted_p_value=corrected.get(i),
                effect_floor=floor,
                significant=significant,
                drifted=bool(significant and big_enough),
            )
        )
    return judged


def _test_p_value(drift: FeatureDrift) -> float | None:
    """The p-value that judges the feature: its method's, else its column's test."""
    for value in (drift.p_value, drift.chisquare_p_value, drift.ks_p_value):
        if value is not None:
            return value
    return None


def _adjust(p_values: list[float], correction: str) -> list[float]:
    if not p_values or correction == "none":
        return p_values
    if correction == "bonferroni":
        return [min(1.0, p * len(p_values)) for p in p_values]
    from scipy.stats import false_discovery_control

    return [float(p) for p in false_discovery_control(p_values, method="bh")]


def choose_method(config: DriftConfig, categorical: bool, reference_rows: int) -> str:
    """Evidently's documented defaults under `auto`; otherwise the configured metric, with
    a categorical column judged by its categorical counterpart."""
    small = reference_rows <= config.small_reference_rows
    if config.method == "auto":
        if categorical:
            return "chisquare" if small else "jensenshannon"
        return "ks" if small else "wasserstein"
    if categorical and config.method == "ks":
        return "chisquare"
    if categorical and config.method == "wasserstein":
        return "jensenshannon"
    return config.method


def _judge(
    method: str, psi_value: float, numbers: dict[str, Any], config: DriftConfig
) -> tuple[float, float | None, float, bool]:
    if method == "psi":
        return psi_value, None, config.psi_breach, psi_value > config.psi_breach
    if method in ("ks", "chisquare"):
        statistic = numbers["ks_statistic"] if method == "ks" else None
        p_value = numbers["ks_p_value"] if method == "ks" else numbers["chisquare_p_value"]
        if p_value is None:
            return math.nan, None, config.p_value, False
        value = statistic if statistic is not None else p_value
        return float(value), float(p_value), config.p_value, bool(p_value < config.p_value)
    value = numbers[method]
    if value is None:
        return math.nan, None, config.distance_threshold, False
    return float(value), None, config.distance_threshold, bool(value >= config.distance_threshold)


def _shares_against(
    reference: dict[str, float], counts: dict[str, int], missing: int, rows: int
) -> dict[str, float]:
    """Current shares on the reference's categories (unseen ones fold into OTHER)."""
    shares = {key: 0.0 for key in reference}
    shares[MISSING] = missing / rows
    for key, count in counts.items():
        target = key if key in reference and key not in (MISSING, OTHER) else OTHER
        shares[target] = shares.get(target, 0.0) + count / rows
    return shares


def _decile_counts(profile: dict[str, Any]) -> dict[str, float]:
    rows = int(profile["rows"])
    return {k: v * rows for k, v in profile["shares"].items() if k != MISSING}


def chisquare_p_value(reference: Mapping[str, float], current: Mapping[str, float]) -> float | None:
    """Chi-square test of homogeneity on the 2 x k table of counts (no continuity
    correction, so with two categories it is the two-proportion z-test)."""
    from scipy.stats import chi2_contingency

    keys = [k for k in sorted(set(reference) | set(current)) if reference.get(k) or current.get(k)]
    if len(keys) < 2 or not sum(reference.values()) or not sum(current.values()):
        return None
    table = [[reference.get(k, 0) for k in keys], [current.get(k, 0) for k in keys]]
    return float(chi2_contingency(table, correction=False).pvalue)


def ks_statistic(profile: dict[str, Any], sketch: NumericSketch) -> tuple[float, bool]:
    """Two-sample KS statistic sup|F - G|: exact from the reference sample, otherwise a
    lower bound read at the grid's bin edges."""
    import numpy as np

    n, m = int(profile["count"]), sketch.count
    sample = profile.get("sample")
    if sample and sketch.equal.size:
        _, counts = np.unique(np.asarray(sample), return_counts=True)
        f_at = np.cumsum(counts) / n  # F(u_j)
        less = np.cumsum(sketch.less)[:-1]  # #(v < u_j)
        g_at = (less + sketch.equal) / m  # G(u_j)
        g_before = less / m  # G just before u_j
        f_before = np.concatenate([[0.0], f_at[:-1]])  # F just before u_j
        # Between consecutive reference values F is flat and G rises, so the largest gap
        # is at an end of each interval.
        statistic = max(
            float(np.max(np.abs(f_at - g_at))), float(np.max(np.abs(f_before - g_before)))
        )
        return statistic, True
    grid = profile["grid"]
    f = np.concatenate([[0.0], np.cumsum(grid["counts"])]) / n
    g = (sketch.below + np.concatenate([[0], np.cumsum(sketch.grid_counts)])) / m
    return float(np.max(np.abs(f - g))), False


def ks_p_value(statistic: float, n: int, m: int) -> float:
    """The asymptotic two-sample p-value, as `scipy.stats.ks_2samp(method="asymp")`."""
    import numpy as np
    from scipy.stats import kstwo

    effective = round(n * m / (n + m))
    return float(np.clip(kstwo.sf(statistic, effective), 0.0, 1.0)) if effective else 1.0


def wasserstein(profile: dict[str, Any], sketch: NumericSketch) -> tuple[float, float]:
    """W1 = integral of |F - G| and a bound on how much it may be under-estimated.

    Outside the reference's [min, max] one CDF is 0 or 1, so the tails are exact from the
    gaps summed by the scan. Inside, per grid bin [a, b], the integral of each CDF is exact
    from the bin's count and sum: n * integral F = (count before a) * (b - a) + sum (b - v).
    |integral F - integral G| equals the integral of |F - G| unless they cross inside the
    bin; where their ranges overlap, the difference is bounded.
    """
    import numpy as np

    grid = profile["grid"]
    n, m = int(profile["count"]), sketch.count
    low, high = float(grid["low"]), float(grid["high"])
    tails = (sketch.below_gap + sketch.above_gap) / m
    if high <= low:
        return tails, 0.0
    width = (high - low) / GRID_BINS
    right = low + width * np.arange(1, GRID_BINS + 1)
    ref_counts = np.asarray(grid["counts"], dtype=np.float64)
    ref_sums = np.asarray(grid["sums"], dtype=np.float64)
    cur_counts = sketch.grid_counts.astype(np.float64)
    ref_before = np.concatenate([[0.0], np.cumsum(ref_counts)[:-1]])
    cur_before = sketch.below + np.concatenate([[0.0], np.cumsum(cur_counts)[:-1]])
    area_f = (ref_before * width + ref_counts * right - ref_sums) / n
    area_g = (cur_before * width + cur_counts * right - sketch.grid_sums) / m
    inside = np.abs(area_f - area_g)
    f_start, f_end = ref_before / n, (ref_before + ref_counts) / n
    g_start, g_end = cur_before / m, (cur_before + cur_counts) / m
    overlap = np.maximum(f_start, g_start) <= np.minimum(f_end, g_end)
    worst = width * np.maximum(np.abs(f_end - g_start), np.abs(g_end - f_start))
    bound = float(np.sum(np.where(overlap, np.maximum(worst - inside, 0.0), 0.0)))
    return tails + float(inside.sum()), bound


def out_of_range_breached(
    share: float, rows: int, reference_count: int, numeric: bool, limit: float
) -> bool:
    """Whether tonight's share of values outside the reference's range (or of categories it
    never saw) is beyond `limit` and more than chance explains.

    Under no change a new value falls outside the range of n reference values with
    probability 2 / (n + 1), which for a small reference is not small (a model's first
    reference may hold a hundred rows); an unseen category has none. The share must also be
    significant against that rate (one-sided binomial test at 1%).
    """
    from scipy.stats import binom

    if rows <= 0 or share <= limit:
        return False
    expected = 2.0 / (reference_count + 1) if numeric else 0.0
    outside = round(share * rows)
    return bool(binom.sf(outside - 1, rows, expected) < 0.01)


def importance_weighted_share(drifts: list[FeatureDrift], importance: dict[str, float]) -> float:
    """The share of the champion's feature importance carried by drifted features."""
    total = sum(importance.get(d.feature, 0.0) for d in drifts) or 0.0
    if total <= 0:
        return sum(d.drifted for d in drifts) / max(len(drifts), 1)
    return sum(importance.get(d.feature, 0.0) for d in drifts if d.drifted) / total
