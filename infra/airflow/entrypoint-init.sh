#!/usr/bin/env bash
# One-shot: migrate the metadata DB and create the users of the FAB auth manager from the
# environment (nothing is baked into the image): an admin; an operator (FAB's `User` role:
# trigger, backfill, clear, but no connections, variables or users); a viewer who may only
# read.
set -euo pipefail
airflow db migrate
airflow fab-db migrate

user() {  # name password role; idempotent: an existing user gets the password again
  airflow users create --username "$1" --password "$2" --role "$3" \
    --firstname "$1" --lastname driftline --email "$1@driftline.invalid" \
    || airflow users reset-password --username "$1" --password "$2"
}
user "${AIRFLOW_ADMIN_USER:?}" "${AIRFLOW_ADMIN_PASSWORD:?}" Admin
user "${AIRFLOW_OPERATOR_USER:?}" "${AIRFLOW_OPERATOR_PASSWORD:?}" User
user "${AIRFLOW_VIEWER_USER:?}" "${AIRFLOW_VIEWER_PASSWORD:?}" Viewer
