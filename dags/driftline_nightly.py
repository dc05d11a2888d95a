"""Airflow DAG file: driftline_nightly for this project's pipeline file.

The DAG is defined in the installed package (`driftline.dags.nightly`).
"""

from driftline.dags import nightly

dag = nightly.build()
