"""Objects from an S3 bucket (AWS or an S3-compatible store such as MinIO), through the
Airflow Amazon provider's `S3Hook`, so the endpoint and keys live in the connection."""

from __future__ import annotations

import fnmatch
import logging
import re
from pathlib import Path

from driftline.core.intervals import RunInterval
from driftline.core.source_config import SourceConfig
from driftline.sources.arrival import Listed, ready_files
from driftline.sources.files import Acquired, DroppedFile, sha256_of
from driftline.sources.staging import inside, staged_name

logger = logging.getLogger(__name__)


def s3_files(source: SourceConfig, interval: RunInterval, staging: Path) -> Acquired:
    """Download the complete objects of `interval` into `staging`; the bucket is not changed."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    assert source.path is not None and source.bucket is not None
    pattern = source.path_for(*interval.path_values)
    prefix = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    client = S3Hook(aws_conn_id=source.conn_id).get_conn()
    marker = source.arrival.done_marker or ""

    def listing() -> list[Listed]:
        found = []
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=source.bucket, Prefix=prefix
        ):
            for item in page.get("Contents", []):
                key = item["Key"]
                data_key = key[: -len(marker)] if marker and key.endswith(marker) else key
                if fnmatch.fnmatchcase(data_key, pattern) and not key.endswith("/"):
                    found.append(Listed(key, int(item["Size"]), item["LastModified"].timestamp()))
        return found

    ready, waiting = ready_files(listing(), source.arrival, listing)
    files = []
    for index, item in enumerate(ready):
        local = inside(staging, staged_name(index, item.name))
        client.download_file(source.bucket, item.name, str(local))
        files.append(
            DroppedFile(
                item.name.rsplit("/", 1)[-1],
                local,
                local.stat().st_size,
                sha256_of(local),
                f"s3://{source.bucket}/{item.name}",
            )
        )
    logger.info(
        "source %s: %d object(s) from s3://%s/%s", source.name, len(files), source.bucket, prefix
    )
    return Acquired(files, [w.name for w in waiting])
