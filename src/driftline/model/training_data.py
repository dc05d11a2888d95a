"""Labelled feature rows, as training and the promotion gate read them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.intervals import RunInterval
from driftline.data.features import AS_OF
from driftline.quality.results import gate

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame


def labelled_features(
    ctx: RunContext,
    after: date | datetime,
    until: date | datetime,
    labels_known_by: RunInterval,
    versions: dict[str, int],
    check: bool = False,
) -> pa.Table:
    """`labelled_frame`, collected to the driver in (as_of_date, key) order."""
    frame = labelled_frame(ctx, after, until, labels_known_by, versions, check)
    return frame.orderBy(AS_OF, ctx.pipeline.entity.key).toArrow()


def as_of_value(text: str) -> date | datetime:
    """An as-of value written as text (a model's holdout bounds, in its tags): a date, or
    in an hourly pipeline the UTC hour a row describes."""
    if len(text) <= 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def before_as_of(text: str) -> date | datetime:
    """The as-of value just before `text`'s: the day before, or the hour before."""
    value = as_of_value(text)
    return value - (timedelta(hours=1) if isinstance(value, datetime) else timedelta(days=1))


def labelled_frame(
    ctx: RunContext,
    after: date | datetime,
    until: date | datetime,
    labels_known_by: RunInterval,
    versions: dict[str, int],
    check: bool = False,
) -> DataFrame:
    """Feature rows with `after < as_of_date <= until` whose label had arrived by
    `labels_known_by`, read at the given Delta versions (so a model's training or holdout
    data can be read again, identically, later)."""
    from pyspark.sql import functions as F

    key = ctx.pipeline.entity.key
    features = ctx.lake.read(tables.FEATURES, versions[tables.FEATURES]).where(
        (F.col(AS_OF) > F.lit(after)) & (F.col(AS_OF) <= F.lit(until))
    )
    if check:
        gate(ctx, features, tables.FEATURES, recorded_as=f"{tables.FEATURES}:training")
    labels = (
        ctx.lake.read(tables.LABELS, versions[tables.LABELS])
        .where(labels_known_by.up_to())
        .select(key, F.col("label_date").alias(AS_OF), "label")
        .dropDuplicates([key, AS_OF])
    )
    # Unordered: the executors' fit needs no sort; whoever collects orders (`labelled_features`).
    return features.join(labels, [key, AS_OF]).select(
        key, AS_OF, *ctx.pipeline.feature_names, "label"
    )


def unmatched_labels(
    ctx: RunContext,
    after: date | datetime,
    until: date | datetime,
    labels_known_by: RunInterval,
    versions: dict[str, int],
) -> tuple[int, int, int]:
    """(labels of the window, those that match no feature row, those dated a day with no
    feature rows at all): a label joins the features of its entity on its day; one that
    matches none on a day that has features points at a key or date mismatch between the
    sources, and is counted rather than dropped in silence. A label of a day that was never
    run (before the first night, or a gap a backfill will fill) is not a mismatch."""
    from pyspark.sql import functions as F

    key = ctx.pipeline.entity.key
    labels = (
        ctx.lake.read(tables.LABELS, versions[tables.LABELS])
        .where(labels_known_by.up_to())
        .select(key, F.col("label_date").alias(AS_OF))
        .where((F.col(AS_OF) > F.lit(after)) & (F.col(AS_OF) <= F.lit(until)))
        .dropDuplicates([key, AS_OF])
    )
    features = ctx.lake.read(tables.FEATURES, versions[tables.FEATURES]).select(key, AS_OF)
    days = features.select(AS_OF).distinct().withColumn("__day_built", F.lit(1))
    counts = (
        labels.join(
            features.dropDuplicates([key, AS_OF]).withColumn("__matched", F.lit(1)),
            [key, AS_OF],
            "left",
        )
        .join(days, [AS_OF], "left")
        .agg(
            F.count(F.lit(1)).alias("labels"),
            F.count("__matched").alias("matched"),
            F.count("__day_built").alias("on_built_days"),
        )
        .collect()[0]
    )
    total, matched = int(counts["labels"]), int(counts["matched"])
    on_built_days = int(counts["on_built_days"])
    return total, on_built_days - matched, total - on_built_days
