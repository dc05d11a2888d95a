"""From raw bronze strings to the types a source declares (pure transforms)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftline.core import tables
from driftline.core.source_config import SourceConfig

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# Typed batches keep bronze's lineage columns next to the declared ones (those bronze has:
# the run's hour only in an hourly pipeline).
LINEAGE_COLUMNS = tables.bronze_metadata(hourly=True)


def typed(bronze: DataFrame, source: SourceConfig, with_checks: bool = False) -> DataFrame:
    """Cast every declared column; a value that does not parse becomes null.

    `try_cast` (not `cast`) because Spark's ANSI mode would fail the whole job on the first
    bad value. With `with_checks`, each non-string column gets a `_cast_failed_<column>`
    flag (raw value present, typed value null) and `_raw` keeps the raw row as JSON, so the
    quality gate can quarantine exactly those rows with their original text.
    """
    from pyspark.sql import functions as F

    columns = []
    checks = []
    for name, kind in source.columns.items():
        markers = source.missing_markers(name)
        if kind == "string":
            value = F.col(name)
            if markers:
                value = F.when(~F.trim(value).isin(markers), value)
            columns.append(value.alias(name))
            continue
        raw = F.trim(F.col(name))
        if markers:
            raw = F.when(~raw.isin(markers), raw)
        if source.csv.decimal == "," and kind == "double":
            raw = F.regexp_replace(raw, ",", ".")
        cast = _parsed(raw, kind, source.formats.get(name))
        columns.append(cast.alias(name))
        if with_checks:
            checks.append(
                ((raw.isNotNull() & (raw != "")) & cast.isNull()).alias(f"_cast_failed_{name}")
            )
    if with_checks:
        checks.append(F.to_json(F.struct(*[F.col(c) for c in source.columns])).alias("_raw"))
    lineage = [F.col(c) for c in LINEAGE_COLUMNS if c in bronze.columns]
    return bronze.select(*columns, *lineage, *checks)


def _parsed(raw: Column, kind: str, pattern: str | None) -> Column:
    from pyspark.sql import functions as F

    if pattern is None:
        return raw.try_cast(kind)
    if kind == "date":
        return F.try_to_date(raw, pattern)
    return F.try_to_timestamp(raw, F.lit(pattern))


def cast_checked_columns(source: SourceConfig) -> list[str]:
    return [name for name, kind in source.columns.items() if kind != "string"]


def drop_checks(df: DataFrame) -> DataFrame:
    return df.drop("_raw", *[c for c in df.columns if c.startswith("_cast_failed_")])


def latest_within_batch(df: DataFrame, keys: str | list[str]) -> DataFrame:
    """One row per key within one date's batch: the last one in file order wins."""
    from driftline.core.transforms import latest_per_key

    keys = [keys] if isinstance(keys, str) else keys
    return latest_per_key(None, df, keys, ["_source_file", "_row_number"])
