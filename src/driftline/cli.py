"""The `driftline` command line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from driftline.core.errors import ConfigError, DriftlineError, redact

if TYPE_CHECKING:
    from driftline.orchestration.nights import NightReport

app = typer.Typer(help="Driftline: batch ML pipelines that notice drift.", no_args_is_help=True)
console = Console(width=110)


PipelineOption = Annotated[
    str | None,
    typer.Option(
        "--pipeline",
        envvar="DRIFTLINE_PIPELINE",
        help="which of the project's pipelines (pipelines/<name>.yaml); optional with one",
    ),
]


def choose_pipeline(name: str | None) -> None:
    """Make `name` the pipeline every context this command builds is about."""
    import os

    if name:
        os.environ["DRIFTLINE_PIPELINE"] = name


def print_error(error: Exception) -> None:
    """The error's own message, as text (never read as rich markup), with the password of
    any URL in it masked."""
    console.print(Text.assemble(("error: ", "red"), redact(str(error))))


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log at INFO")] = False,
    workdir: Annotated[
        Path | None,
        typer.Option(
            envvar="DRIFTLINE_WORKDIR",
            help="act on the folders `driftline demo` and `ui` use (e.g. demo): its "
            "lakehouse, MLflow store and Airflow database",
        ),
    ] = None,
    project: Annotated[
        Path, typer.Option(help="with --workdir: the folder holding driftline.yaml and dags/")
    ] = Path("."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if workdir is not None:
        from driftline.demo.runner import prepare_environment

        # The same settings `demo` and `ui` run with, over any in the environment: a
        # stray AIRFLOW_HOME must not send a backfill to another Airflow.
        prepare_environment(workdir, project)
        _prepared.update({"dags": project / "dags", "workdir": workdir, "project": project})


# What the callback prepared (`--workdir`): the commands that drive Airflow use it, and
# otherwise the project in the current folder (or DRIFTLINE_HOME).
_prepared: dict[str, Path] = {}


def project_dags() -> Path:
    """The DAGs folder to run, with the project's own Airflow environment set up."""
    if "dags" in _prepared:
        return _prepared["dags"]
    import os

    from driftline.core.settings import load_settings
    from driftline.orchestration.airflow_runner import airflow_environment

    home = load_settings().home.resolve()
    os.environ.update(
        {"DRIFTLINE_HOME": str(home), **airflow_environment(home / "airflow", home / "dags")}
    )
    _prepared["dags"] = home / "dags"
    return _prepared["dags"]


def _demo_folders(workdir: Path | None, project: Path | None) -> tuple[Path, Path]:
    """`demo` and `ui`'s own options, else the global `--workdir`/`--project`, else
    ./demo and the current folder."""
    return (
        workdir or _prepared.get("workdir", Path("demo")),
        project or _prepared.get("project", Path(".")),
    )


def night_table(
    title: str, many_pipelines: bool = False
) -> tuple[Table, Callable[[NightReport], None]]:
    """The per-night table `demo` and `run` print, and the callback that fills it."""
    table = Table(title=title)
    if many_pipelines:
        table.add_column("pipeline")
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

    def show(report: NightReport) -> None:
        which = f"{report.pipeline} " if report.pipeline else ""
        console.print(f"[green]{which}{report.run}[/] {report.state}")
        table.add_row(
            *([report.pipeline or "-"] if many_pipelines else []),
            report.run,
            report.state,
            str(report.rows_bronze),
            str(report.rows_quarantined),
            report.model_version or "none yet",
            report.worst_feature or "-",
            f"{report.worst_psi:.3f}" if report.worst_psi is not None else "-",
            report.retrain or "-",
        )

    return table, show


@app.command()
def demo(
    days: Annotated[int, typer.Option(min=3, max=60, help="number of nightly runs")] = 7,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="folder for the lakehouse, MLflow and Airflow's database "
            "[default: the global --workdir, else demo]"
        ),
    ] = None,
    project: Annotated[
        Path | None,
        typer.Option(
            help="folder holding driftline.yaml, dags/ and expectations/ "
            "[default: the global --project, else .]"
        ),
    ] = None,
    rows_per_day: Annotated[int, typer.Option(min=50, help="customers per daily extract")] = 400,
    airflow_db_url: Annotated[
        str | None,
        typer.Option(help="Airflow metadata DB (SQLAlchemy URL); default: SQLite in workdir"),
    ] = None,
    mlflow_tracking_uri: Annotated[
        str | None,
        typer.Option(help="MLflow backend store URI; default: SQLite in workdir"),
    ] = None,
    lake_uri: Annotated[
        str | None,
        typer.Option(
            help="where the lakehouse lives, e.g. s3://bucket/demo (reached with the AWS "
            "variables); default: workdir/lakehouse"
        ),
    ] = None,
) -> None:
    """Generate drifting synthetic extracts and run `driftline_nightly` for each day."""
    from driftline.demo.runner import run_demo

    workdir, project = _demo_folders(workdir, project)
    table, show = night_table(
        f"driftline_nightly, {days} days (drift starts on day {max(2, days // 2) + 1})"
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
                lake_uri=lake_uri,
            )
    except DriftlineError as error:
        console.print(table)
        print_error(error)
        raise typer.Exit(1) from None
    console.print(table)
    console.print(f"lakehouse: {lake_uri or (workdir / 'lakehouse').resolve()}")


@app.command()
def ui(
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="folder for the lakehouse, MLflow and Airflow's database "
            "[default: the global --workdir, else demo]"
        ),
    ] = None,
    project: Annotated[
        Path | None,
        typer.Option(
            help="folder holding driftline.yaml, dags/ and expectations/ "
            "[default: the global --project, else .]"
        ),
    ] = None,
    port: Annotated[int, typer.Option(min=1024, max=65535, help="web server port")] = 8080,
    schedule: Annotated[
        bool, typer.Option(help="let the scheduler create the nightly runs on its schedule")
    ] = False,
    spark_server: Annotated[
        bool,
        typer.Option(
            help="run the tasks' Spark work in one Spark Connect server started here, "
            "rather than a JVM per task (ignored with DRIFTLINE_SPARK_REMOTE set, the "
            "spark-submit launcher or the delta-spark backend)"
        ),
    ] = True,
) -> None:
    """Airflow's standalone server (UI, scheduler, triggerer) with the project's DAGs.

    Same folders as `driftline demo`, so the UI shows the demo's runs. The admin password
    is generated by Airflow on first start and written under <workdir>/airflow.
    """
    import os
    import sys

    from driftline.core.settings import load_settings
    from driftline.demo.runner import prepare_environment
    from driftline.model.registry import prepare_tracking_store
    from driftline.orchestration.airflow_runner import migrate_metadata_db, ui_environment
    from driftline.orchestration.spark_server import start_beside_this_process

    workdir, project = _demo_folders(workdir, project)
    environment = {**prepare_environment(workdir, project), **ui_environment(port, schedule)}
    try:
        settings = load_settings()
    except DriftlineError as error:
        print_error(error)
        raise typer.Exit(1) from None
    if spark_server and settings.spark_remote is None and settings.spark_server_fits:
        log = workdir / "spark-server.log"
        console.print(f"starting a Spark Connect server for the tasks (log: {log})")
        try:
            environment.update(start_beside_this_process(log))
        except DriftlineError as error:
            print_error(error)
            raise typer.Exit(1) from None
    migrate_metadata_db(environment)
    prepare_tracking_store(environment["DRIFTLINE_MLFLOW_TRACKING_URI"])
    console.print(
        f"Airflow UI on http://localhost:{port}  (user admin; password in "
        f"{Path(environment['AIRFLOW_HOME']) / 'simple_auth_manager_passwords.json.generated'})"
    )
    # Standalone starts its components as `airflow ...`: the one next to this Python.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    os.execve(
        sys.executable,
        [sys.executable, "-m", "airflow", "standalone"],
        {**os.environ, **environment, "PATH": path},
    )


@app.command("spark-server")
def spark_server(
    port: Annotated[int, typer.Option(min=1024, max=65535, help="gRPC port")] = 15002,
    host: Annotated[
        str, typer.Option(help="address to listen on (0.0.0.0: every interface)")
    ] = "127.0.0.1",
    parent: Annotated[
        int | None, typer.Option(hidden=True, help="end when this process has gone")
    ] = None,
) -> None:
    """A Spark Connect server with Driftline's Spark settings: point
    DRIFTLINE_SPARK_REMOTE=sc://localhost:PORT at it and every step's process uses it as a
    thin client instead of starting a JVM of its own. With SPARK_CONNECT_AUTHENTICATE_TOKEN
    set (for the server and its clients) it serves only clients that send it; listen
    beyond localhost only where the port is reachable by the task workers alone."""
    from driftline.core.settings import load_settings
    from driftline.core.spark import serve_connect

    try:
        settings = load_settings().model_copy(update={"spark_remote": None})
        serve_connect(settings, port, parent, host)
    except DriftlineError as error:
        print_error(error)
        raise typer.Exit(1) from None


@app.command("spark-jars")
def spark_jars(
    folder: Annotated[Path, typer.Argument(help="absolute folder, the same on every node")],
) -> None:
    """Copy the jars of the Maven packages Driftline's Spark sessions load (Delta's, Hadoop's
    S3A connector, DRIFTLINE_SPARK_PACKAGES) into FOLDER, a folder of Driftline's own
    (other jars there are removed), resolving them once from Maven Central. Run it where
    the cluster's image is built and set DRIFTLINE_SPARK_JARS_DIR=FOLDER: every application
    then loads them from the node's own disk instead of resolving them and shipping them to
    each executor."""
    from driftline.core.spark import copy_package_jars

    if not folder.is_absolute():
        print_error(ConfigError(f"{folder} is not absolute: name the folder as every node has it"))
        raise typer.Exit(1)
    try:
        copied = copy_package_jars(folder)
    except (DriftlineError, RuntimeError, OSError) as error:
        print_error(DriftlineError(f"could not fill {folder}: {error}"))
        raise typer.Exit(1) from None
    size = sum(jar.stat().st_size for jar in copied) / 2**20
    console.print(f"{len(copied)} jars ({size:,.0f} MiB) in {folder}")
    console.print(f"next: export DRIFTLINE_SPARK_JARS_DIR={folder} (on every node, same path)")


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="new (or empty) folder for the project")],
    sample: Annotated[
        bool, typer.Option(help="write seven nights of sample files into drop/")
    ] = True,
    sample_rows: Annotated[int, typer.Option(min=50, help="customers per sample file")] = 400,
) -> None:
    """Start a project of your own: a commented pipeline file, starter suites, the DAG
    files, a README and a sample drop, all from the installed package."""
    from driftline.project.scaffold import SAMPLE_NIGHTS, SAMPLE_START, init_project

    try:
        written = init_project(folder, sample=sample, sample_rows=sample_rows)
    except DriftlineError as error:
        print_error(error)
        raise typer.Exit(1) from None
    console.print(f"wrote {len(written)} files to {folder}")
    if not sample:
        console.print(
            f"next: describe your sources, entity, features and label in {folder}/driftline.yaml "
            "(and its suites in expectations/), then cd there and run driftline check"
        )
        return
    last = SAMPLE_START.toordinal() + SAMPLE_NIGHTS - 1
    console.print(
        f"next: cd {folder} && driftline check && driftline run --from {SAMPLE_START} "
        f"--to {type(SAMPLE_START).fromordinal(last)}"
    )


@app.command()
def check() -> None:
    """Check the project (settings, pipeline file, suites, connections, paths, DAG files)
    and report every problem at once; exit 1 if any is an error."""
    from driftline.project.check import check_project

    problems = check_project(project_dags())
    if not problems:
        console.print("[green]ready to run[/]: no problems found")
        return
    table = Table(title="driftline check")
    for column in ("level", "where", "problem"):
        table.add_column(column)
    for problem in problems:
        colour = "red" if problem.level == "error" else "yellow"
        table.add_row(Text(problem.level, colour), Text(problem.where), Text(problem.message))
    console.print(table)
    if any(p.level == "error" for p in problems):
        raise typer.Exit(1)


@app.command()
def run(
    date: Annotated[
        str | None,
        typer.Option("--date", help="one logical date (YYYY-MM-DDTHH: one hour of an hourly one)"),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="first date, YYYY-MM-DD (or hour, YYYY-MM-DDTHH)")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="last date, YYYY-MM-DD (or hour, YYYY-MM-DDTHH)")
    ] = None,
    pipeline: Annotated[
        str | None,
        typer.Option(
            "--pipeline",
            envvar="DRIFTLINE_PIPELINE",
            help="run only this pipeline (default: every pipeline)",
        ),
    ] = None,
) -> None:
    """Run the project's nightly DAGs for dates, in order, through Airflow without a
    scheduler (as `demo` does): each date replaces its own partitions, so re-running is
    safe. A retrain the policy triggers runs before the next date. Over a range, each
    pipeline runs on the dates its schedule runs on (a weekly one on its weekday); --date
    runs that date whatever the schedule. An hourly pipeline runs each hour its schedule
    runs at on those dates, or the one hour --date names (2024-01-01T05)."""
    import os
    from datetime import timedelta

    from driftline.core.intervals import RunInterval
    from driftline.core.loading import pipeline_file, project_pipelines
    from driftline.core.settings import load_settings
    from driftline.orchestration.airflow_runner import migrate_metadata_db
    from driftline.orchestration.nights import run_nights

    if (date is None) == (start is None and end is None) or (start is None) != (end is None):
        raise typer.BadParameter("give --date D, or --from D1 --to D2")
    hours = None
    try:
        if date is not None and len(date.strip()) > 10:
            hours = [RunInterval.of(date, hourly=True)]
        first = RunInterval.of((date or str(start))[:10], hourly=False).day
        last = RunInterval.of((date or str(end))[:10], hourly=False).day
        # An hourly pipeline's range may start and end at an hour (2024-01-01T03).
        between = (
            RunInterval.of(start, hourly=True) if start and len(start) > 10 else None,
            RunInterval.of(end, hourly=True) if end and len(end) > 10 else None,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if last < first:
        raise typer.BadParameter(f"--to {last} is before --from {first}", param_hint="--to")
    dates = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    dags = project_dags()
    try:
        chosen = [pipeline_file(load_settings(), pipeline)] if pipeline else project_pipelines()
    except DriftlineError as error:
        print_error(error)
        raise typer.Exit(1) from None
    names = ", ".join(p.dag_id("nightly") for p in chosen)
    table, show = night_table(f"{names}, {first} to {last}", many_pipelines=len(chosen) > 1)
    try:
        migrate_metadata_db(dict(os.environ))
        with console.status(f"running {names} through Airflow..."):
            run_nights(
                dates,
                dags,
                show,
                chosen,
                follow_schedule=date is None,
                hours=hours,
                between=between,
            )
    except DriftlineError as error:
        console.print(table)
        print_error(error)
        raise typer.Exit(1) from None
    console.print(table)


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--from", help="first logical date, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="last logical date, YYYY-MM-DD")],
    pipeline: PipelineOption = None,
    dag_id: Annotated[
        str | None, typer.Option("--dag", help="default: the pipeline's nightly DAG")
    ] = None,
    max_active_runs: Annotated[int, typer.Option(min=1, help="dates run at once")] = 1,
    reprocess: Annotated[
        str, typer.Option(help="dates that already ran: none | failed | completed")
    ] = "completed",
) -> None:
    """Backfill a date range through Airflow 3's backfill; the scheduler runs the dates.

    Each date runs as its own DAG run keyed on its logical date, replacing that date's
    partitions, so a backfill can run next to the nightly schedule without touching the
    dates the nightly run writes.
    """
    from driftline.core.intervals import RunInterval
    from driftline.core.loading import pipeline_file
    from driftline.core.settings import load_settings
    from driftline.orchestration.airflow_runner import create_backfill, scheduler_running

    if reprocess not in ("none", "failed", "completed"):
        raise typer.BadParameter("use none, failed or completed", param_hint="--reprocess")
    try:
        dag_id = dag_id or pipeline_file(load_settings(), pipeline).dag_id("nightly")
        backfill_id, dates = create_backfill(
            dag_id,
            RunInterval.of(start[:10], hourly=False).day,
            RunInterval.of(end[:10], hourly=False).day,
            max_active_runs,
            reprocess,
        )
    except DriftlineError as error:
        print_error(error)
        raise typer.Exit(1) from None
    console.print(
        f"backfill {backfill_id} of {dag_id}: {len(dates)} run(s) queued "
        f"({', '.join(sorted({d.isoformat() for d in dates}))})"
    )
    if not scheduler_running():
        console.print(
            "[yellow]no Airflow scheduler is running here[/]: the runs stay queued until one "
            "starts (`driftline ui` starts one); `driftline run --from ... --to ...` runs "
            "dates without a scheduler"
        )


@app.command()
def audit(
    entity: Annotated[str, typer.Option(help="the entity key value, e.g. C00042")],
    date: Annotated[
        str, typer.Option(help="the prediction's date, YYYY-MM-DD (YYYY-MM-DDTHH when hourly)")
    ],
    pipeline: PipelineOption = None,
) -> None:
    """Which model and which data produced a past prediction, and its top contributions."""
    choose_pipeline(pipeline)
    from driftline.context import build_context
    from driftline.model.audit import audit as run_audit

    try:
        ctx = build_context(date, "audit")
        records = run_audit(ctx, entity, ctx.interval)
    except (DriftlineError, ValueError) as error:
        print_error(error)
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
        if record.predicted_class is not None:
            table.add_row("predicted class", record.predicted_class)
            for name, probability in record.class_probabilities.items():
                table.add_row(f"probability of {name}", f"{probability:.4f}")
        table.add_row("features table version read", str(record.features_version))
        for name, value in sorted(record.training.items()):
            table.add_row(f"training {name}", value)
        for name, value in record.feature_values.items():
            table.add_row(f"feature {name}", str(value))
        recorded = record.contribution_method or "method not recorded"
        for feature, contribution in record.contributions:
            table.add_row(f"contribution {feature} (recorded, {recorded})", f"{contribution:+.4f}")
        for feature, contribution in record.exact_contributions:
            table.add_row(f"SHAP {feature} (exact, recomputed)", f"{contribution:+.4f}")
        console.print(table)


@app.command()
def report(
    date: Annotated[str, typer.Option(help="the run date to report on, YYYY-MM-DD")],
    pipeline: PipelineOption = None,
) -> None:
    """Write the static HTML report of a run date (drift, accuracy, champions, quality)."""
    choose_pipeline(pipeline)
    from driftline.context import build_context
    from driftline.monitoring.report import build

    try:
        path = build(build_context(date, "cli-report"))
    except (DriftlineError, ValueError) as error:
        print_error(error)
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
    pipeline: PipelineOption = None,
) -> None:
    """Run the promotion gate; the champion changes only if the challenger wins."""
    choose_pipeline(pipeline)
    from datetime import UTC, datetime

    from driftline.context import build_context
    from driftline.steps import promote

    # "today" is the current run (this hour's, in an hourly pipeline): where it is recorded.
    run_date = datetime.now(UTC) if date == "today" else date
    try:
        result = promote.run(build_context(run_date, "cli-promote"), version=version)
    except DriftlineError as error:
        print_error(error)
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
def model_rollback(pipeline: PipelineOption = None) -> None:
    """Give `champion` back to the version that held it before."""
    choose_pipeline(pipeline)
    from datetime import UTC, datetime

    from driftline.context import build_context
    from driftline.model.lifecycle import rollback

    try:
        version = rollback(build_context(datetime.now(UTC), "cli-rollback"))
    except DriftlineError as error:
        print_error(error)
        raise typer.Exit(1) from None
    console.print(f"champion is v{version} again")


@model_app.command("history")
def model_history(pipeline: PipelineOption = None) -> None:
    """Who held `champion` when, and how they got it."""
    choose_pipeline(pipeline)
    from driftline.context import build_context
    from driftline.core.intervals import RunInterval
    from driftline.model.lifecycle import history

    table = Table(title="champion history")
    for column in ("version", "since", "until", "how", "by", "run date"):
        table.add_column(column)
    for tenure in history(build_context("1970-01-01T00", "cli-history")):
        table.add_row(
            tenure.version,
            str(tenure.since),
            str(tenure.until or "now"),
            tenure.how,
            tenure.actor,
            RunInterval(tenure.run_date, tenure.run_hour).label,
        )
    console.print(table)


lake_app = typer.Typer(help="Lakehouse upkeep.")
app.add_typer(lake_app, name="lake")


@lake_app.command("maintain")
def lake_maintain(
    retention_days: Annotated[
        int | None,
        typer.Option(
            min=1, help="history to keep for time travel (default: DRIFTLINE_AUDIT_RETENTION_DAYS)"
        ),
    ] = None,
    pipeline: PipelineOption = None,
) -> None:
    """VACUUM every table: what is older than the retention and no version needs goes."""
    choose_pipeline(pipeline)
    from datetime import UTC, datetime

    from driftline.context import build_context
    from driftline.core.settings import load_settings
    from driftline.steps import maintain

    try:
        settings = load_settings()
        if retention_days is not None:
            settings = settings.model_copy(update={"audit_retention_days": retention_days})
        result = maintain.run(build_context(datetime.now(UTC), "cli-maintain", settings))
    except DriftlineError as error:
        print_error(error)
        raise typer.Exit(1) from None
    table = Table(title=f"kept {result.metrics['retention_days']} days of history")
    for column in ("table", "files removed", "staging folders removed"):
        table.add_column(column)
    for name, done in result.metrics["tables"].items():
        table.add_row(name, str(done["files_removed"]), str(done["staging_folders_removed"]))
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
    source: Annotated[
        str | None,
        typer.Option(help="learn from this source's delivered files instead of the table"),
    ] = None,
    date: Annotated[
        str | None,
        typer.Option(
            help="the date whose delivered files to learn from: with --source, or for "
            "`features` (the feature rows those files would give)"
        ),
    ] = None,
    pipeline: PipelineOption = None,
) -> None:
    """Write a starter suite from the table's current data or, before the first run, from
    delivered files (a source's rows with --source and --date; the feature rows a date's
    files would give with `features --date`), for a person to review."""
    choose_pipeline(pipeline)
    import json

    from driftline.context import build_context
    from driftline.core import tables
    from driftline.data.casting import typed
    from driftline.quality.suggest import suggest_suite
    from driftline.sources.preview import as_validated, delivered_rows
    from driftline.steps.features import previewed

    if source is not None and date is None:
        raise typer.BadParameter("--source needs --date", param_hint="--source")
    if date is not None and source is None and table != tables.FEATURES:
        raise typer.BadParameter(
            f"--date without --source drafts {tables.FEATURES} only; for {table} name the "
            "--source whose files to read",
            param_hint="--date",
        )
    try:
        ctx = build_context(date or "1970-01-01T00", "suggest")
        name = table.replace("/", "_")
        if source is not None and date is not None:
            config = ctx.pipeline.source(source)
            rows = typed(delivered_rows(ctx, config, ctx.interval), config)
            frame = as_validated(rows, ctx.pipeline.hourly)
        elif date is not None:
            frame = previewed(ctx)
        else:
            frame = ctx.lake.read(table)
        suite = suggest_suite(frame, name)
    except (DriftlineError, ValueError) as error:
        print_error(error)
        raise typer.Exit(1) from None
    target = output or ctx.settings.resolved_expectations_dir / f"{name}.suggested.json"
    target.parent.mkdir(parents=True, exist_ok=True)  # a new pipeline's suites folder
    target.write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"wrote {len(suite['expectations'])} expectations to {target}; review them, "
        f"then rename it to {name}.json"
    )


if __name__ == "__main__":
    app()
