"""Every DAG file imports cleanly, has no cycles, and follows the project's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
HEAVY = {"pyspark", "mlflow", "xgboost", "great_expectations", "deltalake", "delta"}


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(DAGS))


def test_dags_import_without_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert "driftline_nightly" in dagbag.dag_ids


def test_every_task_retries_and_has_a_timeout(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id in dagbag.dag_ids:
        dag = dagbag.dags[dag_id]
        assert dag.tags, f"{dag_id} has no tags"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"
            assert task.execution_timeout is not None, f"{dag_id}.{task.task_id} has no timeout"
            assert task.on_failure_callback, f"{dag_id}.{task.task_id} alerts nobody on failure"


def test_no_cycles_and_expected_order(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["driftline_nightly"]
    order = [t.task_id for t in dag.topological_sort()]
    assert len(order) == len(set(order))
    chain = [
        "list_sources",
        "ingest",
        "validate",
        "conform",
        "build_features",
        "bootstrap_champion",
        "score",
        "monitor",
        "retrain_policy",
        "retrain_fired",
        "trigger_retrain",
    ]
    assert [t for t in order if t in chain] == chain
    trigger = dag.get_task("trigger_retrain")
    assert trigger.trigger_dag_id == "driftline_retrain"
    assert "report" in dag.get_task("retrain_policy").downstream_task_ids


def test_file_drop_waits_with_deferrable_sensors(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["driftline_file_drop"]
    sensor = dag.get_task("wait_for_customers")  # `on_arrival: true` in driftline.yaml
    assert sensor.deferrable
    assert "ingest_customers" in sensor.downstream_task_ids


def test_parsing_the_dags_imports_nothing_heavy() -> None:
    """What Airflow's parser runs for every DAG file (import and `build_all()`), checked in a
    fresh interpreter: no Spark, MLflow, XGBoost, GE or Delta module gets loaded."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from driftline.dags import DAG_FILES\n"
        "import importlib\n"
        "for module in DAG_FILES.values():\n"
        "    importlib.import_module(f'driftline.dags.{module}').build_all()\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r}))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert loaded.stdout.strip() == "[]", loaded.stdout


def test_project_dag_files_are_the_ones_init_writes() -> None:
    from driftline.dags import DAG_FILES, dag_file_text

    assert {p.name for p in DAGS.glob("*.py")} == set(DAG_FILES)
    for name, module in DAG_FILES.items():
        assert (DAGS / name).read_text() == dag_file_text(module), name


def test_in_process_replay_follows_the_dag(dagbag) -> None:  # type: ignore[no-untyped-def]
    from driftline.orchestration.replay import NIGHTLY_TASKS

    order = [t.task_id for t in dagbag.dags["driftline_nightly"].topological_sort()]
    replayed = [task_id for task_id, _, _ in NIGHTLY_TASKS]
    assert [t for t in order if t in replayed] == replayed


def test_an_invalid_pipeline_file_is_an_import_error_not_a_guessed_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    broken = tmp_path / "driftline.yaml"
    broken.write_text("pipeline: churn\nschedule: '0 2 * * *'\nstart_date: someday\n")
    monkeypatch.setenv("DRIFTLINE_PIPELINE_FILE", str(broken))
    for name in ("driftline_nightly.py", "driftline_file_drop.py"):
        bag = DagBag(str(DAGS / name))
        assert not bag.dag_ids
        (error,) = bag.import_errors.values()
        assert f"{broken} is invalid" in error and "start_date" in error, error


def test_dag_files_written_before_build_all_still_import(tmp_path: Path) -> None:
    """A project's DAG files from an older `driftline init` call `build()`: upgrading the
    package keeps their DAGs (same ids, so Airflow keeps their history)."""
    from airflow.dag_processing.dagbag import DagBag

    from driftline.dags import DAG_FILES

    for name, module in DAG_FILES.items():
        (tmp_path / name).write_text(
            f'"""Airflow DAG file."""\n\nfrom driftline.dags import {module}\n\n'
            f"dag = {module}.build()\n"
        )
    bag = DagBag(str(tmp_path))
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == sorted(f"driftline_{m}" for m in DAG_FILES.values())
