"""The `driftline` command line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from driftline.errors import DriftlineError

app = typer.Typer(help="Driftline: batch ML pipelines that notice drift.", no_args_is_help=True)
console = Console(width=110)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log at INFO")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def demo(
    days: Annotated[int, typer.Option(min=3, max=60, help="number of nightly runs")] = 7,
    workdir: Annotated[
        Path, typer.Option(help="folder for the lakehouse, MLflow and Airflow's database")
    ] = Path("demo"),
    project: Annotated[
        Path, typer.Option(help="folder holding driftline.yaml, dags/ and expectations/")
    ] = Path("."),
    rows_per_day: Annotated[int, typer.Option(min=50, help="customers per daily extract")] = 400,
    airflow_db_url: Annotated[
        str | None,
        typer.Option(help="Airflow metadata DB (SQLAlchemy URL); default: SQLite in workdir"),
    ] = None,
    mlflow_tracking_uri: Annotated[
        str | None,
        typer.Option(help="MLflow backend store URI; default: SQLite in workdir"),
    ] = None,
) -> None:
    """Generate drifting synthetic extracts and run `driftline_nightly` for each day."""
    from driftline.demo.runner import DayReport, run_demo

    table = Table(
        title=f"driftline_nightly, {days} days (drift starts on day {max(2, days // 2) + 1})"
    )
    for column in (
        "date",
        "state",
        "bronze rows",
        "quarantined",
        "model",
        "top drift",
        "PSI",
        "retrain",
    ):
        table.add_column(column)

    def show(report: DayReport) -> None:
        console.print(f"[green]{report.run_date}[/] {report.state}")
        table.add_row(
            str(report.run_date),
            report.state,
            str(report.rows_bronze),
            str(report.rows_quarantined),
            report.model_version or "none yet",
            report.worst_feature or "-",
            f"{report.worst_psi:.3f}" if report.worst_psi is not None else "-",
            report.retrain or "-",
        )

    try:
        with console.status("running driftline_nightly through Airflow..."):
            run_demo(
                days,
                workdir,
                project,
                rows_per_day=rows_per_day,
                on_day=show,
                airflow_db_url=airflow_db_url,
                mlflow_tracking_uri=mlflow_tracking_uri,
            )
    except DriftlineError as error:
        console.print(table)
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from None
    console.print(table)
    console.print(f"lakehouse: {(workdir / 'lakehouse').resolve()}")


@app.command()
def audit(
    entity: Annotated[str, typer.Option(help="the entity key value, e.g. C00042")],
    date: Annotated[str, typer.Option(help="the prediction's date, YYYY-MM-DD")],
) -> None:
    """Which model and which data produced a past prediction, and its top contributions."""
    from driftline.audit import audit as run_audit
    from driftline.context import build_context, parse_run_date

    try:
        ctx = build_context(date, "audit")
        records = run_audit(ctx, entity, parse_run_date(date))
    except (DriftlineError, ValueError) as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from None
    for record in records:
        table = Table(title=f"{record.entity} on {record.as_of_date}: score {record.score:.4f}")
        table.add_column("what")
        table.add_column("value")
        table.add_row(
            "model",
            f"{record.model_name} v{record.model_version} ({record.model_alias} when scored)",
        )
        table.add_row("MLflow run", record.mlflow_run_id)
        table.add_row("features table version read", str(record.features_version))
        for name, value in sorted(record.training.items()):
            table.add_row(f"training {name}", value)
        for name, value in record.feature_values.items():
            table.add_row(f"feature {name}", str(value))
        for feature, contribution in record.contributions:
            table.add_row(f"contribution {feature} (recorded)", f"{contribution:+.4f}")
        for feature, contribution in record.exact_contributions:
            table.add_row(f"SHAP {feature} (exact, recomputed)", f"{contribution:+.4f}")
        console.print(table)


@app.command()
def report(
    date: Annotated[str, typer.Option(help="the run date to report on, YYYY-MM-DD")],
) -> None:
    """Write the static HTML report of a run date (drift, accuracy, champions, quality)."""
    from driftline.context import build_context
    from driftline.report import build

    try:
        path = build(build_context(date, "cli-report"))
    except (DriftlineError, ValueError) as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from None
    console.print(f"report written to {path}")


model_app = typer.Typer(help="The model registry: promotion gate, rollback, history.")
app.add_typer(model_app, name="model")


@model_app.command("promote")
def model_promote(
    version: Annotated[
        str | None, typer.Option(help="model version to judge (default: newest challenger)")
    ] = None,
    date: Annotated[str, typer.Option(help="date to record the decision under")] = "today",
) -> None:
    """Run the promotion gate; the champion changes only if the challenger wins."""
    from datetime import date as date_type

    from driftline.context import build_context
    from driftline.steps import promote

    run_date = date_type.today().isoformat() if date == "today" else date
    try:
        result = promote.run(build_context(run_date, "cli-promote"), version=version)
    except DriftlineError as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from None
    if result.skipped:
        console.print(result.skipped)
        return
    verdict = "[green]promoted[/]" if result.metrics["promoted"] else "[yellow]rejected[/]"
    console.print(
        f"v{result.metrics['challenger']} {verdict}; champion is v{result.metrics['champion']}"
    )
    for reason in result.metrics["reasons"]:
        console.print(f"  {reason}")


@model_app.command("rollback")
def model_rollback() -> None:
    """Give `champion` back to the version that held it before."""
    from datetime import date as date_type

    from driftline.context import build_context
    from driftline.lifecycle import rollback

    try:
        version = rollback(build_context(date_type.today(), "cli-rollback"))
    except DriftlineError as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from None
    console.print(f"champion is v{version} again")


@model_app.command("history")
def model_history() -> None:
    """Who held `champion` when, and how they got it."""
    from driftline.context import build_context
    from driftline.lifecycle import history

    table = Table(title="champion history")
    for column in ("version", "since", "until", "how", "by", "run date"):
        table.add_column(column)
    for tenure in history(build_context("1970-01-01", "cli-history")):
        table.add_row(
            tenure.version,
            str(tenure.since),
            str(tenure.until or "now"),
            tenure.how,
            tenure.actor,
            str(tenure.run_date),
        )
    console.print(table)


expectations_app = typer.Typer(help="Great Expectations suites in expectations/.")
app.add_typer(expectations_app, name="expectations")


@expectations_app.command("suggest")
def expectations_suggest(
    table: Annotated[str, typer.Argument(help="lakehouse table, e.g. silver/customer")],
    output: Annotated[
        Path | None,
        typer.Option(help="output file (default: expectations/<table>.suggested.json)"),
    ] = None,
) -> None:
    """Write a starter suite from the table's current data, for a person to review."""
    import json

    from driftline.context import build_context
    from driftline.quality.suggest import suggest_suite

    try:
        ctx = build_context("1970-01-01", "suggest")
        name = table.replace("/", "_")
        suite = suggest_suite(ctx.lake.read(table), name)
    except DriftlineError as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from None
    target = output or ctx.settings.resolved_expectations_dir / f"{name}.suggested.json"
    target.write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"wrote {len(suite['expectations'])} expectations to {target}; review them, "
        f"then rename it to {name}.json"
    )


if __name__ == "__main__":
    app()
