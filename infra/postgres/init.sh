#!/usr/bin/env bash
# Runs once, as the superuser, when the database volume is new: a role per service, each
# owning only its own database, and a read-only role through which the pipeline's tasks
# extract from the legacy database. Nothing else ever connects as the superuser.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v airflow_password="${POSTGRES_AIRFLOW_PASSWORD:?}" \
  -v mlflow_password="${POSTGRES_MLFLOW_PASSWORD:?}" \
  -v reader_password="${POSTGRES_READER_PASSWORD:?}" <<'SQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_password';
CREATE DATABASE mlflow OWNER mlflow;
-- Stands in for the legacy application database that `kind: sql` sources extract from.
CREATE DATABASE legacy;
CREATE ROLE driftline_reader LOGIN PASSWORD :'reader_password';
REVOKE ALL ON DATABASE airflow, mlflow, legacy FROM PUBLIC;
GRANT CONNECT ON DATABASE legacy TO driftline_reader;
\connect legacy
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO driftline_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO driftline_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO driftline_reader;
SQL
