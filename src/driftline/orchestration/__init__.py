"""Where Airflow meets Driftline: running a step from a task, and everything that drives DAGs.

`launch` runs one step for a task's logical date (in the task's process, or as a Spark
application through spark-submit) and hands Airflow its result; `job` is the single
spark-submit entry point; `callbacks` and `arrival_watch` are what DAG files wire at parse
time; `airflow_runner` and `replay` drive DAG runs without a scheduler (demo, CLI, tests).

May import `steps`, `context` and `core`; nothing below imports this package. Kept light at
import time: DAG files import it while Airflow parses them.
"""

from driftline.orchestration.launch import logical_date_of, run_step, source_names

__all__ = ["logical_date_of", "run_step", "source_names"]
