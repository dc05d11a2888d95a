"""Running a suite with Great Expectations on a Spark DataFrame, Data Docs included."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftline.quality.suites import Suite, severity_of

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpectationOutcome:
    table: str
    level: str  # row | batch
    expectation: str
    column: str | None
    severity: str
    success: bool
    observed_value: str | None
    unexpected_count: int | None
    element_count: int | None
    expected: str

    @property
    def action(self) -> str:
        """What the pipeline does about it: pass, quarantine (row level), warn or block."""
        if self.success:
            return "pass"
        return "quarantine" if self.level == "row" else self.severity

    def describe(self) -> str:
        target = f"{self.expectation}({self.column})" if self.column else self.expectation
        return (
            f"table {self.table}: {target} failed [{self.severity}]: observed "
            f"{self.observed_value}, expected {self.expected}"
            + (f", {self.unexpected_count} unexpected row(s)" if self.unexpected_count else "")
        )


def validate(
    df: DataFrame,
    suite: Suite,
    level: str,
    docs_dir: Path | None = None,
    parameters: dict[str, Any] | None = None,
) -> list[ExpectationOutcome]:
    """Run the `level` ("row", "batch" or "all") expectations of `suite` on `df` with GE.

    With "all" every outcome counts as batch level: failures warn or block, nothing is
    quarantined (the feature table's gate).

    GE computes its metrics with Spark; only the metrics reach the driver. With `docs_dir`,
    the run's Data Docs (HTML) are written there.
    """
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    gx_suite = suite.gx_suite(level)
    if not gx_suite.expectations:
        return []
    from great_expectations.checkpoint import ValidationAction
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # In-memory stores and no temporary docs site: nothing is left behind in /tmp.
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            progress_bars=ProgressBarsConfig(globally=False),
            analytics_enabled=False,
        ),
    )
    name = f"{suite.table.replace('/', '_')}_{level}"
    actions: list[ValidationAction] = []
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name="driftline",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        actions.append(UpdateDataDocsAction(name="data_docs", site_names=["driftline"]))
    batch_definition = (
        context.data_sources.add_spark(name="driftline")
        .add_dataframe_asset(name=name)
        .add_batch_definition_whole_dataframe("batch")
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name=name, data=batch_definition, suite=context.suites.add(gx_suite)
        )
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=name,
            validation_definitions=[definition],
            actions=actions,
            # Counts, not samples: sampling unexpected values costs a Spark job per
            # expectation, and quarantine already keeps every failing row.
            result_format={"result_format": "BASIC", "partial_unexpected_count": 0},
        )
    )
    result = checkpoint.run(
        batch_parameters={"dataframe": df}, expectation_parameters=parameters or {}
    )
    outcomes = []
    for validation in result.run_results.values():
        for item in validation.results:
            outcomes.append(_outcome(suite.table, "row" if level == "row" else "batch", item))
    return outcomes


def _outcome(table: str, level: str, item: Any) -> ExpectationOutcome:
    config = item.expectation_config
    kwargs = dict(config.kwargs)
    column = kwargs.pop("column", None)
    kwargs.pop("batch_id", None)
    details = item.result or {}
    observed = details.get("observed_value")
    if observed is None and details.get("unexpected_percent") is not None:
        observed = f"{details['unexpected_percent']:.4g}% unexpected"
    if item.exception_info and item.exception_info.get("raised_exception"):
        observed = f"error: {item.exception_info.get('exception_message')}"
    return ExpectationOutcome(
        table=table,
        level=level,
        expectation=config.type,
        column=column,
        severity=severity_of({"meta": config.meta, "severity": str(config.severity)}),
        success=bool(item.success),
        observed_value=None if observed is None else str(observed),
        unexpected_count=details.get("unexpected_count"),
        element_count=details.get("element_count"),
        expected=json.dumps(kwargs, default=str, sort_keys=True),
    )
