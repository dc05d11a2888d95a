"""One entry point per run: what a source delivered for a date, as local files."""

from __future__ import annotations

from datetime import date

from driftline.core.settings import Settings
from driftline.core.source_config import SourceConfig
from driftline.sources.files import Acquired, local_files
from driftline.sources.sql import Watermarks
from driftline.sources.staging import fresh_dir


def acquire(
    settings: Settings, source: SourceConfig, run_date: date, window: Watermarks | None = None
) -> Acquired:
    """Local drops are read in place; remote files and extracts are copied into a fresh
    staging folder of the source and date (a re-run downloads again)."""
    if source.kind == "local":
        return local_files(settings.resolved_drop_root, source, run_date)
    staging = fresh_dir(settings.resolved_staging_root, source.name, run_date)
    if source.kind == "sftp":
        from driftline.sources.sftp import sftp_files

        return sftp_files(source, run_date, staging)
    if source.kind == "s3":
        from driftline.sources.s3 import s3_files

        return s3_files(source, run_date, staging)
    from driftline.sources.sql import sql_extract

    return Acquired([sql_extract(source, run_date, staging, window or Watermarks())], [])
