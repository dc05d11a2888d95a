"""Driftline's drift metrics on Spark vs Evidently's DataDriftPreset on pandas.

Same data (reference and current, `--rows` each, 15 numeric + 5 categorical columns, the
current one drifted in a third of them), same run. Each side runs in its own child
process, so peak memory (RSS of the process and its children: driver, JVM, Python
workers, sampled every 50 ms) is its own:

- Driftline: the reference profile from the reference array (what training stores with
  a model) plus the monitoring pass over the current data read from Parquet by Spark, and
  the comparison. The SparkSession is started before the clock starts, as in a nightly run.
- Evidently: the same Parquet files read into pandas, then
  `Report([DataDriftPreset()]).run(current, reference)`.

Both clocks start before the first Parquet read and stop at the last comparison.

Driftline also runs at twice the rows, to show its memory does not double. The per-column
Wasserstein distances of both tools are compared as a sanity check. Prints
`RATIO <evidently/driftline>` last (seconds; goal: at least 10).

    .venv/bin/python benchmarks/drift.py --rows 1000000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

NUMERIC = [f"n{i}" for i in range(15)]
CATEGORICAL = [f"c{i}" for i in range(5)]


def make_data(rows: int, folder: Path) -> None:
    """reference.parquet (2 x rows), current_<rows>.parquet and current_<2 x rows>.parquet."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    for name, drifted, size in (
        ("reference", False, 2 * rows),
        (f"current_{rows}", True, rows),
        (f"current_{2 * rows}", True, 2 * rows),
    ):
        columns: dict[str, Any] = {}
        for i, column in enumerate(NUMERIC):
            shift = 0.5 if drifted and i % 3 == 0 else 0.0
            columns[column] = rng.gamma(2.0 + i % 4, size=size) + shift
        for i, column in enumerate(CATEGORICAL):
            p = [0.4, 0.3, 0.2, 0.1] if not (drifted and i % 3 == 0) else [0.1, 0.2, 0.3, 0.4]
            columns[column] = rng.choice(["a", "b", "c", "d"], size=size, p=p)
        frame = pd.DataFrame(columns)
        frame.to_parquet(folder / f"{name}.parquet", row_group_size=256_000)


class PeakMemory:
    """Peak RSS of this process and all its children, sampled in a thread."""

    def __init__(self) -> None:
        import psutil

        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for proc in [self.process, *self.process.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a child that just exited
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_driftline(folder: Path, rows: int) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from driftline.core.pipeline import DriftConfig
    from driftline.core.settings import load_settings
    from driftline.core.spark import get_spark
    from driftline.data.profile import categorical_profile, numeric_profile
    from driftline.monitoring.drift import compare
    from driftline.monitoring.drift_scan import scan

    spark = get_spark(load_settings(spark_master="local[2]", spark_driver_memory="2g"), "bench")
    spark.range(1).collect()  # the JVM is warm in a nightly run
    with PeakMemory() as memory:
        started = time.perf_counter()
        reference = pq.read_table(folder / "reference.parquet").slice(0, rows)
        profiles = {c: numeric_profile(reference.column(c).to_numpy()) for c in NUMERIC}
        profiles.update(
            {c: categorical_profile(reference.column(c).to_pylist()) for c in CATEGORICAL}
        )
        del reference
        profiled = time.perf_counter()
        current = spark.read.parquet(str(folder / f"current_{rows}.parquet"))
        sketches = scan(current, profiles)
        results = {c: compare(c, profiles[c], sketches[c], DriftConfig()) for c in profiles}
        finished = time.perf_counter()
    spark.stop()
    return {
        "seconds": finished - started,
        "profile_seconds": profiled - started,
        "monitor_seconds": finished - profiled,
        "peak_mb": memory.peak / 2**20,
        "wasserstein": {c: results[c].wasserstein for c in NUMERIC},
        "drifted": sorted(c for c, r in results.items() if r.drifted),
    }


def run_evidently(folder: Path, rows: int) -> dict[str, Any]:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    with PeakMemory() as memory:
        started = time.perf_counter()
        # Read inside the clock, as Driftline's side reads its Parquet inside it.
        reference = pd.read_parquet(folder / "reference.parquet").iloc[:rows]
        current = pd.read_parquet(folder / f"current_{rows}.parquet")
        snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
        finished = time.perf_counter()
    values = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            values[config["column"]] = (config["method"], metric["value"])
    return {
        "seconds": finished - started,
        "peak_mb": memory.peak / 2**20,
        "wasserstein": {c: v for c, (m, v) in values.items() if m.startswith("Wasserstein")},
        "drifted": sorted(c for c, (_, v) in values.items() if v >= 0.1),
    }


def child(tool: str, folder: Path, rows: int) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", tool, "--folder", str(folder), "--rows", str(rows)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{tool} failed:\n{completed.stderr[-3000:]}")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", choices=["driftline", "evidently"])
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    if args.child:
        runner = run_driftline if args.child == "driftline" else run_evidently
        print(json.dumps(runner(args.folder, args.rows)))
        return

    try:
        import evidently  # noqa: F401
    except ImportError:
        print("SKIPPED: evidently is not installed (pip install -e '.[bench]')")
        return
    with tempfile.TemporaryDirectory(prefix="driftline-bench-") as tmp:
        folder = Path(tmp)
        make_data(args.rows, folder)
        driftline = child("driftline", folder, args.rows)
        driftline_2x = child("driftline", folder, 2 * args.rows)
        baseline = child("evidently", folder, args.rows)
    gaps = [
        abs(driftline["wasserstein"][c] - baseline["wasserstein"][c])
        for c in NUMERIC
        if c in baseline["wasserstein"]
    ]
    print(f"rows: {args.rows:,} reference + {args.rows:,} current, 20 columns")
    print(
        f"driftline  {driftline['seconds']:.2f} s (profile {driftline['profile_seconds']:.2f} s, "
        f"monitor {driftline['monitor_seconds']:.2f} s), peak {driftline['peak_mb']:.0f} MB"
    )
    print(f"evidently  {baseline['seconds']:.2f} s, peak {baseline['peak_mb']:.0f} MB")
    growth = driftline_2x["peak_mb"] / driftline["peak_mb"]
    print(
        f"driftline at {2 * args.rows:,} rows: {driftline_2x['seconds']:.2f} s, peak "
        f"{driftline_2x['peak_mb']:.0f} MB (memory x{growth:.2f} for 2x rows)"
    )
    print(f"same drifted columns: {driftline['drifted'] == baseline['drifted']}")
    print(f"max |wasserstein driftline - evidently|: {max(gaps) if gaps else float('nan'):.2e}")
    print(f"RATIO {baseline['seconds'] / driftline['seconds']:.3f}")


if __name__ == "__main__":
    main()
