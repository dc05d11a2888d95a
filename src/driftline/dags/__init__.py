"""Driftline's Airflow DAGs, defined in the package so a project's `dags/` folder holds only
one short file per DAG (`driftline init` writes them): no copy of Driftline's wiring to
keep in step, and upgrading the package upgrades every project's DAGs.

Each module's `build()` reads the pipeline file when Airflow parses the DAG file, so an
invalid file is an import error in the UI, never a DAG with a guessed schedule.
"""

from __future__ import annotations

# DAG file name in a project -> the module here whose `build()` makes its DAG.
DAG_FILES = {
    "driftline_nightly.py": "nightly",
    "driftline_retrain.py": "retrain",
    "driftline_file_drop.py": "file_drop",
    "driftline_maintenance.py": "maintenance",
}


def dag_file_text(module: str) -> str:
    """The whole text of a project's DAG file for `module` (Airflow only parses files that
    mention both "airflow" and "dag", which the docstring does)."""
    return (
        f'"""Airflow DAG file: driftline_{module} for this project\'s pipeline file.\n\n'
        f"The DAG is defined in the installed package (`driftline.dags.{module}`).\n"
        '"""\n\n'
        f"from driftline.dags import {module}\n\n"
        f"dag = {module}.build()\n"
    )
