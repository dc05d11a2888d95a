"""Too good to be true: signs, at training, that a feature carries the label itself.

A model that scores a live AUC of 1.0 for months is not a good model but a leak (cancelled
flights have no taxi or air time, so "taxi time is missing" *is* the label). Three checks
on the training rows, each cheap and independent of the booster:

- the frozen holdout's AUC is near perfect;
- one feature alone nearly separates the classes (its values ranked as scores);
- whether a feature is missing nearly separates the classes.

Findings are warnings, not errors: the run, the model version's tags and an alert carry
them, and a person decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from driftline.core.pipeline import LeakageConfig

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Finding:
    check: str  # holdout | feature | missingness
    feature: str | None
    auc: float

    @property
    def message(self) -> str:
        if self.check == "holdout":
            return f"holdout AUC {self.auc:.4f} is near perfect"
        if self.check == "feature":
            return f"{self.feature} alone separates the classes (AUC {self.auc:.4f})"
        return f"whether {self.feature} is missing separates the classes (AUC {self.auc:.4f})"


def find_leakage(
    x: np.ndarray,
    y: np.ndarray,
    names: list[str],
    holdout_auc: float | None,
    config: LeakageConfig,
) -> list[Finding]:
    import numpy as np

    findings: list[Finding] = []
    if not config.enabled:
        return findings
    if holdout_auc is not None and holdout_auc >= config.holdout_auc:
        findings.append(Finding("holdout", None, holdout_auc))
    positive = np.asarray(y) > 0.5
    if positive.all() or not positive.any():
        return findings
    for j, name in enumerate(names):
        column = np.asarray(x[:, j], dtype=np.float64)
        missing = ~np.isfinite(column)
        if missing.any() and not missing.all():
            auc = separation(missing.astype(np.float64), positive)
            if auc >= config.missingness_auc:
                findings.append(Finding("missingness", name, auc))
        known = ~missing
        if known.sum() >= config.min_rows and positive[known].any() and (~positive[known]).any():
            auc = separation(column[known], positive[known])
            if auc >= config.feature_auc:
                findings.append(Finding("feature", name, auc))
    return findings


def separation(scores: np.ndarray, positive: np.ndarray) -> float:
    """AUC of `scores` for the positive class, either direction (max(AUC, 1 - AUC)): the
    Mann-Whitney U over the two classes, ties counted half."""
    from scipy.stats import mannwhitneyu

    ones, zeros = scores[positive], scores[~positive]
    auc = float(mannwhitneyu(ones, zeros).statistic) / (len(ones) * len(zeros))
    return max(auc, 1.0 - auc)
