"""Delivered files where every Spark executor can read them.

The driver downloads, unpacks and decodes a night's files on its own disk, and reads their
headers and counts their lines there. On one machine Spark reads them there too. On a
cluster of several hosts an executor cannot see the driver's disk, so with
`DRIFTLINE_STAGING_URI` set the files Spark will read are first copied under that URI
(an `s3://` prefix, or a folder every node mounts), one folder per source, date and
purpose, replaced when the date is re-run and removed (with any preview's) once ingest has
committed the date. Copies a crashed run left behind stay until the date runs again; a
bucket lifecycle rule on the prefix (expire after a few days) reclaims dates never re-run.
"""

from __future__ import annotations

import dataclasses
import logging

from driftline.core import object_store
from driftline.core.intervals import RunInterval
from driftline.core.settings import Settings
from driftline.lake.delta_files import spark_uri
from driftline.sources.staging import safe_name
from driftline.sources.unpack import Member

logger = logging.getLogger(__name__)


def folder(
    settings: Settings, source: str, interval: RunInterval, part: str | None = None
) -> str | None:
    """The shared folder of one source and date (and purpose, where given); None without a
    staging URI."""
    if not settings.staging_uri:
        return None
    dated = f"{settings.staging_uri.rstrip('/')}/{source}/{interval.label}"
    return dated if part is None else f"{dated}/{part}"


def share(
    settings: Settings, source: str, interval: RunInterval, part: str, members: list[Member]
) -> list[Member]:
    """`members`, each with its `read_uri` under the shared folder (copied there), or as
    they are when there is no staging URI. The folder is emptied first: a re-run of the
    date starts from nothing, as its local staging does."""
    target = folder(settings, source, interval, part)
    if target is None or not members:
        return members
    from pyarrow import fs as pafs

    filesystem, root = object_store.filesystem(target)
    filesystem.create_dir(root, recursive=True)
    filesystem.delete_dir_contents(root, missing_dir_ok=True)
    local = pafs.LocalFileSystem()
    shared = []
    for index, member in enumerate(members):
        # The position keeps two members that clean up to one name apart.
        name = f"{index:05d}-{safe_name(member.path.name)}"
        pafs.copy_files(
            str(member.path.resolve()),
            f"{root}/{name}",
            source_filesystem=local,
            destination_filesystem=filesystem,
        )
        shared.append(dataclasses.replace(member, read_uri=spark_uri(f"{target}/{name}")))
    logger.info("source %s: %d file(s) shared for Spark under %s", source, len(shared), target)
    return shared


def clear(settings: Settings, source: str, interval: RunInterval) -> None:
    """Remove the date's shared copies (ingest's and any preview's) once the lake holds the
    rows. A night with nothing to share has no folder; a copy that cannot be removed is
    only logged: the date's rows are committed, and its next run replaces the copies."""
    target = folder(settings, source, interval)
    if target is None:
        return
    try:
        filesystem, root = object_store.filesystem(target)
        filesystem.delete_dir_contents(root, missing_dir_ok=True)
        filesystem.delete_dir(root)
    except FileNotFoundError:
        pass
    except OSError as error:
        logger.warning("could not remove the shared copies under %s: %s", target, error)
