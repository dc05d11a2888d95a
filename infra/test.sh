#!/usr/bin/env bash
# Every check CI runs: lint (ruff, with Airflow's AIR rules), types (mypy), unit tests, then
# integration tests (Spark, Airflow dag.test(), GE, MLflow, XGBoost, spark-submit).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

ruff check .
ruff format --check .
mypy
pytest -m "not integration" "$@"
# Two workers, a module to each (its module-scoped fixtures run once), the longest modules
# first (tests/conftest.py): most of an integration test's time is a JVM, Airflow or a
# server starting, so the two cores were about half idle with one worker.
pytest -m integration -n 2 --dist loadfile --no-loadscope-reorder --durations=15 "$@"
