"""`driftline check` reports every problem of a project at once, before any run."""

from __future__ import annotations

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


def test_an_invalid_pipeline_file_names_every_bad_key(project: Path) -> None:
    pipeline = yaml.safe_load((project / "driftline.yaml").read_text())
    pipeline["sources"][0]["columns"]["tenure_months"] = "integer"
    pipeline["model"]["num_boost_rounds"] = 5
    (project / "driftline.yaml").write_text(yaml.safe_dump(pipeline))
    (problem,) = check_project(project / "dags")
    assert "sources.0.columns.tenure_months" in problem.message
    assert "model.num_boost_rounds" in problem.message
