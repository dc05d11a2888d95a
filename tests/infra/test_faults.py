"""SIGKILL at random points of a Spark ingest and a scoring job (5 kills each, 10 in all):
every Delta table stays readable at a committed version, a date's partition is either absent or
complete (never partial), and the re-run completes with exact row counts.

Each trial runs the step's job (`python -m driftline.orchestration.job <step>`) in its own
process group (Python driver and its JVM) and kills the whole group with SIGKILL after a
random share, drawn from a fixed seed, of how long the same job took just before on the
previous date (an idempotent re-run). Delays
scale with the machine, so they cover start-up, parsing and the commits on a fast or a
loaded one; a trial that finishes first is recorded, the job's time taken as its own
(a warm job can be much faster than the reference run), and another is drawn.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from driftline.core import tables
from driftline.demo.data import DemoData, write_demo_drop
from tests.conftest import data_files_on_disk, make_settings, settings_environment

pytestmark = pytest.mark.integration

KILLS_PER_STEP = 5
MAX_TRIALS_PER_STEP = 10
SPEC = DemoData(start=date(2024, 3, 1), days=3, drift_day=99, rows_per_day=300)
TARGET = SPEC.dates[-1]


def delta_tables(lake_root: Path) -> list[str]:
    return sorted(
        str(log.parent.relative_to(lake_root))
        for log in lake_root.rglob("_delta_log")
        if "_staging" not in log.parts
    )


def readable_state(lake: Any, lake_root: Path) -> dict[str, tuple[int, int]]:
    """(version, rows) of every table, read through the lake (Spark over the Delta log)
    and through delta-rs directly; raises if any table cannot be read."""
    from deltalake import DeltaTable

    state = {}
    for name in delta_tables(lake_root):
        rows = lake.read(name).count()
        direct = DeltaTable(str(lake_root / name))
        assert direct.to_pyarrow_table().num_rows == rows, name
        state[name] = (int(direct.version()), rows)
    return state


def rows_for(lake: Any, table: str, run_date: date, source: str | None = None) -> int:
    """Rows of one date's partition; `source` narrows tables partitioned by source too
    (the manifest), where each source is its own transaction."""
    from pyspark.sql import functions as F

    if not lake.exists(table):
        return 0
    rows = lake.read(table).where(F.col(tables.RUN_DATE) == F.lit(run_date))
    if source is not None:
        rows = rows.where(F.col("source") == source)
    return int(rows.count())


def run_job(
    step: str, environment: dict[str, str], kill_after: float | None, run_date: date = TARGET
) -> str:
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "driftline.orchestration.job",
            step,
            "--run-date",
            run_date.isoformat(),
        ],
        env={**os.environ, **environment, "PYSPARK_PYTHON": sys.executable},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the driver and its JVM
    )
    if kill_after is None:
        _, err = child.communicate(timeout=600)
        assert child.returncode == 0, err[-3000:].decode(errors="replace")
        return "completed"
    deadline = time.monotonic() + kill_after
    while time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    if child.poll() is not None:
        child.communicate()
        return "finished before the kill"
    os.killpg(child.pid, signal.SIGKILL)
    child.communicate(timeout=60)
    return f"killed after {kill_after:.1f}s"


@pytest.fixture(scope="module")
def lakehouse(spark, tmp_path_factory):  # type: ignore[no-untyped-def]
    from driftline.lake import open_lake
    from driftline.orchestration.replay import replay_night

    root = tmp_path_factory.mktemp("faults")
    settings = make_settings(root)
    write_demo_drop(root / "drop", SPEC)
    for day in SPEC.dates[:-1]:  # a champion and two nights of history
        replay_night(day, settings)
    lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
    return settings, lake, Path(settings.resolved_lake_uri)


Partition = tuple[str, str | None]  # (table, source) as rows_for reads it


def kill_trials(step: str, lakehouse: Any, dated: list[Partition], seed: int) -> list[str]:
    settings, lake, root = lakehouse
    environment = settings_environment(settings)
    start = time.monotonic()
    run_job(step, environment, kill_after=None, run_date=SPEC.dates[-2])
    duration = time.monotonic() - start
    rng = random.Random(seed)
    outcomes: list[str] = []
    complete: dict[Partition, set[int]] = {p: set() for p in dated}
    while len(outcomes) < MAX_TRIALS_PER_STEP and killed(outcomes) < KILLS_PER_STEP:
        before = readable_state(lake, root)
        began = time.monotonic()
        outcome = run_job(step, environment, kill_after=rng.uniform(0.2, 1.0) * duration)
        outcomes.append(outcome)
        if not outcome.startswith("killed"):  # the job runs faster than the reference did
            duration = min(duration, time.monotonic() - began)
        after = readable_state(lake, root)  # every table still reads
        for name, (version, _) in before.items():
            assert after[name][0] >= version, f"{name} went back in time"
            assert lake.read(name, version).count() == before[name][1], (
                f"{name} version {version} no longer reads as before ({outcome})"
            )
        for table, source in dated:
            complete[(table, source)].add(rows_for(lake, table, TARGET, source))
    assert killed(outcomes) == KILLS_PER_STEP, (duration, outcomes)
    run_job(step, environment, kill_after=None)
    for table, source in dated:
        final = rows_for(lake, table, TARGET, source)
        assert final > 0
        # Any partition a killed run left behind was the complete one, never a part of it.
        assert complete[(table, source)] <= {0, final}, (
            table,
            source,
            complete[(table, source)],
            final,
            outcomes,
        )
    return outcomes


def killed(outcomes: list[str]) -> int:
    return sum(o.startswith("killed") for o in outcomes)


def test_sigkill_during_ingest_and_scoring(lakehouse) -> None:  # type: ignore[no-untyped-def]
    from driftline.context import build_context
    from driftline.steps import step_function

    settings, lake, _ = lakehouse
    sources = ["customers", "churn_labels"]
    ingest = kill_trials(
        "ingest",
        lakehouse,
        [
            *((tables.bronze(s), None) for s in sources),
            *((tables.INGEST_MANIFEST, s) for s in sources),
        ],
        seed=11,
    )
    # Exact counts after the re-run: every line of every file is in bronze or quarantine,
    # once, and the manifest says so.
    lines = sum(
        len(path.read_text().splitlines()) - 1
        for path in (settings.resolved_drop_root).rglob(f"*/{TARGET.isoformat()}/*.csv")
    )
    landed = sum(
        rows_for(lake, tables.bronze(s), TARGET) + rows_for(lake, tables.quarantine(s), TARGET)
        for s in sources
    )
    assert landed == lines
    assert rows_for(lake, tables.INGEST_MANIFEST, TARGET) == len(
        list(settings.resolved_drop_root.rglob(f"*/{TARGET.isoformat()}/*.csv"))
    )

    ctx = build_context(TARGET, "faults", settings)
    for step in ("validate", "conform", "features"):
        step_function(step)(ctx)
    scoring = kill_trials("score", lakehouse, [(tables.PREDICTIONS, None)], seed=12)
    features = rows_for(lake, tables.FEATURES, TARGET)
    predictions = rows_for(lake, tables.PREDICTIONS, TARGET)
    assert predictions > 0 and predictions % features == 0  # each model scored every row once
    print("fault trials:", ingest + scoring)

    # Maintenance with no retention reclaims every file the current versions do not use
    # (superseded by re-runs, or left by the kills: moved in but never committed, or
    # staged) and nothing else: every table reads exactly as before.
    root = Path(settings.resolved_lake_uri)
    before = {name: rows for name, (_, rows) in readable_state(lake, root).items()}
    unused = {
        name: (
            len(data_files_on_disk(str(root / name)) - _snapshot_files(root / name)),
            len(list((root / name / "_staging").glob("*"))),
        )
        for name in before
    }
    for name in before:
        lake.maintain(name, retention_days=0)
    after = readable_state(lake, root)
    assert {name: rows for name, (_, rows) in after.items()} == before
    for name in before:
        assert data_files_on_disk(str(root / name)) == _snapshot_files(root / name), name
        assert not list((root / name / "_staging").glob("*")), name
    print("unused (files, staging folders) reclaimed by maintenance:", unused)


def _snapshot_files(table: Path) -> set[str]:
    from deltalake import DeltaTable

    prefix = f"{table}/"
    return {uri.removeprefix(prefix) for uri in DeltaTable(str(table)).file_uris()}
