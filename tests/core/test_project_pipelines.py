"""A project of many pipelines: which files are pipelines, the folders each one gets, and the
DAG ids Airflow sees. No Spark; the DAG files are parsed by Airflow's own DagBag."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from driftline.core.errors import ConfigError
from driftline.core.loading import (
    PipelineFile,
    dag_pipelines,
    pipeline_file,
    pipeline_settings,
    project_pipelines,
)
from driftline.core.settings import load_settings
from tests.conftest import PROJECT


def example(name: str, model: str | None = None) -> dict[str, object]:
    pipeline = yaml.safe_load((PROJECT / "driftline.yaml").read_text())
    pipeline["pipeline"] = name
    pipeline["model"]["name"] = model or f"driftline-{name}"
    return dict(pipeline)


def many(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "pipelines"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(example(name)))
    return tmp_path


def test_one_pipeline_file_keeps_its_dag_ids_and_folders(tmp_path: Path) -> None:
    (tmp_path / "driftline.yaml").write_text(yaml.safe_dump(example("churn")))
    settings = load_settings(home=tmp_path, lake_uri=str(tmp_path / "lake"))
    (only,) = project_pipelines(settings)
    assert only == PipelineFile(None, tmp_path / "driftline.yaml")
    assert only.dag_id("nightly") == "driftline_nightly"
    scoped = pipeline_settings(settings)
    assert scoped.resolved_lake_uri == str(tmp_path / "lake")
    assert scoped.pipeline is None
    # Naming the one pipeline is allowed, naming another is not.
    assert pipeline_settings(settings, "churn").resolved_lake_uri == str(tmp_path / "lake")
    with pytest.raises(ConfigError, match="only pipeline is 'churn'"):
        pipeline_settings(settings, "fraud")


def test_each_of_many_pipelines_gets_its_own_folders_and_dag_ids(tmp_path: Path) -> None:
    home = many(tmp_path, "churn", "demand")
    settings = load_settings(home=home, lake_uri="s3a://lake/driftline")
    found = project_pipelines(settings)
    assert [f.name for f in found] == ["churn", "demand"]
    assert [f.dag_id("retrain") for f in found] == [
        "driftline_churn_retrain",
        "driftline_demand_retrain",
    ]
    demand = pipeline_settings(settings, "demand")
    assert demand.pipeline == "demand"
    assert demand.resolved_pipeline_file == home / "pipelines" / "demand.yaml"
    assert demand.resolved_lake_uri == "s3a://lake/driftline/demand"
    assert demand.resolved_staging_root == (home / "staging" / "demand").resolve()
    assert demand.resolved_expectations_dir == (home / "expectations" / "demand").resolve()
    # Scoping twice changes nothing (a step's context scopes what the launcher scoped).
    assert pipeline_settings(demand).resolved_lake_uri == "s3a://lake/driftline/demand"
    # The environment may name the pipeline, as `--pipeline` does.
    assert pipeline_file(load_settings(home=home, pipeline="churn")).name == "churn"


def test_a_project_of_many_needs_the_pipeline_named(tmp_path: Path) -> None:
    settings = load_settings(home=many(tmp_path, "churn", "fraud"))
    with pytest.raises(ConfigError, match=r"2 pipelines \(churn, fraud\): name one with"):
        pipeline_settings(settings)
    with pytest.raises(ConfigError, match="no pipeline 'demand': this project has churn, fraud"):
        pipeline_settings(settings, "demand")


def test_both_layouts_at_once_is_refused(tmp_path: Path) -> None:
    home = many(tmp_path, "churn")
    (home / "driftline.yaml").write_text(yaml.safe_dump(example("churn")))
    with pytest.raises(ConfigError, match=r"both .*driftline.yaml and .*pipelines/ define"):
        project_pipelines(load_settings(home=home))


def test_file_names_must_be_pipeline_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = many(tmp_path, "churn")
    (home / "pipelines" / "Fraud Model.yaml").write_text("{}")
    with pytest.raises(ConfigError, match=r"\['Fraud Model.yaml'\]"):
        project_pipelines(load_settings(home=home))
    (home / "pipelines" / "Fraud Model.yaml").unlink()
    (home / "pipelines" / "fraud.yaml").write_text(yaml.safe_dump(example("churn_copy")))
    monkeypatch.setenv("DRIFTLINE_HOME", str(home))
    with pytest.raises(ConfigError, match="pipeline is 'churn_copy' but the file is named 'fraud'"):
        dag_pipelines()


def test_two_pipelines_cannot_share_a_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = many(tmp_path, "churn")
    (home / "pipelines" / "fraud.yaml").write_text(
        yaml.safe_dump(example("fraud", model="driftline-churn"))
    )
    monkeypatch.setenv("DRIFTLINE_HOME", str(home))
    with pytest.raises(ConfigError, match="both register model 'driftline-churn'"):
        dag_pipelines()


def test_airflow_parses_one_set_of_dags_per_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    home = many(tmp_path, "churn", "demand")
    monkeypatch.setenv("DRIFTLINE_HOME", str(home))
    monkeypatch.delenv("DRIFTLINE_PIPELINE_FILE", raising=False)
    bag = DagBag(str(PROJECT / "dags"))
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == sorted(
        f"driftline_{name}_{kind}"
        for name in ("churn", "demand")
        for kind in ("nightly", "retrain", "file_drop", "maintenance")
    )
    nightly = bag.dags["driftline_demand_nightly"]
    assert "demand" in nightly.tags
    assert nightly.get_task("trigger_retrain").trigger_dag_id == "driftline_demand_retrain"
    assert nightly.get_task("rerun_late_dates").partial_kwargs["trigger_dag_id"] == (
        "driftline_demand_nightly"
    )
    # A broken pipeline file is an import error naming it.
    (home / "pipelines" / "demand.yaml").write_text("pipeline: demand\nschedule: 7\n")
    broken = DagBag(str(PROJECT / "dags" / "driftline_nightly.py"))
    (error,) = broken.import_errors.values()
    assert "demand.yaml is invalid" in error


def test_a_yaml_and_a_yml_of_one_pipeline_are_refused(tmp_path: Path) -> None:
    home = many(tmp_path, "churn")
    (home / "pipelines" / "churn.yml").write_text(yaml.safe_dump(example("churn")))
    with pytest.raises(ConfigError, match=r"\['churn'\] each have a .yaml and a .yml"):
        project_pipelines(load_settings(home=home))


def test_scoped_settings_cannot_be_another_pipelines(tmp_path: Path) -> None:
    settings = load_settings(home=many(tmp_path, "churn", "fraud"))
    churn = pipeline_settings(settings, "churn")
    assert pipeline_settings(churn, "churn") is churn
    with pytest.raises(ConfigError, match="pipeline 'churn''s, not 'fraud''s"):
        pipeline_settings(churn, "fraud")


def test_build_without_arguments_needs_a_single_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftline.dags import nightly

    monkeypatch.setenv("DRIFTLINE_HOME", str(many(tmp_path, "churn", "fraud")))
    monkeypatch.delenv("DRIFTLINE_PIPELINE_FILE", raising=False)
    with pytest.raises(ConfigError, match=r"2 pipelines: its DAG files must build one DAG per"):
        nightly.build()


def test_a_failure_alert_names_its_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from driftline.orchestration.callbacks import task_failed_in

    monkeypatch.setenv("DRIFTLINE_HOME", str(many(tmp_path, "churn", "fraud")))
    monkeypatch.delenv("DRIFTLINE_PIPELINE_FILE", raising=False)

    class TaskInstance:
        dag_id, task_id, try_number = "driftline_fraud_nightly", "score", 1

    with caplog.at_level("ERROR", logger="driftline.core.notify"):
        task_failed_in("fraud")(
            {"ti": TaskInstance(), "exception": ValueError("boom"), "ds": "2024-01-02"}
        )
    assert "fraud: driftline_fraud_nightly.score failed for 2024-01-02: boom" in caplog.text
