"""The promotion gate's paired bootstrap, judged a block of resamples at a time vs one
resample at a time with scikit-learn, side by side on the same draws.

The gate (`model.promotion.paired_interval`) judges both models on every resample: 400
rounds by default, for the whole holdout and again for each slice. One at a time, the
demo's retrain spent 15.9 s of its 16 s gate in `roc_auc_score`'s per-call checks on 800
rows. The baseline here is that loop (`metric_value` per resample, the same seeded draws);
Driftline's is `paired_interval` itself. Both must give the same interval. Prints the
seconds per interval for each holdout size and metric, and `RATIO <blocks / one at a
time>` summed over all cases (lower is better).

    .venv/bin/python benchmarks/promotion.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from driftline.core.pipeline import PromotionPolicy
from driftline.core.tasks import Task, better
from driftline.model.judging import metric_value
from driftline.model.promotion import paired_interval


def holdout(task: Task, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    if task.kind == "regression":
        labels = signal + rng.normal(scale=0.5, size=rows)
    else:
        labels = (rng.random(rows) < 1 / (1 + np.exp(-1.2 * signal))).astype(float)
    noise = rng.normal(size=rows)
    return labels, signal + 1.2 * noise, signal + noise


def one_at_a_time(
    task: Task,
    metric: str,
    labels: np.ndarray,
    champion: np.ndarray,
    challenger: np.ndarray,
    rounds: int,
    confidence: float,
    seed: int,
) -> tuple[float, float]:
    """The gate's bootstrap as it was: the same draws, each resample judged by its own
    scikit-learn calls."""
    rng = np.random.default_rng(seed)
    if task.kind == "regression":
        strata = [np.arange(len(labels))]
    else:
        strata = [np.flatnonzero(labels == value) for value in np.unique(labels)]
    gains = []
    for _ in range(rounds):
        pick = np.concatenate([rng.choice(s, len(s)) for s in strata])
        before = metric_value(task, metric, labels[pick], champion[pick])
        after = metric_value(task, metric, labels[pick], challenger[pick])
        if before is not None and after is not None:
            gains.append(better(metric, after, before))
    tail = (1 - confidence) / 2
    low, high = np.quantile(gains, [tail, 1 - tail])
    return float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[800, 20_000, 200_000])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    policy = PromotionPolicy(metric="auc")
    cases = [
        (Task("binary", "binary:logistic"), "auc"),
        (Task("regression", "reg:squarederror"), "rmse"),
    ]
    totals = {"blocks": 0.0, "one at a time": 0.0}
    print(f"{'metric':>6} {'rows':>8} {'rounds':>6} {'blocks s':>9} {'one at a time s':>16}")
    for task, metric in cases:
        for rows in args.rows:
            labels, champion, challenger = holdout(task, rows, args.seed)
            rounds = max(50, min(policy.bootstrap_rounds, 20_000_000 // rows))
            began = time.perf_counter()
            interval = paired_interval(
                task, metric, labels, champion, challenger, policy, args.seed
            )
            blocks = time.perf_counter() - began
            began = time.perf_counter()
            low, high = one_at_a_time(
                task, metric, labels, champion, challenger, rounds, policy.confidence, args.seed
            )
            single = time.perf_counter() - began
            assert interval is not None
            assert abs(interval.low - low) < 1e-9 and abs(interval.high - high) < 1e-9, (
                interval,
                low,
                high,
            )
            totals["blocks"] += blocks
            totals["one at a time"] += single
            print(f"{metric:>6} {rows:>8} {rounds:>6} {blocks:>9.3f} {single:>16.3f}")
    print(f"RATIO {totals['blocks'] / totals['one at a time']:.3f}")


if __name__ == "__main__":
    main()
