"""Airflow DAG file: driftline_file_drop for this project's pipeline file.

The DAG is defined in the installed package (`driftline.dags.file_drop`).
"""

from driftline.dags import file_drop

dag = file_drop.build()
