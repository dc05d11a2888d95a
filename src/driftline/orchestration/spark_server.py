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
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

from driftline.core.errors import DriftlineError

logger = logging.getLogger(__name__)

ATTEMPTS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_beside_this_process(log: Path, seconds: float = 300.0) -> dict[str, str]:
    """Start `driftline spark-server` on a free local port, wait until it serves, and return
    the variables that point a task at it: its `sc://localhost` address and the random
    token it requires (so no other local user's process can run code through it).

    The server ends when this process (or the program it execs into) ends. It gets this
    process's environment: the same lake, staging and Spark settings as the tasks. A
    server that exits before serving (another process took the port between choosing and
    binding it, say) is started again on another port; after three such starts the error
    quotes its log.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    for _ in range(ATTEMPTS):
        port = free_port()
        start = log.stat().st_size if log.exists() else 0
        with log.open("ab") as output:
            server = subprocess.Popen(
                [
                    *(sys.executable, "-m", "driftline.cli", "--verbose", "spark-server"),
                    *("--port", str(port), "--parent", str(os.getpid())),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "SPARK_CONNECT_AUTHENTICATE_TOKEN": token},
            )
        deadline = time.monotonic() + seconds
        while server.poll() is None and time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5):
                    logger.info("Spark Connect server on port %d (log: %s)", port, log)
                    return {
                        "DRIFTLINE_SPARK_REMOTE": f"sc://localhost:{port}",
                        "SPARK_CONNECT_AUTHENTICATE_TOKEN": token,
                    }
            except OSError:
                time.sleep(1)
        if server.poll() is None:
            server.kill()
        with log.open("rb") as written:
            written.seek(start)
            tail = written.read().decode(errors="replace")[-3000:]
        logger.warning("the Spark Connect server did not start on port %d:\n%s", port, tail)
    raise DriftlineError(
        f"the Spark Connect server did not start ({ATTEMPTS} tries; log: {log}):\n{tail}\n"
        "fix what the log says, or run without it: driftline ui --no-spark-server"
    )
