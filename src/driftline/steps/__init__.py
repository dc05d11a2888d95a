"""Pipeline steps: one module per step, each exposing `run(ctx, ...) -> StepResult`.

A step is thin: it reads its inputs for the run date, calls the logic of the subpackage it
is named after (`train` -> `model.training`, `policy` -> `monitoring.policy`, `ingest` ->
`sources`, ...) and writes its tables. Steps talk to each other only through lakehouse
tables (and `driftline.data.features`, shared by train and score).

May import every layer below (`core`, `lake`, `sources`, `context`, `data`, `quality`,
`model`, `monitoring`); never Airflow or `orchestration`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

STEP_NAMES = (
    "ingest",
    "validate",
    "conform",
    "features",
    "train",
    "score",
    "monitor",
    "policy",
    "report",
    "promote",
    "maintain",
    "late",
)


def step_function(name: str) -> Callable[..., Any]:
    """The `run` function of a step, imported only when needed (steps import Spark/MLflow)."""
    if name not in STEP_NAMES:
        raise ValueError(f"unknown step {name!r}; steps are {', '.join(STEP_NAMES)}")
    module = importlib.import_module(f"driftline.steps.{name}")
    return module.run
