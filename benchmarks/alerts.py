"""How often alerts are right: Driftline's nightly verdict vs Evidently's DataDriftPreset
on synthetic labelled streams whose every night is marked "should alert" or not in advance.

Each stream has a reference window (`--reference-days` days of `--rows` rows, the training
data of the champion) and 60 monitored nights of `--rows` rows. The champion is an XGBoost
model trained on the reference; a night's labels mature one night later. Streams (the
change starts on night 30 unless said otherwise):

- stationary: nothing changes; never alert.
- sudden: x0, the most important feature, moves by 0.75 sd; alert from night 30.
- gradual: x0 moves by 0.025 sd more each night from night 20; alert once the move
  reaches 0.2 sd (night 28).
- seasonal: x1 follows a weekly cycle (0.6 sd) that the reference's days cover; never alert.
- unimportant: x5, a feature the outcome does not depend on, moves by 1 sd; never alert
  (the model's accuracy is unchanged).
- prior: the positive rate falls from about 30% to 15% (the intercept moves; no feature
  does); alert from night 30.
- concept: P(y | x) changes (x0's effect reverses; features and base rate stay); alert
  from night 30.

Driftline's verdict for a night is what its monitor step raises, from the package's own
functions: calibrated feature drift (`monitoring.drift.calibrate`) carrying at least the
policy's share of the champion's importance, prior shift of the matured labels
(`monitoring.label_shift`), or live AUC on the matured labels of the last 7 nights below
the holdout AUC minus the policy's margin (`monitoring.accuracy.accuracy_breached`).
Evidently's verdict is its dataset drift with the preset's defaults (at least half of the
columns drifted). Errors are false-alarm nights plus missed nights over all streams; the
last line is `RATIO <Evidently's errors / Driftline's errors>` (goal: at least 2, with
false alarms on at most 5% of stationary nights and a median delay of at most 2 nights on
sudden shifts, over the seeds).

Performance before labels: every night, the AUC Driftline estimates from the champion's
scores alone (`monitoring.estimated`, calibration fitted on the frozen holdout) is set
beside the AUC that night's labels give; the mean absolute error per stream is printed,
and over the covariate-shift streams (stationary, sudden, gradual, seasonal, unimportant:
P(y | x) holds) as `CBPE_MAE` (goal at most 0.02). The prior and concept streams change
P(y | x) itself, which no estimate from scores can see: shown, not judged. Beside it, the
realised AUC's own sampling error on one night's rows (0.8 x its standard error), which no
estimate can beat on average.

    .venv/bin/pip install -e '.[bench]'   # Evidently, the baseline
    .venv/bin/python benchmarks/alerts.py --seeds 3
    .venv/bin/python benchmarks/alerts.py --estimate-only --rows 2000   # the estimate alone
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

NIGHTS = 60
CHANGE = 30
NUMERIC = ["x0", "x1", "x2", "x3", "x4", "x5"]
CATEGORICAL = ["c0"]
FEATURES = NUMERIC + CATEGORICAL
STREAMS = ["stationary", "sudden", "gradual", "seasonal", "unimportant", "prior", "concept"]
WINDOW_NIGHTS = 7  # the accuracy window's nights of matured labels
HOLDOUT_DAYS = 3


@dataclass
class Night:
    """One day of data: features, labels and whether a monitor should alert on it."""

    columns: dict[str, Any]
    labels: Any
    should_alert: bool


def should_alert(stream: str, night: int) -> bool:
    if stream in ("stationary", "seasonal", "unimportant"):
        return False
    if stream == "gradual":
        return _gradual_shift(night) >= 0.2
    return night >= CHANGE


def _gradual_shift(night: int) -> float:
    return max(0, night - 20) * 0.025


def make_day(rng: Any, stream: str, day: int, rows: int, monitored: bool) -> Night:
    """`day` counts from the first reference day; monitored nights are numbered from 0."""
    import numpy as np

    night = day if monitored else -1
    x = {name: rng.normal(size=rows) for name in NUMERIC}
    if stream == "seasonal":
        x["x1"] = x["x1"] + 0.6 * np.sin(2 * np.pi * day / 7)
    if stream == "sudden" and night >= CHANGE:
        x["x0"] = x["x0"] + 0.75
    if stream == "gradual":
        x["x0"] = x["x0"] + _gradual_shift(night)
    if stream == "unimportant" and night >= CHANGE:
        x["x5"] = x["x5"] + 1.0
    c0 = rng.choice(["a", "b", "c"], size=rows, p=[0.5, 0.3, 0.2])
    intercept, effect = -1.3, 1.2
    if stream == "prior" and night >= CHANGE:
        intercept = -2.6
    if stream == "concept" and night >= CHANGE:
        effect = -1.2
    logit = (
        intercept
        + effect * x["x0"]
        + 0.9 * x["x1"]
        + 0.3 * x["x2"]
        + 0.2 * x["x3"]
        + 0.4 * (c0 == "a")
    )
    labels = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return Night({**x, "c0": c0}, labels, should_alert(stream, night))


@dataclass
class Champion:
    booster: Any
    profile: dict[str, Any]
    importance: dict[str, float]
    holdout_auc: float
    calibration: dict[str, Any]


def train_champion(days: list[Night], min_day_rows: int) -> Champion:
    """What the train step stores with a model: booster, reference profile (with each
    day's spread and the labels' rate), importance, frozen-holdout AUC."""
    import numpy as np
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score

    from driftline.data.profile import categorical_profile, day_effect, label_profile
    from driftline.data.profile import numeric_profile as numeric
    from driftline.model.calibration import fit_calibration

    development, holdout = days[:-HOLDOUT_DAYS], days[-HOLDOUT_DAYS:]
    x_train, y_train = matrix(development), np.concatenate([d.labels for d in development])
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "eta": 0.1, "nthread": 2, "seed": 7},
        xgb.DMatrix(x_train, label=y_train, feature_names=FEATURES),
        num_boost_round=150,
    )
    dates = np.concatenate([np.full(len(d.labels), i) for i, d in enumerate(development)])
    profiles: dict[str, Any] = {}
    for name in FEATURES:
        values = np.concatenate([d.columns[name] for d in development])
        profiles[name] = (
            categorical_profile(list(values)) if name in CATEGORICAL else numeric(values)
        )
        spread = day_effect(profiles[name], values, dates, min_day_rows)
        if spread is not None:
            profiles[name]["day_effect"] = spread
    y_holdout = np.concatenate([d.labels for d in holdout])
    holdout_scores = booster.predict(xgb.DMatrix(matrix(holdout), feature_names=FEATURES))
    importance = booster.get_score(importance_type="total_gain")
    return Champion(
        booster,
        {"features": profiles, "label": label_profile(y_train)},
        {k: float(v) for k, v in importance.items()},
        float(roc_auc_score(y_holdout, holdout_scores)),
        fit_calibration(y_holdout, holdout_scores),
    )


def matrix(days: list[Night]) -> Any:
    import numpy as np

    columns = []
    for name in FEATURES:
        values = np.concatenate([d.columns[name] for d in days])
        if name == "c0":
            values = np.select([values == "a", values == "b"], [0.0, 1.0], 2.0)
        columns.append(values.astype(np.float64))
    return np.column_stack(columns)


@dataclass
class Verdicts:
    driftline: list[bool] = field(default_factory=list)
    evidently: list[bool] = field(default_factory=list)
    truth: list[bool] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    # |AUC estimated from scores - AUC the night's labels give|, per night.
    estimate_errors: list[float] = field(default_factory=list)
    estimate_floor: list[float] = field(default_factory=list)


def driftline_verdict(
    champion: Champion, night: Night, matured: list[tuple[Any, Any]]
) -> tuple[bool, str]:
    """The monitor step's verdict for one night, from the package's functions."""
    import numpy as np
    import pyarrow as pa
    from sklearn.metrics import roc_auc_score

    from driftline.core.pipeline import MonitoringConfig, RetrainingPolicy
    from driftline.monitoring.accuracy import accuracy_breached
    from driftline.monitoring.drift import calibrate, compare, importance_weighted_share
    from driftline.monitoring.drift_scan import sketch_table
    from driftline.monitoring.label_shift import label_shift

    monitoring, policy = MonitoringConfig(), RetrainingPolicy()
    profiles = champion.profile["features"]
    sketches = sketch_table(pa.table(night.columns), profiles)
    drifts = calibrate(
        [compare(n, profiles[n], sketches[n], monitoring.drift) for n in FEATURES],
        profiles,
        monitoring.drift,
    )
    reasons = []
    if importance_weighted_share(drifts, champion.importance) >= policy.drift_importance_share:
        reasons.append("drift:" + ",".join(d.feature for d in drifts if d.drifted))
    if matured:
        scores = np.concatenate([s for s, _ in matured])
        labels = np.concatenate([y for _, y in matured])
        shift = label_shift(
            champion.profile["label"], len(labels), int(labels.sum()), monitoring.label_shift
        )
        if shift is not None and shift.shifted:
            reasons.append(f"label_shift:{shift.current_rate:.2f}")
        if len(set(labels.tolist())) == 2:
            auc = float(roc_auc_score(labels, scores))
            minimum = monitoring.accuracy.min_labelled_rows
            if accuracy_breached(
                "auc", auc, champion.holdout_auc, policy.accuracy_margin, len(labels), minimum
            ):
                reasons.append(f"accuracy:{auc:.3f}")
    return bool(reasons), ";".join(reasons)


def evidently_verdict(reference: Any, night: Night) -> bool:
    """Evidently's dataset drift with DataDriftPreset's defaults."""
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset()]).run(
        current_data=pd.DataFrame(night.columns), reference_data=reference
    )
    for metric in snapshot.dict()["metrics"]:
        if metric["config"].get("type", "").endswith("DriftedColumnsCount"):
            return bool(metric["value"]["share"] >= 0.5)
    raise RuntimeError("Evidently's report has no DriftedColumnsCount metric")


def run_stream(
    stream: str, seed: int, rows: int, reference_days: int, verdicts_too: bool = True
) -> Verdicts:
    import numpy as np
    import pandas as pd
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score

    from driftline.core.pipeline import DriftConfig
    from driftline.monitoring.estimated import estimate_auc, score_histogram

    rng = np.random.default_rng([seed, STREAMS.index(stream)])
    reference = [
        make_day(rng, stream, day - reference_days, rows, False) for day in range(reference_days)
    ]
    champion = train_champion(reference, DriftConfig().min_day_rows)
    development = reference[:-HOLDOUT_DAYS]
    reference_frame = pd.DataFrame(
        {name: np.concatenate([d.columns[name] for d in development]) for name in FEATURES}
    )
    verdicts = Verdicts()
    scored: list[tuple[Any, Any]] = []  # (scores, labels) of past nights, oldest first
    for night_index in range(NIGHTS):
        night = make_day(rng, stream, night_index, rows, True)
        matured = scored[-WINDOW_NIGHTS:]
        if verdicts_too:
            alert, reason = driftline_verdict(champion, night, matured)
            verdicts.driftline.append(alert)
            verdicts.reasons.append(reason)
            verdicts.evidently.append(evidently_verdict(reference_frame, night))
            verdicts.truth.append(night.should_alert)
        scores = champion.booster.predict(xgb.DMatrix(matrix([night]), feature_names=FEATURES))
        scored.append((scores, night.labels))
        estimate = estimate_auc(score_histogram(scores), champion.calibration)
        if estimate is not None and 0 < night.labels.sum() < len(night.labels):
            realised = float(roc_auc_score(night.labels, scores))
            verdicts.estimate_errors.append(abs(estimate.value - realised))
            # A night's realised AUC is itself a sample: even the population's AUC misses
            # it by E|N(0, se)| = 0.8 se on average, the floor of this error.
            verdicts.estimate_floor.append(0.798 * (estimate.high - estimate.value) / 1.96)
    return verdicts


def score(alerts: list[bool], truth: list[bool]) -> dict[str, Any]:
    false_alarms = sum(a and not t for a, t in zip(alerts, truth, strict=True))
    missed = sum(t and not a for a, t in zip(alerts, truth, strict=True))
    first_due = next((i for i, t in enumerate(truth) if t), None)
    delay = None
    if first_due is not None:
        first_hit = next((i for i in range(first_due, len(alerts)) if alerts[i]), None)
        delay = None if first_hit is None else first_hit - first_due
    return {"false_alarms": false_alarms, "missed": missed, "delay": delay}


COVARIATE = ("stationary", "sudden", "gradual", "seasonal", "unimportant")


def report_estimates(errors: dict[str, list[float]], floors: dict[str, list[float]]) -> None:
    print(
        "AUC estimated from scores vs realised, mean absolute error per night: "
        + ", ".join(f"{k} {statistics.mean(v):.4f}" for k, v in errors.items() if v)
    )
    covariate = [e for k in COVARIATE for e in errors.get(k, [])]
    floor = [e for k in COVARIATE for e in floors.get(k, [])]
    if covariate:
        print(
            f"the realised AUC's own sampling error alone: {statistics.mean(floor):.4f} "
            "(mean absolute; no estimate can do better on average)"
        )
        print(f"CBPE_MAE {statistics.mean(covariate):.4f} (covariate-shift streams; goal <= 0.02)")


def estimates(seeds: int, rows: int, reference_days: int) -> None:
    errors: dict[str, list[float]] = {}
    floors: dict[str, list[float]] = {}
    for stream in STREAMS:
        for seed in range(seeds):
            verdicts = run_stream(stream, seed, rows, reference_days, verdicts_too=False)
            errors.setdefault(stream, []).extend(verdicts.estimate_errors)
            floors.setdefault(stream, []).extend(verdicts.estimate_floor)
    print(f"{rows} rows a night, {NIGHTS} nights x {seeds} seeds per stream")
    report_estimates(errors, floors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="replicates of every stream")
    parser.add_argument("--rows", type=int, default=400, help="rows per day")
    parser.add_argument("--reference-days", type=int, default=14)
    parser.add_argument("--verbose", action="store_true", help="print each night's reasons")
    parser.add_argument(
        "--estimate-only",
        action="store_true",
        help="only the AUC estimated before labels (no alert verdicts, no Evidently)",
    )
    args = parser.parse_args()
    if args.estimate_only:
        estimates(args.seeds, args.rows, args.reference_days)
        return
    try:
        import evidently  # noqa: F401
    except ImportError:
        print("SKIPPED: evidently is not installed (pip install -e '.[bench]')")
        return
    started = time.perf_counter()
    totals = {"driftline": 0, "evidently": 0}
    stationary_nights = stationary_false = 0
    sudden_delays: dict[str, list[int | None]] = {"driftline": [], "evidently": []}
    estimate_errors: dict[str, list[float]] = {}
    estimate_floors: dict[str, list[float]] = {}
    print(f"{'stream':<12} {'tool':<10} {'false alarms':>12} {'missed':>7} {'delay':>7}")
    for stream in STREAMS:
        per_tool: dict[str, dict[str, Any]] = {
            tool: {"false_alarms": 0, "missed": 0, "delays": []} for tool in totals
        }
        for seed in range(args.seeds):
            verdicts = run_stream(stream, seed, args.rows, args.reference_days)
            if args.verbose:
                for i, reason in enumerate(verdicts.reasons):
                    if reason or verdicts.truth[i]:
                        print(
                            f"  {stream} seed {seed} night {i}: truth={verdicts.truth[i]} {reason}"
                        )
            for tool in totals:
                result = score(getattr(verdicts, tool), verdicts.truth)
                per_tool[tool]["false_alarms"] += result["false_alarms"]
                per_tool[tool]["missed"] += result["missed"]
                per_tool[tool]["delays"].append(result["delay"])
                if stream == "sudden":
                    sudden_delays[tool].append(result["delay"])
            estimate_errors.setdefault(stream, []).extend(verdicts.estimate_errors)
            estimate_floors.setdefault(stream, []).extend(verdicts.estimate_floor)
            if stream == "stationary":
                stationary_nights += NIGHTS
                stationary_false += sum(verdicts.driftline)
        for tool, numbers in per_tool.items():
            totals[tool] += numbers["false_alarms"] + numbers["missed"]
            delays = [d for d in numbers["delays"] if d is not None]
            never = len(numbers["delays"]) - len(delays)
            shown = (
                "-"
                if not any(should_alert(stream, n) for n in range(NIGHTS))
                else (f"{statistics.median(delays):g}" if delays else "never")
            )
            if never and delays:
                shown += f" ({never} never)"
            print(
                f"{stream:<12} {tool:<10} {numbers['false_alarms']:>12} "
                f"{numbers['missed']:>7} {shown:>7}"
            )
    due = [d if d is not None else NIGHTS for d in sudden_delays["driftline"]]
    print(f"nights per stream {NIGHTS} x {args.seeds} seeds; {time.perf_counter() - started:.0f} s")
    print(
        f"driftline: errors {totals['driftline']}, false alarms on "
        f"{stationary_false / max(stationary_nights, 1):.1%} of stationary nights (goal <= 5%), "
        f"median delay on sudden shifts {statistics.median(due):g} nights (goal <= 2)"
    )
    print(f"evidently: errors {totals['evidently']}")
    report_estimates(estimate_errors, estimate_floors)
    ratio = totals["evidently"] / max(totals["driftline"], 1)
    print(f"RATIO {ratio:.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
