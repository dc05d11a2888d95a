"""One Spark Connect server beside Airflow's scheduler, so its tasks need no JVM of their own.

Under the real scheduler every task is a process of its own; with a SparkSession each, every
task pays a JVM start, Spark's start and its warm-up. `driftline ui` starts this server
instead and hands its address to the tasks (`DRIFTLINE_SPARK_REMOTE`): a task's session is
then a thin client that connects in a second or two, and the Spark work runs in one JVM
that stays warm (with its Python workers) across tasks and runs.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

logger = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_beside_this_process(log: Path) -> str:
    """Start `driftline spark-server` on a free local port, ending when this process (or
    the program it execs into) ends, and return its `sc://` address. The server gets this
    process's environment: the same lake, staging and Spark settings as the tasks."""
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        subprocess.Popen(
            [
                *(sys.executable, "-m", "driftline.cli", "--verbose", "spark-server"),
                *("--port", str(port), "--parent", str(os.getpid())),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    logger.info("Spark Connect server starting on port %d (log: %s)", port, log)
    return f"sc://127.0.0.1:{port}"
