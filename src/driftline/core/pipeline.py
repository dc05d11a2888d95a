"""The pipeline file `driftline.yaml`: entity, features, label, model, monitoring and
retraining policy, and the cross-references between them and the sources.

Every reference is resolved on construction (a segment that is not a feature, a label
column the label source lacks), so a typo fails with its dotted key when the file loads.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from driftline.core.errors import ConfigError
from driftline.core.intervals import RunInterval
from driftline.core.source_config import SourceConfig
from driftline.core.validation import Identifier, Strict

if TYPE_CHECKING:
    from driftline.core.tasks import Task

Metric = Literal["auc", "logloss", "rmse", "mae", "r2", "mlogloss", "macro_f1", "accuracy"]

DEFAULT_SCHEDULE = "0 2 * * *"
DEFAULT_START_DATE = date(2024, 1, 1)
# Airflow's cron presets, as the cron expressions they stand for.
CRON_PRESETS = {
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@hourly": "0 * * * *",
}


def _runs(schedule: str, after: datetime) -> Iterator[datetime]:
    from croniter import croniter

    runs = croniter(CRON_PRESETS.get(schedule, schedule), after)
    while True:
        yield runs.get_next(datetime)


@functools.lru_cache(maxsize=256)
def schedule_is_hourly(schedule: str) -> bool:
    """Whether the schedule runs more than once on some day: its pipeline's runs are then
    about hours (`core.intervals`), each writing the partition of its date and hour."""
    runs = _runs(schedule, datetime(2024, 1, 1, tzinfo=UTC))
    days = [next(runs).date() for _ in range(60)]
    return len(set(days)) < len(days)


def scheduled_dates(schedule: str, first: date, last: date) -> list[date]:
    """The dates in [first, last] on which the schedule runs (every date for a daily one,
    the Wednesdays for `0 2 * * 3`): what a backfill of that range runs."""
    return sorted({i.day for i in scheduled_intervals(schedule, first, last)})


def scheduled_intervals(schedule: str, first: date, last: date) -> list[RunInterval]:
    """The runs the schedule makes from the start of `first` to the end of `last`: one per
    date it runs on, or one per hour it runs at when it runs hourly."""
    hourly = schedule_is_hourly(schedule)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(seconds=1)
    runs = _runs(schedule, start)
    found: list[RunInterval] = []
    while (moment := next(runs)).date() <= last:
        found.append(RunInterval.of(moment, hourly))
    return found


def check_schedule(schedule: str) -> None:
    """A cron schedule (or preset) that runs at most once an hour: hourly, daily, weekly,
    monthly, on weekdays... A pipeline that runs at most once a day keeps one partition per
    run date; one that runs more often keeps one per date and hour. A schedule that runs
    twice in one hour is refused: its second run would replace the first's data.
    """
    from croniter import croniter

    expression = CRON_PRESETS.get(schedule, schedule)
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ValueError(
            f"schedule {schedule!r} is not a cron expression (e.g. '0 2 * * *') or one of "
            f"{', '.join(CRON_PRESETS)}"
        )
    runs = _runs(schedule, datetime(2024, 1, 1, tzinfo=UTC))
    hours = [next(runs).replace(minute=0, second=0) for _ in range(120)]
    if len(set(hours)) < len(hours):
        raise ValueError(
            f"schedule {schedule!r} runs more than once an hour; Driftline keeps one "
            "partition per run hour (or date), so a second run in the same hour would "
            "replace the first's data: schedule it hourly (e.g. '5 * * * *') or less often"
        )


class EntityConfig(Strict):
    """The thing predictions are about; its silver table is `silver/<name>`."""

    name: Identifier
    key: Identifier
    source: Identifier
    # The column of the entity source that says which day a row describes, when a delivery
    # may carry several (a weekly file of daily records, features and outcome in one file):
    # features are as of that day, and labels join on it. Default: the run date.
    date_column: Identifier | None = None


class FeatureConfig(Strict):
    """One feature, defined once for training and scoring.

    `expr` is a Spark SQL expression over the entity's silver columns; without it the
    feature is the column of the same name.
    """

    name: Identifier
    type: Literal["numeric", "categorical"] = "numeric"
    expr: str | None = None


class FeedConfig(Strict):
    """Features from another feed: per-entity aggregates of a source's events over a
    trailing window, as of each feature row's date.

    Point in time: a row as of day D sees only events dated in (D - window_days, D] and
    delivered under run dates up to the one building it (bronze partitions <= that date),
    so what later nights deliver never changes a past date's features; a late or corrected
    file of an earlier date counts once that date has been re-run. Training and scoring see
    the same values: the features table holds them, and both read it. The events are the
    source's typed bronze rows (rows ingest quarantined are not counted, its suite is not
    applied), so each event must be delivered once.
    """

    source: Identifier
    # The entity key's column in that source, and the event's own date (date/timestamp).
    key: Identifier
    date_column: Identifier
    window_days: int = Field(ge=1, le=3660)
    # New column -> Spark SQL aggregate over the window's events, e.g. "count(*)",
    # "sum(amount)", "avg(case when days_late > 0 then 1 else 0 end)". An entity without
    # events gets what the aggregate gives for no rows (count 0, sum null).
    columns: dict[Identifier, str] = Field(min_length=1)


class LabelConfig(Strict):
    """Ground truth: the source it arrives in (a later delivery of its own, or the entity's
    own source when one file carries features and outcome) and how to read it."""

    source: Identifier
    column: Identifier
    # The label source names the day the outcome belongs to in this column; it joins the
    # features of that day (the entity's `date_column`, or its run date).
    date_column: Identifier
    # Binary: the value that is the positive class (everything else is negative).
    positive: str = "1"
    # Multiclass: every value the label takes, in the order of the model's class index;
    # a label outside it is left out of `labels` and counted (labels_unknown_class).
    classes: list[str] = Field(default_factory=list)
    # Labels that match no feature row are counted at training and in monitoring; past
    # this share of a window's labels they are also an alert (a key or date mismatch).
    max_unmatched_share: float = Field(0.05, ge=0, le=1)


class PromotionPolicy(Strict):
    """When a challenger may replace the champion (both judged on the challenger's frozen
    holdout): its gain must reach `margin`, and so must the lower end of the gain's paired
    bootstrap interval at `confidence` (both models scored on the same resampled rows, so
    a win a small holdout cannot tell from luck is not a promotion; 0 turns it off)."""

    # The task's first metric when not given (auc, rmse, mlogloss).
    metric: Metric | None = None
    margin: float = Field(0.005, ge=0)
    confidence: float = Field(0.9, ge=0, lt=1)
    bootstrap_rounds: int = Field(400, ge=50, le=10_000)
    slices: list[Identifier] = Field(default_factory=list)
    slice_tolerance: float = Field(0.02, ge=0)
    min_slice_rows: int = Field(30, ge=1)


class LeakageConfig(Strict):
    """When training calls a model too good to be true (`driftline.model.leakage`): a
    holdout at least this good (AUC for binary, R² for regression, accuracy for
    multiclass), one feature that alone separates the classes (or one class from the rest)
    with an AUC of at least `feature_auc` or orders a regression target with an absolute
    Spearman correlation of at least `feature_correlation`, or one whose missingness alone
    separates them with an AUC of at least `missingness_auc`; judged on features with at
    least `min_rows` known values."""

    enabled: bool = True
    holdout_auc: float = Field(0.99, gt=0.5, le=1)
    holdout_r2: float = Field(0.99, gt=0, le=1)
    holdout_accuracy: float = Field(0.99, gt=0, le=1)
    feature_auc: float = Field(0.98, gt=0.5, le=1)
    feature_correlation: float = Field(0.98, gt=0, le=1)
    missingness_auc: float = Field(0.9, gt=0.5, le=1)
    min_rows: int = Field(50, ge=1)


class ModelConfig(Strict):
    name: str = Field(min_length=1, max_length=256)
    # What the model predicts: a binary outcome, a number, or one of `label.classes`.
    task: Literal["binary", "regression", "multiclass"] = "binary"
    # XGBoost's objective; the task's default when not given (binary:logistic,
    # reg:squarederror, multi:softprob). Regression may use reg:absoluteerror,
    # count:poisson, reg:gamma, reg:tweedie...
    objective: str | None = None
    promotion: PromotionPolicy = PromotionPolicy()
    params: dict[str, Any] = Field(default_factory=dict)
    # Upper bound: early stopping on the latest training dates picks the actual count.
    num_boost_round: int = Field(200, ge=1, le=100_000)
    # Optuna TPE trials over depth, learning rate, min child weight and sampling; 0 = none.
    search_trials: int = Field(8, ge=0, le=500)
    # From this many labelled rows, the booster trains on the Spark executors
    # (`xgboost.spark`) instead of in one process on the driver; the search, the baseline
    # and the reference profile then use a seeded sample of at most this many rows.
    spark_training_rows: int = Field(2_000_000, ge=1)
    # `xgboost.spark` workers (one barrier task and one data shard each); None: Spark's
    # default parallelism.
    spark_training_workers: int | None = Field(None, ge=1)
    training_window_days: int = Field(28, ge=1)
    seed: int = 42
    # Each prediction row carries its largest feature contributions (XGBoost's own), this
    # many; 0 writes none and scores about four times faster on a CPU.
    top_contributions: int = Field(3, ge=0, le=100)
    leakage: LeakageConfig = LeakageConfig()


class DriftConfig(Strict):
    """How drift is measured and judged, per feature and for the score.

    With `method: auto` the test is chosen the way Evidently documents its defaults: on a
    small reference (at most `small_reference_rows`) a statistical test, two-sample
    Kolmogorov-Smirnov for numeric features and chi-square for categorical ones or numeric
    ones with at most 5 distinct values, judged at `p_value`; on a larger reference a
    distance, normalised Wasserstein for numeric and Jensen-Shannon for categorical,
    judged at `distance_threshold`. PSI is always computed and reported against
    `psi_warn`/`psi_breach`.

    One night tests every feature at once, so a raw `p_value` per feature would alert on
    some quiet night of every week. The night is calibrated as a whole
    (`driftline.monitoring.drift.calibrate`): p-values are corrected across the features
    tested that night (`correction`, Benjamini-Hochberg by default: the expected share of
    false alerts among a night's alerts stays under `p_value`), and a significant change
    still counts only when its effect size (normalised Wasserstein for numeric features,
    Jensen-Shannon distance for categorical ones) reaches `min_effect` and exceeds how far
    the reference's own days stray from the whole reference (a weekly pattern the training
    window covers is not drift). `benchmarks/alerts.py` measures these defaults.
    """

    method: Literal["auto", "psi", "ks", "chisquare", "wasserstein", "jensenshannon"] = "auto"
    small_reference_rows: int = Field(1000, ge=1)
    p_value: float = Field(0.05, gt=0, lt=1)
    distance_threshold: float = Field(0.1, gt=0)
    psi_warn: float = Field(0.1, ge=0)
    psi_breach: float = Field(0.25, ge=0)
    correction: Literal["benjamini-hochberg", "bonferroni", "none"] = "benjamini-hochberg"
    min_effect: float = Field(0.1, ge=0)
    # The reference's days must each have this many rows for their spread to count.
    min_day_rows: int = Field(30, ge=1)
    # Data quality, alerted like drift: a null share above the reference's by more than
    # this, and a share of values outside the reference's range (or of unseen categories)
    # above this.
    max_null_increase: float = Field(0.05, ge=0, le=1)
    max_out_of_range: float = Field(0.05, ge=0, le=1)

    @model_validator(mode="after")
    def _warn_below_breach(self) -> DriftConfig:
        if self.psi_warn > self.psi_breach:
            raise ValueError("psi_warn must not be greater than psi_breach")
        return self


class AccuracyConfig(Strict):
    """Live accuracy once delayed labels arrive: over the last `window_days` of
    predictions, overall and per segment (a categorical feature)."""

    window_days: int = Field(7, ge=1)
    decision_threshold: float = Field(0.5, gt=0, lt=1)
    segments: list[Identifier] = Field(default_factory=list)
    # Fewer matured labels than this and the window's accuracy is reported, not judged.
    min_labelled_rows: int = Field(100, ge=1)


class LabelShiftConfig(Strict):
    """Prior shift: the positive rate of the labels matured in the accuracy window against
    the training rows' rate. A change is flagged when a two-proportion test is significant
    at `p_value` and the rate moved by at least the factor `min_ratio` either way (2.8% to
    1.5% is a factor 1.9, 30% to 34% only 1.13). The windows of consecutive nights overlap,
    so a false alarm would repeat; hence the stricter level."""

    enabled: bool = True
    p_value: float = Field(0.01, gt=0, lt=1)
    min_ratio: float = Field(1.25, ge=1)


class SegmentGapConfig(Strict):
    """Gaps between the values of one segment feature (the regions, the plans): the best
    minus the worst segment's live AUC and recall, and their positive-prediction rates, for
    a binary model; their mean absolute errors for a regression (in the target's units, so
    not alerted unless `max_mae_gap` is set); their accuracy for a multiclass one; tracked
    every night. A gap alerts when it is above its `max_*` (None: tracked, never
    alerted) and significant at `p_value`, so a gap that small segments' noise explains is
    not called a bias. Segments with fewer than `min_support` matured labels (AUC, recall)
    or predictions (positive rate) are left out of the comparison.

    Positive rates differ legitimately where base rates do (a basic plan churns more), so
    that gap is not alerted unless configured.
    """

    min_support: int = Field(100, ge=10)
    max_auc_gap: float | None = Field(0.10, gt=0, le=1)
    max_recall_gap: float | None = Field(0.20, gt=0, le=1)
    max_positive_rate_gap: float | None = Field(None, gt=0, le=1)
    max_mae_gap: float | None = Field(None, gt=0)
    max_accuracy_gap: float | None = Field(0.10, gt=0, le=1)
    p_value: float = Field(0.01, gt=0, lt=1)


class MonitoringConfig(Strict):
    drift: DriftConfig = DriftConfig()
    accuracy: AccuracyConfig = AccuracyConfig()
    segment_gaps: SegmentGapConfig = SegmentGapConfig()
    label_shift: LabelShiftConfig = LabelShiftConfig()


class RetrainingPolicy(Strict):
    """When the nightly run asks `driftline_retrain` for a challenger.

    Any one trigger fires it, unless the last retraining is younger than `cooldown_days`:
    - drift: in at least `drift_runs` of the last `drift_window_runs` monitored runs, the
      drifted features carry at least `drift_importance_share` of the champion's feature
      importance (so drift in a feature the model ignores does not retrain it);
    - accuracy: live `metric` is worse than the champion's holdout value by more than
      `accuracy_margin`, on at least `accuracy.min_labelled_rows` matured labels;
    - age: the champion was trained more than `max_model_age_days` ago.

    With `wait_for_labels_after_drift`, a drift or accuracy trigger while drift is in the
    window waits until the latest labelled days, which training holds back from its trees
    (the frozen holdout, then the early-stopping days), all come from after the drift
    began, and `drifted_training_days` more: a challenger trained sooner is tuned and
    judged on the distribution that has just ended. An age trigger fires regardless.
    """

    enabled: bool = True
    drift_runs: int = Field(2, ge=1)
    drift_window_runs: int = Field(3, ge=1)
    drift_importance_share: float = Field(0.3, gt=0, le=1)
    metric: Metric | None = None
    accuracy_margin: float = Field(0.05, ge=0)
    max_model_age_days: int | None = Field(90, ge=1)
    cooldown_days: int = Field(7, ge=0)
    wait_for_labels_after_drift: bool = True
    drifted_training_days: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _k_of_n(self) -> RetrainingPolicy:
        if self.drift_runs > self.drift_window_runs:
            raise ValueError("drift_runs must not be greater than drift_window_runs")
        return self


class PipelineConfig(Strict):
    """The contents of `driftline.yaml`."""

    pipeline: Identifier
    schedule: str = DEFAULT_SCHEDULE
    start_date: date = DEFAULT_START_DATE
    entity: EntityConfig
    sources: list[SourceConfig] = Field(min_length=1)
    features: list[FeatureConfig] = Field(min_length=1)
    feeds: list[FeedConfig] = []
    label: LabelConfig
    model: ModelConfig
    monitoring: MonitoringConfig = MonitoringConfig()
    retraining: RetrainingPolicy = RetrainingPolicy()

    @field_validator("schedule")
    @classmethod
    def _one_run_per_hour_at_most(cls, value: str) -> str:
        value = value.strip()
        check_schedule(value)
        return value

    @model_validator(mode="after")
    def _references_resolve(self) -> PipelineConfig:
        names = [s.name for s in self.sources]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"source names must be unique, repeated: {duplicates}")
        by_name = {s.name: s for s in self.sources}
        if self.entity.source not in by_name:
            raise ValueError(f"entity.source {self.entity.source!r} is not one of {names}")
        if self.entity.key not in by_name[self.entity.source].columns:
            raise ValueError(
                f"entity.key {self.entity.key!r} is not a column of source {self.entity.source!r}"
            )
        observed = self.entity.date_column
        if observed is not None:
            kind = by_name[self.entity.source].columns.get(observed)
            if kind not in ("date", "timestamp"):
                raise ValueError(
                    f"entity.date_column {observed!r} must be a date or timestamp column of "
                    f"source {self.entity.source!r} (it is {kind or 'not declared'})"
                )
        if self.label.source not in by_name:
            raise ValueError(f"label.source {self.label.source!r} is not one of {names}")
        label_columns = by_name[self.label.source].columns
        for key in (self.entity.key, self.label.column, self.label.date_column):
            if key not in label_columns:
                raise ValueError(f"label source {self.label.source!r} must have a column {key!r}")
        self._feeds_resolve(by_name)
        self._grain_resolves(by_name)
        self._task_resolves()
        feature_names = [f.name for f in self.features]
        if len(set(feature_names)) != len(feature_names):
            raise ValueError("feature names must be unique")
        unknown = [s for s in self.model.promotion.slices if s not in feature_names]
        if unknown:
            raise ValueError(f"model.promotion.slices {unknown} are not features: {feature_names}")
        unknown = [s for s in self.monitoring.accuracy.segments if s not in feature_names]
        if unknown:
            raise ValueError(
                f"monitoring.accuracy.segments {unknown} are not features: {feature_names}"
            )
        return self

    def _grain_resolves(self, by_name: dict[str, SourceConfig]) -> None:
        """An hourly pipeline's runs each pick their own hour's files, and its labels join
        the hour a row describes; a daily one's paths cannot name an hour."""
        hourly = self.hourly
        for source in self.sources:
            if source.path is None:
                continue
            names_hour = "{run_hour}" in source.path
            if hourly and not names_hour:
                raise ValueError(
                    f"sources.{source.name}.path {source.path!r} must name {{run_hour}}: the "
                    f"schedule {self.schedule!r} runs hourly, and each run ingests only its "
                    "own hour's files (e.g. 'stations/{run_date}/{run_hour}/*.csv')"
                )
            if names_hour and not hourly:
                raise ValueError(
                    f"sources.{source.name}.path names {{run_hour}}, but the schedule "
                    f"{self.schedule!r} runs at most daily: schedule it hourly, or drop "
                    "{run_hour} from the path"
                )
        if not hourly:
            return
        for where, name, column in (
            ("entity.date_column", self.entity.source, self.entity.date_column),
            ("label.date_column", self.label.source, self.label.date_column),
        ):
            kind = by_name[name].columns.get(column) if column else "timestamp"
            if kind != "timestamp":
                raise ValueError(
                    f"{where} {column!r} must be a timestamp column of source {name!r} (it "
                    f"is {kind}): an hourly pipeline joins labels on the hour a row describes"
                )

    def _task_resolves(self) -> None:
        from driftline.core.tasks import METRICS, OBJECTIVES

        task = self.model.task
        if self.model.objective is not None and self.model.objective not in OBJECTIVES[task]:
            raise ValueError(
                f"model.objective {self.model.objective!r} is not a {task} objective: use one "
                f"of {list(OBJECTIVES[task])} (or set model.task)"
            )
        if task == "multiclass" and len(self.label.classes) < 3:
            raise ValueError(
                "a multiclass model needs label.classes, its three or more values in order "
                "(two classes: model.task binary with label.positive)"
            )
        if task != "multiclass" and self.label.classes:
            raise ValueError(f"label.classes is for model.task multiclass, not {task}")
        for where, metric in (
            ("model.promotion.metric", self.model.promotion.metric),
            ("retraining.metric", self.retraining.metric),
        ):
            if metric is not None and metric not in METRICS[task]:
                raise ValueError(
                    f"{where} {metric!r} does not apply to a {task} model: use one of "
                    f"{list(METRICS[task])}"
                )

    @property
    def hourly(self) -> bool:
        """Whether each run is about an hour (partitioned by date and hour), not a date."""
        return schedule_is_hourly(self.schedule)

    @property
    def task(self) -> Task:
        """What the model predicts and how it is judged (`driftline.core.tasks`)."""
        from driftline.core.tasks import OBJECTIVES, Task

        kind = self.model.task
        return Task(kind, self.model.objective or OBJECTIVES[kind][0], tuple(self.label.classes))

    @property
    def promotion_metric(self) -> str:
        return self.model.promotion.metric or self.task.metrics[0]

    @property
    def accuracy_metric(self) -> str:
        return self.retraining.metric or self.task.metrics[0]

    def _feeds_resolve(self, by_name: dict[str, SourceConfig]) -> None:
        entity_columns = set(by_name[self.entity.source].columns)
        seen: dict[str, int] = {}
        for index, feed in enumerate(self.feeds):
            where = f"feeds.{index}"
            if feed.source not in by_name:
                raise ValueError(f"{where}.source {feed.source!r} is not one of {list(by_name)}")
            columns = by_name[feed.source].columns
            if feed.key not in columns:
                raise ValueError(
                    f"{where}.key {feed.key!r} is not a column of source {feed.source!r}"
                )
            if columns.get(feed.date_column) not in ("date", "timestamp"):
                raise ValueError(
                    f"{where}.date_column {feed.date_column!r} must be a date or timestamp "
                    f"column of source {feed.source!r}"
                )
            entity_key_type = by_name[self.entity.source].columns[self.entity.key]
            if columns[feed.key] != entity_key_type:
                raise ValueError(
                    f"{where}.key {feed.key!r} is {columns[feed.key]} in source "
                    f"{feed.source!r} but the entity key is {entity_key_type}: declare both "
                    "with the same type"
                )
            for name in feed.columns:
                if name.startswith("_") or name == "as_of_date":
                    raise ValueError(
                        f"{where}.columns.{name}: names starting with _ and as_of_date are "
                        "the tables' own columns"
                    )
                if name in entity_columns or name in seen:
                    clash = (
                        f"source {self.entity.source!r}"
                        if name in entity_columns
                        else f"feeds.{seen[name]}"
                    )
                    raise ValueError(
                        f"{where}.columns.{name} is already a column of {clash}: name it "
                        "differently"
                    )
                seen[name] = index

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(
            f"no source named {name!r} in the pipeline file; known sources: "
            f"{[s.name for s in self.sources]}"
        )

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]
