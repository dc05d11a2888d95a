"""A fresh driver's start with Spark's class archive vs without it, side by side.

Under a real scheduler every task instance (and every spark-submit job) is a new process
that starts its own Spark JVM: on a 2-core machine that start was the largest fixed cost of
a small night (`benchmarks/nightly.py`). Each round starts two fresh processes, one with
the archive (`python -m driftline.core.spark` builds it) and one with
`DRIFTLINE_SPARK_CLASS_SHARING=false`, in alternating order so drift in the machine's load
falls on both; each times `get_spark` and then a first small query (a join, an aggregate,
an Arrow round trip), the work every step's first action pays. Prints the medians and
`RATIO <with archive / without>` of session plus first query (lower is better).

    .venv/bin/python benchmarks/spark_start.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

ONE_START = """
import json, time
began = time.perf_counter()
from driftline.core.settings import load_settings
from driftline.core.spark import driver_java_options, get_spark
settings = load_settings(spark_master="local[2]", lake_backend="delta-rs", spark_packages="")
spark = get_spark(settings)
session = time.perf_counter() - began
began = time.perf_counter()
left = spark.range(1000).selectExpr("id", "id % 7 AS k")
right = spark.createDataFrame([(k, float(k)) for k in range(7)], "k LONG, w DOUBLE")
left.join(right, "k").groupBy("k").sum("w").toPandas()
query = time.perf_counter() - began
print(json.dumps({"session": session, "query": query,
                  "shared": "SharedArchiveFile" in driver_java_options(settings)}))
"""


def one_start(sharing: bool) -> dict[str, float]:
    environment = {**os.environ, "DRIFTLINE_SPARK_CLASS_SHARING": str(sharing).lower()}
    done = subprocess.run(
        [sys.executable, "-c", ONE_START],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    if done.returncode != 0:
        raise SystemExit(f"a fresh driver failed:\n{done.stderr[-3000:]}")
    timing: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    if bool(timing.pop("shared")) != sharing:
        raise SystemExit(
            "no class archive for this Spark and Java: build it first with "
            "`.venv/bin/python -m driftline.core.spark`"
        )
    return timing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    runs: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for round_number in range(args.rounds):
        order = (True, False) if round_number % 2 == 0 else (False, True)
        for sharing in order:
            runs[sharing].append(one_start(sharing))

    def median(sharing: bool, part: str) -> float:
        return statistics.median(run[part] for run in runs[sharing])

    print(f"{'':24}{'session s':>11}{'first query s':>15}{'total s':>10}")
    totals = {}
    for sharing, label in ((False, "without the archive"), (True, "with the archive")):
        session, query = median(sharing, "session"), median(sharing, "query")
        totals[sharing] = statistics.median(r["session"] + r["query"] for r in runs[sharing])
        print(f"{label:24}{session:>11.2f}{query:>15.2f}{totals[sharing]:>10.2f}")
    print(f"RATIO {totals[True] / totals[False]:.3f}")


if __name__ == "__main__":
    main()
