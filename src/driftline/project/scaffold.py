"""`driftline init DIR`: a project that runs as it is and shows what to change.

Everything comes from the installed package (its commented pipeline file, starter suites
and DAG definitions), so a project works from the wheel alone, with nothing copied from a
Driftline checkout. The sample drop is the demo's churn extracts, seven nights from the
pipeline's start date, so `driftline run` has data on the first try.
"""

from __future__ import annotations

import logging
from datetime import date
from importlib import resources
from pathlib import Path

from driftline.core.errors import ConfigError
from driftline.dags import DAG_FILES, dag_file_text
from driftline.demo.data import DemoData, write_demo_drop

logger = logging.getLogger(__name__)

SAMPLE_START = date(2024, 1, 1)
SAMPLE_NIGHTS = 7


# What the project's README and pipeline file say instead when `init --no-sample` writes
# no sample drop: the files are the example's shape, to be replaced, not a runnable sample.
_NO_SAMPLE_INTRO = """Written by `driftline init --no-sample`: no sample drop, so nothing runs until
`driftline.yaml` describes your own feeds. The pipeline file and the suites in
`expectations/` are the example churn pipeline's, kept as a commented model of every key:
replace them with yours."""
_NO_SAMPLE_COMMANDS = """```bash
driftline check                                  # every problem at once, before any run
driftline run --date YYYY-MM-DD                  # one night, once its files are in drop/
driftline run --from YYYY-MM-DD --to YYYY-MM-DD  # a range, in order
driftline ui                                     # Airflow's UI over the same folders
```"""
_NO_SAMPLE_HEADER = (
    "# Your pipeline, starting from the shape of the example (customer churn from a CRM's\n"
    "# nightly extract, outcomes a day later): replace its sources, entity, features, label.\n"
)


def _between(text: str, marker: str, replacement: str | None) -> str:
    """`text` with the `<!-- marker -->` block replaced (None: kept), markers dropped."""
    start, end = f"<!-- {marker} -->\n", f"<!-- /{marker} -->\n"
    before, rest = text.split(start, 1)
    inside, after = rest.split(end, 1)
    return before + (inside if replacement is None else replacement + "\n") + after


def template_files(sample: bool = True) -> dict[str, str]:
    """Project-relative path -> text of every file `init` writes besides the sample drop."""
    root = resources.files("driftline") / "resources" / "project"
    readme = (root / "README.md").read_text(encoding="utf-8")
    pipeline = (root / "driftline.yaml").read_text(encoding="utf-8")
    readme = _between(readme, "intro", None if sample else _NO_SAMPLE_INTRO)
    readme = _between(readme, "commands", None if sample else _NO_SAMPLE_COMMANDS)
    if not sample:
        header = "".join(line for line in pipeline.splitlines(True)[:2] if line.startswith("#"))
        pipeline = _NO_SAMPLE_HEADER + pipeline[len(header) :]
    files = {
        "driftline.yaml": pipeline,
        "README.md": readme,
        ".gitignore": "\n".join(
            ["lakehouse/", "drop/", "staging/", "airflow/", "mlflow.db", "mlartifacts/", ""]
        ),
    }
    for suite in (root / "expectations").iterdir():
        if suite.name.endswith(".json"):
            files[f"expectations/{suite.name}"] = suite.read_text(encoding="utf-8")
    for name, module in DAG_FILES.items():
        files[f"dags/{name}"] = dag_file_text(module)
    return files


def init_project(target: Path, sample: bool = True, sample_rows: int = 400) -> list[Path]:
    """Write a project into `target` (new or empty); return the files written."""
    if target.exists() and any(target.iterdir()):
        raise ConfigError(
            f"{target} is not empty: `driftline init` writes a new project; choose a new "
            "folder (existing files are never overwritten)"
        )
    written = []
    for relative, text in template_files(sample).items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    if sample:
        drop = target / "drop"
        write_demo_drop(
            drop,
            DemoData(start=SAMPLE_START, days=SAMPLE_NIGHTS, drift_day=4, rows_per_day=sample_rows),
        )
        written.extend(sorted(p for p in drop.rglob("*") if p.is_file()))
    logger.info("wrote %d files to %s", len(written), target)
    return written
