"""The `decisions` table: every bootstrap, promotion, rejection and rollback, with the
numbers and reasons behind it and who or what made it."""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from driftline.context import RunContext
from driftline.core import tables

COLUMNS_DDL = (
    "kind string, model_name string, model_version string, champion_before string, "
    "champion_after string, metric string, champion_value double, challenger_value double, "
    "improvement double, reasons string, numbers string, actor string, run_id string, "
    "decided_at timestamp"
)


@dataclass(frozen=True)
class DecisionRecord:
    kind: str  # bootstrap | promote | reject | rollback
    model_name: str
    model_version: str
    champion_before: str | None
    champion_after: str | None
    reasons: list[str]
    metric: str | None = None
    champion_value: float | None = None
    challenger_value: float | None = None
    improvement: float | None = None
    numbers: dict[str, Any] = field(default_factory=dict)


def actor() -> str:
    """Who acted: `DRIFTLINE_ACTOR` (set by Airflow callers and the UI), else the OS user."""
    return os.environ.get("DRIFTLINE_ACTOR") or getpass.getuser()


def record(ctx: RunContext, decision: DecisionRecord) -> None:
    """Upsert on (run interval, kind, version): re-running a date rewrites its own
    decision."""
    row = (
        decision.kind,
        decision.model_name,
        decision.model_version,
        decision.champion_before,
        decision.champion_after,
        decision.metric,
        decision.champion_value,
        decision.challenger_value,
        decision.improvement,
        "; ".join(decision.reasons),
        json.dumps(decision.numbers, default=str, sort_keys=True),
        actor(),
        ctx.run_id,
        datetime.now(UTC),
        *ctx.interval.values,
    )
    schema = f"{COLUMNS_DDL}, {tables.run_partition_ddl(ctx.interval.hourly)}"
    ctx.lake.merge(
        tables.DECISIONS,
        ctx.spark.createDataFrame([row], schema),
        keys=[*ctx.interval.partition_columns, "kind", "model_version"],
        order_by=["decided_at"],
        metadata=ctx.commit_metadata(decision.kind),
    )
