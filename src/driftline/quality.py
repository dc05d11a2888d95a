"""Great Expectations suites from `expectations/`, run on Spark DataFrames.

Each expectation carries a severity in its `meta`: `block` stops the run before bad data
reaches a model, `warn` is recorded and logged. GE's own `severity` field is used when the
meta has none (`critical` means block).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftline.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)

# GE phones home on import unless told not to; Driftline runs on air-gapped hosts.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass(frozen=True)
class ExpectationOutcome:
    table: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    observed_value: str | None
    unexpected_count: int | None
    element_count: int | None
    expected: str

    def describe(self) -> str:
        target = f"{self.expectation}({self.column})" if self.column else self.expectation
        return (
            f"table {self.table}: {target} failed [{self.severity}]: observed "
            f"{self.observed_value}, expected {self.expected}"
            + (f", {self.unexpected_count} unexpected row(s)" if self.unexpected_count else "")
        )


def load_suite(directory: Path, table: str) -> Any:
    """The suite for `table` (`silver/customer` -> `silver_customer.json`)."""
    import great_expectations as gx

    path = directory / f"{table.replace('/', '_')}.json"
    if not path.is_file():
        raise ConfigError(
            f"no expectation suite for table {table!r}: expected {path}. Write one (GE 1.x "
            "JSON), or generate a starter with `driftline expectations suggest`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return gx.ExpectationSuite(**data)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{path} is not a valid GE expectation suite: {error}") from None


def validate(df: DataFrame, table: str, suite: Any) -> list[ExpectationOutcome]:
    """Run `suite` on `df` (computed by Spark; nothing is collected but GE's metrics)."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}  # type: ignore[assignment]
    source = context.data_sources.add_spark(name="driftline")
    asset = source.add_dataframe_asset(name=table.replace("/", "_"))
    batch = asset.add_batch_definition_whole_dataframe("batch").get_batch(
        batch_parameters={"dataframe": df}
    )
    result = batch.validate(suite)
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        assert config is not None
        kwargs = dict(config.kwargs)
        column = kwargs.pop("column", None)
        details = item.result or {}
        observed = details.get("observed_value")
        if observed is None and details.get("unexpected_percent") is not None:
            observed = f"{details['unexpected_percent']:.4g}% unexpected"
        outcomes.append(
            ExpectationOutcome(
                table=table,
                expectation=config.type,
                column=column,
                severity=_severity(config),
                success=bool(item.success),
                observed_value=None if observed is None else str(observed),
                unexpected_count=details.get("unexpected_count"),
                element_count=details.get("element_count"),
                expected=json.dumps(
                    {k: v for k, v in kwargs.items() if k not in ("batch_id",)},
                    default=str,
                    sort_keys=True,
                ),
            )
        )
    return outcomes


def _severity(config: Any) -> str:
    meta = config.meta or {}
    severity = str(meta.get("severity", "")).lower()
    if severity in ("block", "warn"):
        return severity
    ge_severity = str(getattr(config, "severity", "critical")).lower()
    return "block" if "critical" in ge_severity else "warn"
