"""`driftline ui` (Airflow standalone: API server, scheduler, dag-processor, triggerer,
LocalExecutor) with the project's DAGs. While `driftline backfill` has Airflow 3's
scheduler run a past date, headless Chromium logs in, triggers `driftline_nightly` for the
next date from the UI and sees it succeed; both runs commit to the same tables at the same
time, nothing is lost. The run's page then shows its monitoring report in a "Report" tab
(Driftline's Airflow plugin), served only to a logged-in user.

Every task of these runs is its own process; their Spark work runs in the one Spark Connect
server `driftline ui` starts beside the scheduler (no task starts a JVM of its own). On a
2-core machine the test keeps to two dates: one backfilled, one triggered."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from driftline.core import tables
from driftline.demo.data import DemoData, write_demo_drop
from tests.conftest import PROJECT, cli_in_child

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SPEC = DemoData(start=date(2024, 3, 1), days=2, drift_day=99, rows_per_day=150)
BACKFILLED, TRIGGERED = SPEC.dates[:1], SPEC.dates[1]


class Airflow:
    def __init__(self, url: str, workdir: Path, environment: dict[str, str]) -> None:
        self.url, self.workdir, self.environment = url, workdir, environment
        self.token = ""

    @property
    def password(self) -> str:
        generated = self.workdir / "airflow" / "simple_auth_manager_passwords.json.generated"
        return str(json.loads(generated.read_text())["admin"])

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def runs(self) -> dict[str, dict[str, Any]]:
        listed = self.call("GET", "/api/v2/dags/driftline_nightly/dagRuns?limit=50")
        return {r["logical_date"][:10]: r for r in listed["dag_runs"]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, check: Any, timeout: float, every: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as error:  # the server may not be up yet
            last = error
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}: {last}")


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no chromium/chromedriver (Debian: apt-get install chromium chromium-driver)")
    from driftline.orchestration.airflow_runner import airflow_environment

    workdir = tmp_path_factory.mktemp("ui")
    write_demo_drop(workdir / "drop", SPEC)
    port = _free_port()
    log = (workdir / "standalone.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "driftline.cli",
            "ui",
            "--workdir",
            str(workdir),
            "--project",
            str(PROJECT),
            "--port",
            str(port),
        ],
        # INFO in the task logs: they say how each task reached Spark.
        env={**os.environ, "DRIFTLINE_DEVICE": "cpu", "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    environment = airflow_environment(workdir / "airflow", PROJECT / "dags")
    handle = Airflow(f"http://localhost:{port}", workdir, environment)
    try:

        def healthy() -> bool:
            with urllib.request.urlopen(f"{handle.url}/api/v2/monitor/health", timeout=5) as r:
                health = json.loads(r.read())
            return all(part.get("status") == "healthy" for part in health.values())

        _wait("Airflow standalone to be healthy", healthy, timeout=240)
        login = urllib.request.Request(
            f"{handle.url}/auth/token",
            data=json.dumps({"username": "admin", "password": handle.password}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(login, timeout=30) as response:
            handle.token = json.loads(response.read())["access_token"]
        _wait(
            "the DAGs to be parsed",
            lambda: handle.call("GET", "/api/v2/dags/driftline_nightly"),
            180,
        )
        yield handle
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def trigger_from_the_ui(driver: Any, airflow: Airflow, day: date) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{airflow.url}/")
    _wait("the login form", lambda: driver.find_elements(By.NAME, "username"), 60, 0.5)
    driver.find_element(By.NAME, "username").send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(airflow.password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait("the login", lambda: "/auth/login" not in driver.current_url, 60, 0.5)
    driver.get(f"{airflow.url}/dags/driftline_nightly")
    trigger = _wait(
        "the Trigger button",
        lambda: driver.find_elements(By.CSS_SELECTOR, "[data-testid=trigger-dag-button]"),
        60,
        0.5,
    )
    trigger[0].click()
    picker = _wait(
        "the logical date picker",
        lambda: driver.find_elements(By.CSS_SELECTOR, "[data-testid=datetime-input]"),
        30,
        0.5,
    )
    picker[0].click()
    time.sleep(1)
    date_field = driver.switch_to.active_element  # the popover focuses its date field
    date_field.send_keys(Keys.CONTROL, "a")
    date_field.send_keys(day.strftime("%Y/%m/%d"))
    time_field = next(
        e
        for e in driver.find_elements(By.CSS_SELECTOR, "input")
        if len(e.get_attribute("value") or "") == 5 and ":" in (e.get_attribute("value") or "")
    )
    time_field.send_keys(Keys.CONTROL, "a")
    time_field.send_keys("00:00")
    shown = driver.find_element(By.CSS_SELECTOR, "[data-testid=datetime-input]").text
    assert day.strftime("%b %d, %Y") in shown, shown

    def submitted() -> bool:
        # The first click outside the date popover may only close the popover.
        buttons = [
            b
            for b in driver.find_elements(By.CSS_SELECTOR, "[role=dialog] button")
            if b.text.strip() == "Trigger"
        ]
        if not buttons:
            return True
        buttons[-1].click()
        time.sleep(1.5)
        return not driver.find_elements(By.CSS_SELECTOR, "[data-testid=datetime-input]")

    _wait("the trigger dialog to submit", submitted, 30, 0.5)


# Two nightly runs, each task in its own process, on a shared machine: far longer than the
# default per-test limit.
@pytest.mark.timeout(2700)
def test_ui_trigger_and_backfill_run_side_by_side(airflow: Airflow, spark) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F
    from selenium.webdriver.common.by import By

    from driftline.lake import open_lake

    # As from a user's shell next to `driftline ui`: --workdir finds its Airflow, over the
    # test session's own AIRFLOW_HOME (still set in the child's environment).
    backfill = cli_in_child(
        "--workdir",
        str(airflow.workdir),
        "--project",
        str(PROJECT),
        "backfill",
        "--from",
        BACKFILLED[0].isoformat(),
        "--to",
        BACKFILLED[-1].isoformat(),
        timeout=300,
    )
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    assert "1 run(s) queued" in backfill.stdout

    driver = browser()
    try:
        try:
            trigger_from_the_ui(driver, airflow, TRIGGERED)
        except Exception:
            driver.save_screenshot(str(airflow.workdir / "trigger-failed.png"))
            raise
        _wait(
            "the UI-triggered run to appear",
            lambda: TRIGGERED.isoformat() in airflow.runs(),
            60,
        )
        # A live DAG page polls the API server every few seconds; the runs need the CPU.
        driver.get("about:blank")
        runs = _wait(
            "both runs to finish",
            lambda: (
                (r := airflow.runs())
                and all(d.isoformat() in r for d in SPEC.dates)
                and all(r[d.isoformat()]["state"] in ("success", "failed") for d in SPEC.dates)
                and r
            ),
            timeout=2400,
            every=10,
        )
        assert {d: runs[d.isoformat()]["state"] for d in SPEC.dates} == dict.fromkeys(
            SPEC.dates, "success"
        ), (airflow.workdir / "standalone.log").read_text()[-5000:]
        assert runs[BACKFILLED[0].isoformat()]["run_type"] == "backfill"
        assert runs[TRIGGERED.isoformat()]["run_type"] == "manual"
        for day, run in sorted(runs.items()):
            print(f"{day}: {run['run_type']} run from {run['start_date']} to {run['end_date']}")
        # Every task was a thin client of the one Spark Connect server `driftline ui`
        # started: no task started a JVM of its own.
        server_log = (airflow.workdir / "spark-server.log").read_text()
        assert "Spark Connect server on sc://127.0.0.1:" in server_log, server_log[-3000:]
        task_logs = [
            log.read_text(errors="replace")
            for log in (airflow.workdir / "airflow" / "logs").rglob("*.log")
            if "task_id=ingest" in str(log) or "task_id=validate" in str(log)
        ]
        assert task_logs
        assert all("through the Connect server" in log for log in task_logs)
        assert not any("started Spark" in log for log in task_logs)

        run_id = runs[TRIGGERED.isoformat()]["dag_run_id"]
        driver.get(f"{airflow.url}/dags/driftline_nightly/runs/{run_id}")
        _wait("the run page to say success", lambda: "success" in driver.page_source.lower(), 60, 1)
        shot = (
            Path(os.environ.get("DRIFTLINE_TEST_ARTIFACTS", airflow.workdir)) / "airflow-ui-run.png"
        )
        shot.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(shot))
        print(f"screenshot: {shot}")

        # The run's monitoring report is a tab of the run's page (Driftline's plugin).
        driver.get(f"{airflow.url}/dags/driftline_nightly/runs/{run_id}")
        _wait("the run's Report tab", lambda: "Report" in driver.page_source, 60, 1)
        driver.get(f"{airflow.url}/dags/driftline_nightly/runs/{run_id}/plugin/driftline-report")
        (frame,) = _wait(
            "the report tab's frame", lambda: driver.find_elements(By.TAG_NAME, "iframe"), 60, 1
        )
        assert "driftline/report?dag_id=driftline_nightly" in frame.get_attribute("src")
        driver.switch_to.frame(frame)
        _wait(
            "the report in the tab",
            lambda: (
                f"{TRIGGERED.isoformat()}" in driver.page_source
                and "Drift per feature" in driver.page_source
            ),
            60,
            1,
        )
        driver.switch_to.default_content()
        driver.save_screenshot(str(shot.with_name("airflow-ui-report-tab.png")))
    finally:
        driver.quit()

    # Behind Airflow's login: with the session's token the report, without it a refusal.
    query = f"dag_id=driftline_nightly&run_id={urllib.parse.quote(run_id)}"
    page = urllib.request.Request(
        f"{airflow.url}/driftline/report?{query}",
        headers={"Authorization": f"Bearer {airflow.token}"},
    )
    with urllib.request.urlopen(page, timeout=30) as response:
        assert "Drift per feature" in response.read().decode("utf-8")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{airflow.url}/driftline/report?{query}", timeout=30)
    assert refused.value.code in (401, 403)

    # Nothing lost: every line of every day's extract is in bronze or quarantine, and every
    # customer that passed validation on either date is in silver, although
    # the dates committed to the same tables at the same time.
    lake = open_lake(str(airflow.workdir / "lakehouse"), spark, "delta-rs")
    for day in SPEC.dates:
        files = list((airflow.workdir / "drop").rglob(f"customers/{day.isoformat()}/*.csv"))
        lines = sum(len(f.read_text().splitlines()) - 1 for f in files)
        landed = (
            sum(
                lake.read(t).where(F.col(tables.RUN_DATE) == F.lit(day)).count()
                for t in (tables.bronze("customers"), tables.quarantine("customers"))
            )
            - lake.read(tables.quarantine("customers"))
            .where((F.col(tables.RUN_DATE) == F.lit(day)) & (F.col(tables.STAGE) != "ingest"))
            .count()
        )
        assert landed == lines, day
    rejected = lake.read(tables.quarantine("customers")).where(F.col(tables.STAGE) != "ingest")
    passed = (
        lake.read(tables.bronze("customers"))
        .join(
            rejected.select("_source_file", "_row_number"),
            ["_source_file", "_row_number"],
            "left_anti",
        )
        .select("customer_id")
        .distinct()
    )
    silver = lake.read(tables.silver("customer")).select("customer_id")
    assert passed.count() > 0
    assert passed.subtract(silver).count() == 0
