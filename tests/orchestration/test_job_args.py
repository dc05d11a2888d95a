"""The job entry point's options come from each step's `run` signature."""

from __future__ import annotations

import pytest

from driftline.orchestration.job import parse_args, step_options
from driftline.orchestration.launch import _job_error
from driftline.steps import STEP_NAMES


def test_every_step_can_be_launched_by_name() -> None:
    for step in STEP_NAMES:
        args = parse_args([step, "--run-date", "2024-03-01"])
        assert args.step == step
        assert {name for name, _ in step_options(step)} <= set(vars(args))


def test_step_options_are_typed_from_their_defaults() -> None:
    args = parse_args(
        ["train", "--run-date", "2024-03-01", "--reason", "drift", "--only-if-no-champion", "True"]
    )
    assert args.reason == "drift"
    assert args.only_if_no_champion is True
    assert parse_args(["ingest", "--run-date", "2024-03-01"]).source is None


def test_a_job_is_told_which_pipeline() -> None:
    assert parse_args(["score", "--run-date", "2024-03-01"]).pipeline is None
    args = parse_args(
        ["ingest", "--run-date", "2024-03-01", "--pipeline", "fraud", "--source", "x"]
    )
    assert (args.pipeline, args.source) == ("fraud", "x")


def test_unknown_steps_and_options_are_refused() -> None:
    with pytest.raises(SystemExit):
        parse_args(["transmogrify", "--run-date", "2024-03-01"])
    with pytest.raises(SystemExit):
        parse_args(["score", "--run-date", "2024-03-01", "--source", "customers"])
    with pytest.raises(SystemExit):
        parse_args(["train", "--run-date", "2024-03-01", "--only-if-no-champion", "maybe"])


def test_a_jobs_error_keeps_its_class() -> None:
    from driftline.core.errors import PERMANENT_ERRORS, StepFailedError, ValidationFailedError

    blocked = _job_error({"error": "suite broke", "error_type": "ValidationFailedError"})
    assert isinstance(blocked, ValidationFailedError)
    assert isinstance(blocked, PERMANENT_ERRORS)
    crashed = _job_error({"error": "ZeroDivisionError: x", "error_type": "ZeroDivisionError"})
    assert type(crashed) is StepFailedError
    assert str(crashed) == "ZeroDivisionError: x"


def test_a_runs_date_is_its_conf_run_date_then_its_logical_date() -> None:
    from datetime import date, datetime
    from types import SimpleNamespace

    from driftline.core.errors import ConfigError
    from driftline.orchestration.launch import logical_date_of

    logical = datetime(2024, 3, 3, 2, 0)
    rerun = SimpleNamespace(conf={"run_date": "2024-03-01"}, run_after=logical)
    assert logical_date_of({"logical_date": logical, "dag_run": rerun}) == date(2024, 3, 1)
    nightly = SimpleNamespace(conf={}, run_after=logical)
    assert logical_date_of({"logical_date": logical, "dag_run": nightly}) == date(2024, 3, 3)
    assert logical_date_of({"logical_date": None, "dag_run": nightly}) == date(2024, 3, 3)
    broken = SimpleNamespace(conf={"run_date": "yesterday"}, run_after=logical)
    with pytest.raises(ConfigError, match="conf run_date 'yesterday'"):
        logical_date_of({"dag_run": broken})
