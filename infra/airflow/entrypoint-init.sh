#!/usr/bin/env bash
# One-shot: migrate the metadata DB and write the admin's password for the simple auth
# manager from the environment (nothing is baked into the image).
set -euo pipefail
airflow db migrate
mkdir -p "${AIRFLOW_HOME}"
printf '{"%s": "%s"}\n' "${AIRFLOW_ADMIN_USER}" "${AIRFLOW_ADMIN_PASSWORD}" \
  > "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE}"
