"""The run page's Report tab: which pipeline's report a DAG run shows, and the plugin
Airflow loads from the package's entry point."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from driftline.core.errors import ConfigError
from driftline.core.settings import load_settings
from driftline.steps.report import report_of_dag
from tests.conftest import PROJECT

DAY = date(2024, 3, 2)


def test_a_runs_report_is_its_pipelines_report_of_its_date(tmp_path: Path) -> None:
    (tmp_path / "pipelines").mkdir()
    for name in ("churn", "fraud"):
        pipeline = yaml.safe_load((PROJECT / "driftline.yaml").read_text())
        pipeline.update(pipeline=name, model={**pipeline["model"], "name": name})
        (tmp_path / "pipelines" / f"{name}.yaml").write_text(yaml.safe_dump(pipeline))
        page = tmp_path / "lake" / name / "reports" / DAY.isoformat() / "report.html"
        page.parent.mkdir(parents=True)
        page.write_text(f"<h1>{name} {DAY}</h1>")
    settings = load_settings(home=tmp_path, lake_uri=str(tmp_path / "lake"))

    where, html = report_of_dag(settings, "driftline_fraud_nightly", DAY)
    assert html == f"<h1>fraud {DAY}</h1>".encode()
    assert where.endswith(f"fraud/reports/{DAY.isoformat()}/report.html")
    _, retrain = report_of_dag(settings, "driftline_churn_retrain", DAY)
    assert retrain == f"<h1>churn {DAY}</h1>".encode()
    assert report_of_dag(settings, "driftline_churn_nightly", date(2024, 3, 9))[1] is None
    with pytest.raises(ConfigError, match="'driftline_nightly' belongs to no pipeline"):
        report_of_dag(settings, "driftline_nightly", DAY)


def test_the_plugin_is_registered_with_a_tab_on_every_run() -> None:
    from importlib.metadata import entry_points

    from driftline.orchestration.airflow_plugin import DriftlinePlugin

    (found,) = [e for e in entry_points(group="airflow.plugins") if e.name == "driftline"]
    assert found.load() is DriftlinePlugin
    (view,) = DriftlinePlugin.external_views
    assert view["destination"] == "dag_run" and not view["href"].startswith("/")
    assert "{DAG_ID}" in view["href"] and "{RUN_ID}" in view["href"]
