"""What a model predicts: binary classification, regression or multiclass classification,
one `Task` each, named by the pipeline file's `model.task`.

Everything that depends on the kind of target asks the task: the XGBoost objective and
the metric that early-stops it, the metrics that judge it and which direction of each is
better. How those metrics are computed, and the baseline, are in `driftline.model.judging`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["binary", "regression", "multiclass"]

# XGBoost objectives per kind; the first is the default.
OBJECTIVES: dict[str, tuple[str, ...]] = {
    "binary": ("binary:logistic",),
    "regression": (
        "reg:squarederror",
        "reg:absoluteerror",
        "reg:pseudohubererror",
        "reg:squaredlogerror",
        "count:poisson",
        "reg:gamma",
        "reg:tweedie",
    ),
    "multiclass": ("multi:softprob",),
}

# Metrics each kind reports; the first is the one the promotion gate uses by default.
METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("auc", "logloss"),
    "regression": ("rmse", "mae", "r2"),
    "multiclass": ("mlogloss", "macro_f1", "accuracy"),
}
HIGHER_IS_BETTER = frozenset({"auc", "r2", "macro_f1", "accuracy"})

# What early-stops the booster, per objective (XGBoost's own eval metric names).
_EARLY_STOPPING = {
    "binary:logistic": "logloss",
    "reg:absoluteerror": "mae",
    "count:poisson": "poisson-nloglik",
    "reg:gamma": "gamma-nloglik",
    "reg:tweedie": "tweedie-nloglik@1.5",
    "multi:softprob": "mlogloss",
}


def objective_kind(objective: str) -> Kind | None:
    for kind, objectives in OBJECTIVES.items():
        if objective in objectives:
            return kind  # type: ignore[return-value]
    return None


def better(metric: str, candidate: float, incumbent: float) -> float:
    """How much better `candidate` is than `incumbent`: positive when better, whichever
    direction the metric runs."""
    return candidate - incumbent if metric in HIGHER_IS_BETTER else incumbent - candidate


@dataclass(frozen=True)
class Task:
    kind: Kind
    objective: str
    # Multiclass: the label values, in the order of the class index the model predicts.
    classes: tuple[str, ...] = ()

    @property
    def params(self) -> dict[str, Any]:
        """The booster parameters the task fixes (objective, eval metric, class count)."""
        params: dict[str, Any] = {
            "objective": self.objective,
            "eval_metric": _EARLY_STOPPING.get(self.objective, "rmse"),
        }
        if self.kind == "multiclass":
            params["num_class"] = len(self.classes)
        return params

    @property
    def metrics(self) -> tuple[str, ...]:
        return METRICS[self.kind]

    @property
    def loss(self) -> str:
        """The metric that says whether the booster beats the baseline (a proper loss)."""
        return {"binary": "logloss", "regression": "rmse", "multiclass": "mlogloss"}[self.kind]
