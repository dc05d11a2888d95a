"""Nights under Airflow's real scheduler: a Spark JVM per task vs one Spark Connect server.

`driftline ui` runs `airflow standalone` (LocalExecutor), where every task is a process of
its own. With `--no-spark-server` each task starts a Spark JVM of its own and warms it up;
by default the tasks are thin clients of one Spark Connect server started beside the
scheduler. For each variant, in a fresh folder with the same demo drop, this backfills
`--days` dates one run at a time (the scheduler runs them, as a nightly schedule would) and
reads the runs' and task instances' times from Airflow's REST API. Prints each task's
median time in both, the nights' wall times, and last
`RATIO <mean night with a JVM per task / mean night on the Connect server>` (higher is
better).

    .venv/bin/python benchmarks/scheduled.py --days 3
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from driftline.demo.data import DemoData, write_demo_drop
from driftline.orchestration.spark_server import free_port

PROJECT = Path(__file__).resolve().parents[1]
DAG = "driftline_nightly"


class Standalone:
    """`driftline ui` in a folder of its own, and the REST calls this benchmark needs."""

    def __init__(self, workdir: Path, connect: bool) -> None:
        self.workdir, self.port = workdir, free_port()
        self.url = f"http://localhost:{self.port}"
        self.environment = {**os.environ, "DRIFTLINE_DEVICE": "cpu"}
        command = [
            *(sys.executable, "-m", "driftline.cli", "ui", "--workdir", str(workdir)),
            *("--project", str(PROJECT), "--port", str(self.port)),
            *([] if connect else ["--no-spark-server"]),
        ]
        self.log = (workdir / "standalone.log").open("w")
        self.process = subprocess.Popen(
            command,
            env=self.environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.token = ""

    def wait_until_ready(self, seconds: float = 300) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as r:
                    health = json.loads(r.read())
                if all(part.get("status") == "healthy" for part in health.values()):
                    self._login()
                    self.call(f"/api/v2/dags/{DAG}")
                    return
            except Exception:  # not up yet
                pass
            time.sleep(2)
        raise SystemExit(f"Airflow did not come up; see {self.workdir / 'standalone.log'}")

    def _login(self) -> None:
        passwords = self.workdir / "airflow" / "simple_auth_manager_passwords.json.generated"
        body = {"username": "admin", "password": json.loads(passwords.read_text())["admin"]}
        request = urllib.request.Request(
            f"{self.url}/auth/token",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            self.token = json.loads(response.read())["access_token"]

    def call(self, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def run_variant(root: Path, spec: DemoData, connect: bool) -> dict[str, Any]:
    workdir = root / ("connect" if connect else "jvm-per-task")
    write_demo_drop(workdir / "drop", spec)
    airflow = Standalone(workdir, connect)
    try:
        airflow.wait_until_ready()
        backfill = subprocess.run(
            [
                *(sys.executable, "-m", "driftline.cli", "--workdir", str(workdir)),
                *("--project", str(PROJECT), "backfill", "--max-active-runs", "1"),
                *("--from", spec.dates[0].isoformat(), "--to", spec.dates[-1].isoformat()),
            ],
            env=airflow.environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if backfill.returncode != 0:
            raise SystemExit(backfill.stdout + backfill.stderr)
        deadline = time.monotonic() + 3600
        while True:
            runs = airflow.call(f"/api/v2/dags/{DAG}/dagRuns?limit=50")["dag_runs"]
            if len(runs) == len(spec.dates) and all(
                r["state"] in ("success", "failed") for r in runs
            ):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"runs did not finish: {[r['state'] for r in runs]}")
            time.sleep(5)
        failed = [r["logical_date"][:10] for r in runs if r["state"] != "success"]
        if failed:
            raise SystemExit(f"runs failed ({failed}); see {workdir}")
        nights, tasks = [], defaultdict(list)
        for run in sorted(runs, key=lambda r: r["logical_date"]):
            nights.append(seconds_between(run["start_date"], run["end_date"]))
            instances = airflow.call(
                f"/api/v2/dags/{DAG}/dagRuns/{run['dag_run_id']}/taskInstances?limit=100"
            )["task_instances"]
            for instance in instances:
                if instance["state"] == "success" and instance["duration"] is not None:
                    tasks[instance["task_id"]].append(float(instance["duration"]))
        return {"nights": nights, "tasks": tasks}
    finally:
        airflow.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--rows", type=int, default=400, help="customers a night")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="driftline-scheduled-"))
    spec = DemoData(start=date(2024, 3, 1), days=args.days, drift_day=99, rows_per_day=args.rows)
    results = {
        "jvm per task": run_variant(root, spec, connect=False),
        "connect server": run_variant(root, spec, connect=True),
    }
    jvm, server = results["jvm per task"], results["connect server"]
    print(f"{'task (median s)':<24}{'jvm per task':>14}{'connect':>10}")
    for task in sorted(jvm["tasks"], key=lambda t: -statistics.median(jvm["tasks"][t])):
        other = server["tasks"].get(task) or [float("nan")]
        print(
            f"{task:<24}{statistics.median(jvm['tasks'][task]):>14.1f}"
            f"{statistics.median(other):>10.1f}"
        )
    for name, result in results.items():
        nights = ", ".join(f"{n:.0f}" for n in result["nights"])
        print(f"{name}: nights {nights} s (mean {statistics.mean(result['nights']):.1f} s)")
    print(f"RATIO {statistics.mean(jvm['nights']) / statistics.mean(server['nights']):.3f}")


if __name__ == "__main__":
    main()
