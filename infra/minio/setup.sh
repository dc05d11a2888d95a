#!/bin/sh
# One-shot, with the root key (used for nothing else): the lake bucket and two scoped keys.
# The pipeline's key reads and writes that bucket only; the auditor's only reads it.
set -eu
mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "local/$LAKE_BUCKET"
for who in pipeline auditor; do
  sed "s/LAKE_BUCKET/$LAKE_BUCKET/g" "/policies/$who.json" > "/tmp/$who.json"
  mc admin policy create local "driftline-$who" "/tmp/$who.json"
done
mc admin user add local "$PIPELINE_ACCESS_KEY" "$PIPELINE_SECRET_KEY"
mc admin policy attach local driftline-pipeline --user "$PIPELINE_ACCESS_KEY" || true
mc admin user add local "$AUDITOR_ACCESS_KEY" "$AUDITOR_SECRET_KEY"
mc admin policy attach local driftline-auditor --user "$AUDITOR_ACCESS_KEY" || true
