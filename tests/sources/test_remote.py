"""SFTP, S3 and SQL sources against real servers: files arrive once, complete, and safely."""

from __future__ import annotations

import gzip
import sqlite3
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.intervals import RunInterval
from driftline.core.loading import parse_pipeline
from driftline.steps import ingest
from tests.conftest import make_settings
from tests.servers import POSTGRES, connection_env

pytestmark = pytest.mark.integration

HEADER = "order_id,order_day,amount,items,city\n"
COLUMNS = {
    "order_id": "string",
    "order_day": "date",
    "amount": "double",
    "items": "int",
    "city": "string",
}


def rows(start: int, n: int) -> str:
    return "".join(f"O{i:04d},2024-03-01,{i}.5,{i % 5},Lyon\n" for i in range(start, start + n))


def pipeline_with(source: dict[str, Any]) -> Any:
    return parse_pipeline(
        {
            "pipeline": "remote",
            "entity": {"name": "order", "key": "order_id", "source": source["name"]},
            "sources": [
                {"columns": COLUMNS, **source},
                {
                    "name": "outcomes",
                    "path": "outcomes/*",
                    "columns": {"order_id": "string", "day": "date", "returned": "int"},
                },
            ],
            "features": [{"name": "amount"}],
            "label": {"source": "outcomes", "column": "returned", "date_column": "day"},
            "model": {"name": "remote"},
        }
    )


@pytest.fixture
def run_ingest(spark, tmp_path: Path):  # type: ignore[no-untyped-def]
    from driftline.lake import open_lake

    settings = make_settings(tmp_path)
    lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")

    def run(source: dict[str, Any], day: str = "2024-03-01") -> RunContext:
        pipeline = pipeline_with(source)
        ctx = RunContext(
            RunInterval(date.fromisoformat(day)), f"t-{day}", settings, pipeline, spark, lake
        )
        ingest.run(ctx, source=source["name"])
        return ctx

    return run


def manifest(ctx: RunContext) -> dict[str, dict[str, Any]]:
    from pyspark.sql import functions as F

    table = ctx.lake.read(tables.INGEST_MANIFEST).where(F.col(tables.RUN_DATE) == ctx.ds)
    return {r["file_name"]: r.asDict() for r in table.collect()}


def bronze_count(ctx: RunContext, source: str) -> int:
    return ctx.lake.read(tables.bronze(source)).count()


# -- SFTP ------------------------------------------------------------------------------------


def sftp_source(conn: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "orders",
        "kind": "sftp",
        "conn_id": conn,
        "path": "/outbox/{run_date}/*.csv*",
        **extra,
    }


def put(root: Path, relative: str, data: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_sftp_files_are_downloaded_and_ingested(run_ingest, sftp_server, sftp_conn) -> None:  # type: ignore[no-untyped-def]
    put(sftp_server.root, "outbox/2024-03-01/a.csv", HEADER + rows(1, 3))
    put(
        sftp_server.root,
        "outbox/2024-03-01/b.csv.gz",
        gzip.compress((HEADER + rows(4, 2)).encode()),
    )
    put(sftp_server.root, "outbox/2024-03-02/c.csv", HEADER + rows(9, 7))  # another date

    ctx = run_ingest(sftp_source(sftp_conn))
    entries = manifest(ctx)
    assert {n: e["rows_bronze"] for n, e in entries.items()} == {"a.csv": 3, "b.csv.gz": 2}
    assert entries["a.csv"]["origin"] == "sftp://legacy_sftp/outbox/2024-03-01/a.csv"
    assert bronze_count(ctx, "orders") == 5
    # The server is left as it was: Driftline reads, it does not delete the sender's files.
    assert (sftp_server.root / "outbox/2024-03-01/a.csv").exists()

    run_ingest(sftp_source(sftp_conn))  # re-running the date replaces, never appends
    assert bronze_count(ctx, "orders") == 5


def test_sftp_names_that_clean_alike_both_land(run_ingest, sftp_server, sftp_conn) -> None:  # type: ignore[no-untyped-def]
    # A date of its own: the server is shared with the other SFTP tests.
    put(sftp_server.root, "outbox/2024-04-01/a b.csv", HEADER + rows(1, 2))
    put(sftp_server.root, "outbox/2024-04-01/a_b.csv", HEADER + rows(3, 5))

    ctx = run_ingest(sftp_source(sftp_conn), day="2024-04-01")
    entries = manifest(ctx)
    assert {n: e["rows_bronze"] for n, e in entries.items()} == {"a b.csv": 2, "a_b.csv": 5}
    assert len({e["file_path"] for e in entries.values()}) == 2
    assert bronze_count(ctx, "orders") == 7


def test_sftp_done_marker_holds_back_incomplete_files(run_ingest, sftp_server, sftp_conn) -> None:  # type: ignore[no-untyped-def]
    folder = "outbox/2024-03-05"
    put(sftp_server.root, f"{folder}/ready.csv", HEADER + rows(20, 2))
    put(sftp_server.root, f"{folder}/ready.csv.done", "")
    put(sftp_server.root, f"{folder}/writing.csv", HEADER + rows(30, 1))
    source = sftp_source(sftp_conn, arrival={"done_marker": ".done"})

    ctx = run_ingest(source, "2024-03-05")
    entries = manifest(ctx)
    assert entries["ready.csv"]["status"] == "ingested"
    assert entries["writing.csv"]["status"] == "not_ready"
    assert "ready.csv.done" not in entries
    assert bronze_count(ctx, "orders") == 2

    put(sftp_server.root, f"{folder}/writing.csv", HEADER + rows(30, 4))
    put(sftp_server.root, f"{folder}/writing.csv.done", "")
    ctx = run_ingest(source, "2024-03-05")
    assert manifest(ctx)["writing.csv"]["rows_bronze"] == 4
    assert bronze_count(ctx, "orders") == 6


def test_sftp_file_still_growing_is_not_picked_up(run_ingest, sftp_server, sftp_conn) -> None:  # type: ignore[no-untyped-def]
    folder = sftp_server.root / "outbox/2024-03-06"
    put(sftp_server.root, "outbox/2024-03-06/done.csv", HEADER + rows(40, 2))
    growing = put(sftp_server.root, "outbox/2024-03-06/growing.csv", HEADER + rows(50, 1))
    os_mtime = growing.stat().st_mtime

    def keep_writing() -> None:
        for i in range(8):
            time.sleep(0.25)
            with growing.open("a") as handle:
                handle.write(rows(60 + i, 1))

    writer = threading.Thread(target=keep_writing)
    writer.start()
    ctx = run_ingest(sftp_source(sftp_conn, arrival={"stable_seconds": 1.0}), "2024-03-06")
    writer.join()
    entries = manifest(ctx)
    assert entries["done.csv"]["status"] == "ingested"
    assert entries["growing.csv"]["status"] == "not_ready"
    assert growing.stat().st_mtime > os_mtime
    assert folder.exists()


def test_sftp_host_key_is_verified(run_ingest, sftp_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import asyncssh

    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    env = connection_env(
        "spoofed_sftp",
        conn_type="sftp",
        host="127.0.0.1",
        port=sftp_server.port,
        login="legacy",
        password="drop-password",
        extra={"host_key": " ".join(other.split()[:2]), "look_for_keys": False},
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    put(sftp_server.root, "outbox/2024-03-07/a.csv", HEADER + rows(1, 1))
    with pytest.raises(Exception, match=r"(?i)host key|key.*(mismatch|verif)|BadHostKey"):
        run_ingest(sftp_source("spoofed_sftp"), "2024-03-07")


# -- S3 --------------------------------------------------------------------------------------


def test_s3_objects_are_ingested_exactly_once(run_ingest, s3_conn, s3_client) -> None:  # type: ignore[no-untyped-def]
    s3_client.create_bucket(Bucket="legacy-drops")
    s3_client.put_object(
        Bucket="legacy-drops", Key="crm/2024-03-01/a.csv", Body=HEADER + rows(1, 4)
    )
    s3_client.put_object(
        Bucket="legacy-drops", Key="crm/2024-03-02/renamed.csv", Body=HEADER + rows(1, 4)
    )
    # A key crafted to climb out of the staging folder lands inside it, flattened.
    s3_client.put_object(
        Bucket="legacy-drops", Key="crm/2024-03-01/..\\..\\..\\escape.csv", Body=HEADER + rows(7, 1)
    )
    source = {
        "name": "orders",
        "kind": "s3",
        "conn_id": s3_conn,
        "bucket": "legacy-drops",
        "path": "crm/{run_date}/*.csv",
    }
    ctx = run_ingest(source)
    entries = manifest(ctx)
    assert entries["a.csv"]["origin"] == "s3://legacy-drops/crm/2024-03-01/a.csv"
    assert sum(e["rows_bronze"] for e in entries.values()) == 5
    staged = [p for p in Path(ctx.settings.resolved_staging_root).rglob("*") if p.is_file()]
    assert all(p.is_relative_to(ctx.settings.resolved_staging_root) for p in staged)
    assert not (Path(ctx.settings.resolved_staging_root).parent / "escape.csv").exists()

    ctx = run_ingest(source, "2024-03-02")  # same content, new name, next day
    assert manifest(ctx)["renamed.csv"]["status"] == "duplicate"
    assert bronze_count(ctx, "orders") == 5


# -- SQL -------------------------------------------------------------------------------------

CREATE = (
    "CREATE TABLE crm_orders (order_id TEXT, order_day TEXT, amount REAL, items INTEGER, "
    'city TEXT, "group" TEXT, updated_at TEXT)'
)


def insert(execute: Any, start: int, n: int, stamp: str) -> None:
    for i in range(start, start + n):
        execute(
            "INSERT INTO crm_orders VALUES (?, ?, ?, ?, ?, ?, ?)",
            (f"O{i:04d}", "2024-03-01", i + 0.5, i % 5, "Lyon", "b2b", f"{stamp} 0{i % 9}:00:00"),
        )


def sql_source(conn: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "orders",
        "kind": "sql",
        "conn_id": conn,
        "columns": {**COLUMNS, "group": "string", "updated_at": "timestamp"},
        **extra,
    }


def check_incremental(run_ingest, add_rows, conn: str) -> None:  # type: ignore[no-untyped-def]
    source = sql_source(conn, sql={"table": "crm_orders", "watermark": "updated_at"})
    add_rows(1, 3, "2024-03-01")
    ctx = run_ingest(source, "2024-03-01")
    first = manifest(ctx)
    assert [e["rows_bronze"] for e in first.values()] == [3]

    add_rows(10, 2, "2024-03-02")
    ctx = run_ingest(source, "2024-03-02")
    second = next(iter(manifest(ctx).values()))
    assert second["rows_bronze"] == 2
    assert second["watermark_from"] == next(iter(first.values()))["watermark_to"]

    # Re-running the first date extracts the same window, not the rows of the second.
    ctx = run_ingest(source, "2024-03-01")
    assert next(iter(manifest(ctx).values()))["rows_bronze"] == 3
    assert bronze_count(ctx, "orders") == 5
    groups = {r[0] for r in ctx.lake.read(tables.bronze("orders")).select("group").collect()}
    assert groups == {"b2b"}  # a reserved word as a column name, quoted by SQLAlchemy

    full = sql_source(conn, sql={"table": "crm_orders"})
    ctx = run_ingest(full, "2024-03-03")
    assert next(iter(manifest(ctx).values()))["rows_bronze"] == 5
    ctx = run_ingest(full, "2024-03-04")  # unchanged table: the same content, not again
    assert next(iter(manifest(ctx).values()))["status"] == "duplicate"


def test_sqlite_incremental_and_full_extracts(run_ingest, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "legacy.db"
    with sqlite3.connect(db) as connection:
        connection.execute(CREATE)
    for name, value in connection_env("legacy_sqlite", conn_type="sqlite", host=str(db)).items():
        monkeypatch.setenv(name, value)

    def add_rows(start: int, n: int, stamp: str) -> None:
        with sqlite3.connect(db) as connection:
            insert(connection.execute, start, n, stamp)

    check_incremental(run_ingest, add_rows, "legacy_sqlite")


@pytest.mark.skipif(
    not POSTGRES, reason="no PostgreSQL: DRIFTLINE_TEST_POSTGRES is unset (.ci/run sets it)"
)
def test_postgres_incremental_and_full_extracts(run_ingest, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import psycopg2
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES)
    with (
        psycopg2.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            dbname="driftline_legacy",
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("DROP TABLE IF EXISTS crm_orders")
        cursor.execute(
            CREATE.replace("REAL", "NUMERIC(10,2)").replace(
                "updated_at TEXT", "updated_at TIMESTAMP"
            )
        )
    env = connection_env(
        "legacy_pg",
        conn_type="postgres",
        host=url.host,
        port=url.port,
        login=url.username,
        password=url.password,
        schema="driftline_legacy",
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def add_rows(start: int, n: int, stamp: str) -> None:
        with (
            psycopg2.connect(
                host=url.host,
                port=url.port,
                user=url.username,
                password=url.password,
                dbname="driftline_legacy",
            ) as connection,
            connection.cursor() as cursor,
        ):
            insert(lambda sql, args: cursor.execute(sql.replace("?", "%s"), args), start, n, stamp)

    check_incremental(run_ingest, add_rows, "legacy_pg")
