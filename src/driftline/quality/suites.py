"""Expectation suites as files: loading, severities, and row- vs batch-level."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftline.core.errors import ConfigError

# GE phones home on import unless told not to; Driftline runs on air-gapped hosts.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

# Expectations judged row by row: their failing rows are quarantined, the rest go on.
ROW_LEVEL = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_be_of_type",
        "expect_column_values_to_be_in_type_list",
    }
)
SEVERITIES = ("block", "warn")


@dataclass(frozen=True)
class Suite:
    """A suite file split into its row-level and batch-level expectations."""

    table: str
    path: Path
    row_level: list[dict[str, Any]]
    batch_level: list[dict[str, Any]]

    def gx_suite(self, level: str) -> Any:
        import great_expectations as gx

        expectations = {
            "row": self.row_level,
            "batch": self.batch_level,
            "all": self.row_level + self.batch_level,
        }[level]
        return gx.ExpectationSuite(
            name=f"{self.table.replace('/', '_')}.{level}",
            expectations=[dict(e) for e in expectations],
        )


def suite_path(directory: Path, table: str) -> Path:
    return directory / f"{table.replace('/', '_')}.json"


def load_suite(directory: Path, table: str) -> Suite:
    """The suite for `table` (`silver/customer` -> `silver_customer.json`), checked."""
    import great_expectations as gx

    path = suite_path(directory, table)
    if not path.is_file():
        raise ConfigError(
            f"no expectation suite for table {table!r}: expected {path}. Write one (GE 1.x "
            f"JSON) or generate a starter with `driftline expectations suggest {table}`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        gx.ExpectationSuite(**data)  # GE's own validation of types and kwargs
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{path} is not a valid GE expectation suite: {error}") from None
    row_level: list[dict[str, Any]] = []
    batch_level: list[dict[str, Any]] = []
    for index, expectation in enumerate(data.get("expectations", [])):
        severity = severity_of(expectation)
        if severity not in SEVERITIES:
            raise ConfigError(
                f"{path}: expectations[{index}] ({expectation.get('type')}) has severity "
                f"{severity!r}; set meta.severity to 'block' or 'warn'"
            )
        (row_level if expectation["type"] in ROW_LEVEL else batch_level).append(expectation)
    return Suite(table, path, row_level, batch_level)


def severity_of(expectation: dict[str, Any]) -> str:
    """`meta.severity`, else GE's own `severity` (critical means block)."""
    meta = expectation.get("meta") or {}
    if "severity" in meta:
        return str(meta["severity"]).lower()
    return "block" if "critical" in str(expectation.get("severity", "critical")).lower() else "warn"
