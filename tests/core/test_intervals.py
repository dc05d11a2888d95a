from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from driftline.core.errors import ConfigError
from driftline.core.intervals import RunInterval, run_interval_of
from driftline.core.pipeline import scheduled_dates, scheduled_intervals


def test_a_daily_run_is_its_date_and_an_hourly_run_its_date_and_hour() -> None:
    daily = RunInterval.of("2024-01-01", hourly=False)
    assert (daily.label, daily.partition) == ("2024-01-01", {"_run_date": "2024-01-01"})
    assert daily.partition_columns == ["_run_date"]
    hourly = RunInterval.of("2024-01-01T05", hourly=True)
    assert hourly.label == "2024-01-01T05"
    assert hourly.partition == {"_run_date": "2024-01-01", "_run_hour": "5"}
    assert hourly.partition_columns == ["_run_date", "_run_hour"]
    assert hourly.values == (date(2024, 1, 1), 5)
    assert hourly.start == datetime(2024, 1, 1, 5, tzinfo=UTC)
    assert hourly.path_values == ("2024-01-01", "05")
    assert daily.path_values == ("2024-01-01", "*")


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01T05",
        "2024-01-01T05:00",
        "2024-01-01T05:59:59+00:00",
        "2024-01-01 07:30:00+02:00",  # the same instant in another zone
        datetime(2024, 1, 1, 5, 30, tzinfo=UTC),
        datetime(2024, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_any_moment_in_the_hour_is_that_hours_run(value: str | datetime) -> None:
    assert RunInterval.of(value, hourly=True) == RunInterval(date(2024, 1, 1), 5)


def test_a_daily_pipeline_reads_only_the_date_of_a_moment() -> None:
    assert RunInterval.of("2024-01-01T23:59:00+00:00", hourly=False) == RunInterval(
        date(2024, 1, 1)
    )
    assert RunInterval.of(datetime(2024, 1, 1, 2, tzinfo=UTC), hourly=False).hour is None


def test_an_hourly_run_needs_its_hour_and_a_bad_value_says_what_it_expects() -> None:
    with pytest.raises(ValueError, match="names no hour, and this pipeline runs hourly"):
        RunInterval.of("2024-01-01", hourly=True)
    with pytest.raises(ValueError, match=r"'yesterday' is not a run date \(YYYY-MM-DDTHH\)"):
        RunInterval.of("yesterday", hourly=True)
    with pytest.raises(ValueError, match="hour 24"):
        RunInterval(date(2024, 1, 1), 24)


def test_runs_order_by_date_then_hour() -> None:
    late = RunInterval(date(2024, 1, 1), 23)
    assert sorted([late, RunInterval(date(2024, 1, 1), 4)])[0].hour == 4


def test_an_hourly_schedule_makes_a_run_for_each_hour_it_runs_at() -> None:
    runs = scheduled_intervals("5 */6 * * *", date(2024, 1, 1), date(2024, 1, 2))
    assert [r.label for r in runs] == [
        f"2024-01-0{d}T{h:02d}" for d in (1, 2) for h in (0, 6, 12, 18)
    ]
    assert len(scheduled_intervals("@hourly", date(2024, 1, 1), date(2024, 1, 1))) == 24
    assert scheduled_dates("@hourly", date(2024, 1, 1), date(2024, 1, 2)) == [
        date(2024, 1, 1),
        date(2024, 1, 2),
    ]
    daily = scheduled_intervals("0 2 * * *", date(2024, 1, 1), date(2024, 1, 3))
    assert [r.label for r in daily] == ["2024-01-01", "2024-01-02", "2024-01-03"]


def test_an_airflow_run_is_about_its_conf_date_or_its_logical_hour() -> None:
    from types import SimpleNamespace

    logical = datetime(2024, 3, 3, 7, tzinfo=UTC)
    rerun = SimpleNamespace(conf={"run_date": "2024-03-01T05"}, run_after=logical)
    scheduled = SimpleNamespace(conf={}, run_after=logical)
    assert run_interval_of({"logical_date": logical, "dag_run": rerun}, True).label == (
        "2024-03-01T05"
    )
    assert run_interval_of({"logical_date": logical, "dag_run": scheduled}, True).label == (
        "2024-03-03T07"
    )
    assert run_interval_of({"logical_date": None, "dag_run": scheduled}, False).label == (
        "2024-03-03"
    )
    bare = SimpleNamespace(conf={"run_date": "2024-03-01"}, run_after=logical)
    with pytest.raises(ConfigError, match="conf run_date 2024-03-01 names no hour"):
        run_interval_of({"logical_date": logical, "dag_run": bare}, True)
