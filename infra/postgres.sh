#!/usr/bin/env bash
# Start the machine's PostgreSQL 15 cluster (Debian's) and create fresh, empty databases
# for the Postgres-backed integration run (Airflow's metadata, MLflow's backend) and for
# the SQL-source tests (a legacy application database).
# Prints the server URL (without a database) for DRIFTLINE_TEST_POSTGRES; prints nothing
# and exits 0 where there is no cluster or no right to start it, so the test skips.
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ "$(id -u)" != "0" ]; then
  echo "postgres: no Debian cluster tools or not root; the Postgres-backed test will skip" >&2
  exit 0
fi
pg_ctlcluster 15 main status >/dev/null 2>&1 || pg_ctlcluster 15 main start >&2
for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q" && break
  sleep 1
done

# A throwaway password for a throwaway local role: this only ever serves the test run.
su postgres -c "psql -v ON_ERROR_STOP=1 -q" <<'SQL'
DROP DATABASE IF EXISTS driftline_airflow;
DROP DATABASE IF EXISTS driftline_mlflow;
DROP DATABASE IF EXISTS driftline_legacy;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'driftline_ci') THEN
    CREATE ROLE driftline_ci LOGIN PASSWORD 'driftline_ci';
  END IF;
END $$;
CREATE DATABASE driftline_airflow OWNER driftline_ci;
CREATE DATABASE driftline_mlflow OWNER driftline_ci;
-- Stands in for a legacy application database that SQL sources extract from.
CREATE DATABASE driftline_legacy OWNER driftline_ci;
SQL
echo "postgresql://driftline_ci:driftline_ci@127.0.0.1:5432"
