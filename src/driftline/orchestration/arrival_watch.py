"""What the `driftline_file_drop` DAG waits for: per on-arrival source, the arguments of
the provider's deferrable sensor that sees the date's files (or their done-markers).

Kept free of heavy imports: the DAG file calls it while it is parsed.
"""

from __future__ import annotations

import posixpath
from typing import Any

from driftline.core.settings import load_settings
from driftline.core.source_config import SourceConfig

DS = "{{ ds }}"
HOUR = "{{ logical_date.strftime('%H') }}"  # `{run_hour}`, in an hourly pipeline's paths


def watched_path(source: SourceConfig) -> str:
    """The source's path for the run's date (and hour), with the done-marker when it has
    one."""
    return source.path_for(DS, HOUR) + (source.arrival.done_marker or "")


def sensor_kwargs(source: SourceConfig) -> dict[str, Any]:
    """Keyword arguments for the sensor of `source` (templated on the logical date)."""
    timing = {
        "poke_interval": source.arrival.poke_seconds,
        "timeout": source.arrival.timeout_hours * 3600,
        "deferrable": True,
    }
    path = watched_path(source)
    if source.kind == "sftp":
        folder, pattern = posixpath.split(path)
        return {"sftp_conn_id": source.conn_id, "path": folder, "file_pattern": pattern, **timing}
    if source.kind == "s3":
        return {
            "aws_conn_id": source.conn_id,
            "bucket_name": source.bucket,
            "bucket_key": path,
            "wildcard_match": True,
            **timing,
        }
    # Local drops: an absolute glob under the drop root, resolved when the task runs.
    return {"filepath": "{{ driftline_drop_root() }}/" + path, **timing}


def drop_root() -> str:
    """Jinja macro: the drop root of the worker that runs the sensor."""
    return str(load_settings().resolved_drop_root)
