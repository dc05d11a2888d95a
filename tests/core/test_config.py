from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from driftline.core.errors import ConfigError
from driftline.core.loading import dag_schedule, dag_start_date, load_pipeline, parse_pipeline
from driftline.core.settings import load_settings

PROJECT = Path(__file__).resolve().parents[2]


def example() -> dict:
    return yaml.safe_load((PROJECT / "driftline.yaml").read_text())


def test_example_pipeline_loads() -> None:
    pipeline = load_pipeline(PROJECT / "driftline.yaml")
    assert pipeline.entity.key == "customer_id"
    assert "spend_per_tenure" in pipeline.feature_names
    assert pipeline.source("customers").columns["monthly_spend"] == "double"


def test_unknown_key_is_named() -> None:
    data = example()
    data["sources"][0]["csv"]["delimeter"] = ";"
    with pytest.raises(ConfigError, match=r"sources\.0\.csv\.delimeter"):
        parse_pipeline(data)


def test_bad_value_is_named() -> None:
    data = example()
    data["features"][5]["type"] = "text"
    with pytest.raises(ConfigError, match=r"features\.5\.type"):
        parse_pipeline(data)


def test_top_contributions_is_bounded_and_named() -> None:
    data = example()
    assert parse_pipeline(data).model.top_contributions == 3
    data["model"]["top_contributions"] = -1
    with pytest.raises(ConfigError, match=r"model\.top_contributions"):
        parse_pipeline(data)


def test_entity_key_must_be_a_source_column() -> None:
    data = example()
    data["entity"]["key"] = "client_id"
    with pytest.raises(ConfigError, match=r"entity\.key 'client_id'"):
        parse_pipeline(data)


def test_source_path_cannot_escape_drop_root() -> None:
    data = example()
    data["sources"][0]["path"] = "../etc/{run_date}/*.csv"
    with pytest.raises(ConfigError, match=r"sources\.0\.path"):
        parse_pipeline(data)


def test_column_names_must_be_identifiers() -> None:
    data = example()
    data["sources"][1]["columns"]["bad name; drop"] = "string"
    with pytest.raises(ConfigError, match="not a valid name"):
        parse_pipeline(data)


def test_psi_thresholds_are_ordered() -> None:
    data = example()
    data["monitoring"] = {"drift": {"psi_warn": 0.5, "psi_breach": 0.2}}
    with pytest.raises(ConfigError, match=r"monitoring\.drift.*psi_warn"):
        parse_pipeline(data)


def test_missing_pipeline_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DRIFTLINE_PIPELINE_FILE"):
        load_pipeline(tmp_path / "nope.yaml")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DRIFTLINE_LAKE_URI", "s3://bucket/lake")
    monkeypatch.setenv("DRIFTLINE_HOME", str(tmp_path))
    settings = load_settings()
    assert settings.resolved_lake_uri == "s3://bucket/lake"
    assert settings.resolved_mlflow_tracking_uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTLINE_DEVICE", "tpu")
    with pytest.raises(ConfigError, match="DRIFTLINE_DEVICE"):
        load_settings()


def test_dag_schedule_and_start_date_come_from_the_pipeline() -> None:
    assert dag_schedule(PROJECT / "driftline.yaml") == "0 2 * * *"
    example = PROJECT / "examples" / "elec2" / "driftline.yaml"
    assert dag_start_date(example).isoformat() == "1996-05-07T00:00:00+00:00"


def test_no_fallback_schedule_for_a_missing_or_invalid_pipeline_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.yaml not found"):
        dag_schedule(tmp_path / "missing.yaml")
    broken = tmp_path / "driftline.yaml"
    data = example()
    data["start_date"] = "someday"
    broken.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="start_date"):
        dag_start_date(broken)


def test_entity_name_cannot_reach_into_other_tables() -> None:
    data = example()
    data["entity"]["name"] = "../bronze"
    with pytest.raises(ConfigError, match=r"entity\.name"):
        parse_pipeline(data)


def with_source(**fields: object) -> dict:
    data = example()
    data["sources"][0] = {**data["sources"][0], **fields}
    return data


@pytest.mark.parametrize(
    "table", ["orders; DROP TABLE users", "crm.orders.x", "or ders", "1orders", 'crm."x"']
)
def test_sql_table_names_are_validated(table: str) -> None:
    data = with_source(kind="sql", conn_id="crm", sql={"table": table})
    data["sources"][0].pop("path")
    with pytest.raises(ConfigError, match=r"sources\.0\.sql\.table"):
        parse_pipeline(data)


def test_credentials_cannot_live_in_the_pipeline_file() -> None:
    data = with_source(kind="sftp", conn_id="crm_sftp", password="hunter2")
    with pytest.raises(ConfigError, match=r"sources\.0\.password"):
        parse_pipeline(data)


def test_remote_sources_need_a_connection() -> None:
    with pytest.raises(ConfigError, match="conn_id"):
        parse_pipeline(with_source(kind="sftp"))
    with pytest.raises(ConfigError, match="bucket"):
        parse_pipeline(with_source(kind="s3", conn_id="s3"))


def test_sql_watermark_must_be_a_declared_column() -> None:
    data = with_source(kind="sql", conn_id="crm", sql={"table": "crm.customers", "watermark": "x"})
    with pytest.raises(ConfigError, match="watermark"):
        parse_pipeline(data)


def test_fixed_width_layout_must_not_overlap_and_must_cover_columns() -> None:
    columns = {"a": "string", "b": "int"}
    overlapping = {"a": {"start": 1, "width": 5}, "b": {"start": 4, "width": 2}}
    data = with_source(columns=columns, format="fixed_width", fixed_width={"columns": overlapping})
    with pytest.raises(ConfigError, match="overlap"):
        parse_pipeline(data)
    partial = {"a": {"start": 1, "width": 5}}
    data = with_source(columns=columns, format="fixed_width", fixed_width={"columns": partial})
    with pytest.raises(ConfigError, match="exactly the declared columns"):
        parse_pipeline(data)


def test_unknown_encoding_is_named() -> None:
    with pytest.raises(ConfigError, match=r"sources\.0\.encoding"):
        parse_pipeline(with_source(encoding="latin-42"))


@pytest.mark.parametrize(
    "schedule", ["0 2 * * *", "@daily", "0 3 * * 1", "@weekly", "@monthly", "0 2 * * 1-5"]
)
def test_daily_and_coarser_schedules_load(schedule: str) -> None:
    data = yaml.safe_load((PROJECT / "driftline.yaml").read_text())
    assert parse_pipeline({**data, "schedule": schedule}).schedule == schedule


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("*/15 * * * *", "runs more than once an hour"),
        ("5,35 * * * *", "would replace the first's data"),
        ("every night", "is not a cron expression"),
    ],
)
def test_a_schedule_that_would_overwrite_a_partition_is_refused(
    schedule: str, message: str
) -> None:
    data = yaml.safe_load((PROJECT / "driftline.yaml").read_text())
    with pytest.raises(ConfigError, match="schedule") as caught:
        parse_pipeline({**data, "schedule": schedule})
    assert message in str(caught.value)


def hourly_pipeline(schedule: str = "@hourly") -> dict:  # type: ignore[type-arg]
    """The demo's pipeline run hourly: each source's files in a folder per hour, labels
    dated by the hour they describe."""
    data = yaml.safe_load((PROJECT / "driftline.yaml").read_text())
    for source in data["sources"]:
        source["path"] = source["path"].replace("{run_date}", "{run_date}/{run_hour}")
    labels = next(s for s in data["sources"] if s["name"] == data["label"]["source"])
    labels["columns"][data["label"]["date_column"]] = "timestamp"
    return {**data, "schedule": schedule}


@pytest.mark.parametrize("schedule", ["@hourly", "5 * * * *", "0 */6 * * *", "0 2,14 * * *"])
def test_a_schedule_that_runs_more_than_once_a_day_makes_an_hourly_pipeline(
    schedule: str,
) -> None:
    pipeline = parse_pipeline(hourly_pipeline(schedule))
    assert pipeline.hourly
    assert not parse_pipeline(yaml.safe_load((PROJECT / "driftline.yaml").read_text())).hourly


def test_an_hourly_pipeline_names_the_hour_in_its_paths_and_dates_labels_by_the_hour() -> None:
    data = hourly_pipeline()
    daily_paths = yaml.safe_load((PROJECT / "driftline.yaml").read_text())["sources"]
    with pytest.raises(ConfigError, match=r"path .* must name \{run_hour\}"):
        parse_pipeline({**data, "sources": daily_paths})
    labels = next(s for s in data["sources"] if s["name"] == data["label"]["source"])
    labels["columns"][data["label"]["date_column"]] = "date"
    with pytest.raises(ConfigError, match=r"label\.date_column 'label_date' must be a timestamp"):
        parse_pipeline(data)


def test_a_daily_pipeline_cannot_name_an_hour_nor_an_unknown_placeholder() -> None:
    data = hourly_pipeline("0 2 * * *")
    with pytest.raises(ConfigError, match="names \\{run_hour\\}, but the schedule"):
        parse_pipeline(data)
    data = yaml.safe_load((PROJECT / "driftline.yaml").read_text())
    data["sources"][0]["path"] = "customers/{day}/*.csv"
    with pytest.raises(ConfigError, match=r"unknown placeholder\(s\) \['day'\]"):
        parse_pipeline(data)


def test_a_range_runs_on_the_dates_the_schedule_runs() -> None:
    from datetime import date

    from driftline.core.pipeline import scheduled_dates

    may = (date(2024, 5, 1), date(2024, 5, 15))
    assert len(scheduled_dates("0 2 * * *", *may)) == 15
    assert scheduled_dates("0 2 * * 3", *may) == [date(2024, 5, d) for d in (1, 8, 15)]
    assert scheduled_dates("@monthly", date(2024, 1, 15), date(2024, 4, 1)) == [
        date(2024, 2, 1),
        date(2024, 3, 1),
        date(2024, 4, 1),
    ]
