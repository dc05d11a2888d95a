from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from driftline.context import RunContext
from driftline.core.intervals import RunInterval
from driftline.core.loading import load_pipeline
from tests.conftest import PROJECT, make_settings

HEADER = "customer_id,snapshot_date,tenure_months,monthly_spend,support_calls,age,region,plan\n"


def row(i: int, day: str = "2024-03-01", plan: str = "basic") -> str:
    return f"C{i:05d},{day},{12 + i % 30},{40.5 + i},{i % 4},{30 + i % 40},north,{plan}\n"


@pytest.fixture
def make_ctx(spark, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path)
    pipeline = load_pipeline(PROJECT / "driftline.yaml")

    def build(run_date: str) -> RunContext:
        from driftline.lake import open_lake

        lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
        return RunContext(
            RunInterval(date.fromisoformat(run_date)),
            f"test-{run_date}",
            settings,
            pipeline,
            spark,
            lake,
        )

    return build


@pytest.fixture
def drop(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(source: str, run_date: str, name: str, text: str | bytes) -> Path:
        folder = tmp_path / "drop" / source / run_date
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    return write
