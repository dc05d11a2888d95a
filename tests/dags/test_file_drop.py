"""`driftline_file_drop` through real Airflow (`dag.test()`): deferrable provider sensors
for a local drop, an SFTP server and an S3 endpoint wait for the date's files (the SFTP
file lands while its sensor is deferred), then each source is ingested."""

from __future__ import annotations

import os
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from driftline.core import tables
from tests.conftest import PROJECT, make_settings, settings_environment
from tests.servers import SFTP_PASSWORD, SFTP_USER, connection_env

pytestmark = pytest.mark.integration

HEADER = "order_id,order_day,amount,items,city\n"
COLUMNS = {
    "order_id": "string",
    "order_day": "date",
    "amount": "double",
    "items": "int",
    "city": "string",
}
FAST = {"poke_seconds": 1, "timeout_hours": 0.05}


def body(start: int, n: int) -> str:
    return HEADER + "".join(f"O{i:04d},2024-03-01,{i}.5,1,Lyon\n" for i in range(start, start + n))


def pipeline(sftp_conn: str, s3_conn: str) -> dict[str, Any]:
    return {
        "pipeline": "file_drop",
        "start_date": "2024-01-01",
        "entity": {"name": "order", "key": "order_id", "source": "shop_orders"},
        "sources": [
            {
                "name": "shop_orders",
                "path": "shop/{run_date}/*.csv",
                "on_arrival": True,
                "arrival": FAST,
                "columns": COLUMNS,
            },
            {
                "name": "crm_orders",
                "kind": "sftp",
                "conn_id": sftp_conn,
                "path": "/file-drop-outbox/{run_date}/*.csv",
                "on_arrival": True,
                "arrival": {**FAST, "done_marker": ".done"},
                "columns": COLUMNS,
            },
            {
                "name": "web_orders",
                "kind": "s3",
                "conn_id": s3_conn,
                "bucket": "web-drops",
                "path": "orders/{run_date}/*.csv",
                "on_arrival": True,
                "arrival": FAST,
                "columns": COLUMNS,
            },
            {
                "name": "outcomes",
                "path": "outcomes/{run_date}/*.csv",
                "columns": {"order_id": "string", "day": "date", "returned": "int"},
            },
        ],
        "features": [{"name": "amount"}],
        "label": {"source": "outcomes", "column": "returned", "date_column": "day"},
        "model": {"name": "file-drop"},
    }


def test_file_drop_dag_waits_deferred_then_ingests(  # type: ignore[no-untyped-def]
    spark, airflow_db, tmp_path: Path, sftp_server, s3_endpoint, s3_client
) -> None:
    from driftline.lake import open_lake
    from driftline.orchestration.airflow_runner import load_dag, run_for_date

    (tmp_path / "driftline.yaml").write_text(yaml.safe_dump(pipeline("drop_sftp", "drop_s3")))
    settings = make_settings(tmp_path, pipeline_file=tmp_path / "driftline.yaml")
    environment = {
        **settings_environment(settings),
        **connection_env(
            "drop_sftp",
            conn_type="sftp",
            host="127.0.0.1",
            port=sftp_server.port,
            login=SFTP_USER,
            password=SFTP_PASSWORD,
            extra={"host_key": sftp_server.host_key, "look_for_keys": False},
        ),
        **connection_env(
            "drop_s3",
            conn_type="aws",
            login="testing",
            password="testing",
            extra={"endpoint_url": s3_endpoint.url, "region_name": "us-east-1"},
        ),
        **connection_env("fs_default", conn_type="fs", extra={"path": "/"}),
    }
    local = settings.resolved_drop_root / "shop" / "2024-03-01"
    local.mkdir(parents=True)
    (local / "a.csv").write_text(body(1, 3))
    s3_client.create_bucket(Bucket="web-drops")
    s3_client.put_object(Bucket="web-drops", Key="orders/2024-03-01/w.csv", Body=body(10, 2))
    # Its own folder on the shared SFTP server: other tests use /outbox for the same dates.
    outbox = sftp_server.root / "file-drop-outbox" / "2024-03-01"
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / "crm.csv").write_text(body(20, 4))  # written, but not yet marked done

    def mark_done_later() -> None:
        time.sleep(4)
        (outbox / "crm.csv.done").write_text("")

    saved = dict(os.environ)
    os.environ.update(environment)
    marker = threading.Thread(target=mark_done_later)
    try:
        dag = load_dag("driftline_file_drop", PROJECT / "dags")
        assert {t.task_id for t in dag.tasks} >= {
            "wait_for_shop_orders",
            "wait_for_crm_orders",
            "wait_for_web_orders",
            "ingest_shop_orders",
            "ingest_crm_orders",
            "ingest_web_orders",
        }
        assert all(dag.get_task(f"wait_for_{n}").deferrable for n in ("crm_orders", "web_orders"))
        marker.start()
        started = time.monotonic()
        state = run_for_date(dag, date(2024, 3, 1))
        waited = time.monotonic() - started
    finally:
        marker.join()
        os.environ.clear()
        os.environ.update(saved)

    assert state == "success"
    assert waited >= 4  # the SFTP sensor was deferred until the done-marker appeared
    lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
    counts = {
        name: lake.read(tables.bronze(name)).count()
        for name in ("shop_orders", "crm_orders", "web_orders")
    }
    assert counts == {"shop_orders": 3, "crm_orders": 4, "web_orders": 2}
