"""Champion history and rollback, from the `decisions` table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.errors import DriftlineError
from driftline.model import registry
from driftline.model.decisions import DecisionRecord, record

CHAMPION_CHANGES = ("bootstrap", "promote", "rollback")


@dataclass(frozen=True)
class Tenure:
    version: str
    since: datetime
    until: datetime | None
    how: str
    actor: str
    run_date: date


def history(ctx: RunContext) -> list[Tenure]:
    """Who held `champion` when, oldest first."""
    from pyspark.sql import functions as F

    if not ctx.lake.exists(tables.DECISIONS):
        return []
    changes = (
        ctx.lake.read(tables.DECISIONS)
        .where(
            F.col("kind").isin(*CHAMPION_CHANGES) & (F.col("model_name") == ctx.pipeline.model.name)
        )
        .orderBy("decided_at")
        .collect()
    )
    tenures = []
    for i, row in enumerate(changes):
        until = changes[i + 1]["decided_at"] if i + 1 < len(changes) else None
        tenures.append(
            Tenure(
                row["champion_after"],
                row["decided_at"],
                until,
                row["kind"],
                row["actor"],
                row[tables.RUN_DATE],
            )
        )
    return tenures


def rollback(ctx: RunContext) -> str:
    """Give `champion` back to the version that held it before the current one."""
    import mlflow

    name = ctx.pipeline.model.name
    registry.configure_mlflow(ctx.settings, f"driftline-{ctx.pipeline.pipeline}")
    current = registry.require_alias(name)
    tenures = history(ctx)
    if len(tenures) < 2 or tenures[-1].version != current.version:
        raise DriftlineError(
            f"no earlier champion of {name!r} to roll back to (current: v{current.version}); "
            "see `driftline model history`"
        )
    previous = tenures[-2].version
    mlflow.MlflowClient().set_registered_model_alias(name, registry.CHAMPION, previous)
    record(
        ctx,
        DecisionRecord(
            "rollback",
            name,
            previous,
            current.version,
            previous,
            [f"rolled back from v{current.version} to v{previous}"],
        ),
    )
    return previous


def champion_on(ctx: RunContext, day: date, current: str) -> str:
    """The version that held `champion` on `day`, so a backfill scores an old date with the
    model of that date, not today's.

    Only a recorded change after `day` makes it differ from `current`; an alias moved
    outside Driftline (no decision recorded) is trusted as it stands.
    """
    tenures = history(ctx)
    started = [t.run_date for t in tenures if t.version == current]
    if not started or started[-1] <= day:
        return current
    held = [t for t in tenures if t.run_date <= day]
    return held[-1].version if held else current
