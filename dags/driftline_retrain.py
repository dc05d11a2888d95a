"""Airflow DAG file: the retrain DAG of each of this project's pipelines.

One pipeline in driftline.yaml gives driftline_retrain;
pipelines/<name>.yaml give driftline_<name>_retrain.
The DAGs are defined in the installed package (`driftline.dags.retrain`).
"""

from driftline.dags import retrain

globals().update(retrain.build_all())
