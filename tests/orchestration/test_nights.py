"""Which runs `driftline run` makes of each pipeline (no Airflow, no Spark)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from driftline.core.intervals import RunInterval
from driftline.core.loading import PipelineFile
from driftline.orchestration.nights import runs_of
from tests.core.test_config import hourly_pipeline

DAY = date(2024, 1, 1)


def pipeline_at(tmp_path: Path, data: dict) -> PipelineFile:  # type: ignore[type-arg]
    path = tmp_path / "driftline.yaml"
    path.write_text(yaml.safe_dump(data))
    return PipelineFile(None, path)


def test_an_hourly_range_runs_each_scheduled_hour_from_and_to_the_hours_it_names(
    tmp_path: Path,
) -> None:
    hourly = pipeline_at(tmp_path, hourly_pipeline("0 */6 * * *"))
    whole = runs_of(hourly, [DAY, date(2024, 1, 2)], None, True)
    assert [r.label for r in whole] == [
        f"2024-01-0{d}T{h:02d}" for d in (1, 2) for h in (0, 6, 12, 18)
    ]
    between = (RunInterval(DAY, 5), RunInterval(date(2024, 1, 2), 6))
    part = runs_of(hourly, [DAY, date(2024, 1, 2)], None, True, between)
    assert [r.label for r in part] == [
        "2024-01-01T06",
        "2024-01-01T12",
        "2024-01-01T18",
        "2024-01-02T00",
        "2024-01-02T06",
    ]
    assert runs_of(hourly, [DAY], [RunInterval(DAY, 3)], False) == [RunInterval(DAY, 3)]


def test_a_daily_range_runs_its_dates_and_ignores_hours(tmp_path: Path) -> None:
    from tests.conftest import PROJECT

    weekly = yaml.safe_load((PROJECT / "driftline.yaml").read_text())
    weekly["schedule"] = "0 2 * * 3"  # Wednesdays: 2024-01-03
    days = [date(2024, 1, d) for d in range(1, 5)]
    chosen = pipeline_at(tmp_path, weekly)
    assert runs_of(chosen, days, None, True) == [RunInterval(date(2024, 1, 3))]
    assert runs_of(chosen, days, None, False) == [RunInterval(d) for d in days]
    assert runs_of(chosen, days[:1], [RunInterval(DAY, 3)], False) == [RunInterval(DAY)]
