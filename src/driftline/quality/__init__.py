"""The data quality gate: Great Expectations suites from `expectations/`, run on Spark.

Row-level expectations (not null, in set, between, regex, type) route the failing rows to
quarantine with the expectation as the reason; batch-level ones (row count, mean/stdev,
uniqueness, freshness, share of nulls) pass, warn or block the run by their severity.
`batches` gives steps a date's batch as the gate leaves it; `results` records outcomes.

May import `core`, `lake`, `context` and `data`.
"""

from driftline.quality.gx_runner import ExpectationOutcome, publish_docs, validate
from driftline.quality.rows import RowRule, row_rules, split_rows
from driftline.quality.suites import Suite, load_suite

__all__ = [
    "ExpectationOutcome",
    "RowRule",
    "Suite",
    "load_suite",
    "publish_docs",
    "row_rules",
    "split_rows",
    "validate",
]
