"""Which version holds which alias over time: a new version's alias, champion history and
rollback, all recorded in the `decisions` table."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.errors import DriftlineError
from driftline.core.intervals import RunInterval
from driftline.model import registry
from driftline.model.decisions import DecisionRecord, record

logger = logging.getLogger(__name__)

CHAMPION_CHANGES = ("bootstrap", "promote", "rollback")


@dataclass(frozen=True)
class Tenure:
    version: str
    since: datetime
    until: datetime | None
    how: str
    actor: str
    run_date: date
    run_hour: int | None = None  # the run that made the change, in an hourly pipeline

    @property
    def when(self) -> tuple[date, int]:
        """When in run order the change was made (a daily run as hour 0 of its date)."""
        return self.run_date, self.run_hour or 0


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
                row.asDict().get(tables.RUN_HOUR),
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


def champion_on(ctx: RunContext, day: date | RunInterval, current: str) -> str:
    """The version that held `champion` on `day` (or in that hour's run, in an hourly
    pipeline), so a backfill scores an old date with the model of that date, not today's.

    Only a recorded change after `day` makes it differ from `current`; an alias moved
    outside Driftline (no decision recorded) is trusted as it stands.
    """
    run = day if isinstance(day, RunInterval) else RunInterval(day)
    when = (run.day, run.hour or 0)
    tenures = history(ctx)
    started = [t.when for t in tenures if t.version == current]
    if not started or started[-1] <= when:
        return current
    held = [t for t in tenures if t.when <= when]
    return held[-1].version if held else current


def champion_ref_on(ctx: RunContext, day: date | RunInterval) -> registry.ModelRef | None:
    """The champion of `day` (see `champion_on`), so monitoring and the policy re-run for a
    past date judge the model that served it, not today's."""
    name = ctx.pipeline.model.name
    current = registry.find_alias(name)
    if current is None:
        return None
    version = champion_on(ctx, day, current.version)
    if version == current.version:
        return current
    return registry.ModelRef(name, version, registry.CHAMPION, registry.run_id_of(name, version))


def enrol(ctx: RunContext, version: str, reason: str, metrics: dict[str, Any]) -> str:
    """Give a newly registered version its alias and return it: the model's first version
    becomes champion (recorded as a `bootstrap` decision), later ones the run date's
    challenger, for the promotion gate to judge."""
    import mlflow

    name = ctx.pipeline.model.name
    alias = registry.CHAMPION
    if registry.find_alias(name) is None:
        record(
            ctx,
            DecisionRecord(
                "bootstrap",
                name,
                version,
                None,
                version,
                [f"first model of {name}: no champion to compare with ({reason})"],
                numbers=metrics,
            ),
        )
        logger.info("model %s version %s is the first champion", name, version)
    else:
        alias = registry.challenger_alias(ctx.ds)
        logger.info("model %s version %s registered as %s", name, version, alias)
    mlflow.MlflowClient().set_registered_model_alias(name, alias, version)
    return alias
