"""Replaying many dates in one process, in the order `driftline_nightly` runs its tasks.

A long replay (a year of weekly runs, a backfill on a laptop) through `dag.test()` pays
Airflow's per-run overhead hundreds of times; this calls the same step functions in the
same order, in one SparkSession, and runs `driftline_retrain`'s two steps when the
retraining policy fires, as the DAG's trigger would. The DAG integrity test checks that
`NIGHTLY_TASKS` follows the DAG.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from driftline.context import build_context
from driftline.core.settings import Settings
from driftline.steps import step_function

logger = logging.getLogger(__name__)

# (task id in driftline_nightly, step, options), after the mapped ingest tasks.
NIGHTLY_TASKS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("validate", "validate", {}),
    ("conform", "conform", {}),
    ("build_features", "features", {}),
    ("bootstrap_champion", "train", {"reason": "bootstrap", "only_if_no_champion": True}),
    ("score", "score", {}),
    ("monitor", "monitor", {}),
    ("retrain_policy", "policy", {}),
)


@dataclass
class NightOutcome:
    run_date: date
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    retrain_reason: str | None = None

    def run(self, task_id: str, step: str, ctx: Any, **options: Any) -> dict[str, Any]:
        started = time.perf_counter()
        self.results[task_id] = step_function(step)(ctx, **options).to_dict()
        self.seconds[task_id] = time.perf_counter() - started
        return self.results[task_id]

    @property
    def promoted(self) -> bool | None:
        gate = self.results.get("promotion_gate")
        return None if gate is None else bool(gate["metrics"].get("promoted"))


def replay_night(run_date: date, settings: Settings, report: bool = False) -> NightOutcome:
    ctx = build_context(run_date, f"replay__{run_date.isoformat()}", settings)
    outcome = NightOutcome(run_date)
    for source in ctx.pipeline.sources:
        outcome.run(f"ingest[{source.name}]", "ingest", ctx, source=source.name)
    for task_id, step, options in NIGHTLY_TASKS:
        outcome.run(task_id, step, ctx, **options)
    if report:
        outcome.run("report", "report", ctx)
    decision = outcome.results["retrain_policy"]["metrics"]
    if decision.get("fire"):
        outcome.retrain_reason = str(decision["reason"])
        logger.info("%s: retraining (%s)", run_date, outcome.retrain_reason)
        trained = outcome.run("train_challenger", "train", ctx, reason=outcome.retrain_reason)
        if not trained["skipped"]:
            outcome.run("promotion_gate", "promote", ctx)
    return outcome
