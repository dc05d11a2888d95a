"""Scoring a Spark DataFrame with an XGBoost booster, one Arrow batch at a time.

The booster travels to executors as raw bytes in the scoring function's closure (over a
Spark Connect session, inside the plan sent to the server); each Python worker rebuilds
it once, on its executor's GPU where that executor has one, and predicts whole Arrow
batches (no per-row Python, no pandas), read by Arrow from the table's files where it can.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from driftline.core.device import choose_device
from driftline.core.errors import ScoringError
from driftline.data.features import FeatureEncoding

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import xgboost as xgb
    from pyspark.sql import DataFrame
    from pyspark.sql.types import StructField, StructType


def score_frame(
    df: DataFrame,
    booster: xgb.Booster,
    encoding: FeatureEncoding,
    keep: list[str],
    top_k: int = 3,
    device: str = "auto",
    classes: Sequence[str] = (),
    files: list[str] | None = None,
) -> DataFrame:
    """`keep` columns, `score`, the `top_k` feature contributions of each row and the
    method that computed them.

    `score` is the positive class's probability (binary), the predicted value (regression)
    or, for a multiclass model (`classes` given, in class-index order), the probability of
    the predicted class, with `predicted_class` and every class's probability
    (`class_probabilities`) beside it; a multiclass row's contributions are those towards
    its predicted class.

    Contributions are XGBoost's own (`pred_contribs`), largest by magnitude first, so an
    auditor sees why a row got its score: approximate (Saabas) on a CPU, exact (TreeSHAP)
    on a GPU, and each row says which. A NaN or infinite score fails the
    task, naming the row. `device` (auto, cpu, cuda) is resolved on each executor, since
    only the executor knows whether it has a GPU; the driver may have none.

    `files`, the Parquet files holding `df`'s rows (a Delta partition's, from
    `Lake.data_files`), are read by Arrow inside the Spark tasks, one task per file, and
    `df` only gives their schema: only the results cross from Python into the JVM, where
    through Spark's reader every feature value of every row also crosses the other way,
    which cost more than the prediction. A file lacking a column (written before the table
    gained it) reads it as null. The executors must reach the files where the driver
    listed them (a shared lake).
    """
    scorer = _Scorer.of(booster, encoding, keep, top_k, device, classes)
    schema = output_schema([df.schema[c] for c in keep], bool(classes))
    if files is None:
        return df.select(*keep, *encoding.names).mapInArrow(scorer, schema)

    from pyspark.sql.pandas.types import to_arrow_schema

    wanted = to_arrow_schema(df.select(*keep, *encoding.names).schema, timezone="UTC")
    reader = _FileScorer(scorer, files, wanted)
    # One task per file, each given its file's index: a range split this way needs no
    # shuffle (a repartition of a list of names costs a sampling job and a shuffle).
    indices = df.sparkSession.range(0, len(files), numPartitions=max(len(files), 1))
    return indices.mapInArrow(reader, schema)


def output_schema(kept: list[StructField], multiclass: bool) -> StructType:
    from pyspark.sql.types import ArrayType, DoubleType, StringType, StructField, StructType

    contribution = StructType(
        [StructField("feature", StringType()), StructField("contribution", DoubleType())]
    )
    per_class = (
        [
            StructField("predicted_class", StringType()),
            StructField("class_probabilities", ArrayType(DoubleType())),
        ]
        if multiclass
        else []
    )
    return StructType(
        [
            *kept,
            StructField("score", DoubleType()),
            *per_class,
            StructField("top_contributions", ArrayType(contribution)),
            StructField("contribution_method", StringType()),
        ]
    )


@dataclass(frozen=True)
class _Scorer:
    """What an executor needs to score: the booster as bytes (in the function's closure
    rather than a broadcast variable, which a Spark Connect client cannot make; PySpark
    broadcasts a pickled function over 1 MB by itself) and how to encode its features."""

    model: bytes
    encoding: dict[str, Any]
    keep: list[str]
    top_k: int
    device: str
    classes: list[str]
    from_contributions: bool

    @classmethod
    def of(
        cls,
        booster: xgb.Booster,
        encoding: FeatureEncoding,
        keep: list[str],
        top_k: int,
        device: str,
        classes: Sequence[str],
    ) -> Self:
        # For a logistic objective the contributions (bias included) sum to the margin, so
        # the one contributions pass gives the score too: a separate prediction cost a
        # fifth more.
        from_contributions = top_k > 0 and objective_of(booster) == "binary:logistic"
        return cls(
            bytes(booster.save_raw("ubj")),
            encoding.to_dict(),
            keep,
            top_k,
            device,
            list(classes),
            from_contributions,
        )

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return self.scored(batches)

    def scored(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import xgboost as xgb

        model = xgb.Booster()
        model.load_model(bytearray(self.model))
        on = choose_device(self.device)
        # One thread per Spark task: the executor runs as many tasks as it has cores.
        model.set_param({"nthread": 1, "device": on})
        encoder = FeatureEncoding.from_dict(self.encoding)
        for batch in batches:
            if batch.num_rows:
                yield score_batch(
                    model,
                    on,
                    encoder,
                    batch,
                    self.keep,
                    self.top_k,
                    self.from_contributions,
                    self.classes,
                )


# Rows Arrow hands over at a time from a file: large enough that the per-batch work
# (encoding, XGBoost's call overhead) vanishes, small enough for a worker's memory.
FILE_BATCH_ROWS = 1 << 16


@dataclass(frozen=True)
class _FileScorer:
    """`scorer` over `files` read where the task runs, each task given the indices of its
    own (its input rows), every file's rows in `columns`' names and types."""

    scorer: _Scorer
    files: list[str]
    columns: pa.Schema

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        mine = (i for batch in batches for i in batch.column("id").to_pylist())
        return self.scorer.scored(rows for i in mine for rows in self.read(self.files[i]))

    def read(self, uri: str) -> Iterator[pa.RecordBatch]:
        """`uri`'s rows in `columns`' names and types, a null column for any it lacks; a
        file that cannot be read fails the task, naming it."""
        import pyarrow as pa

        try:
            yield from self._batches(uri)
        except FileNotFoundError as error:
            raise ScoringError(
                f"features file {uri} is not where the Delta log says ({error}): if the "
                "table was vacuumed since, re-run the task; otherwise the Spark executors "
                "cannot see the lake where the driver does (use s3://, or a folder every "
                "host mounts at the same path)"
            ) from error
        except (OSError, pa.ArrowException) as error:
            raise ScoringError(f"cannot read features file {uri}: {error}") from error

    def _batches(self, uri: str) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from driftline.core import object_store

        filesystem, path = object_store.filesystem(uri)
        with filesystem.open_input_file(path) as handle:
            # INT96 timestamps (older writers) as microseconds, as Spark reads them: in
            # nanoseconds they overflow outside 1677-2262.
            parquet = pq.ParquetFile(handle, coerce_int96_timestamp_unit="us")
            present = set(parquet.schema_arrow.names)
            stored = [f.name for f in self.columns if f.name in present]
            for batch in parquet.iter_batches(batch_size=FILE_BATCH_ROWS, columns=stored):
                yield pa.RecordBatch.from_arrays(
                    [
                        batch.column(f.name).cast(f.type)
                        if f.name in present
                        else pa.nulls(batch.num_rows, f.type)
                        for f in self.columns
                    ],
                    schema=self.columns,
                )


def score_batch(
    model: xgb.Booster,
    device: str,
    encoder: FeatureEncoding,
    batch: pa.RecordBatch,
    keep: list[str],
    top_k: int,
    from_contributions: bool,
    classes: Sequence[str] = (),
) -> pa.RecordBatch:
    """One Arrow batch's `keep` columns, scores and top contributions (see `score_frame`),
    by a booster already placed on `device`."""
    import numpy as np
    import pyarrow as pa

    # XGBoost's GPU predictor has only exact SHAP (GPUTreeSHAP), which is fast there; the
    # CPU one takes the approximate contributions (see `contributions`).
    on_gpu = device.startswith("cuda")
    approx = not on_gpu
    matrix = encoder.matrix(batch)
    per_class: list[pa.Array] = []
    if classes:
        probabilities = predict_scores(model, matrix, encoder.names, on_gpu)
        chosen = probabilities.argmax(axis=1)
        scores = probabilities[np.arange(len(chosen)), chosen]
        if top_k > 0:
            towards = contributions(model, matrix, encoder.names, approx)
            top = top_of(towards[np.arange(len(chosen)), chosen, :-1], encoder.names, top_k)
        else:
            top = top_contributions(model, matrix, encoder.names, 0)
        per_class = [
            pa.array(np.asarray(classes, dtype=object)[chosen], pa.string()),
            pa.array(list(probabilities), pa.list_(pa.float64())),
        ]
    elif from_contributions:
        contribs = contributions(model, matrix, encoder.names, approx)
        scores = 1.0 / (1.0 + np.exp(-contribs.sum(axis=1, dtype=np.float64)))
        top = top_of(contribs[:, :-1], encoder.names, top_k)
    else:
        scores = predict_scores(model, matrix, encoder.names, on_gpu)
        top = top_contributions(model, matrix, encoder.names, top_k, approx)
    bad = ~np.isfinite(scores)
    if bad.any():
        first = int(np.argmax(bad))
        raise ScoringError(
            f"{int(bad.sum())} non-finite score(s); first for "
            f"{ {c: batch.column(c)[first].as_py() for c in keep} }: check the "
            "model and the features of that row"
        )
    method = pa.scalar(contribution_method(top_k, on_gpu), pa.string())
    extra_names = ["predicted_class", "class_probabilities"] if classes else []
    return pa.RecordBatch.from_arrays(
        [
            *[batch.column(c) for c in keep],
            pa.array(scores),
            *per_class,
            top,
            pa.repeat(method, len(scores)),
        ],
        names=[*keep, "score", *extra_names, "top_contributions", "contribution_method"],
    )


SAABAS, TREE_SHAP = "saabas", "tree_shap"


def contribution_method(top_k: int, on_gpu: bool) -> str | None:
    """How a row's recorded contributions were computed: XGBoost's approximate (Saabas)
    ones on a CPU, exact SHAP on a GPU (see `contributions`); None when none are kept.
    They can rank features differently, so an auditor must know which they are reading."""
    if top_k <= 0:
        return None
    return TREE_SHAP if on_gpu else SAABAS


def predict_scores(
    model: xgb.Booster, matrix: np.ndarray, names: list[str], on_gpu: bool
) -> np.ndarray:
    """Scores as float64. On the CPU `inplace_predict` reads the array where it lies; a
    booster on a GPU is given a DMatrix instead, which XGBoost copies to the device
    (`inplace_predict` would warn about mismatched devices and take that path anyway)."""
    import numpy as np
    import xgboost as xgb

    if on_gpu:
        scores = model.predict(xgb.DMatrix(matrix, missing=np.nan, feature_names=names))
    else:
        scores = model.inplace_predict(matrix)
    return np.asarray(scores, dtype=np.float64)


def objective_of(booster: xgb.Booster) -> str:
    import json

    return str(json.loads(booster.save_config())["learner"]["objective"]["name"])


def contributions(
    model: xgb.Booster, matrix: np.ndarray, names: list[str], approx: bool = True
) -> np.ndarray:
    """XGBoost's own per-feature contributions of each row, the bias last (margin units).

    Nightly scoring uses the approximate (Saabas) ones: exact TreeSHAP costs ~45x more per
    row (3.4k vs 152k rows/s per thread on a 100-tree, depth-6 model), which no nightly
    window affords for every row. `driftline audit` recomputes exact SHAP values for the
    one row it is asked about.
    """
    import numpy as np
    import xgboost as xgb

    return np.asarray(
        model.predict(
            xgb.DMatrix(matrix, missing=np.nan, feature_names=names),
            pred_contribs=True,
            approx_contribs=approx,
        )
    )


def top_contributions(
    model: xgb.Booster, matrix: np.ndarray, names: list[str], k: int, approx: bool = True
) -> pa.Array:
    """Each row's `k` largest contributions (see `contributions`), or nulls for k = 0."""
    import pyarrow as pa

    if k <= 0:
        kind = pa.list_(pa.struct([("feature", pa.string()), ("contribution", pa.float64())]))
        return pa.nulls(len(matrix), kind)
    return top_of(contributions(model, matrix, names, approx)[:, :-1], names, k)


def top_of(contribs: np.ndarray, names: list[str], k: int) -> pa.Array:
    """A list<struct<feature, contribution>> array: the `k` largest by magnitude, first to
    last."""
    import numpy as np
    import pyarrow as pa

    k = min(k, len(names))
    order = np.argsort(-np.abs(contribs), axis=1)[:, :k]
    values = np.take_along_axis(contribs, order, axis=1).astype(np.float64).ravel()
    features = pa.array(names, pa.string()).take(pa.array(order.ravel()))
    offsets = pa.array(np.arange(0, len(contribs) * k + 1, k, dtype=np.int32))
    return pa.ListArray.from_arrays(
        offsets,
        pa.StructArray.from_arrays([features, pa.array(values)], names=["feature", "contribution"]),
    )
