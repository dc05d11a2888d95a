"""Airflow DAG file: driftline_maintenance for this project's pipeline file.

The DAG is defined in the installed package (`driftline.dags.maintenance`).
"""

from driftline.dags import maintenance

dag = maintenance.build()
