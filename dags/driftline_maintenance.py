"""Airflow DAG file: the maintenance DAG of each of this project's pipelines.

One pipeline in driftline.yaml gives driftline_maintenance;
pipelines/<name>.yaml give driftline_<name>_maintenance.
The DAGs are defined in the installed package (`driftline.dags.maintenance`).
"""

from driftline.dags import maintenance

globals().update(maintenance.build_all())
