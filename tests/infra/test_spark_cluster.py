"""`driftline_nightly` on a real Spark standalone cluster (a master and a worker started
here from the pyspark install), so nothing may assume local mode: the executors are
separate JVMs with their own Python workers, and every table is written by them.

The run is `driftline demo` in a child process whose `DRIFTLINE_SPARK_MASTER` names the
cluster; the session's own SparkSession stays in local mode.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT, cli_in_child, demo_in_child

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], seconds: int = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(1)
    raise AssertionError(f"{text!r} not in {log}:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    import pyspark

    root = tmp_path_factory.mktemp("cluster")
    spark_home = Path(pyspark.__file__).parent
    spark_class = str(spark_home / "bin" / "spark-class")
    environment = {
        **os.environ,
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    logs = {"master": root / "master.log", "worker": root / "worker.log"}
    commands = {
        "master": [
            spark_class,
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(_free_port()),
        ],
        "worker": [
            spark_class,
            "org.apache.spark.deploy.worker.Worker",
            url,
            "--cores",
            "2",
            "--memory",
            "4g",
            "--webui-port",
            str(_free_port()),
            "--work-dir",
            str(root / "work"),
        ],
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in ("master", "worker"):
            with logs[name].open("wb") as log:
                processes[name] = subprocess.Popen(
                    commands[name], stdout=log, stderr=subprocess.STDOUT, env=environment
                )
            if name == "master":
                _wait_for(logs["master"], "I have been elected leader", processes["master"])
        _wait_for(logs["master"], "Registering worker", processes["master"])
        yield {"url": url, "logs": logs, "root": root}
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_nightly_on_a_standalone_cluster(cluster: dict[str, object]) -> None:
    root = Path(str(cluster["root"]))
    completed = demo_in_child(
        root / "demo",
        environment={
            "DRIFTLINE_SPARK_MASTER": str(cluster["url"]),
            "SPARK_LOCAL_IP": "127.0.0.1",
        },
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    logs = cluster["logs"]
    assert isinstance(logs, dict)
    master_log = logs["master"].read_text(errors="replace")
    worker_log = logs["worker"].read_text(errors="replace")
    # The demo's application ran on this cluster's executors, not in local mode.
    assert "Registering app driftline-churn" in master_log
    assert "Asked to launch executor" in worker_log
    # Three nights, each row of the summary table printed by the demo.
    assert completed.stdout.count("success") >= 3

    # An auditor's question about the demo, from a shell pointed at its folders.
    from datetime import date

    from deltalake import DeltaTable

    scored = DeltaTable(str(root / "demo" / "lakehouse" / "predictions")).to_pyarrow_table(
        columns=["customer_id"], filters=[("_run_date", "=", date(2024, 3, 3))]
    )
    entity = sorted(scored.column("customer_id").to_pylist())[0]
    answer = cli_in_child(
        "--workdir",
        str(root / "demo"),
        "--project",
        str(PROJECT),
        "audit",
        "--entity",
        entity,
        "--date",
        "2024-03-03",
        timeout=300,
    )
    assert answer.returncode == 0, answer.stdout[-3000:] + answer.stderr[-3000:]
    assert f"{entity} on 2024-03-03" in answer.stdout
    assert "(recorded, saabas)" in answer.stdout
    assert "(exact, recomputed)" in answer.stdout
