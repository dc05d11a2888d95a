"""GPU numbers in one short call: XGBoost on `cuda` vs every CPU core, and Driftline's own
per-batch scoring on `cuda` vs `cpu`. Prints one JSON object.

Measured side by side in one process on the same synthetic data (`--rows` x `--features`,
a logistic label):

- training: `hist`, `--rounds` rounds, depth 8, on `cuda` and on the CPU with all cores;
- prediction and contributions on `--predict-rows` rows: scores, exact SHAP
  (GPUTreeSHAP) on `cuda`; scores, approximate (Saabas) and exact SHAP on the CPU (exact
  on at most `--cpu-exact-rows` rows, reported per second);
- `driftline.model.scoring.score_batch`, the function every Spark Python worker runs per
  Arrow batch (scores and top-3 contributions), on `cuda` and on `cpu`, batch by batch.

Goals (issue on performance): training at least 5x faster on the GPU than on 16 CPU
threads; exact SHAP on the GPU faster than approximate contributions on the CPU. Without
a GPU the CUDA lines say so and the CPU numbers are still printed.

On the device machine (Python 3.12, CUDA 13, no XGBoost), carry the `xgboost-cu13` wheel
and the pure-Python wheels `driftline.core.pipeline` imports (pydantic and friends), and
run from the checkout without installing Driftline:

    pip install --no-deps wheels/*.whl && PYTHONPATH=src python benchmarks/gpu.py
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any


def timed(work: Callable[[], Any], repeat: int) -> float:
    """Best wall time of `repeat` runs (the first run on a GPU also pays its warm-up)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def cuda_available() -> tuple[bool, str]:
    """Whether XGBoost can train on a GPU here (it would silently fall back to the CPU)."""
    import xgboost as xgb

    from driftline.core.device import gpu_visible

    if not xgb.build_info().get("USE_CUDA"):
        return False, "this XGBoost build has no CUDA"
    if not gpu_visible():
        return False, "no GPU visible (nvidia-smi lists none)"
    return True, "ok"


def make_data(rows: int, features: int, seed: int = 0) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    weights = rng.normal(size=features)
    logit = x @ weights * 0.5 + 0.3 * np.sin(x[:, 0] * x[:, 1])
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    return x, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--predict-rows", type=int, default=1_000_000)
    parser.add_argument("--cpu-exact-rows", type=int, default=50_000)
    parser.add_argument("--batch-rows", type=int, default=50_000, help="Spark's Arrow batch")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    import numpy as np
    import pyarrow as pa
    import xgboost as xgb

    from driftline.data.features import FeatureEncoding
    from driftline.model.scoring import score_batch

    threads = os.cpu_count() or 1
    has_cuda, cuda_note = cuda_available()
    devices = ["cuda", "cpu"] if has_cuda else ["cpu"]
    names = [f"f{i}" for i in range(args.features)]
    x, y = make_data(args.rows, args.features)
    train = xgb.DMatrix(x, label=y, feature_names=names)
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 8}
    result: dict[str, Any] = {
        "xgboost": xgb.__version__,
        "cpu_threads": threads,
        "cuda": cuda_note,
        "rows": args.rows,
        "features": args.features,
        "rounds": args.rounds,
    }

    boosters: dict[str, xgb.Booster] = {}
    for device in devices:
        settings = {**params, "device": device, "nthread": threads}
        result[f"train_seconds_{device}"] = timed(
            lambda settings=settings, device=device: boosters.__setitem__(
                device, xgb.train(settings, train, args.rounds)
            ),
            1 if device == "cpu" else args.repeat,
        )
    if has_cuda:
        result["train_speedup_cuda_vs_cpu"] = (
            result["train_seconds_cpu"] / result["train_seconds_cuda"]
        )

    booster = boosters[devices[0]]
    sample = x[: args.predict_rows]
    matrix = xgb.DMatrix(sample, feature_names=names)
    for device in devices:
        booster.set_param({"device": device, "nthread": threads})
        result[f"predict_rows_per_s_{device}"] = len(sample) / timed(
            lambda: booster.predict(matrix), args.repeat
        )
    if has_cuda:
        booster.set_param({"device": "cuda"})
        result["exact_shap_rows_per_s_cuda"] = len(sample) / timed(
            lambda: booster.predict(matrix, pred_contribs=True), args.repeat
        )
    booster.set_param({"device": "cpu", "nthread": threads})
    result["approx_contribs_rows_per_s_cpu"] = len(sample) / timed(
        lambda: booster.predict(matrix, pred_contribs=True, approx_contribs=True), 1
    )
    few = xgb.DMatrix(x[: args.cpu_exact_rows], feature_names=names)
    result["exact_shap_rows_per_s_cpu"] = args.cpu_exact_rows / timed(
        lambda: booster.predict(few, pred_contribs=True), 1
    )
    if has_cuda:
        result["exact_shap_cuda_vs_approx_cpu"] = (
            result["exact_shap_rows_per_s_cuda"] / result["approx_contribs_rows_per_s_cpu"]
        )

    encoding = FeatureEncoding(names=names, categorical={})
    batches = [
        pa.RecordBatch.from_arrays(
            [pa.array(np.arange(start, start + len(chunk))), *[pa.array(c) for c in chunk.T]],
            names=["id", *names],
        )
        for start in range(0, len(sample), args.batch_rows)
        for chunk in [sample[start : start + args.batch_rows].astype(np.float64)]
    ]
    for device in devices:
        booster.set_param({"device": device, "nthread": threads})

        def score_all(device: str = device) -> None:
            for batch in batches:
                score_batch(booster, device, encoding, batch, ["id"], 3, True)

        result[f"driftline_score_batch_rows_per_s_{device}"] = len(sample) / timed(
            score_all, args.repeat
        )
    if has_cuda:
        result["driftline_score_batch_cuda_vs_cpu"] = (
            result["driftline_score_batch_rows_per_s_cuda"]
            / result["driftline_score_batch_rows_per_s_cpu"]
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
