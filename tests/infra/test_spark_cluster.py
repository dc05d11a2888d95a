"""A project of one's own, from the installed wheel, on a real Spark standalone cluster.

A virtualenv with Driftline installed from the project's wheel (not editable, not the
checkout) runs `driftline init`, `check` and `run` for two nights in-process, in local
mode: what a new user does. A second project made the same way runs the first night here
too, then moves to the cluster by settings alone: the second night (which trains the first
champion and scores, so every step runs) goes through the spark-submit launcher to a master
and a worker started here from the pyspark install (the worker from a folder of its own,
its executors on that wheel-only Python). Every task of that night is its own Spark
application there, and both lakes must hold the same predictions. A third project does the
same with its lake and staging in a bucket (moto's server, through `s3a://`) and the
connector's jars in a folder of the nodes, so the cluster's executors read and write nothing
but the object store and no application ships a jar. A fourth runs its second night through
one Spark Connect server on the cluster: one application for every task. (All runs are on
delta-rs to keep CI's time; the lake contract suite covers delta-spark and the reads across
backends.)
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT
from tests.servers import S3Endpoint

pytestmark = pytest.mark.integration

logger = logging.getLogger(__name__)


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
def cluster(
    tmp_path_factory: pytest.TempPathFactory, s3_lake_store: str
) -> Iterator[dict[str, object]]:
    """A standalone master and worker. The worker starts with the session's AWS variables
    (the moto server's endpoint and keys) in its environment, as a cluster node holds its
    object-store credentials (an instance role, a mounted secret): S3A's default chain finds
    them there, so no key is ever written into an application's configuration."""
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


# The first night ingests and validates (no labels yet); the second trains the first
# champion on the first night's outcomes and scores: every step has run by then.
NIGHTS = ("2024-01-01", "2024-01-02")


def wheel_cli(
    python: Path, *args: str, cwd: Path, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`driftline ARGS...` run by the wheel-only Python in `cwd`, on CPU, with this
    environment's scripts (`spark-submit`) on PATH, as an activated virtualenv has them."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run(
        [str(python), "-m", "driftline.cli", *args],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
        cwd=cwd,
        env={**os.environ, "PATH": path, "DRIFTLINE_DEVICE": "cpu", **(environment or {})},
    )


def new_project(python: Path, folder: Path) -> Path:
    # 150 customers a night (not the sample's 400): each night is ten applications here.
    made = wheel_cli(python, "init", str(folder), "--sample-rows", "150", cwd=folder.parent)
    assert made.returncode == 0, made.stdout + made.stderr
    return folder


@pytest.fixture(scope="module")
def own_project(wheel_only_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`driftline init`, `check` and `run` for two nights, as the README's "Your own
    pipeline" section has a new user do, in local mode: the reference for the cluster."""
    project = new_project(wheel_only_python, tmp_path_factory.mktemp("own") / "churn")
    checked = wheel_cli(wheel_only_python, "check", cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ready to run" in checked.stdout
    ran = wheel_cli(
        wheel_only_python,
        *("run", "--from", NIGHTS[0], "--to", NIGHTS[-1]),
        cwd=project,
        environment={"DRIFTLINE_SPARK_MASTER": "local[2]"},
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert ran.stdout.count("success") >= len(NIGHTS)
    return project


@pytest.fixture(scope="module")
def submitted_run(
    cluster: dict[str, object], wheel_only_python: Path
) -> tuple[Path, subprocess.CompletedProcess[str], set[str]]:
    """The same nights, the first on this machine as the reference ran it, the second with
    the spark-submit launcher on the cluster: a project moves to a cluster by settings alone,
    and its lake carries over (delta-rs). Also returns the applications the master had
    seen before, so the night's own are told from other tests'."""
    project = new_project(wheel_only_python, Path(str(cluster["root"])) / "submitted")
    before = application_ids(cluster)
    return project, here_then_on_the_cluster(project, cluster, wheel_only_python, {}), before


def here_then_on_the_cluster(
    project: Path, cluster: dict[str, object], python: Path, environment: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The first night in local mode (it must succeed), then the second through spark-submit
    on the cluster: a project moves to a cluster by settings alone."""
    here = wheel_cli(
        python,
        *("run", "--date", NIGHTS[0]),
        cwd=project,
        environment={**environment, "DRIFTLINE_SPARK_MASTER": "local[2]"},
    )
    assert here.returncode == 0, here.stdout[-3000:] + here.stderr[-3000:]
    started = time.monotonic()
    there = wheel_cli(
        python,
        *("run", "--date", NIGHTS[-1]),
        cwd=project,
        environment={
            **environment,
            "DRIFTLINE_SPARK_MASTER": str(cluster["url"]),
            "DRIFTLINE_STEP_LAUNCHER": "spark-submit",
            "DRIFTLINE_EXECUTOR_PYTHON": str(python),
            "SPARK_LOCAL_IP": "127.0.0.1",
        },
    )
    logger.info(
        "%s: the night through spark-submit took %.1f s", project.name, time.monotonic() - started
    )
    return there


# About 11 applications, each starting its own JVM: longer than the suite's default limit.
@pytest.mark.timeout(1800)
def test_every_task_is_its_own_spark_application_and_predicts_the_same(
    cluster: dict[str, object],
    own_project: Path,
    submitted_run: tuple[Path, subprocess.CompletedProcess[str], set[str]],
) -> None:
    from collections import Counter

    project, submitted, before = submitted_run
    assert submitted.returncode == 0, submitted.stdout[-3000:] + submitted.stderr[-3000:]
    assert "success" in submitted.stdout
    logs = cluster["logs"]
    assert isinstance(logs, dict)
    # The applications' executors ran on the cluster's worker, not in local mode.
    assert "Asked to launch executor" in logs["worker"].read_text(errors="replace")

    names = Counter(
        app["name"]
        for app in master_status(cluster)["completedapps"]
        if app["id"] not in before and app["name"].startswith("driftline-")
    )
    # The second night trains the first champion and scores with it: every step ran there.
    night = NIGHTS[-1]
    assert names[f"driftline-ingest-{night}"] == 2, names  # customers, churn_labels
    for step in ("validate", "conform", "features", "late", "train", "score", "monitor"):
        assert names[f"driftline-{step}-{night}"] >= 1, (step, night, names)
    assert names[f"driftline-policy-{night}"] == names[f"driftline-report-{night}"] == 1, names
    assert not any(NIGHTS[0] in name for name in names), names  # ran on this machine

    assert_same_predictions(
        predictions(own_project / "lakehouse"), predictions(project / "lakehouse")
    )


def master_status(cluster: dict[str, object]) -> dict[str, Any]:
    import json
    import urllib.request

    with urllib.request.urlopen(str(cluster["status"]), timeout=30) as response:
        status = json.load(response)
    assert isinstance(status, dict)
    return status


def application_ids(cluster: dict[str, object]) -> set[str]:
    """Every application the master has seen, running or finished."""
    status = master_status(cluster)
    return {app["id"] for app in status["activeapps"] + status["completedapps"]}


def predictions(lake: Path | str) -> list[tuple[Any, ...]]:
    from deltalake import DeltaTable

    from driftline.core import object_store

    options = object_store.delta_rs_options() if object_store.is_s3(str(lake)) else None
    table = DeltaTable(f"{lake}/predictions", storage_options=options).to_pyarrow_table(
        columns=["customer_id", "_run_date", "model_version", "model_alias", "score"]
    )
    return sorted(zip(*[table.column(c).to_pylist() for c in table.column_names], strict=True))


def assert_same_predictions(reference: list[tuple[Any, ...]], other: list[tuple[Any, ...]]) -> None:
    assert len(reference) == len(other) > 0
    for left, right in zip(reference, other, strict=True):
        assert left[:4] == right[:4]
        assert abs(float(left[4]) - float(right[4])) <= 1e-9, (left, right)


@pytest.mark.timeout(1800)
def test_on_a_lake_in_a_bucket_the_cluster_shares_nothing_but_the_object_store(
    cluster: dict[str, object],
    own_project: Path,
    wheel_only_python: Path,
    s3_lake_store: str,
    s3_endpoint: S3Endpoint,
) -> None:
    from pyarrow import fs as pafs

    from driftline.core import object_store

    project = new_project(wheel_only_python, Path(str(cluster["root"])) / "on-s3")
    # The connector's jars on every node, as the cluster image has them: no application
    # resolves them or ships them (660 MB) to its executors.
    node_jars = Path(str(cluster["root"])) / "node-jars"
    copied = wheel_cli(wheel_only_python, "spark-jars", str(node_jars), cwd=project)
    assert copied.returncode == 0, copied.stdout + copied.stderr
    prefix = f"{s3_lake_store}/{uuid.uuid4().hex}"
    in_the_bucket = {
        "DRIFTLINE_LAKE_URI": f"{prefix}/lakehouse",
        "DRIFTLINE_STAGING_URI": f"{prefix}/staging",
        "DRIFTLINE_SPARK_JARS_DIR": str(node_jars),
        "DRIFTLINE_LAKE_BACKEND": "delta-rs",  # as the other runs, for CI's time
    }
    before = application_ids(cluster)  # the first night runs in local mode
    there = here_then_on_the_cluster(project, cluster, wheel_only_python, in_the_bucket)
    assert there.returncode == 0, there.stdout[-3000:] + there.stderr[-3000:]
    assert "success" in there.stdout

    # Nothing of the lake on the project's disk or the worker's, and no staged file left in
    # the driver's local staging folder (where it downloads and unpacks before the copy).
    work = Path(str(cluster["root"])) / "work"
    for folder in (project, work):
        for name in ("lakehouse", "s3:", "s3a:"):
            assert not list(folder.rglob(name)), (folder, name)
    assert [p for p in (project / "staging").rglob("*") if p.is_file()] == []
    # Every task was an application of its own, and none shipped a jar to its executors.
    new_apps = application_ids(cluster) - before
    assert len(new_apps) >= 10, new_apps
    assert all((work / app).is_dir() for app in new_apps), sorted(work.iterdir())
    assert [jar for app in new_apps for jar in (work / app).rglob("*.jar")] == []
    # The cluster's night read the delivered files from the bucket, through S3A.
    requests = s3_endpoint.log.read_text(errors="replace")
    staged = f"{prefix.removeprefix('s3://')}/staging/customers/{NIGHTS[-1]}/unpacked/00000-"
    assert f"GET /{staged}" in requests, staged
    filesystem, root = object_store.filesystem(f"{prefix}/staging")
    left = filesystem.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    assert [i.path for i in left if i.type == pafs.FileType.File and i.size] == []

    assert_same_predictions(
        predictions(own_project / "lakehouse"), predictions(f"{prefix}/lakehouse")
    )


@pytest.fixture(scope="module")
def served_run(
    cluster: dict[str, object], wheel_only_python: Path
) -> Iterator[tuple[Path, subprocess.CompletedProcess[str], set[str], dict[str, Any]]]:
    """The same nights, the second through one Spark Connect server that runs on the
    cluster as a single application (`driftline spark-server` with the cluster's master and
    the wheel-only executors' Python): every task of the night a thin client of it."""
    import secrets

    project = new_project(wheel_only_python, Path(str(cluster["root"])) / "served")
    here = wheel_cli(
        wheel_only_python,
        *("run", "--date", NIGHTS[0]),
        cwd=project,
        environment={"DRIFTLINE_SPARK_MASTER": "local[2]"},
    )
    assert here.returncode == 0, here.stdout[-3000:] + here.stderr[-3000:]
    port, token = _free_port(), secrets.token_urlsafe(16)
    log = project / "spark-server.log"
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    with log.open("wb") as output:
        server = subprocess.Popen(
            [
                *(str(wheel_only_python), "-m", "driftline.cli", "--verbose"),
                *("spark-server", "--port", str(port)),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=project,
            env={
                **os.environ,
                "PATH": path,
                "DRIFTLINE_SPARK_MASTER": str(cluster["url"]),
                "DRIFTLINE_EXECUTOR_PYTHON": str(wheel_only_python),
                "SPARK_CONNECT_AUTHENTICATE_TOKEN": token,
                "SPARK_LOCAL_IP": "127.0.0.1",
            },
        )
    try:
        _wait_for(log, "Spark Connect server on", server, seconds=300)
        before = application_ids(cluster)
        started = time.monotonic()
        ran = wheel_cli(
            wheel_only_python,
            *("run", "--date", NIGHTS[-1]),
            cwd=project,
            environment={
                "DRIFTLINE_SPARK_REMOTE": f"sc://localhost:{port}",
                "SPARK_CONNECT_AUTHENTICATE_TOKEN": token,
            },
        )
        logger.info("the night through the Connect server took %.1f s", time.monotonic() - started)
        during = master_status(cluster)
    finally:
        # Stopped before the tests run, so it never holds the worker's cores while another
        # test's applications wait for executors.
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
    yield project, ran, before, during


@pytest.mark.timeout(1800)
def test_a_connect_server_on_the_cluster_serves_every_task_as_one_application(
    cluster: dict[str, object],
    own_project: Path,
    served_run: tuple[Path, subprocess.CompletedProcess[str], set[str], dict[str, Any]],
) -> None:
    project, ran, before, during = served_run
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "success" in ran.stdout
    # Right after the night, the server was the cluster's one running application, and no
    # task of the night started one of its own.
    running = [(app["name"], app["cores"]) for app in during["activeapps"]]
    assert running == [("driftline-connect-server", 2)], running  # the worker's cores
    assert {app["id"] for app in during["activeapps"] + during["completedapps"]} == before
    # Its executors on the worker did the night's Spark work.
    (server,) = during["activeapps"]
    logs = Path(str(cluster["root"]), "work", server["id"]).glob("*/stderr")
    assert sum(log.read_text(errors="replace").count("Running task") for log in logs) >= 20
    assert_same_predictions(
        predictions(own_project / "lakehouse"), predictions(project / "lakehouse")
    )


def test_an_auditor_gets_answers_from_the_projects_lake(
    own_project: Path, wheel_only_python: Path
) -> None:
    from datetime import date

    from deltalake import DeltaTable

    # An auditor's question about a past prediction, from a shell in the project's folder.
    scored = DeltaTable(str(own_project / "lakehouse" / "predictions")).to_pyarrow_table(
        columns=["customer_id"], filters=[("_run_date", "=", date.fromisoformat(NIGHTS[-1]))]
    )
    entity = sorted(scored.column("customer_id").to_pylist())[0]
    answer = wheel_cli(
        wheel_only_python, "audit", "--entity", entity, "--date", NIGHTS[-1], cwd=own_project
    )
    assert answer.returncode == 0, answer.stdout[-3000:] + answer.stderr[-3000:]
    assert f"{entity} on {NIGHTS[-1]}" in answer.stdout
    assert "(recorded, saabas)" in answer.stdout
    assert "(exact, recomputed)" in answer.stdout
