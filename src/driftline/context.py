"""What every step receives (`RunContext`) and returns (`StepResult`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from driftline.core.errors import ConfigError
from driftline.core.intervals import RunInterval
from driftline.core.loading import PipelineFile, load_project_pipeline, pipeline_settings
from driftline.core.pipeline import PipelineConfig
from driftline.core.settings import Settings, load_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from driftline.lake import Lake

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunContext:
    """One run of one step for one logical date (and hour, in an hourly pipeline).

    `interval` is Airflow's logical date at the pipeline's grain: every write is keyed on
    it, so re-running a date replaces that date's data. No step looks at the wall clock to
    choose data.
    """

    interval: RunInterval
    run_id: str
    settings: Settings
    pipeline: PipelineConfig
    spark: SparkSession
    lake: Lake

    @property
    def run_date(self) -> date:
        return self.interval.day

    @property
    def ds(self) -> str:
        """The run's interval as text: `2024-01-01`, or `2024-01-01T05` when hourly."""
        return self.interval.label

    def commit_metadata(self, step: str) -> dict[str, str]:
        """Written into every Delta commit, so table history says which run made it."""
        return {
            "driftline.step": step,
            "driftline.run_date": self.ds,
            "driftline.run_id": self.run_id,
        }


@dataclass
class StepResult:
    """A step's outcome, small enough for an Airflow XCom and a CLI table row."""

    step: str
    run_date: str
    table_versions: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "run_date": self.run_date,
            "table_versions": dict(self.table_versions),
            "metrics": dict(self.metrics),
            "skipped": self.skipped,
        }


def build_context(
    run_date: str | date | datetime | RunInterval,
    run_id: str = "manual",
    settings: Settings | None = None,
) -> RunContext:
    """Load settings and the pipeline file, and attach to (or start) the SparkSession."""
    from driftline.core.spark import get_spark
    from driftline.lake import open_lake

    settings = pipeline_settings(settings or load_settings())
    pipeline = load_project_pipeline(
        PipelineFile(settings.pipeline, settings.resolved_pipeline_file)
    )
    if isinstance(run_date, RunInterval):
        interval = run_date
        if interval.hourly != pipeline.hourly:
            grain = "hourly" if pipeline.hourly else "daily"
            raise ConfigError(
                f"{interval.label} is not a run of {pipeline.pipeline}: it runs {grain}"
            )
    else:
        try:
            interval = RunInterval.of(run_date, pipeline.hourly)
        except ValueError as error:
            raise ConfigError(f"{pipeline.pipeline}: {error}") from None
    spark = get_spark(settings, app_name=f"driftline-{pipeline.pipeline}")
    lake = open_lake(
        settings.resolved_lake_uri, spark, settings.lake_backend, settings.audit_retention_days
    )
    return RunContext(
        interval=interval,
        run_id=run_id,
        settings=settings,
        pipeline=pipeline,
        spark=spark,
        lake=lake,
    )
