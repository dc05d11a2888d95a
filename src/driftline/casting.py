"""From raw bronze strings to the types a source declares (pure transforms)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftline import tables
from driftline.config import SourceConfig

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

# Extra bookkeeping columns typed batches carry alongside the declared ones.
LINEAGE_COLUMNS = ("_source_file", "_row_number", tables.RUN_DATE)


def typed(bronze: DataFrame, source: SourceConfig) -> DataFrame:
    """Cast every declared column; a value that does not parse becomes null.

    `try_cast` (not `cast`) because Spark's ANSI mode would fail the whole job on the first
    bad value; validation then reports nulls per column, and the rows can be quarantined.
    """
    from pyspark.sql import functions as F

    columns = []
    for name, kind in source.columns.items():
        if kind == "string":
            columns.append(F.col(name))
        else:
            columns.append(F.trim(F.col(name)).try_cast(kind).alias(name))
    return bronze.select(*columns, *[F.col(c) for c in LINEAGE_COLUMNS])


def latest_within_batch(df: DataFrame, key: str) -> DataFrame:
    """One row per key within one date's batch: the last one in file order wins."""
    from driftline.transforms import latest_per_key

    return latest_per_key(None, df, [key], ["_source_file", "_row_number"])
