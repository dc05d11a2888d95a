"""Report: the static HTML page of the run date (see `driftline.monitoring.report`)."""

from __future__ import annotations

from driftline.context import RunContext, StepResult
from driftline.monitoring.report import build


def run(ctx: RunContext) -> StepResult:
    result = StepResult("report", ctx.ds)
    result.metrics["report"] = build(ctx)
    return result
