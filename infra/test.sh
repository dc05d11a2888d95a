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
pytest -m integration --durations=15 "$@"
