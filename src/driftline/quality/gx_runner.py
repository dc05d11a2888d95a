"""Running a suite with Great Expectations on a Spark DataFrame, Data Docs included."""

from __future__ import annotations

import functools
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
        """What the pipeline does about it: pass, quarantine (a `block` row-level rule's
        rows), warn (the rows stay) or block."""
        if self.success:
            return "pass"
        return "quarantine" if self.level == "row" and self.severity == "block" else self.severity

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
    row_count: int | None = None,
) -> list[ExpectationOutcome]:
    """Run the `level` ("row", "batch" or "all") expectations of `suite` on `df` with GE.

    With "all" every outcome counts as batch level: failures warn or block, nothing is
    quarantined (the feature table's gate).

    GE computes its metrics with Spark, the suite's aggregates in one pass, plus one for the
    row count unless `row_count` gives it (`driftline.quality.engine`); only the metrics
    reach the driver. With `docs_dir`, the results are kept for `publish_docs` to render
    there as Data Docs (HTML), one rendering for a step's validations.
    """
    gx_suite = suite.gx_suite(level)
    if not gx_suite.expectations:
        return []
    gx = _GxSession.get()
    name = f"{suite.table.replace('/', '_')}_{level}"
    with gx.engine().known_row_count(row_count):
        if docs_dir is None:
            results = [gx.validate(df, name, gx_suite, parameters or {})]
        else:
            results = gx.validate_with_docs(df, name, gx_suite, parameters or {}, docs_dir)
    recorded = "row" if level == "row" else "batch"
    return [_outcome(suite.table, recorded, item) for r in results for item in r.results]


def publish_docs() -> None:
    """Render the Data Docs of the validations `validate` ran with a `docs_dir`."""
    _GxSession.get().publish_docs()


DATASOURCE = "driftline"
DOCS_SITE = "driftline"
# Counts, not samples: sampling unexpected values costs a Spark job per expectation, and
# quarantine already keeps every failing row.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}


class _GxSession:
    """The process's one in-memory GE context and what has been added to it.

    Building a context, and adding a suite, a validation definition and a checkpoint to
    it, costs more than validating a small batch; each is done once per process, and
    again only when a suite's file has changed, not once per validation.
    """

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        # Registers GE's `add_driftline_spark` (a Spark datasource, one-pass engine).
        import driftline.quality.engine  # noqa: F401

        # In-memory stores and no temporary docs site: nothing is left behind in /tmp.
        self.context = gx.get_context(
            mode="ephemeral",
            project_config=DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                progress_bars=ProgressBarsConfig(globally=False),
                analytics_enabled=False,
            ),
        )
        self.datasource = self.context.data_sources.add_driftline_spark(name=DATASOURCE)
        self._suites: dict[str, tuple[str, Any, Any]] = {}  # name -> (fingerprint, ...)
        self._checkpoints: dict[str, Any] = {}
        self._docs_dir: str | None = None
        self._unpublished: list[Any] = []  # results awaiting `publish_docs`

    @classmethod
    @functools.cache
    def get(cls) -> _GxSession:
        return cls()

    def engine(self) -> Any:
        return self.datasource.get_execution_engine()

    def validate(self, df: DataFrame, name: str, gx_suite: Any, parameters: Any) -> Any:
        """Validate the batch directly: no results kept, no docs."""
        stored, batch_definition = self._prepared(name, gx_suite)
        batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
        return batch.validate(
            stored, result_format=RESULT_FORMAT, expectation_parameters=parameters
        )

    def validate_with_docs(
        self, df: DataFrame, name: str, gx_suite: Any, parameters: Any, docs_dir: Path
    ) -> list[Any]:
        """Validate through a checkpoint, which stores the results for `publish_docs` to
        render as Data Docs in `docs_dir`."""
        self._point_docs_at(str(docs_dir))
        result = self._checkpoint(name, gx_suite).run(
            batch_parameters={"dataframe": df}, expectation_parameters=parameters
        )
        self._unpublished.extend(result.run_results)
        return list(result.run_results.values())

    def publish_docs(self) -> None:
        """Render the results validated since the last call, and the index, once. GE's
        per-checkpoint docs action renders the index again with each result; a page costs
        about 0.3 s of template compiling, 2 s of a small night's validate step."""
        if self._unpublished:
            # Each result's page links to its suite's page: render those too.
            suites = {key.expectation_suite_identifier for key in self._unpublished}
            self.context.build_data_docs(
                site_names=[DOCS_SITE], resource_identifiers=[*self._unpublished, *suites]
            )
            self._unpublished = []

    def _prepared(self, name: str, gx_suite: Any) -> tuple[Any, Any]:
        """(the suite as stored in the context, the batch definition of its asset)."""
        fingerprint = _fingerprint(gx_suite)
        known = self._suites.get(name)
        if known is None or known[0] != fingerprint:
            # A changed suite replaces the stored one (GE refuses to run a stale copy),
            # and the checkpoint built on the old one goes with it.
            try:
                batch_definition = self.datasource.get_asset(name).get_batch_definition("batch")
            except LookupError:
                batch_definition = self.datasource.add_dataframe_asset(
                    name=name
                ).add_batch_definition_whole_dataframe("batch")
            stored = self.context.suites.add_or_update(gx_suite)
            self._suites[name] = (fingerprint, stored, batch_definition)
            self._checkpoints.pop(name, None)
        _, stored, batch_definition = self._suites[name]
        return stored, batch_definition

    def _checkpoint(self, name: str, gx_suite: Any) -> Any:
        import great_expectations as gx

        stored, batch_definition = self._prepared(name, gx_suite)
        if name not in self._checkpoints:
            definition = self.context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=name, data=batch_definition, suite=stored)
            )
            # No docs action: `publish_docs` renders the step's results together.
            self._checkpoints[name] = self.context.checkpoints.add_or_update(
                gx.Checkpoint(
                    name=name,
                    validation_definitions=[definition],
                    actions=[],
                    result_format=RESULT_FORMAT,
                )
            )
        return self._checkpoints[name]

    def _point_docs_at(self, docs_dir: str) -> None:
        """Send Data Docs to `docs_dir` (one folder per run date). A new folder starts
        from an empty results store, so its index lists only the validations written for
        it."""
        if docs_dir == self._docs_dir:
            return
        self._unpublished = []
        store = self.context.validation_results_store
        for key in store.list_keys():
            store.remove_key(key)
        site: Any = {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": docs_dir,
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
        if self._docs_dir is None:
            self.context.add_data_docs_site(site_name=DOCS_SITE, site_config=site)
        else:
            self.context.update_data_docs_site(site_name=DOCS_SITE, site_config=site)
        self._docs_dir = docs_dir


def _fingerprint(gx_suite: Any) -> str:
    """A suite's expectations as they are now, to notice when the file changed."""
    return json.dumps(gx_suite.to_json_dict()["expectations"], sort_keys=True)


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
