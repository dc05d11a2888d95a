"""How the AWS variables reach each client of an S3 lake (no store needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.core import object_store
from driftline.core.settings import load_settings
from driftline.core.spark import extra_packages

MINIO = {"AWS_ENDPOINT_URL": "http://minio:9000", "AWS_REGION": "eu-west-1"}


def test_the_s3_specific_endpoint_wins_over_the_general_one() -> None:
    both = {"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "http://b:2"}
    assert object_store.endpoint(both) == "http://b:2"
    assert object_store.endpoint({"AWS_ENDPOINT_URL": "http://a:1"}) == "http://a:1"
    assert object_store.endpoint({}) is None


def test_delta_rs_commits_with_conditional_writes_and_may_speak_plain_http_to_its_endpoint() -> (
    None
):
    assert object_store.delta_rs_options({}) == {"AWS_CONDITIONAL_PUT": "etag"}
    assert object_store.delta_rs_options(MINIO) == {
        "AWS_CONDITIONAL_PUT": "etag",
        "AWS_ENDPOINT_URL": "http://minio:9000",
        "AWS_ALLOW_HTTP": "true",
    }
    secure = object_store.delta_rs_options({"AWS_ENDPOINT_URL": "https://s3.example"})
    assert "AWS_ALLOW_HTTP" not in secure


def test_s3a_gets_the_endpoint_path_style_and_region_but_never_a_key() -> None:
    conf = object_store.s3a_conf({**MINIO, "AWS_SECRET_ACCESS_KEY": "s3cr3t"})
    assert conf == {
        "spark.hadoop.fs.s3a.endpoint": "http://minio:9000",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "False",
        "spark.hadoop.fs.s3a.endpoint.region": "eu-west-1",
    }
    assert object_store.s3a_conf({}) == {}


def test_the_s3a_connector_matches_the_hadoop_pyspark_bundles() -> None:
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    (client,) = jars.glob("hadoop-client-api-*.jar")
    version = client.name.removeprefix("hadoop-client-api-").removesuffix(".jar")
    assert object_store.s3a_package() == f"org.apache.hadoop:hadoop-aws:{version}"


@pytest.mark.parametrize(
    ("lake_uri", "configured", "expected_s3a"),
    [
        ("/data/lake", "", 0),
        ("s3://bucket/lake", "", 1),
        ("s3://bucket/lake", "org.apache.hadoop:hadoop-aws:3.5.0", 1),
    ],
)
def test_a_lake_on_s3_brings_the_s3a_connector_once(
    lake_uri: str, configured: str, expected_s3a: int
) -> None:
    settings = load_settings(lake_uri=lake_uri, spark_packages=configured)
    packages = extra_packages(settings)
    assert sum(p.startswith("org.apache.hadoop:hadoop-aws:") for p in packages) == expected_s3a


def test_arrow_reaches_s3_at_the_configured_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyarrow import fs as pafs

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    filesystem, path = object_store.filesystem("s3a://bucket/lake/t/")
    assert isinstance(filesystem, pafs.S3FileSystem) and path == "bucket/lake/t"
    arguments = filesystem.__reduce__()[1][0]
    assert arguments["endpoint_override"] == "127.0.0.1:9"
    assert arguments["scheme"] == "http" and arguments["region"] == "eu-west-1"


def test_an_endpoint_without_a_scheme_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from driftline.core.errors import ConfigError

    monkeypatch.setenv("AWS_ENDPOINT_URL", "minio:9000")
    with pytest.raises(ConfigError, match="AWS_ENDPOINT_URL 'minio:9000' is not an http"):
        object_store.filesystem("s3://bucket/lake")


@pytest.mark.parametrize("folder", ["plain", "a b", "lake%20x", "rv#x", "why?not"])
def test_local_paths_are_taken_as_they_are(tmp_path: Path, folder: str) -> None:
    from pyarrow import fs as pafs

    target = tmp_path / folder / "lake"
    filesystem, path = object_store.filesystem(str(target))
    assert isinstance(filesystem, pafs.LocalFileSystem) and path == str(target)
    filesystem.create_dir(f"{path}/t", recursive=True)
    assert (target / "t").is_dir()


def test_a_pinned_s3a_that_does_not_match_is_kept_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from driftline.core.spark import with_s3a

    assert with_s3a(["x:y:1"]) == ["x:y:1", object_store.s3a_package()]
    old = "org.apache.hadoop:hadoop-aws:3.3.4"
    with caplog.at_level("WARNING"):
        assert with_s3a([old]) == [old]
    assert "pyspark's Hadoop needs" in caplog.text


def test_every_client_refuses_an_endpoint_without_a_scheme() -> None:
    """S3A and delta-rs get the same check as Arrow, naming the variable that is wrong."""
    from driftline.core.errors import ConfigError

    bad = {"AWS_ENDPOINT_URL_S3": "minio:9000"}
    with pytest.raises(ConfigError, match="AWS_ENDPOINT_URL_S3 'minio:9000'"):
        object_store.s3a_conf(bad)
    with pytest.raises(ConfigError, match="http://host:port"):
        object_store.delta_rs_options(bad)
