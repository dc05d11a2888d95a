"""Airflow DAG file: driftline_retrain for this project's pipeline file.

The DAG is defined in the installed package (`driftline.dags.retrain`).
"""

from driftline.dags import retrain

dag = retrain.build()
