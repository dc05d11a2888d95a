"""Driftline in Airflow's UI: each run's monitoring report as a tab on the run's page.

An Airflow 3 plugin, registered by the package's `airflow.plugins` entry point, so an
installed Driftline needs nothing in the plugins folder. A FastAPI app under `/driftline`
serves the report of a DAG run (its pipeline, its logical date) behind Airflow's own
login and DAG-run permissions, and an external view puts it on every run's page as the
"Report" tab. Airflow loads plugins in its API server: imports stay light at module level.
"""

from __future__ import annotations

import functools
from html import escape
from types import SimpleNamespace
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/driftline"


def reports_app() -> Any:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.responses import HTMLResponse

    app = FastAPI(title="Driftline reports", docs_url=None, redoc_url=None)

    @app.get(
        "/report",
        response_class=HTMLResponse,
        dependencies=[Depends(requires_access_dag("GET", DagAccessEntity.RUN))],
    )
    def report(dag_id: str, run_id: str) -> HTMLResponse:
        """The report of the run's logical date, written by its `report` task."""
        from driftline.core.errors import ConfigError
        from driftline.core.settings import load_settings
        from driftline.steps.report import report_of_dag

        try:
            run = _run(dag_id, run_id)
            if run is None:
                raise HTTPException(404, f"no run {run_id!r} of {dag_id!r}")
            where, html = report_of_dag(load_settings(), dag_id, run)
        except ConfigError as error:
            raise HTTPException(404, str(error)) from None
        if html is None:
            return HTMLResponse(
                f"<p>No report for run {escape(run_id)} yet at {escape(where)}: the run's "
                "<code>report</code> task writes it once monitoring has run.</p>",
                status_code=404,
            )
        return HTMLResponse(html.decode("utf-8"))

    return app


def _run(dag_id: str, run_id: str) -> dict[str, Any] | None:
    """The run as its tasks' context holds it (`launch.run_interval_of` reads the interval
    it is about from it: a late re-run's `conf.run_date`, else the logical date, else
    `run_after`); None: no such run."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        if run is None:
            return None
        # Read while the session is open: the row is detached once it closes.
        seen = SimpleNamespace(conf=dict(run.conf or {}), run_after=run.run_after)
        return {"dag_run": seen, "logical_date": run.logical_date}


class DriftlinePlugin(AirflowPlugin):
    name = "driftline"
    external_views = [
        {
            "name": "Report",
            "href": f"{URL_PREFIX.lstrip('/')}/report?dag_id={{DAG_ID}}&run_id={{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "driftline-report",
        }
    ]

    @functools.cached_property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """Built when the API server asks: a task process loading plugins does not pay
        for FastAPI and Airflow's security modules."""
        return [{"app": reports_app(), "url_prefix": URL_PREFIX, "name": "Driftline reports"}]
