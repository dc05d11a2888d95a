"""Prior shift: has the share of positive outcomes moved, even where no feature has?

A base rate that halves leaves every feature where it was and a ranking metric such as AUC
unchanged, yet the champion's scores are no longer calibrated and a threshold chosen on
them no longer means what it did. Pure: counts in, verdict out.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from driftline.core.pipeline import LabelShiftConfig
from driftline.monitoring.drift import chisquare_p_value


@dataclass(frozen=True)
class LabelShift:
    reference_rate: float
    current_rate: float
    reference_rows: int
    current_rows: int
    p_value: float | None
    effect: float  # Cohen's h: 2 asin sqrt(current) - 2 asin sqrt(reference)
    ratio: float  # current rate / reference rate
    shifted: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def label_shift(
    reference: dict[str, int], labelled: int, positives: int, config: LabelShiftConfig
) -> LabelShift | None:
    """The matured labels' positive rate against the training labels'; None when either
    side has no labels. The test is the two-proportion test (chi-square on the 2 x 2
    table, no continuity correction)."""
    rows, reference_positives = int(reference.get("rows", 0)), int(reference.get("positives", 0))
    if not rows or not labelled:
        return None
    before, now = reference_positives / rows, positives / labelled
    p_value = chisquare_p_value(
        {"1": reference_positives, "0": rows - reference_positives},
        {"1": positives, "0": labelled - positives},
    )
    effect = 2 * math.asin(math.sqrt(now)) - 2 * math.asin(math.sqrt(before))
    ratio = (now / before) if before else math.inf
    moved = ratio >= config.min_ratio or ratio <= 1 / config.min_ratio
    shifted = config.enabled and p_value is not None and p_value < config.p_value and moved
    return LabelShift(before, now, rows, labelled, p_value, effect, ratio, bool(shifted))
