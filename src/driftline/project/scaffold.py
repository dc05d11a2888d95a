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


def template_files() -> dict[str, str]:
    """Project-relative path -> text of every file `init` writes besides the sample drop."""
    root = resources.files("driftline") / "resources" / "project"
    files = {
        "driftline.yaml": (root / "driftline.yaml").read_text(encoding="utf-8"),
        "README.md": (root / "README.md").read_text(encoding="utf-8"),
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
    for relative, text in template_files().items():
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
