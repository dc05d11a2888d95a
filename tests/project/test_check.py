"""`driftline check` reports every problem of a project at once, before any run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from driftline.project.check import check_project
from driftline.project.scaffold import init_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "churn"
    init_project(target)
    for name in ("HOME", "PIPELINE_FILE", "DROP_ROOT", "EXPECTATIONS_DIR", "LAKE_URI"):
        monkeypatch.delenv(f"DRIFTLINE_{name}", raising=False)
    monkeypatch.chdir(target)
    return target


def test_a_fresh_project_is_ready(project: Path) -> None:
    assert check_project(project / "dags") == []


def test_a_lake_on_a_store_at_a_malformed_endpoint_is_caught_before_any_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "127.0.0.1:9000")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    assert check_project(project / "dags") == []  # a lake in a folder never reaches it
    monkeypatch.setenv("DRIFTLINE_STAGING_URI", "s3://bucket/staging")
    (problem,) = check_project(project / "dags")
    assert (problem.level, problem.where) == ("error", "AWS_ENDPOINT_URL")
    assert "give it as http://host:port" in problem.message


def test_a_spark_connect_server_that_does_not_answer_is_caught_before_any_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftline.orchestration.spark_server import free_port

    monkeypatch.setenv("DRIFTLINE_SPARK_REMOTE", f"sc://127.0.0.1:{free_port()}")
    (problem,) = check_project(project / "dags")
    assert (problem.level, problem.where) == ("error", "DRIFTLINE_SPARK_REMOTE")
    assert "driftline spark-server" in problem.message


def test_a_jars_folder_without_jars_is_caught_before_any_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTLINE_SPARK_JARS_DIR", str(project / "jars"))
    (problem,) = check_project(project / "dags")
    assert (problem.level, problem.where) == ("error", "DRIFTLINE_SPARK_JARS_DIR")
    assert f"driftline spark-jars {project / 'jars'}" in problem.message


def test_every_problem_is_reported_at_once(project: Path) -> None:
    pipeline = yaml.safe_load((project / "driftline.yaml").read_text())
    labels = pipeline["sources"][1]
    labels.update(kind="sftp", conn_id="legacy_crm_sftp", path="/outbox/{run_date}/*.csv")
    pipeline["sources"][0]["path"] = "crm/{run_date}/*.csv"
    del pipeline["sources"][0]["columns"]["age"]
    pipeline["features"] = [f for f in pipeline["features"] if f["name"] != "age"]
    (project / "driftline.yaml").write_text(yaml.safe_dump(pipeline))
    (project / "expectations" / "labels.json").unlink()

    found = {(p.level, p.where): p.message for p in check_project(project / "dags")}
    assert set(found) == {
        ("error", "silver_customer.json: expectations[10]"),
        ("error", "features.json: expectations[0]"),  # its column set still has age
        ("error", "labels"),
        ("error", "sources.churn_labels.conn_id"),
        ("warning", "sources.customers.path"),
    }, found
    assert "names column 'age'" in found[("error", "silver_customer.json: expectations[10]")]
    assert "the features table does not have" in found[("error", "features.json: expectations[0]")]
    assert "AIRFLOW_CONN_LEGACY_CRM_SFTP" in found[("error", "sources.churn_labels.conn_id")]


def test_a_suite_may_name_the_lineage_columns_ingest_adds(project: Path) -> None:
    """The column set `expectations suggest` learns from delivered files has every column
    validate sees: the source's declared ones and the lineage of each row."""
    from driftline.core import tables

    suite = project / "expectations" / "labels.json"
    data = json.loads(suite.read_text())
    pipeline = yaml.safe_load((project / "driftline.yaml").read_text())
    declared = list(pipeline["sources"][1]["columns"])
    data["expectations"].append(
        {
            "type": "expect_table_columns_to_match_set",
            "kwargs": {
                "column_set": [*declared, *tables.bronze_metadata(hourly=False)],
                "exact_match": True,
            },
        }
    )
    suite.write_text(json.dumps(data))
    assert check_project(project / "dags") == []

    data["expectations"][-1]["kwargs"]["column_set"].append("_loaded_by")
    suite.write_text(json.dumps(data))
    (problem,) = check_project(project / "dags")
    assert "names column '_loaded_by'" in problem.message
    assert "source 'churn_labels' with its lineage columns does not have" in problem.message


def test_a_suite_that_would_miss_an_hourly_pipelines_hour_is_caught(project: Path) -> None:
    """Moving a pipeline to an hourly schedule adds `_run_hour` to every table: a column
    set that must match exactly and lacks it would fail every run."""
    config = project / "driftline.yaml"
    pipeline = yaml.safe_load(config.read_text())
    pipeline["schedule"] = "@hourly"
    for source in pipeline["sources"]:
        source["path"] = source["path"].replace("{run_date}", "{run_date}/{run_hour}")
    labels = next(s for s in pipeline["sources"] if s["name"] == pipeline["label"]["source"])
    labels["columns"][pipeline["label"]["date_column"]] = "timestamp"
    config.write_text(yaml.safe_dump(pipeline))
    (problem,) = [p for p in check_project(project / "dags") if p.level == "error"]
    assert problem.where.startswith("features.json: expectations[")
    assert "column_set lacks ['_run_hour']" in problem.message


def test_an_invalid_pipeline_file_names_every_bad_key(project: Path) -> None:
    pipeline = yaml.safe_load((project / "driftline.yaml").read_text())
    pipeline["sources"][0]["columns"]["tenure_months"] = "integer"
    pipeline["model"]["num_boost_rounds"] = 5
    (project / "driftline.yaml").write_text(yaml.safe_dump(pipeline))
    (problem,) = check_project(project / "dags")
    assert "sources.0.columns.tenure_months" in problem.message
    assert "model.num_boost_rounds" in problem.message


def test_a_project_of_many_pipelines_is_checked_pipeline_by_pipeline(project: Path) -> None:
    (project / "pipelines").mkdir()
    (project / "driftline.yaml").rename(project / "pipelines" / "churn.yaml")
    (project / "expectations").rename(project / "churn-suites")
    (project / "expectations").mkdir()
    (project / "churn-suites").rename(project / "expectations" / "churn")
    fraud = yaml.safe_load((project / "pipelines" / "churn.yaml").read_text())
    fraud["pipeline"] = "fraud"  # model.name left as churn's, and no suites yet
    (project / "pipelines" / "fraud.yaml").write_text(yaml.safe_dump(fraud))

    found = {(p.level, p.where): p.message for p in check_project(project / "dags")}
    fraud_file = str(Path("pipelines") / "fraud.yaml")  # as the settings name it: home is .
    assert set(found) == {
        ("error", "fraud: silver/customer"),
        ("error", "fraud: labels"),
        ("error", "fraud: features"),
        ("error", f"{fraud_file}: model.name"),
    }, found
    assert str(project / "expectations" / "fraud") in found[("error", "fraud: labels")]
    assert "also pipeline 'churn'" in found[("error", f"{fraud_file}: model.name")]


def test_moving_to_many_pipelines_warns_of_the_old_layouts_tables(project: Path) -> None:
    # What nights of the one-pipeline layout left in ./lakehouse.
    for table in ("features", "ingest_manifest", "silver/customer"):
        (project / "lakehouse" / table / "_delta_log").mkdir(parents=True)
    (project / "lakehouse" / "_data_docs").mkdir()
    assert check_project(project / "dags") == []  # still one pipeline: they are its tables
    (project / "pipelines").mkdir()
    (project / "driftline.yaml").rename(project / "pipelines" / "churn.yaml")
    (project / "expectations").rename(project / "churn-suites")
    (project / "expectations").mkdir()
    (project / "churn-suites").rename(project / "expectations" / "churn")
    (project / "lakehouse" / "churn" / "features" / "_delta_log").mkdir(parents=True)

    (problem,) = check_project(project / "dags")
    lake = project / "lakehouse"
    assert (problem.level, problem.where) == ("warning", str(lake))
    assert "(features, ingest_manifest, silver) are read by no pipeline" in problem.message
    assert f"mv {lake}/features {lake}/churn/" in problem.message


def test_a_command_about_one_pipeline_asks_which(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from driftline.cli import app

    (project / "pipelines").mkdir()
    for name in ("churn", "fraud"):
        pipeline = yaml.safe_load((project / "driftline.yaml").read_text())
        pipeline.update(pipeline=name, model={**pipeline["model"], "name": name})
        (project / "pipelines" / f"{name}.yaml").write_text(yaml.safe_dump(pipeline))
    (project / "driftline.yaml").unlink()
    monkeypatch.delenv("DRIFTLINE_PIPELINE", raising=False)
    runner = CliRunner()
    asked = runner.invoke(app, ["report", "--date", "2024-01-02"])
    assert asked.exit_code == 1
    assert "2 pipelines (churn, fraud): name one with --pipeline" in asked.output
    unknown = runner.invoke(
        app, ["backfill", "--from", "2024-01-01", "--to", "2024-01-02", "--pipeline", "demand"]
    )
    assert unknown.exit_code == 1
    assert "no pipeline 'demand': this project has churn, fraud" in unknown.output
