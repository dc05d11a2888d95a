"""Too good to be true: signs, at training, that a feature carries the label itself.

A model that scores a live AUC of 1.0 for months is not a good model but a leak (cancelled
flights have no taxi or air time, so "taxi time is missing" *is* the label). Three checks
on the training rows, each cheap and independent of the booster, in the terms of the
model's task:

- the frozen holdout is near perfect: AUC (binary), R² (regression), accuracy (multiclass);
- one feature alone nearly separates the classes (its values ranked as scores; for a
  multiclass label, any one class from the rest), or nearly orders a regression target
  (absolute Spearman correlation);
- whether a feature is missing nearly separates the classes, or the rows with it missing
  from those without by their target's value (the same rank AUC).

Findings are warnings, not errors: the run, the model version's tags and an alert carry
them, and a person decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from driftline.core.pipeline import LeakageConfig
from driftline.core.tasks import Task

if TYPE_CHECKING:
    import numpy as np

BINARY = Task("binary", "binary:logistic")
# Fewest rows on each side of a separation (a class and the rest; missing and known) for
# its AUC to mean anything: with one row on a side, the "AUC" is that row's rank alone.
MIN_GROUP = 10
# The holdout metric that is near perfect for a leak, per kind of task.
_HOLDOUT_METRIC = {"binary": "auc", "regression": "r2", "multiclass": "accuracy"}


@dataclass(frozen=True)
class Finding:
    check: str  # holdout | feature | missingness
    feature: str | None
    score: float  # AUC, R², accuracy or |Spearman|, as `measure` says
    measure: str = "AUC"
    target: str = "the classes"  # what the feature separates or orders

    @property
    def message(self) -> str:
        if self.check == "holdout":
            return f"holdout {self.measure} {self.score:.4f} is near perfect"
        verb = "orders" if self.measure == "|Spearman|" else "separates"
        if self.check == "feature":
            return f"{self.feature} alone {verb} {self.target} ({self.measure} {self.score:.4f})"
        return (
            f"whether {self.feature} is missing separates {self.target} "
            f"({self.measure} {self.score:.4f})"
        )


def find_leakage(
    x: np.ndarray,
    y: np.ndarray,
    names: list[str],
    metrics: dict[str, float],
    config: LeakageConfig,
    task: Task = BINARY,
) -> list[Finding]:
    """`x`, `y` are the training rows as the booster sees them (multiclass `y` is the class
    index); `metrics` the holdout metrics of the fitted model (`holdout_auc`, ...)."""
    import numpy as np

    findings: list[Finding] = []
    if not config.enabled:
        return findings
    metric = _HOLDOUT_METRIC[task.kind]
    holdout = metrics.get(f"holdout_{metric}")
    limit = {"auc": config.holdout_auc, "r2": config.holdout_r2}.get(
        metric, config.holdout_accuracy
    )
    if holdout is not None and holdout >= limit:
        findings.append(Finding("holdout", None, float(holdout), metric.upper()))
    y = np.asarray(y, dtype=np.float64)
    for j, name in enumerate(names):
        column = np.asarray(x[:, j], dtype=np.float64)
        missing = ~np.isfinite(column)
        if task.kind == "regression":
            findings.extend(_regression_findings(name, column, missing, y, config))
        else:
            findings.extend(_class_findings(name, column, missing, y, config, task))
    return findings


def _class_findings(
    name: str,
    column: np.ndarray,
    missing: np.ndarray,
    y: np.ndarray,
    config: LeakageConfig,
    task: Task,
) -> list[Finding]:
    """A binary label is one class against the other; a multiclass one, each class against
    the rest, reporting the class it separates best."""
    import numpy as np

    if task.kind == "binary":
        targets = [("the classes", y > 0.5)]
    else:
        targets = [
            (f"class {label!r} from the rest", y == index)
            for index, label in enumerate(task.classes)
        ]
    known = ~missing
    best: dict[str, Finding] = {}
    for target, positive in targets:
        if min(positive.sum(), (~positive).sum()) < MIN_GROUP:
            continue
        candidates = []
        if min(missing.sum(), known.sum()) >= MIN_GROUP:
            auc = separation(missing.astype(np.float64), positive)
            if auc >= config.missingness_auc:
                candidates.append(Finding("missingness", name, auc, "AUC", target))
        in_class = positive[known]
        if known.sum() >= config.min_rows and min(in_class.sum(), (~in_class).sum()) >= MIN_GROUP:
            auc = separation(column[known], positive[known])
            if auc >= config.feature_auc:
                candidates.append(Finding("feature", name, auc, "AUC", target))
        for finding in candidates:
            if finding.check not in best or finding.score > best[finding.check].score:
                best[finding.check] = finding
    return [best[check] for check in ("missingness", "feature") if check in best]


def _regression_findings(
    name: str, column: np.ndarray, missing: np.ndarray, y: np.ndarray, config: LeakageConfig
) -> list[Finding]:
    import numpy as np
    from scipy.stats import spearmanr

    findings = []
    if min(missing.sum(), (~missing).sum()) >= MIN_GROUP:
        # The target's values ranked as scores for "the feature is missing".
        auc = separation(y, missing)
        if auc >= config.missingness_auc:
            findings.append(Finding("missingness", name, auc, "AUC", "high from low targets"))
    known = ~missing
    if known.sum() >= config.min_rows and np.ptp(column[known]) > 0 and np.ptp(y[known]) > 0:
        rho = abs(float(spearmanr(column[known], y[known]).statistic))
        if rho >= config.feature_correlation:
            findings.append(Finding("feature", name, rho, "|Spearman|", "the target"))
    return findings


def separation(scores: np.ndarray, positive: np.ndarray) -> float:
    """AUC of `scores` for the positive class, either direction (max(AUC, 1 - AUC)): the
    Mann-Whitney U over the two classes, ties counted half."""
    from scipy.stats import mannwhitneyu

    ones, zeros = scores[positive], scores[~positive]
    auc = float(mannwhitneyu(ones, zeros).statistic) / (len(ones) * len(zeros))
    return max(auc, 1.0 - auc)
