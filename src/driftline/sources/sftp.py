"""Files from an SFTP server, through the Airflow SFTP provider's hook.

The connection (host, user, key or password, `host_key` or known_hosts) is an Airflow
connection named by the source's `conn_id`; host keys are verified unless that connection
explicitly says `no_host_key_check`.
"""

from __future__ import annotations

import fnmatch
import logging
import posixpath
import stat
from pathlib import Path

from driftline.core.errors import SourceError
from driftline.core.intervals import RunInterval
from driftline.core.source_config import SourceConfig
from driftline.sources.arrival import Listed, ready_files
from driftline.sources.files import Acquired, DroppedFile, sha256_of
from driftline.sources.staging import inside, staged_name

logger = logging.getLogger(__name__)


def sftp_files(source: SourceConfig, interval: RunInterval, staging: Path) -> Acquired:
    """Download the complete files of `interval` into `staging`; the server is not changed."""
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    assert source.path is not None and source.conn_id is not None
    remote = source.path_for(*interval.path_values)
    folder, pattern = posixpath.split(remote)
    if any(ch in folder for ch in "*?["):
        raise SourceError(
            f"source {source.name!r}: only the file name part of path may hold a glob, "
            f"not the folder {folder!r}"
        )
    hook = SFTPHook(ssh_conn_id=source.conn_id)
    with hook.get_managed_conn() as client:

        def listing() -> list[Listed]:
            try:
                entries = client.listdir_attr(folder or ".")
            except FileNotFoundError:
                return []
            return [
                Listed(e.filename, int(e.st_size or 0), float(e.st_mtime or 0))
                for e in entries
                if e.st_mode is not None and stat.S_ISREG(e.st_mode)
            ]

        everything = listing()
        marker = source.arrival.done_marker or ""
        matching = [
            f
            for f in everything
            if fnmatch.fnmatchcase(f.name, pattern)
            or (
                marker
                and f.name.endswith(marker)
                and fnmatch.fnmatchcase(f.name[: -len(marker)], pattern)
            )
        ]
        ready, waiting = ready_files(matching, source.arrival, listing)
        files = []
        for index, item in enumerate(ready):
            local = inside(staging, staged_name(index, item.name))
            remote_path = posixpath.join(folder, item.name) if folder else item.name
            client.get(remote_path, str(local))
            files.append(
                DroppedFile(
                    item.name,
                    local,
                    local.stat().st_size,
                    sha256_of(local),
                    f"sftp://{source.conn_id}/{remote_path.lstrip('/')}",
                )
            )
    logger.info("source %s: %d file(s) from sftp %s", source.name, len(files), remote)
    return Acquired(files, [w.name for w in waiting])
