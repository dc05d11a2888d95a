"""`driftline_nightly` on a real Spark standalone cluster (a master and a worker started
here from the pyspark install, the worker from a folder of its own), so nothing may assume
local mode: the executors are separate JVMs with their own Python workers.

Each run is `driftline demo` in a child process. With the spark-submit launcher and
`DRIFTLINE_SPARK_MASTER` naming the cluster, every task is its own Spark application there,
and the executors run a separate virtualenv with Driftline installed from its wheel. The
same three nights run in-process in local mode, and both lakes must hold the same
predictions. (Both runs are on delta-rs to keep CI's time: the demo on delta-spark takes
about 5 minutes here, and each spark-submit application on delta-spark about 45 s against
15 s; the lake contract suite covers delta-spark and the reads across backends.)
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
    port, webui = _free_port(), _free_port()
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
            str(webui),
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
    folders = {"master": root, "worker": root / "elsewhere"}
    folders["worker"].mkdir()
    try:
        for name in ("master", "worker"):
            with logs[name].open("wb") as log:
                processes[name] = subprocess.Popen(
                    commands[name],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=environment,
                    cwd=folders[name],
                )
            if name == "master":
                _wait_for(logs["master"], "I have been elected leader", processes["master"])
        _wait_for(logs["master"], "Registering worker", processes["master"])
        yield {"url": url, "logs": logs, "root": root, "status": f"http://127.0.0.1:{webui}/json/"}
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def inprocess_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with the in-process launcher (one SparkSession for every task), in local
    mode: the reference the cluster's run must agree with."""
    root = tmp_path_factory.mktemp("inprocess")
    completed = demo_in_child(root, environment={"DRIFTLINE_SPARK_MASTER": "local[2]"})
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert completed.stdout.count("success") >= 3
    return root


@pytest.fixture(scope="module")
def wheel_only_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The executors' Python: a virtualenv of its own with Driftline installed from the
    project's wheel (not editable, not the checkout).

    Its third-party packages are the driver environment's, through a path line, so the test
    does not download the whole dependency tree again; Driftline itself is importable there
    only from the wheel (the driver environment's editable hook is a `.pth` import line,
    which a path line does not run).
    """
    import sysconfig

    root = tmp_path_factory.mktemp("executor-env")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(root / "dist"),
            str(PROJECT),
        ],
        check=True,
        timeout=600,
    )
    (wheel,) = (root / "dist").glob("driftline-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    uv = Path(sys.executable).parent / "uv"
    subprocess.run(
        [
            *(str(uv), "pip", "install", "-q", "--compile-bytecode"),
            *("--python", str(python), "--no-deps", str(wheel)),
        ],
        check=True,
        timeout=600,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "driver_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = subprocess.run(
        [str(python), "-c", "import driftline; print(driftline.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    ).stdout.strip()
    assert where.startswith(str(root / "venv")), where
    return python


@pytest.fixture(scope="module")
def submitted_demo(
    cluster: dict[str, object], wheel_only_python: Path
) -> subprocess.CompletedProcess[str]:
    """Three nights with the spark-submit launcher on the cluster (delta-rs)."""
    root = Path(str(cluster["root"]))
    return demo_in_child(
        root / "submitted",
        environment={
            "DRIFTLINE_SPARK_MASTER": str(cluster["url"]),
            "DRIFTLINE_STEP_LAUNCHER": "spark-submit",
            "DRIFTLINE_EXECUTOR_PYTHON": str(wheel_only_python),
            "SPARK_LOCAL_IP": "127.0.0.1",
        },
    )


# About 30 applications, each starting its own JVM: longer than the suite's default limit.
@pytest.mark.timeout(1800)
def test_every_task_is_its_own_spark_application_and_predicts_the_same(
    cluster: dict[str, object],
    inprocess_demo: Path,
    submitted_demo: subprocess.CompletedProcess[str],
) -> None:
    import json
    import urllib.request
    from collections import Counter

    from deltalake import DeltaTable

    root = Path(str(cluster["root"]))
    submitted = submitted_demo
    assert submitted.returncode == 0, submitted.stdout[-3000:] + submitted.stderr[-3000:]
    assert submitted.stdout.count("success") >= 3
    logs = cluster["logs"]
    assert isinstance(logs, dict)
    # The applications' executors ran on the cluster's worker, not in local mode.
    assert "Asked to launch executor" in logs["worker"].read_text(errors="replace")

    with urllib.request.urlopen(str(cluster["status"]), timeout=30) as response:
        status = json.load(response)
    names = Counter(
        app["name"] for app in status["completedapps"] if app["name"].startswith("driftline-")
    )
    for night in ("2024-03-01", "2024-03-02", "2024-03-03"):
        assert names[f"driftline-ingest-{night}"] == 2, names  # customers, churn_labels
        for step in ("validate", "conform", "features", "train", "score", "monitor", "policy"):
            assert names[f"driftline-{step}-{night}"] >= 1, (step, night, names)
        assert names[f"driftline-report-{night}"] == 1, names

    def predictions(workdir: Path) -> list[tuple[object, ...]]:
        table = DeltaTable(str(workdir / "lakehouse" / "predictions")).to_pyarrow_table(
            columns=["customer_id", "_run_date", "model_version", "model_alias", "score"]
        )
        return sorted(zip(*[table.column(c).to_pylist() for c in table.column_names], strict=True))

    inprocess, separate = predictions(inprocess_demo), predictions(root / "submitted")
    assert len(inprocess) == len(separate) > 0
    for left, right in zip(inprocess, separate, strict=True):
        assert left[:4] == right[:4]
        assert abs(float(left[4]) - float(right[4])) <= 1e-9, (left, right)


def test_an_auditor_gets_answers_from_the_demos_lake(inprocess_demo: Path) -> None:
    from datetime import date

    from deltalake import DeltaTable

    # An auditor's question about the demo, from a shell pointed at its folders.
    lakehouse = str(inprocess_demo / "lakehouse")
    scored = DeltaTable(f"{lakehouse}/predictions").to_pyarrow_table(
        columns=["customer_id"], filters=[("_run_date", "=", date(2024, 3, 3))]
    )
    entity = sorted(scored.column("customer_id").to_pylist())[0]
    answer = cli_in_child(
        "--workdir",
        str(inprocess_demo),
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
