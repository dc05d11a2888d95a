"""What every other part of Driftline stands on, and nothing of Driftline's stands under.

The pipeline file's schema (`pipeline`, `source_config`, `validation`) and how it is read
(`loading`), the `DRIFTLINE_*` settings (`settings`), the one `errors` module, table names
(`tables`), the SparkSession (`spark`), the device choice (`device`), alerts (`notify`) and
pure DataFrame helpers (`transforms`).

Imports nothing of Driftline's. Light at import time (pydantic and YAML; Spark only inside
functions), because DAG files import it while Airflow parses them.
"""
