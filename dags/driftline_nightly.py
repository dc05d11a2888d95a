"""Airflow DAG file: the nightly DAG of each of this project's pipelines.

One pipeline in driftline.yaml gives driftline_nightly;
pipelines/<name>.yaml give driftline_<name>_nightly.
The DAGs are defined in the installed package (`driftline.dags.nightly`).
"""

from driftline.dags import nightly

globals().update(nightly.build_all())
