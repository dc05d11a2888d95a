"""`driftline demo`'s environment: the workdir keeps the lake a demo run chose."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftline.core.errors import ConfigError
from driftline.demo.runner import prepare_environment, remember_lake_uri, run_demo
from tests.conftest import PROJECT


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """prepare_environment exports what it builds, as the CLI needs; not to other tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_later_commands_read_the_lake_the_demo_ran_on(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    assert prepare_environment(workdir, PROJECT)["DRIFTLINE_LAKE_URI"] == str(
        workdir.resolve() / "lakehouse"
    )
    remember_lake_uri(workdir, "s3://bucket/demo")
    assert prepare_environment(workdir, PROJECT)["DRIFTLINE_LAKE_URI"] == "s3://bucket/demo"
    # A demo run without --lake-uri goes back to the folder.
    remember_lake_uri(workdir, None)
    assert prepare_environment(workdir, PROJECT)["DRIFTLINE_LAKE_URI"].endswith("lakehouse")


def test_a_malformed_store_endpoint_stops_the_demo_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "127.0.0.1:9000")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    with pytest.raises(ConfigError, match=re.escape("AWS_ENDPOINT_URL '127.0.0.1:9000'")):
        run_demo(3, tmp_path / "demo", PROJECT, lake_uri="s3://bucket/demo")
    assert not (tmp_path / "demo" / "airflow").exists()
