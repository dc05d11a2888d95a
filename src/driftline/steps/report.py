"""Report: the static HTML page of the run date (see `driftline.report`)."""

from __future__ import annotations

from driftline.context import RunContext, StepResult
from driftline.report import build


def run(ctx: RunContext) -> StepResult:
    result = StepResult("report", ctx.ds)
    result.metrics["report"] = build(ctx)
    return result
