#!/usr/bin/env bash
# Start the machine's PostgreSQL cluster (Debian's; installed first where missing) and create fresh, empty databases
# for the Postgres-backed integration run (Airflow's metadata, MLflow's backend) and for
# the SQL-source tests (a legacy application database).
# Prints the server URL (without a database) for DRIFTLINE_TEST_POSTGRES; prints nothing
# and exits 0 where there is no right to install or start one (.ci/run then fails).
set -euo pipefail

if [ "$(id -u)" != "0" ]; then
  echo "postgres: not root; the Postgres-backed tests will skip" >&2
  exit 0
fi
# A machine without a PostgreSQL server gets Debian's (a new machine kind starts bare).
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "postgres: installing Debian's PostgreSQL server..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "postgres: no Debian cluster tools (apt-get install postgresql)" >&2
  exit 0
fi
version=$(pg_lsclusters -h | awk 'NR == 1 {print $1}')
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main status >/dev/null 2>&1 || pg_ctlcluster "$version" main start >&2
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
