"""`driftline report`: one static HTML page per run date, under the lakehouse.

Plots are rendered with matplotlib and embedded as PNG, so the file is self-contained:
it can be attached to a ticket or archived with an audit. The page only reads the small
metric tables (`monitoring_metrics`, `validation_results`, `decisions`) up to the date,
so a report for a past date shows what was known then.
"""

from __future__ import annotations

import base64
import io
import logging
from datetime import date
from html import escape
from typing import TYPE_CHECKING, Any

from driftline.context import RunContext
from driftline.core import object_store, tables
from driftline.core.intervals import RunInterval

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)


def report_path(lake_uri: str, run: date | RunInterval) -> str:
    label = run.label if isinstance(run, RunInterval) else run.isoformat()
    return f"{lake_uri.rstrip('/')}/reports/{label}/report.html"


def build(ctx: RunContext) -> str:
    """Write the report for `ctx.run_date` and return where it went."""
    metrics = _read(ctx, tables.MONITORING_METRICS)
    validation = _read(ctx, tables.VALIDATION_RESULTS)
    decisions = _read(ctx, tables.DECISIONS)
    sections = [
        _section(
            "Drift per feature", _drift_figure(metrics), _drift_table(metrics, _this_run(ctx))
        ),
        _section("Live accuracy and label maturity", _accuracy_figure(metrics), ""),
        _section(
            "Gaps between segments", _gap_figure(metrics), _gap_table(metrics, _this_run(ctx))
        ),
        _section("Champion timeline", _champion_figure(decisions), _decisions_table(decisions)),
        _section("Data quality", _quality_figure(validation, metrics), ""),
    ]
    title = f"Driftline report: {escape(ctx.pipeline.pipeline)}, {ctx.ds}"
    html = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{_CSS}</style></head><body>"
        f"<h1>{title}</h1><p>Model <code>{escape(ctx.pipeline.model.name)}</code>; "
        f"data up to and including {ctx.ds}.</p>{''.join(sections)}</body></html>"
    )
    target = report_path(ctx.settings.resolved_lake_uri, ctx.interval)
    _write(target, html.encode("utf-8"))
    logger.info("report for %s written to %s", ctx.ds, target)
    return target


_CSS = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}"
    "img{max-width:100%}.drifted{color:#b00;font-weight:bold}"
)


def _read(ctx: RunContext, table: str) -> pd.DataFrame:
    import pandas as pd

    if not ctx.lake.exists(table):
        return pd.DataFrame()
    frame: pd.DataFrame = ctx.lake.read(table).where(ctx.interval.up_to()).toPandas()
    if ctx.interval.hourly and not frame.empty:
        # An hourly pipeline's runs are hours: its time axes and this run's rows go by the
        # hour each run is about, which `_run_date` then holds.
        frame[tables.RUN_DATE] = pd.to_datetime(frame[tables.RUN_DATE]) + pd.to_timedelta(
            frame[tables.RUN_HOUR], unit="h"
        )
    return frame


def _this_run(ctx: RunContext) -> Any:
    """This run as the frames `_read` gives name it: its date, or its hour's start."""
    import pandas as pd

    if ctx.interval.hourly:
        return pd.Timestamp(ctx.interval.start.replace(tzinfo=None))
    return ctx.run_date


def read_report(lake_uri: str, run: date | RunInterval) -> bytes | None:
    """The written report of `run`, or None when that night has not written one."""
    from pyarrow import fs

    filesystem, path = object_store.filesystem(report_path(lake_uri, run))
    if filesystem.get_file_info(path).type != fs.FileType.File:
        return None
    with filesystem.open_input_stream(path) as stream:
        return bytes(stream.read())


def _write(target: str, data: bytes) -> None:
    filesystem, path = object_store.filesystem(target)
    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with filesystem.open_output_stream(path) as stream:
        stream.write(data)


def _section(title: str, figure: Figure | None, extra: str) -> str:
    body = _embed(figure) if figure is not None else "<p>No data yet.</p>"
    return f"<h2>{escape(title)}</h2>{body}{extra}"


def _embed(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img alt='plot' src='data:image/png;base64,{encoded}'>"


def _figure(rows: int = 1) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(11, 3.2 * rows), layout="constrained")


def _dated(*axes_list: Any) -> None:
    """Run dates on a time axis, a tick per date (or per few dates over long ranges), as
    YYYY-MM-DD: never Matplotlib's hour ticks ("03-02 12") between nightly points."""
    import math

    from matplotlib import dates as mdates

    for axes in axes_list:
        if not axes.has_data():
            continue
        low, high = axes.get_xlim()
        every = max(1, math.ceil((high - low) / 10))
        axes.xaxis.set_major_locator(mdates.DayLocator(interval=every))
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
        axes.tick_params(axis="x", labelrotation=30, labelsize=8)


def _drift_figure(metrics: pd.DataFrame) -> Figure | None:
    """PSI and each feature's judged statistic over the nights; a night on which a feature
    was judged drifted is circled in red."""
    if metrics.empty or "psi" not in set(metrics["metric"]):
        return None
    figure = _figure(2)
    top, bottom = figure.subplots(2, 1, sharex=True)
    for metric, axes in (("psi", top), ("drift", bottom)):
        rows = metrics[metrics["metric"] == metric]
        pivot = rows.pivot_table(index=tables.RUN_DATE, columns="feature", values="value")
        for feature in pivot.columns:
            axes.plot(pivot.index, pivot[feature], marker=".", label=feature)
        axes.set_ylabel("PSI" if metric == "psi" else "chosen drift statistic")
    drifted = metrics[(metrics["metric"] == "drift") & metrics["breached"].astype(bool)]
    if not drifted.empty:
        bottom.scatter(
            drifted[tables.RUN_DATE],
            drifted["value"],
            s=90,
            facecolors="none",
            edgecolors="red",
            label="drifted",
        )
    top.legend(fontsize=8, ncol=4)
    bottom.legend(fontsize=8, ncol=4)
    _dated(top, bottom)
    return figure


def _drift_table(metrics: pd.DataFrame, run_date: Any) -> str:
    """One row per feature: the test that judged it with its own number against its own
    limit (a corrected p-value against the p-value threshold for KS and chi-square; the
    distance against its threshold otherwise), the effect size against its floor, PSI."""
    import json

    if metrics.empty:
        return ""
    today = metrics[(metrics[tables.RUN_DATE] == run_date) & (metrics["metric"] == "drift")]
    lines = []
    for _, row in today.sort_values("feature").iterrows():
        d = json.loads(row["details"]) if isinstance(row["details"], str) else {}
        method = d.get("method", "")
        if d.get("adjusted_p_value") is not None:
            judged = f"p {d['adjusted_p_value']:.3g} (corrected) &lt; {d['threshold']}"
        else:
            judged = f"{method} {row['value']:.4f} &ge; {row['threshold']}"
        effect = (
            f"{d['effect_size']:.3f} &ge; {d['effect_floor']:.3f}"
            if d.get("effect_size") is not None and d.get("effect_floor") is not None
            else "-"
        )
        psi = f"{d['psi']:.3f}" if d.get("psi") is not None else "-"
        css = " class='drifted'" if row["breached"] else ""
        lines.append(
            f"<tr{css}><td>{escape(str(row['feature']))}</td><td>{escape(method)}</td>"
            f"<td>{row['value']:.4f}</td><td>{judged}</td><td>{effect}</td><td>{psi}</td>"
            f"<td>{'drifted' if row['breached'] else 'ok'}</td></tr>"
        )
    if not lines:
        return ""
    header = (
        "<tr><th>feature</th><th>test</th><th>statistic</th><th>judged by</th>"
        "<th>effect, floor</th><th>PSI</th><th>verdict</th></tr>"
    )
    return f"<table>{header}{''.join(lines)}</table>"


# Live metrics on a 0-1 scale, and errors or losses on their own scale.
_SHARES = (
    "auc",
    "estimated_auc",
    "r2",
    "estimated_r2",
    "accuracy",
    "estimated_accuracy",
    "macro_f1",
    "estimated_macro_f1",
    "precision",
    "recall",
    "label_maturity",
)
_ERRORS = (
    "logloss",
    "mlogloss",
    "rmse",
    "mae",
    "estimated_logloss",
    "estimated_mlogloss",
    "estimated_rmse",
    "estimated_mae",
)


def _accuracy_figure(metrics: pd.DataFrame) -> Figure | None:
    """The champion's live metrics over the nights (whichever the task has), with the
    limit of the one the retraining policy judges, and the metrics estimated from scores
    before labels (with their intervals) beside those the labels later gave."""
    import json

    if metrics.empty:
        return None
    rows = metrics[(metrics["feature"] == tables.MODEL_LEVEL) & (metrics["segment"] == "all")]
    present = set(rows["metric"]) if not rows.empty else set()
    if not present & {*_SHARES, *_ERRORS}:
        return None
    figure = _figure()
    shares, errors = figure.subplots(1, 2)
    for axes, names in ((shares, _SHARES), (errors, _ERRORS)):
        for metric in names:
            series = rows[rows["metric"] == metric].sort_values(tables.RUN_DATE)
            if series.empty:
                continue
            (line,) = axes.plot(series[tables.RUN_DATE], series["value"], marker=".", label=metric)
            if metric.startswith("estimated_"):
                bounds = [json.loads(d) for d in series["details"]]
                axes.fill_between(
                    series[tables.RUN_DATE],
                    [b["low"] for b in bounds],
                    [b["high"] for b in bounds],
                    color=line.get_color(),
                    alpha=0.2,
                )
                continue  # its limit is the realised metric's, drawn once
            limits = series[series["threshold"].notna()]
            if not limits.empty:
                axes.plot(
                    limits[tables.RUN_DATE], limits["threshold"], "k--", label=f"{metric} limit"
                )
        if axes.get_lines():
            axes.legend(fontsize=8)
    shares.set_ylim(0, 1.05)
    _dated(shares, errors)
    shares.set_title("live metrics (0-1)")
    errors.set_title("live errors and losses")
    return figure


GAPS = ("auc_gap", "recall_gap", "positive_rate_gap", "mae_gap", "accuracy_gap")


def _gap_figure(metrics: pd.DataFrame) -> Figure | None:
    """Each segment feature's gap per metric over the nights, beside its alert limit."""
    if metrics.empty or not set(GAPS) & set(metrics["metric"]):
        return None
    figure = _figure()
    axes = figure.subplots()
    rows = metrics[metrics["metric"].isin(GAPS)]
    for (feature, metric), series in rows.groupby(["feature", "metric"]):
        series = series.sort_values(tables.RUN_DATE)
        (line,) = axes.plot(
            series[tables.RUN_DATE], series["value"], marker=".", label=f"{feature} {metric}"
        )
        limit = series["threshold"].dropna()
        if not limit.empty:
            axes.axhline(float(limit.iloc[-1]), color=line.get_color(), linestyle="--", lw=0.8)
    axes.set_ylabel("best against worst segment")
    _dated(axes)
    axes.legend(fontsize=8, ncol=3)
    return figure


def _gap_table(metrics: pd.DataFrame, run_date: Any) -> str:
    import json

    if metrics.empty:
        return ""
    today = metrics[(metrics[tables.RUN_DATE] == run_date) & metrics["metric"].isin(GAPS)]
    lines = []
    for _, row in today.sort_values(["feature", "metric"]).iterrows():
        gap = json.loads(row["details"])
        css = " class='drifted'" if row["breached"] else ""
        p_value = "-" if gap["p_value"] is None else f"{gap['p_value']:.3g}"
        lines.append(
            f"<tr{css}><td>{escape(str(row['feature']))}</td><td>{escape(gap['metric'])}</td>"
            f"<td>{escape(gap['best'])} {gap['values'][gap['best']]:.3f}</td>"
            f"<td>{escape(gap['worst'])} {gap['values'][gap['worst']]:.3f}</td>"
            f"<td>{row['value']:.3f}</td><td>{row['threshold']}</td><td>{p_value}</td></tr>"
        )
    if not lines:
        return ""
    header = (
        "<tr><th>segment</th><th>metric</th><th>best</th><th>worst</th><th>gap</th>"
        "<th>alert above</th><th>p-value</th></tr>"
    )
    return f"<table>{header}{''.join(lines)}</table>"


def _champion_figure(decisions: pd.DataFrame) -> Figure | None:
    if decisions.empty:
        return None
    changes = decisions[decisions["kind"].isin(["bootstrap", "promote", "rollback"])]
    if changes.empty:
        return None
    changes = changes.sort_values(["decided_at"])
    figure = _figure()
    axes = figure.subplots()
    axes.step(
        changes[tables.RUN_DATE],
        changes["champion_after"].astype(int),
        where="post",
        marker="o",
    )
    fired = decisions[(decisions["kind"] == "retrain_policy") & decisions["metric"].notna()]
    for _, row in fired.iterrows():
        axes.axvline(row[tables.RUN_DATE], color="orange", alpha=0.5)
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # versions are whole numbers
    axes.set_ylabel("champion version")
    _dated(axes)
    axes.set_title("champion version over time (orange: retraining triggered)")
    return figure


def _decisions_table(decisions: pd.DataFrame) -> str:
    if decisions.empty:
        return ""
    shown = decisions[
        (decisions["kind"] != "retrain_policy") | decisions["metric"].notna()
    ].sort_values("decided_at")
    lines = [
        f"<tr><td>{row[tables.RUN_DATE]}</td><td>{escape(str(row['kind']))}</td>"
        f"<td>{escape(str(row['model_version']))}</td>"
        f"<td>{escape(str(row['reasons']))}</td></tr>"
        for _, row in shown.tail(30).iterrows()
    ]
    header = "<tr><th>date</th><th>decision</th><th>version</th><th>reasons</th></tr>"
    return f"<table>{header}{''.join(lines)}</table>"


def _quality_figure(validation: pd.DataFrame, metrics: pd.DataFrame) -> Figure | None:
    if validation.empty and metrics.empty:
        return None
    figure = _figure()
    left, right = figure.subplots(1, 2)
    if not validation.empty:
        failed = validation[~validation["success"].astype(bool)]
        counts: Any = failed.groupby([tables.RUN_DATE, "severity"]).size().unstack(fill_value=0)
        if not counts.empty:
            counts.plot(kind="bar", stacked=True, ax=left)
    left.set_title("failed expectations per date")
    if not metrics.empty:
        shares = metrics[metrics["metric"].isin(["null_share", "out_of_range_share"])]
        pivot = shares.pivot_table(
            index=tables.RUN_DATE, columns="metric", values="value", aggfunc="max"
        )
        for column in pivot.columns:
            right.plot(pivot.index, pivot[column], marker=".", label=f"worst feature {column}")
        right.legend(fontsize=8)
    _dated(right)
    right.set_title("null and out-of-range shares")
    return figure
