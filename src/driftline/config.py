"""Typed configuration: `DRIFTLINE_*` settings and the pipeline file `driftline.yaml`.

Both are validated when they are built, so a typo fails at start-up with the name of the
bad key instead of as a KeyError deep inside a Spark job at 02:00.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from driftline.errors import ConfigError

DEFAULT_SCHEDULE = "0 2 * * *"
DEFAULT_START_DATE = date(2024, 1, 1)

# Spark SQL type names a source column may declare. Kept small on purpose: these are the
# types a legacy extract can be parsed into without guessing.
ColumnType = Literal["string", "int", "bigint", "double", "boolean", "date", "timestamp"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use letters, digits and underscores, "
            "starting with a letter or underscore"
        )
    return value


# Names that end up in table paths, SQL expressions and column lists.
Identifier = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_check_identifier)]


class _Strict(BaseModel):
    """Unknown keys are errors: a misspelt key must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvOptions(_Strict):
    delimiter: str = Field(",", min_length=1, max_length=1)
    header: bool = True
    quote: str = Field('"', min_length=1, max_length=1)
    # "," for European exports (12,5): numeric columns are read with it as the decimal mark.
    decimal: Literal[".", ","] = "."


class FixedWidthColumn(_Strict):
    """Where a field sits on a line: 1-based `start` and `width`, as layouts on paper say."""

    start: int = Field(ge=1)
    width: int = Field(ge=1)


class FixedWidthOptions(_Strict):
    """The column layout of a fixed-width (mainframe/COBOL-style) export."""

    columns: dict[str, FixedWidthColumn]
    header_lines: int = Field(0, ge=0)
    # A line shorter than the layout is always malformed; with `strict_length` a longer one
    # is too (it usually means the layout changed).
    strict_length: bool = False

    @field_validator("columns")
    @classmethod
    def _layout_is_sane(cls, value: dict[str, FixedWidthColumn]) -> dict[str, FixedWidthColumn]:
        if not value:
            raise ValueError("a fixed-width layout needs at least one column")
        spans = sorted((c.start, c.start + c.width - 1, name) for name, c in value.items())
        for (_, end, left), (start, _, right) in itertools.pairwise(spans):
            if start <= end:
                raise ValueError(f"columns {left!r} and {right!r} overlap")
        for name in value:
            _check_identifier(name)
        return value

    @property
    def line_length(self) -> int:
        return max(c.start + c.width - 1 for c in self.columns.values())


class ArrivalRule(_Strict):
    """When a dropped file counts as complete, so a file still being written is not read.

    With `done_marker` (e.g. ".done") a file is ready once `<name><marker>` exists next to
    it; otherwise it is ready when its size and modification time are unchanged across a
    wait of `stable_seconds` (0 trusts the sender to rename into place atomically).
    """

    done_marker: str | None = Field(None, min_length=1, max_length=32)
    stable_seconds: float = Field(0, ge=0, le=3600)
    # For `on_arrival` sources: how often the deferred sensor of `driftline_file_drop`
    # looks, and how long it waits for the date's files before it gives up.
    poke_seconds: float = Field(300, ge=1, le=86_400)
    timeout_hours: float = Field(20, gt=0, le=168)

    @field_validator("done_marker")
    @classmethod
    def _marker_is_a_suffix(cls, value: str | None) -> str | None:
        if value is not None and ("/" in value or "\\" in value or value in {".", ".."}):
            raise ValueError("must be a file-name suffix such as '.done', not a path")
        return value


class SqlExtract(_Strict):
    """A table of a legacy database, extracted in full or incrementally by a watermark.

    The declared `columns` are what is selected; names are validated here and quoted by
    SQLAlchemy, never pasted into SQL.
    """

    table: str = Field(min_length=1, max_length=257)
    # Incremental: only rows whose watermark is above the one recorded for the previous
    # extract. Without it every run extracts the whole table (unchanged content is then a
    # duplicate and not ingested again).
    watermark: Identifier | None = None
    fetch_rows: int = Field(50_000, ge=1)

    @field_validator("table")
    @classmethod
    def _schema_and_table(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) > 2:
            raise ValueError("use 'table' or 'schema.table'")
        for part in parts:
            _check_identifier(part)
        return value

    @property
    def schema_and_name(self) -> tuple[str | None, str]:
        schema, _, name = self.table.rpartition(".")
        return (schema or None), name


class SourceConfig(_Strict):
    """One siloed source: where its data arrives, in what format, with what columns.

    Credentials are never part of it: `conn_id` names an Airflow connection (which may come
    from an `AIRFLOW_CONN_*` environment variable).
    """

    name: Identifier
    kind: Literal["local", "sftp", "s3", "sql"] = "local"
    # local: a glob relative to the drop root; sftp: a remote glob (absolute or relative to
    # the login folder); s3: a key glob inside `bucket`. `{run_date}` is replaced by the
    # logical date (YYYY-MM-DD), so a run only ever picks the files of its own date.
    path: str | None = None
    conn_id: str | None = Field(None, min_length=1, max_length=250)
    bucket: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
    sql: SqlExtract | None = None
    format: Literal["csv", "jsonl", "parquet", "fixed_width"] = "csv"
    # "auto" unpacks by file-name suffix (.gz, .zip); a zip may hold several files.
    compression: Literal["auto", "none", "gzip", "zip"] = "auto"
    encoding: str = "utf-8"
    csv: CsvOptions = CsvOptions()
    fixed_width: FixedWidthOptions | None = None
    arrival: ArrivalRule = ArrivalRule()
    # Also watched by the `driftline_file_drop` DAG, which ingests it as soon as it lands.
    on_arrival: bool = False
    columns: dict[str, ColumnType]

    @field_validator("columns")
    @classmethod
    def _columns_are_identifiers(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a source must declare at least one column")
        for column in value:
            _check_identifier(column)
        return value

    @field_validator("path")
    @classmethod
    def _path_stays_inside(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if ".." in Path(value).parts:
            raise ValueError("must not contain '..'")
        if info.data.get("kind", "local") in ("local", "s3") and value.startswith("/"):
            raise ValueError("must be a glob relative to DRIFTLINE_DROP_ROOT (or the bucket)")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (try utf-8, latin-1, cp1252)") from None
        return value

    @model_validator(mode="after")
    def _kind_has_what_it_needs(self) -> SourceConfig:
        if self.kind == "sql":
            if self.sql is None:
                raise ValueError("a sql source needs `sql: {table: ...}`")
            if self.conn_id is None:
                raise ValueError("a sql source needs `conn_id` (an Airflow connection)")
            if self.sql.watermark and self.sql.watermark not in self.columns:
                raise ValueError(f"sql.watermark {self.sql.watermark!r} is not a declared column")
            if self.on_arrival:
                raise ValueError("on_arrival watches for files; a sql source has none")
            return self
        if self.sql is not None:
            raise ValueError("`sql` is only for kind: sql")
        if self.path is None:
            raise ValueError(f"a {self.kind} source needs `path`")
        if self.kind in ("sftp", "s3") and self.conn_id is None:
            raise ValueError(f"a {self.kind} source needs `conn_id` (an Airflow connection)")
        if self.kind == "s3" and self.bucket is None:
            raise ValueError("an s3 source needs `bucket`")
        if self.format == "fixed_width":
            if self.fixed_width is None:
                raise ValueError("format fixed_width needs a `fixed_width.columns` layout")
            if set(self.fixed_width.columns) != set(self.columns):
                raise ValueError(
                    "fixed_width.columns must lay out exactly the declared columns; differ: "
                    f"{sorted(set(self.fixed_width.columns) ^ set(self.columns))}"
                )
        return self

    @property
    def read_format(self) -> str:
        """What Spark reads: SQL extracts are staged as Parquet whatever `format` says."""
        return "parquet" if self.kind == "sql" else self.format


class EntityConfig(_Strict):
    """The thing predictions are about; its silver table is `silver/<name>`."""

    name: Identifier
    key: Identifier
    source: Identifier


class FeatureConfig(_Strict):
    """One feature, defined once for training and scoring.

    `expr` is a Spark SQL expression over the entity's silver columns; without it the
    feature is the column of the same name.
    """

    name: Identifier
    type: Literal["numeric", "categorical"] = "numeric"
    expr: str | None = None


class LabelConfig(_Strict):
    """Delayed ground truth: the source it arrives in and how to read it."""

    source: Identifier
    column: Identifier
    # The label source names the date the outcome belongs to in this column.
    date_column: Identifier
    positive: str = "1"


class PromotionPolicy(_Strict):
    """When a challenger may replace the champion (both judged on the challenger's frozen
    holdout)."""

    metric: Literal["auc", "logloss"] = "auc"
    margin: float = Field(0.005, ge=0)
    slices: list[Identifier] = Field(default_factory=list)
    slice_tolerance: float = Field(0.02, ge=0)
    min_slice_rows: int = Field(30, ge=1)


class ModelConfig(_Strict):
    name: str = Field(min_length=1, max_length=256)
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


class DriftConfig(_Strict):
    """How drift is measured and judged, per feature and for the score.

    With `method: auto` the test is chosen the way Evidently documents its defaults: on a
    small reference (at most `small_reference_rows`) a statistical test, two-sample
    Kolmogorov-Smirnov for numeric features and chi-square for categorical ones or numeric
    ones with at most 5 distinct values, judged at `p_value`; on a larger reference a
    distance, normalised Wasserstein for numeric and Jensen-Shannon for categorical,
    judged at `distance_threshold`. PSI is always computed and reported against
    `psi_warn`/`psi_breach`.
    """

    method: Literal["auto", "psi", "ks", "chisquare", "wasserstein", "jensenshannon"] = "auto"
    small_reference_rows: int = Field(1000, ge=1)
    p_value: float = Field(0.05, gt=0, lt=1)
    distance_threshold: float = Field(0.1, gt=0)
    psi_warn: float = Field(0.1, ge=0)
    psi_breach: float = Field(0.25, ge=0)

    @model_validator(mode="after")
    def _warn_below_breach(self) -> DriftConfig:
        if self.psi_warn > self.psi_breach:
            raise ValueError("psi_warn must not be greater than psi_breach")
        return self


class AccuracyConfig(_Strict):
    """Live accuracy once delayed labels arrive: over the last `window_days` of
    predictions, overall and per segment (a categorical feature)."""

    window_days: int = Field(7, ge=1)
    decision_threshold: float = Field(0.5, gt=0, lt=1)
    segments: list[Identifier] = Field(default_factory=list)
    # Fewer matured labels than this and the window's accuracy is reported, not judged.
    min_labelled_rows: int = Field(100, ge=1)


class MonitoringConfig(_Strict):
    drift: DriftConfig = DriftConfig()
    accuracy: AccuracyConfig = AccuracyConfig()


class RetrainingPolicy(_Strict):
    """When the nightly run asks `driftline_retrain` for a challenger.

    Any one trigger fires it, unless the last retraining is younger than `cooldown_days`:
    - drift: in at least `drift_runs` of the last `drift_window_runs` monitored runs, the
      drifted features carry at least `drift_importance_share` of the champion's feature
      importance (so drift in a feature the model ignores does not retrain it);
    - accuracy: live `metric` is worse than the champion's holdout value by more than
      `accuracy_margin`, on at least `accuracy.min_labelled_rows` matured labels;
    - age: the champion was trained more than `max_model_age_days` ago.
    """

    enabled: bool = True
    drift_runs: int = Field(2, ge=1)
    drift_window_runs: int = Field(3, ge=1)
    drift_importance_share: float = Field(0.3, gt=0, le=1)
    metric: Literal["auc", "logloss"] = "auc"
    accuracy_margin: float = Field(0.05, ge=0)
    max_model_age_days: int | None = Field(90, ge=1)
    cooldown_days: int = Field(7, ge=0)

    @model_validator(mode="after")
    def _k_of_n(self) -> RetrainingPolicy:
        if self.drift_runs > self.drift_window_runs:
            raise ValueError("drift_runs must not be greater than drift_window_runs")
        return self


class PipelineConfig(_Strict):
    """The contents of `driftline.yaml`."""

    pipeline: Identifier
    schedule: str = DEFAULT_SCHEDULE
    start_date: date = DEFAULT_START_DATE
    entity: EntityConfig
    sources: list[SourceConfig] = Field(min_length=1)
    features: list[FeatureConfig] = Field(min_length=1)
    label: LabelConfig
    model: ModelConfig
    monitoring: MonitoringConfig = MonitoringConfig()
    retraining: RetrainingPolicy = RetrainingPolicy()

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
        if self.label.source not in by_name:
            raise ValueError(f"label.source {self.label.source!r} is not one of {names}")
        label_columns = by_name[self.label.source].columns
        for key in (self.entity.key, self.label.column, self.label.date_column):
            if key not in label_columns:
                raise ValueError(f"label source {self.label.source!r} must have a column {key!r}")
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


class Settings(BaseSettings):
    """Where things live and how they run, from `DRIFTLINE_*` environment variables.

    Secrets never live here: they come from Airflow connections or the environment of the
    process that needs them.
    """

    model_config = SettingsConfigDict(env_prefix="DRIFTLINE_", extra="ignore", frozen=True)

    home: Path = Path(".")
    pipeline_file: Path | None = None
    lake_uri: str | None = None
    drop_root: Path | None = None
    # Where remote files and SQL extracts are downloaded before Spark reads them; one
    # folder per source and date, replaced when the date is re-run.
    staging_root: Path | None = None
    expectations_dir: Path | None = None
    mlflow_tracking_uri: str | None = None
    mlflow_artifact_root: str | None = None
    spark_master: str = "local[2]"
    spark_driver_memory: str = "2g"
    spark_ui: bool = False
    spark_shuffle_partitions: int = Field(8, ge=1)
    jobs_dir: Path | None = None
    lake_backend: Literal["auto", "delta-rs", "delta-spark"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # How far back time travel (audits, the promotion gate) must reach: the Delta log and
    # the files of superseded versions are kept this long; `driftline lake maintain`
    # reclaims what is older.
    audit_retention_days: int = Field(2555, ge=1)
    # `inprocess` runs a step in the Airflow worker's own SparkSession (embedded default);
    # `spark-submit` sends `jobs/<step>.py` to the cluster named by the Airflow connection.
    step_launcher: Literal["inprocess", "spark-submit"] = "inprocess"
    spark_conn_id: str = "spark_default"
    # Where alerts go: any of log, webhook, email (comma-separated).
    alert_channels: str = "log"
    # A Slack-compatible incoming-webhook URL; a secret, so only ever from the environment.
    alert_webhook_url: SecretStr | None = None
    alert_email_to: str | None = None
    smtp_conn_id: str = "smtp_default"

    @field_validator("alert_channels")
    @classmethod
    def _known_channels(cls, value: str) -> str:
        unknown = sorted(set(cls.split_channels(value)) - {"log", "webhook", "email"})
        if unknown:
            raise ValueError(f"unknown alert channels {unknown}: use log, webhook, email")
        return value

    @model_validator(mode="after")
    def _channels_have_targets(self) -> Settings:
        channels = self.split_channels(self.alert_channels)
        if "webhook" in channels and self.alert_webhook_url is None:
            raise ValueError("the webhook channel needs DRIFTLINE_ALERT_WEBHOOK_URL")
        url = self.alert_webhook_url.get_secret_value() if self.alert_webhook_url else ""
        if url and not url.startswith(("https://", "http://")):
            raise ValueError("DRIFTLINE_ALERT_WEBHOOK_URL must be an http(s) URL")
        if "email" in channels and not self.alert_email_to:
            raise ValueError("the email channel needs DRIFTLINE_ALERT_EMAIL_TO")
        return self

    @staticmethod
    def split_channels(value: str) -> list[str]:
        return [part.strip() for part in value.split(",") if part.strip()]

    @property
    def resolved_pipeline_file(self) -> Path:
        return self.pipeline_file or self.home / "driftline.yaml"

    @property
    def resolved_lake_uri(self) -> str:
        if self.lake_uri:
            return self.lake_uri
        return str((self.home / "lakehouse").resolve())

    @property
    def resolved_drop_root(self) -> Path:
        return (self.drop_root or self.home / "drop").resolve()

    @property
    def resolved_staging_root(self) -> Path:
        return (self.staging_root or self.home / "staging").resolve()

    @property
    def resolved_jobs_dir(self) -> Path:
        return (self.jobs_dir or self.home / "jobs").resolve()

    @property
    def resolved_expectations_dir(self) -> Path:
        return (self.expectations_dir or self.home / "expectations").resolve()

    @property
    def resolved_mlflow_tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def resolved_mlflow_artifact_root(self) -> str:
        if self.mlflow_artifact_root:
            return self.mlflow_artifact_root
        return (self.home / "mlartifacts").resolve().as_uri()


def _describe(error: ValidationError, prefix: str = "") -> str:
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {prefix}{location}: {item['msg']}")
    return "\n".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; `overrides` win (used by the CLI and tests)."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(
            "invalid Driftline settings (environment variables DRIFTLINE_*):\n"
            + _describe(error, prefix="DRIFTLINE_")
        ) from None


def parse_pipeline(data: Any, origin: str = "<pipeline>") -> PipelineConfig:
    if not isinstance(data, dict):
        raise ConfigError(
            f"{origin}: expected a mapping at the top level, got {type(data).__name__}"
        )
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{origin} is invalid; fix these keys:\n{_describe(error)}") from None


def load_pipeline(path: Path) -> PipelineConfig:
    if not path.is_file():
        raise ConfigError(
            f"pipeline file {path} not found: set DRIFTLINE_PIPELINE_FILE or DRIFTLINE_HOME "
            "to the folder that holds driftline.yaml (`driftline demo` writes an example)"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    return parse_pipeline(data, origin=str(path))


def _top_level(path: Path | None) -> dict[str, Any]:
    target = path or load_settings().resolved_pipeline_file
    try:
        data = yaml.safe_load(target.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def dag_schedule(path: Path | None = None) -> str:
    """The nightly schedule, read cheaply enough for a DAG file's top level.

    Only the `schedule` key is looked at and a missing file falls back to the default, so a
    DAG still parses on a scheduler that has no pipeline file yet.
    """
    schedule = _top_level(path).get("schedule", DEFAULT_SCHEDULE)
    return schedule if isinstance(schedule, str) else DEFAULT_SCHEDULE


def arrival_sources(path: Path | None = None) -> list[SourceConfig]:
    """The sources marked `on_arrival`, read as cheaply as `dag_schedule` (no network).

    An unreadable or invalid pipeline file gives none: the file-drop DAG then parses with
    no watches, and the nightly run reports the configuration error where it can be read.
    """
    target = path or load_settings().resolved_pipeline_file
    try:
        pipeline = load_pipeline(target)
    except ConfigError:
        return []
    return [s for s in pipeline.sources if s.on_arrival]


def dag_start_date(path: Path | None = None) -> datetime:
    """The pipeline's `start_date` as a UTC midnight, read as cheaply as `dag_schedule`.

    Airflow runs no task before its DAG's start date, so a pipeline whose data starts in
    1996 must be able to say so (backfills and replays of old dates depend on it).
    """
    value = _top_level(path).get("start_date", DEFAULT_START_DATE)
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            value = DEFAULT_START_DATE
    if not isinstance(value, date):
        value = DEFAULT_START_DATE
    return datetime(value.year, value.month, value.day, tzinfo=UTC)
