"""Environment settings (`DRIFTLINE_*`): where things live and how they run.

Validated when built, so a bad value fails at start-up naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from driftline.core.errors import ConfigError
from driftline.core.object_store import is_s3
from driftline.core.validation import describe


class Settings(BaseSettings):
    """Where things live and how they run, from `DRIFTLINE_*` environment variables.

    Secrets never live here: they come from Airflow connections or the environment of the
    process that needs them.
    """

    model_config = SettingsConfigDict(env_prefix="DRIFTLINE_", extra="ignore", frozen=True)

    home: Path = Path(".")
    pipeline_file: Path | None = None
    # A project with several pipelines keeps one file per pipeline here (`<name>.yaml`);
    # `pipeline` names the one a command or step acts on (optional when there is one).
    pipelines_dir: Path | None = None
    pipeline: str | None = None
    lake_uri: str | None = None
    drop_root: Path | None = None
    # Where remote files and SQL extracts are downloaded before Spark reads them; one
    # folder per source and date, replaced when the date is re-run.
    staging_root: Path | None = None
    # Where Spark reads delivered files from, when its executors cannot see the driver's
    # disk (a cluster of several hosts): an `s3://` URI (or a folder every node mounts).
    # Unset, Spark reads the staged and dropped files where they are.
    staging_uri: str | None = None
    expectations_dir: Path | None = None
    mlflow_tracking_uri: str | None = None
    mlflow_artifact_root: str | None = None
    # The master every launcher uses: the in-process SparkSession's, and spark-submit's
    # unless the Airflow Spark connection (`spark_conn_id`) is configured.
    spark_master: str = "local[2]"
    # A Spark Connect server (`sc://host:port`) that steps use as thin clients instead of
    # each starting a JVM of its own: `driftline ui` starts one for its scheduler's tasks
    # (`driftline spark-server`); a team may run one long-lived server for all its runs.
    spark_remote: str | None = None
    # The Python the executors run (Spark's `spark.pyspark.python`), which may be another
    # environment than the driver's, e.g. one built from Driftline's wheel on every node.
    executor_python: str | None = None
    # More Maven packages for Driftline's SparkSession beside Delta's (comma-separated). A
    # lake on `s3://` adds Hadoop's S3A connector matching pyspark's Hadoop by itself.
    spark_packages: str = ""
    # A folder every node has (the cluster image's) holding the jars of those packages
    # (`driftline spark-jars DIR` fills it): drivers and executors then load them from there
    # instead of each application resolving the packages and shipping their jars (S3A's AWS
    # SDK alone is 690 MB) to every executor it starts.
    spark_jars_dir: Path | None = None
    spark_driver_memory: str = "2g"
    spark_ui: bool = False
    # Spark's classes, parsed once into a JVM class archive (AppCDS) that every fresh driver
    # maps instead of loading them from Spark's jars again: each Airflow task and spark-submit
    # job starts its JVM in about half the time. `infra/setup.sh` builds it (`python -m
    # driftline.core.spark`); the default place is per Spark install and Java runtime, under
    # the user's cache. A missing or stale archive only costs the time it would have saved.
    spark_class_sharing: bool = True
    spark_class_archive: Path | None = None
    spark_shuffle_partitions: int = Field(8, ge=1)
    jobs_dir: Path | None = None
    lake_backend: Literal["auto", "delta-rs", "delta-spark"] = "auto"
    # `auto` parses a delivered CSV with Arrow on the executors where Arrow reads it as
    # Spark's CSV reader would (`driftline.sources.arrow_csv`), else with Spark's reader;
    # `spark` always uses Spark's reader.
    csv_reader: Literal["auto", "spark"] = "auto"
    # `auto` scores the features table's files read by Arrow inside the Spark tasks
    # (`driftline.model.scoring.score_frame` given `files`) where its files can be read
    # alone, else through Spark's Delta reader; `spark` always reads through Spark.
    score_reader: Literal["auto", "spark"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # How far back time travel (audits, the promotion gate) must reach: the Delta log and
    # the files of superseded versions are kept this long; `driftline lake maintain`
    # reclaims what is older.
    audit_retention_days: int = Field(2555, ge=1)
    # `inprocess` runs a step in the Airflow worker's own SparkSession (embedded default);
    # `spark-submit` sends the package's job entry point (or `<jobs_dir>/job.py`) to the
    # cluster named by the Airflow connection, one application per task.
    step_launcher: Literal["inprocess", "spark-submit"] = "inprocess"
    spark_conn_id: str = "spark_default"
    # Where alerts go: any of log, webhook, email (comma-separated).
    alert_channels: str = "log"
    # A Slack-compatible incoming-webhook URL; a secret, so only ever from the environment.
    alert_webhook_url: SecretStr | None = None
    alert_email_to: str | None = None
    smtp_conn_id: str = "smtp_default"
    # Set by `loading.pipeline_settings` once the folders are the chosen pipeline's own.
    _pipeline_scoped: bool = PrivateAttr(default=False)

    @property
    def pipeline_scoped(self) -> bool:
        return self._pipeline_scoped

    def mark_pipeline_scoped(self) -> None:
        self._pipeline_scoped = True

    @field_validator("spark_jars_dir", mode="before")
    @classmethod
    def _jars_dir_unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("spark_jars_dir")
    @classmethod
    def _jars_dir_is_absolute(cls, value: Path | None) -> Path | None:
        # Spark hands the jars' paths to JVMs started elsewhere (the executors, in their
        # own working folders): a relative path would name another folder there.
        if value is not None and not value.is_absolute():
            raise ValueError(f"{str(value)!r} must be an absolute path, the same on every node")
        return value

    @field_validator("staging_uri")
    @classmethod
    def _staging_uri_is_shared(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if "://" in value and not value.startswith(("s3://", "s3a://", "file://")):
            raise ValueError(f"{value!r}: give an s3:// URI or a folder every Spark node mounts")
        if value.startswith(("s3://", "s3a://")) and not urlsplit(value).netloc:
            raise ValueError(f"{value!r} names no bucket: give it as s3://bucket/prefix")
        if "://" not in value and not Path(value).is_absolute():
            raise ValueError(f"{value!r}: a shared folder must be an absolute path")
        if any(c in value for c in "%#?"):
            raise ValueError(f"{value!r}: name the shared folder without %, # or ?")
        return value

    @model_validator(mode="after")
    def _shared_staging_apart(self) -> Settings:
        """A shared folder inside the drop or the local staging would have each night's
        copies delivered into, or deleted from under, the files being copied."""
        if self.staging_uri is None or is_s3(self.staging_uri):
            return self
        shared = Path(self.staging_uri.removeprefix("file://")).resolve()
        for name, local in (
            ("DRIFTLINE_DROP_ROOT", self.resolved_drop_root),
            ("DRIFTLINE_STAGING_ROOT", self.resolved_staging_root),
        ):
            if shared.is_relative_to(local) or local.is_relative_to(shared):
                raise ValueError(
                    f"DRIFTLINE_STAGING_URI {self.staging_uri!r} overlaps {name} ({local}): "
                    "give the shared copies a folder of their own"
                )
        return self

    @field_validator("spark_remote")
    @classmethod
    def _spark_remote_is_connect(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            connect_address(value)
        except ValueError:
            raise ValueError(f"{value!r}: the port must be a number from 1 to 65535") from None
        if not value.startswith("sc://") or not urlsplit(value).hostname:
            raise ValueError(f"{value!r}: give the Spark Connect server as sc://host:port")
        return value

    @model_validator(mode="after")
    def _one_way_to_reach_spark(self) -> Settings:
        """A spark-submit job is its own driver, and Delta's Spark API has no Connect client
        set up here: a Connect server with either would be silently ignored."""
        if self.spark_remote is None:
            return self
        if self.step_launcher == "spark-submit":
            raise ValueError(
                "DRIFTLINE_SPARK_REMOTE and DRIFTLINE_STEP_LAUNCHER=spark-submit both say where "
                "steps run: unset one of them"
            )
        if self.lake_backend == "delta-spark":
            raise ValueError(
                "DRIFTLINE_SPARK_REMOTE runs the lake on delta-rs (Driftline does not set up "
                "Delta's Spark Connect plugins): set DRIFTLINE_LAKE_BACKEND=delta-rs or unset "
                "DRIFTLINE_SPARK_REMOTE"
            )
        return self

    @property
    def spark_server_fits(self) -> bool:
        """Whether steps could reach Spark through a Connect server (see
        `_one_way_to_reach_spark` for why the others cannot)."""
        return self.step_launcher == "inprocess" and self.lake_backend != "delta-spark"

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
    def resolved_pipelines_dir(self) -> Path:
        return self.pipelines_dir or self.home / "pipelines"

    @property
    def resolved_lake_uri(self) -> str:
        if self.lake_uri:
            return self.lake_uri
        return str((self.home / "lakehouse").resolve())

    @property
    def on_object_store(self) -> bool:
        """Whether the lake or the shared staging is on S3 (S3A, an endpoint to reach)."""
        return is_s3(self.resolved_lake_uri) or is_s3(self.staging_uri or "")

    @property
    def resolved_drop_root(self) -> Path:
        return (self.drop_root or self.home / "drop").resolve()

    @property
    def resolved_staging_root(self) -> Path:
        return (self.staging_root or self.home / "staging").resolve()

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


def connect_address(url: str) -> tuple[str, int]:
    """(host, port) of a Spark Connect URL (`sc://host:port/;params`; port 15002 unless
    given); a port that is not a number raises ValueError."""
    parts = urlsplit(url.split(";", 1)[0])
    return parts.hostname or "localhost", parts.port or 15002


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; `overrides` win (used by the CLI and tests)."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(
            "invalid Driftline settings (environment variables DRIFTLINE_*):\n"
            + describe(error, prefix="DRIFTLINE_")
        ) from None
