"""Extracts from legacy databases through SQLAlchemy, staged as Parquet for Spark.

The database URL is built from the Airflow connection named by `conn_id` (never from the
YAML); table and column names were validated by the config and are quoted here by
SQLAlchemy, so a name can never become SQL.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from driftline.core.errors import SourceError, redact
from driftline.core.intervals import RunInterval
from driftline.core.source_config import SourceConfig
from driftline.sources.files import DroppedFile

logger = logging.getLogger(__name__)


def sqlalchemy_url(conn_id: str) -> Any:
    """A SQLAlchemy URL for an Airflow connection of type sqlite or postgres."""
    from airflow.sdk import BaseHook
    from sqlalchemy.engine import URL

    conn = BaseHook.get_connection(conn_id)
    kind = (conn.conn_type or "").lower()
    if kind == "sqlite":
        return URL.create("sqlite", database=conn.host or conn.schema)
    if kind in ("postgres", "postgresql"):
        return URL.create(
            "postgresql+psycopg2",
            username=conn.login,
            password=conn.password,
            host=conn.host,
            port=conn.port,
            database=conn.schema,
        )
    raise SourceError(
        f"connection {conn_id!r} has type {conn.conn_type!r}; sql sources support sqlite and "
        "postgres connections"
    )


@dataclass(frozen=True)
class Watermarks:
    """The watermark window of one date's incremental extract.

    `after`: the high-water mark of the latest earlier date. `up_to`: set when the date was
    extracted before, to its recorded high-water mark, so a re-run extracts exactly the
    same rows even though newer ones have arrived since (they belong to later dates).
    """

    after: str | None = None
    up_to: str | None = None


def _text(value: Any) -> str | None:
    """Bronze keeps what the source said, as text, in one canonical spelling per type."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def sql_extract(
    source: SourceConfig, interval: RunInterval, staging: Path, window: Watermarks
) -> DroppedFile:
    """Extract the source's columns (when incremental, rows in the watermark window) into
    one Parquet file of strings; its checksum is over the rows, so an unchanged full
    extract is recognised as a duplicate."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sqlalchemy import column, create_engine, select, table
    from sqlalchemy.sql.elements import quoted_name

    assert source.sql is not None and source.conn_id is not None
    schema, name = source.sql.schema_and_name
    columns = list(source.columns)
    target = table(
        quoted_name(name, quote=True),
        *[column(quoted_name(c, quote=True)) for c in columns],
        schema=quoted_name(schema, quote=True) if schema else None,
    )
    query = select(*[target.c[c] for c in columns])
    watermark = source.sql.watermark
    if watermark:
        if window.after is not None:
            query = query.where(target.c[watermark] > window.after)
        if window.up_to is not None:
            query = query.where(target.c[watermark] <= window.up_to)
        query = query.order_by(target.c[watermark])

    arrow_schema = pa.schema([(c, pa.string()) for c in columns])
    path = staging / f"{source.sql.table}-{interval.label}.parquet"
    digest = hashlib.sha256()
    rows = 0
    high: str | None = None
    engine = create_engine(sqlalchemy_url(source.conn_id))
    try:
        with engine.connect() as connection, pq.ParquetWriter(path, arrow_schema) as writer:
            result = connection.execution_options(yield_per=source.sql.fetch_rows).execute(query)
            for chunk in result.partitions():
                texts = [[_text(v) for v in row] for row in chunk]
                for row in texts:
                    digest.update(json.dumps(row).encode())
                writer.write_table(pa.table(list(zip(*texts, strict=True)), schema=arrow_schema))
                rows += len(texts)
                if watermark:
                    high = texts[-1][columns.index(watermark)]
    except Exception as error:
        if isinstance(error, SourceError):
            raise
        raise SourceError(
            redact(f"source {source.name!r}: extract from {source.sql.table} failed: {error}")
        ) from error
    finally:
        engine.dispose()
    logger.info("source %s: extracted %d row(s) from %s", source.name, rows, source.sql.table)
    return DroppedFile(
        path.name,
        path,
        path.stat().st_size if rows else 0,
        digest.hexdigest(),
        f"sql://{source.conn_id}/{source.sql.table}",
        watermark_from=window.after,
        watermark_to=high if high is not None else window.after,
    )
