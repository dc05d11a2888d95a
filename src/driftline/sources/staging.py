"""The staging area: where remote files and extracts land before Spark reads them.

Every name that comes from outside (an SFTP listing, an S3 key, a member of a zip) goes
through `safe_name`, so a crafted name such as `../../etc/cron.d/x` cannot write outside
the folder of its source and date.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePosixPath

from driftline.core.errors import SourceError
from driftline.core.intervals import RunInterval

_UNSAFE = re.compile(r"[^A-Za-z0-9._\-]")


def safe_name(remote_name: str) -> str:
    """A flat, harmless local file name for `remote_name`.

    Folders are dropped (only the last component is kept) and anything but letters, digits,
    dot, dash and underscore becomes `_`; a name that is empty, `.` or `..` afterwards, or
    that held a NUL byte, is refused rather than guessed at.
    """
    if "\x00" in remote_name:
        raise SourceError(f"file name {remote_name!r} contains a NUL byte; rename it at the source")
    last = PurePosixPath(remote_name.replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", last)
    if cleaned in {"", ".", ".."} or set(cleaned) <= {"."}:
        raise SourceError(
            f"file name {remote_name!r} has no usable name once folders are stripped; "
            "rename it at the source"
        )
    return cleaned


def staged_name(index: int, remote_name: str) -> str:
    """The local name of the `index`-th file of one download: its position keeps two remote
    names that clean up alike (`a b.csv`, `a_b.csv`) from overwriting each other."""
    return f"{index:05d}-{safe_name(remote_name)}"


def inside(folder: Path, name: str) -> Path:
    """`folder / name`, checked to resolve inside `folder` (defence in depth)."""
    target = (folder / name).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise SourceError(f"{name!r} would be written outside {folder}; refused")
    return target


def fresh_dir(
    staging_root: Path, source: str, interval: RunInterval, part: str = "download"
) -> Path:
    """An empty folder for one source, date and purpose: a re-run starts from nothing."""
    folder = staging_root / source / interval.label / part
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder
