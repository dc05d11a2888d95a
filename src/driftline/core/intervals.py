"""The interval a run is about, and the partition of every table it writes.

A daily pipeline (or a weekly, monthly one: at most one run a day) works on one date per
run, and its tables are partitioned by `_run_date`. An hourly pipeline works on one hour
of a date per run, and its tables are partitioned by `_run_date` and `_run_hour`, the
date/hour layout data engineers know from Hive. Steps read and write a run's rows only
through a `RunInterval`, so the schedule decides the grain in one place, and a re-run
replaces exactly its own interval, never a neighbour's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from driftline.core.errors import ConfigError
from driftline.core.tables import RUN_DATE, RUN_HOUR, run_partition_columns

if TYPE_CHECKING:
    from pyspark.sql import Column


@dataclass(frozen=True, order=True)
class RunInterval:
    """One run's interval: a date, and in an hourly pipeline an hour (0-23) of it."""

    day: date
    hour: int | None = None

    def __post_init__(self) -> None:
        # Airflow hands out pendulum subclasses Spark cannot take: keep a plain date.
        object.__setattr__(self, "day", date(self.day.year, self.day.month, self.day.day))
        if self.hour is not None and not 0 <= self.hour <= 23:
            raise ValueError(f"hour {self.hour} of {self.day} is not 0-23")

    @classmethod
    def of(cls, value: str | date | datetime, hourly: bool) -> RunInterval:
        """The interval `value` falls in: a date (`2024-01-01`) for a daily pipeline, a
        date and hour (`2024-01-01T05`, `2024-01-01T05:00:00+00:00`, a datetime) for an
        hourly one. An hourly pipeline's run needs its hour: a bare date is refused rather
        than read as midnight."""
        if isinstance(value, datetime):
            moment = value.astimezone(UTC) if value.tzinfo is not None else value
            return cls(moment.date(), moment.hour if hourly else None)
        if isinstance(value, date):
            if hourly:
                raise ValueError(
                    f"{value} names no hour, and this pipeline runs hourly: give the hour "
                    "as YYYY-MM-DDTHH (e.g. 2024-01-01T05)"
                )
            return cls(value)
        text = value.strip()
        try:
            if len(text) == 10:
                parsed: date = date.fromisoformat(text)
            else:
                parsed = datetime.fromisoformat(text if len(text) != 13 else f"{text}:00")
        except ValueError as error:
            expected = "YYYY-MM-DDTHH" if hourly else "YYYY-MM-DD"
            raise ValueError(f"{value!r} is not a run date ({expected}): {error}") from None
        return cls.of(parsed, hourly)

    @property
    def label(self) -> str:
        """How the interval is written in paths, run ids, messages and reports."""
        if self.hour is None:
            return self.day.isoformat()
        return f"{self.day.isoformat()}T{self.hour:02d}"

    @property
    def path_values(self) -> tuple[str, str]:
        """`{run_date}` and `{run_hour}` of a source's path for this run (any hour in a
        daily pipeline, whose paths do not name one)."""
        return self.day.isoformat(), "*" if self.hour is None else f"{self.hour:02d}"

    @property
    def suite_parameters(self) -> dict[str, str]:
        """What an expectation suite may name as `{"$PARAMETER": ...}`: `run_date` (the
        date, e.g. for a freshness check) and, in an hourly pipeline, `run_start` (the
        hour's first instant)."""
        if self.hour is None:
            return {"run_date": self.day.isoformat()}
        return {"run_date": self.day.isoformat(), "run_start": self.start.isoformat()}

    @property
    def start(self) -> datetime:
        """The interval's first instant, in UTC (Airflow's logical date for its run)."""
        return datetime.combine(self.day, time(self.hour or 0), tzinfo=UTC)

    @property
    def hourly(self) -> bool:
        return self.hour is not None

    @property
    def partition_columns(self) -> list[str]:
        return run_partition_columns(self.hourly)

    @property
    def values(self) -> tuple[date] | tuple[date, int]:
        """The partition columns' values, to end a row built on the driver."""
        return (self.day,) if self.hour is None else (self.day, self.hour)

    @property
    def partition(self) -> dict[str, str]:
        """The partition this run writes in every table, as Delta partition values."""
        if self.hour is None:
            return {RUN_DATE: self.day.isoformat()}
        return {RUN_DATE: self.day.isoformat(), RUN_HOUR: str(self.hour)}

    def literals(self) -> list[Column]:
        """The partition columns as constant columns, to stamp on the rows a run writes."""
        from pyspark.sql import functions as F

        columns = [F.lit(self.day).alias(RUN_DATE)]
        if self.hour is not None:
            columns.append(F.lit(self.hour).cast("int").alias(RUN_HOUR))
        return columns

    def is_this(self) -> Column:
        """True on the rows this run wrote."""
        from pyspark.sql import functions as F

        on_day = F.col(RUN_DATE) == F.lit(self.day)
        return on_day if self.hour is None else on_day & (F.col(RUN_HOUR) == F.lit(self.hour))

    def up_to(self) -> Column:
        """True on the rows of this run and every earlier one (what was known by then)."""
        return self._until(inclusive=True)

    def before(self) -> Column:
        """True on the rows of every earlier run."""
        return self._until(inclusive=False)

    def _until(self, inclusive: bool) -> Column:
        from pyspark.sql import functions as F

        def upto(column: Column, value: object) -> Column:
            return column <= F.lit(value) if inclusive else column < F.lit(value)

        if self.hour is None:
            return upto(F.col(RUN_DATE), self.day)
        return (F.col(RUN_DATE) < F.lit(self.day)) | (
            (F.col(RUN_DATE) == F.lit(self.day)) & upto(F.col(RUN_HOUR), self.hour)
        )

    def after(self) -> Column:
        """True on the rows of every later run (a backfill sees the future it must not use)."""
        return ~self.up_to()

    def order(self) -> list[Column]:
        """The partition columns in run order, oldest first."""
        from pyspark.sql import functions as F

        return [F.col(c) for c in self.partition_columns]

    def label_column(self) -> Column:
        """Each row's run interval written as `label` writes this one's."""
        from pyspark.sql import functions as F

        day = F.col(RUN_DATE).cast("string")
        if not self.hourly:
            return day
        return F.concat(day, F.lit("T"), F.lpad(F.col(RUN_HOUR).cast("string"), 2, "0"))


def run_moment_of(context: dict[str, Any]) -> str | datetime:
    """What an Airflow run is about, as its context says it: `run_date` in the run's conf
    (a re-run of an earlier date, which Airflow cannot give a second run under its logical
    date), else Airflow's logical date, else the run's `run_after` when a manual run was
    triggered without one. `RunInterval.of` reads it at the pipeline's grain."""
    dag_run = context.get("dag_run")
    conf = getattr(dag_run, "conf", None) or {}
    if conf.get("run_date"):
        return str(conf["run_date"])
    value = context.get("logical_date")
    if value is None and dag_run is not None:
        value = dag_run.run_after
    if value is None:
        raise ConfigError("the Airflow context has no logical_date: trigger the run with one")
    return value


def run_interval_of(context: dict[str, Any], hourly: bool) -> RunInterval:
    """The interval an Airflow run is about (`run_moment_of`), with its hour in an hourly
    pipeline."""
    try:
        return RunInterval.of(run_moment_of(context), hourly)
    except ValueError as error:
        raise ConfigError(f"the run's conf run_date {error}") from None
