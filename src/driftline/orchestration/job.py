"""The one spark-submit entry point: `job.py <step> --run-date YYYY-MM-DD [step options]`.

spark-submit runs this file from the installed package (`python -m
driftline.orchestration.job` runs the same), so a cluster needs the wheel and nothing from a
checkout. A step's options are read from its `run` signature: a step that gains an option
gains it here too. With `--result-file` the job writes its `StepResult`, or its error and
whether a retry could fix it, as JSON for the launcher to hand Airflow.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import sys
from pathlib import Path
from typing import Any

from driftline.core.errors import PERMANENT_ERRORS, DriftlineError

logger = logging.getLogger(__name__)


def _truthy(value: str) -> bool:
    lowered = value.lower()
    if lowered not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")
    return lowered in ("true", "1", "yes")


def step_options(step: str) -> list[tuple[str, Any]]:
    """(name, default) of each option the step's `run` takes after the context."""
    from driftline.steps import step_function

    parameters = list(inspect.signature(step_function(step)).parameters.values())[1:]
    return [(p.name, p.default) for p in parameters]


def parse_args(argv: list[str]) -> argparse.Namespace:
    from driftline.steps import STEP_NAMES

    parser = argparse.ArgumentParser(prog="driftline-job", description="Run one Driftline step")
    parser.add_argument("step", choices=STEP_NAMES)
    parser.add_argument("--run-date", required=True, help="logical date, YYYY-MM-DD")
    parser.add_argument("--run-id", default="spark-submit")
    parser.add_argument("--pipeline", default=None, help="which of the project's pipelines")
    parser.add_argument("--result-file", type=Path, default=None, help="write the result here")
    known, _ = parser.parse_known_args(argv)
    for name, default in step_options(known.step):
        kind = _truthy if isinstance(default, bool) else str
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=default)
    return parser.parse_args(argv)


def _write(path: Path | None, payload: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(payload, default=str), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    from driftline.context import build_context
    from driftline.core.loading import pipeline_settings
    from driftline.core.settings import load_settings
    from driftline.steps import step_function

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(sys.argv[1:] if argv is None else argv)
    options = {name: getattr(args, name) for name, _ in step_options(args.step)}
    try:
        settings = pipeline_settings(load_settings(), args.pipeline)
        ctx = build_context(args.run_date, args.run_id, settings)
        result = step_function(args.step)(ctx, **options)
    except DriftlineError as error:
        logger.error("%s failed for %s: %s", args.step, args.run_date, error)
        _write(
            args.result_file,
            {
                "error": str(error),
                "error_type": type(error).__name__,
                "permanent": isinstance(error, PERMANENT_ERRORS),
            },
        )
        return 1
    except Exception as error:
        _write(
            args.result_file,
            {"error": f"{type(error).__name__}: {error}", "error_type": type(error).__name__},
        )
        raise
    payload = result.to_dict()
    _write(args.result_file, payload)
    logger.info("result %s", json.dumps(payload, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
