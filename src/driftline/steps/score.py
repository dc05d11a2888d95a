"""Score: the champion's predictions for this date's features, with their lineage.

Every row names the model (name, version, alias, MLflow run) and the Delta version of the
features it read, so an auditor can reproduce it.
"""

from __future__ import annotations

import json
import logging

from driftline.context import RunContext, StepResult
from driftline.core import tables
from driftline.data.features import AS_OF
from driftline.model import registry
from driftline.model.lifecycle import champion_on
from driftline.model.scoring import score_frame
from driftline.quality.results import gate

logger = logging.getLogger(__name__)


def run(ctx: RunContext) -> StepResult:
    from pyspark.sql import functions as F

    model_name = ctx.pipeline.model.name
    registry.configure_mlflow(ctx.settings, f"driftline-{ctx.pipeline.pipeline}")
    result = StepResult("score", ctx.ds)
    refs = registry.scoring_models(model_name)
    if not refs or refs[0].alias != registry.CHAMPION:
        result.skipped = f"no champion for {model_name!r} yet (waiting for labels to train one)"
        logger.warning(result.skipped)
        return result
    then = champion_on(ctx, ctx.interval, refs[0].version)
    if then != refs[0].version:
        # A backfill of a date before the latest champion change: that date's champion
        # scores it, alone (today's challengers did not exist then).
        logger.info("%s: scoring with v%s, the champion on that date", ctx.ds, then)
        refs = [
            registry.ModelRef(
                model_name, then, registry.CHAMPION, registry.run_id_of(model_name, then)
            )
        ]

    features_version = ctx.lake.version(tables.FEATURES)
    features = ctx.lake.read(tables.FEATURES, features_version).where(ctx.interval.is_this())
    files = feature_files(ctx, features_version)
    gate(
        ctx,
        features,
        tables.FEATURES,
        recorded_as=f"{tables.FEATURES}:scoring",
        row_count=ctx.lake.partition_rows(
            tables.FEATURES, ctx.interval.partition, features_version
        ),
    )
    key = ctx.pipeline.entity.key
    input_versions = json.dumps({tables.FEATURES: features_version})
    predictions = None
    # The champion and every challenger (in shadow) score the same rows; one partition
    # replace writes them all, so a re-run never mixes models from two runs.
    task = ctx.pipeline.task
    # A multiclass model's predicted class and every class's probability, beside its score.
    per_class = ["predicted_class", "class_probabilities"] if task.kind == "multiclass" else []
    for ref in refs:
        model = registry.load(ref)
        scored = score_frame(
            features,
            model.booster,
            model.encoding,
            keep=[key, AS_OF],
            top_k=ctx.pipeline.model.top_contributions,
            device=ctx.settings.device,
            classes=task.classes,
            files=files,
        ).select(
            key,
            AS_OF,
            "score",
            *per_class,
            "top_contributions",
            "contribution_method",
            F.lit(ref.name).alias("model_name"),
            F.lit(ref.version).alias("model_version"),
            F.lit(ref.alias).alias("model_alias"),
            F.lit(ref.run_id).alias("mlflow_run_id"),
            F.lit(features_version).cast("long").alias("features_version"),
            F.lit(input_versions).alias("input_versions"),
            F.lit(ctx.run_id).alias("run_id"),
            *ctx.interval.literals(),
        )
        predictions = scored if predictions is None else predictions.unionByName(scored)
    assert predictions is not None
    written = ctx.lake.replace_partition(
        tables.PREDICTIONS, predictions, ctx.interval.partition, ctx.commit_metadata("score")
    )
    result.table_versions[written.table] = written.version
    result.metrics.update(
        {
            "rows": written.rows,
            "model_version": refs[0].version,
            "shadow_versions": [r.version for r in refs[1:]],
        }
    )
    return result


def feature_files(ctx: RunContext, version: int) -> list[str] | None:
    """The features files of this run, for Arrow to read inside the scoring tasks; None
    to read them through Spark instead: when the table needs a Delta reader (deletion
    vectors, column mapping), or when `DRIFTLINE_SCORE_READER=spark` asks for it (to
    compare the two, or where executors cannot open the lake's files themselves)."""
    if ctx.settings.score_reader == "spark":
        return None
    files = ctx.lake.data_files(tables.FEATURES, ctx.interval.partition, version)
    if files is None:
        logger.info("%s: scoring reads the features through Spark's Delta reader", ctx.ds)
    return files
