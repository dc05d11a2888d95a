"""Real servers for the source tests, started once per run: an SFTP server (asyncssh, in
this process), an S3 endpoint (moto's server mode) and, where `.ci/run` started one,
PostgreSQL. Airflow connections reach them through `AIRFLOW_CONN_*` variables, as they
would in production."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SFTP_USER, SFTP_PASSWORD = "legacy", "drop-password"


@dataclass
class SftpServer:
    root: Path
    port: int
    host_key: str  # "ssh-ed25519 AAAA…", as an Airflow connection's `host_key` extra takes it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def connection_env(conn_id: str, **fields: object) -> dict[str, str]:
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(fields)}


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    import asyncssh

    root = tmp_path_factory.mktemp("sftp-root")
    key = asyncssh.generate_private_key("ssh-ed25519")
    loop = asyncio.new_event_loop()

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return (username, password) == (SFTP_USER, SFTP_PASSWORD)

    async def start() -> asyncssh.SSHAcceptor:
        return await asyncssh.create_server(
            Server,
            "127.0.0.1",
            0,
            server_host_keys=[key],
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()),
        )

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    acceptor = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    port = acceptor.sockets[0].getsockname()[1]
    public = key.export_public_key("openssh").decode().split()
    yield SftpServer(root, port, f"{public[0]} {public[1]}")
    loop.call_soon_threadsafe(acceptor.close)
    loop.call_soon_threadsafe(loop.stop)


@pytest.fixture
def sftp_conn(sftp_server: SftpServer, monkeypatch: pytest.MonkeyPatch) -> str:
    env = connection_env(
        "legacy_sftp",
        conn_type="sftp",
        host="127.0.0.1",
        port=sftp_server.port,
        login=SFTP_USER,
        password=SFTP_PASSWORD,
        extra={"host_key": sftp_server.host_key, "look_for_keys": False},
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return "legacy_sftp"


@dataclass
class S3Endpoint:
    url: str
    log: Path  # the server's request log: one line per request, method and key


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    """moto's server in a process of its own, as an S3 endpoint is: a client that holds
    this process's GIL while it waits for an answer (delta-rs does, in places) would
    otherwise wait for ever on a server thread that cannot run."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"moto's server did not start; see {log.name}") from None
            time.sleep(0.2)
    yield S3Endpoint(url, log_path)
    server.terminate()
    server.wait(timeout=30)
    log.close()


LAKE_BUCKET = "driftline-lake"


@pytest.fixture(scope="session")
def s3_lake_store(s3_endpoint: S3Endpoint) -> Iterator[str]:
    """A bucket for lakes on S3, with the standard AWS variables pointing every client
    (S3A, delta-rs, Arrow, boto3) at the moto server for the whole session, as an
    operator's environment would; returns the bucket's `s3://` URI."""
    import boto3

    patch = pytest.MonkeyPatch()
    for name, value in {
        "AWS_ENDPOINT_URL": s3_endpoint.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }.items():
        patch.setenv(name, value)
    boto3.client("s3", endpoint_url=s3_endpoint.url).create_bucket(Bucket=LAKE_BUCKET)
    yield f"s3://{LAKE_BUCKET}"
    patch.undo()


@pytest.fixture
def s3_conn(s3_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch) -> str:
    env = connection_env(
        "legacy_s3",
        conn_type="aws",
        login="testing",
        password="testing",
        extra={"endpoint_url": s3_endpoint.url, "region_name": "us-east-1"},
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return "legacy_s3"


@pytest.fixture
def s3_client(s3_endpoint: S3Endpoint):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


POSTGRES = os.environ.get("DRIFTLINE_TEST_POSTGRES", "")
