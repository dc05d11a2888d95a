"""One entry point per run: what a source delivered for a date, as local files."""

from __future__ import annotations

from driftline.core.intervals import RunInterval
from driftline.core.settings import Settings
from driftline.core.source_config import SourceConfig
from driftline.sources.files import Acquired, local_files
from driftline.sources.sql import Watermarks
from driftline.sources.staging import fresh_dir


def acquire(
    settings: Settings,
    source: SourceConfig,
    interval: RunInterval,
    window: Watermarks | None = None,
) -> Acquired:
    """Local drops are read in place; remote files and extracts are copied into a fresh
    staging folder of the source and date (a re-run downloads again)."""
    if source.kind == "local":
        return local_files(settings.resolved_drop_root, source, interval)
    staging = fresh_dir(settings.resolved_staging_root, source.name, interval)
    if source.kind == "sftp":
        from driftline.sources.sftp import sftp_files

        return sftp_files(source, interval, staging)
    if source.kind == "s3":
        from driftline.sources.s3 import s3_files

        return s3_files(source, interval, staging)
    from driftline.sources.sql import sql_extract

    return Acquired([sql_extract(source, interval, staging, window or Watermarks())], [])
