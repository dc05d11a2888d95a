"""The body of every `jobs/<step>.py`: parse arguments, run one step, report."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from driftline.core.errors import DriftlineError

logger = logging.getLogger(__name__)


def parse_args(step: str, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"jobs/{step}.py", description=f"Driftline {step} step")
    parser.add_argument("--run-date", required=True, help="logical date, YYYY-MM-DD")
    parser.add_argument("--run-id", default="spark-submit")
    if step == "ingest":
        parser.add_argument("--source", default=None, help="one source (default: all)")
    if step == "train":
        parser.add_argument("--reason", default="manual")
        parser.add_argument("--only-if-no-champion", default="False")
    return parser.parse_args(argv)


def main(step: str, argv: list[str] | None = None) -> int:
    from driftline.context import build_context
    from driftline.steps import step_function

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(step, sys.argv[1:] if argv is None else argv)
    kwargs = {k: v for k, v in vars(args).items() if k not in ("run_date", "run_id")}
    if "only_if_no_champion" in kwargs:
        kwargs["only_if_no_champion"] = str(kwargs["only_if_no_champion"]).lower() == "true"
    try:
        ctx = build_context(args.run_date, args.run_id)
        result = step_function(step)(ctx, **kwargs)
    except DriftlineError as error:
        logger.error("%s failed for %s: %s", step, args.run_date, error)
        return 1
    logger.info("result %s", json.dumps(result.to_dict(), default=str))
    return 0
