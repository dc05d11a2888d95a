"""Driftline's Airflow DAGs, defined in the package so a project's `dags/` folder holds only
one short file per DAG (`driftline init` writes them): no copy of Driftline's wiring to
keep in step, and upgrading the package upgrades every project's DAGs.

Each module's `build_all()` reads the project's pipeline files when Airflow parses the DAG
file and builds one DAG per pipeline, so an invalid file is an import error in the UI,
never a DAG with a guessed schedule. (`build()`, one DAG for a project's single pipeline,
is what DAG files written before `build_all` call.)
"""

from __future__ import annotations

# DAG file name in a project -> the module here whose `build_all()` makes its DAGs.
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
        f'"""Airflow DAG file: the {module} DAG of each of this project\'s pipelines.\n\n'
        f"One pipeline in driftline.yaml gives driftline_{module};\n"
        f"pipelines/<name>.yaml give driftline_<name>_{module}.\n"
        f"The DAGs are defined in the installed package (`driftline.dags.{module}`).\n"
        '"""\n\n'
        f"from driftline.dags import {module}\n\n"
        f"globals().update({module}.build_all())\n"
    )
