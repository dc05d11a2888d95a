"""Airflow DAG file: the file_drop DAG of each of this project's pipelines.

One pipeline in driftline.yaml gives driftline_file_drop;
pipelines/<name>.yaml give driftline_<name>_file_drop.
The DAGs are defined in the installed package (`driftline.dags.file_drop`).
"""

from driftline.dags import file_drop

globals().update(file_drop.build_all())
