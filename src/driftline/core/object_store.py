"""How each component reaches an S3-compatible object store, from the standard AWS variables.

A lake on `s3://` is read and written by three clients that are each configured their own
way: Spark through Hadoop's S3A connector (`s3a://`, `fs.s3a.*` settings, its own jars),
delta-rs (storage options) and Arrow (a `FileSystem`). Operators already set the AWS SDK's
variables (`AWS_ENDPOINT_URL` for MinIO or any non-AWS store, `AWS_ACCESS_KEY_ID` and
`AWS_SECRET_ACCESS_KEY`, `AWS_REGION`) or give hosts an instance role; delta-rs, Arrow and
boto3 read those themselves. This module hands the same facts to S3A, which does not, and
asks delta-rs for conditional writes, so two writers committing the same version cannot
both win (the store refuses the second `PUT` of a log entry; delta-rs retries on the new
version) without a lock table or any "unsafe rename" setting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from driftline.core.errors import ConfigError

if TYPE_CHECKING:
    from pyarrow import fs as pafs

S3_SCHEMES = ("s3://", "s3a://")


def is_s3(uri: str) -> bool:
    return uri.startswith(S3_SCHEMES)


def endpoint(environ: Mapping[str, str] | None = None) -> str | None:
    """The S3 endpoint the AWS SDKs would use: `AWS_ENDPOINT_URL_S3`, else
    `AWS_ENDPOINT_URL`; None means AWS itself, found from the region.

    Checked here, once for every client: S3A would take `host:9000` as a host name and
    fail on the first request, far from the setting that was wrong."""
    env = os.environ if environ is None else environ
    url = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        name = "AWS_ENDPOINT_URL_S3" if env.get("AWS_ENDPOINT_URL_S3") else "AWS_ENDPOINT_URL"
        raise ConfigError(
            f"{name} {url!r} is not an http(s) URL: give it as http://host:port or https://host"
        )
    return url


def region(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None


def delta_rs_options(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """delta-rs storage options for a table on S3 (credentials stay in the environment)."""
    options = {"AWS_CONDITIONAL_PUT": "etag"}
    url = endpoint(environ)
    if url:
        options["AWS_ENDPOINT_URL"] = url
        if url.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    return options


def s3a_conf(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Spark settings that point Hadoop's S3A connector where the AWS SDKs point.

    A non-AWS endpoint (MinIO, Ceph, moto) gets path-style requests, as such stores
    expect; credentials come from S3A's default chain (the AWS variables, then the host's
    instance role), so no key is ever written into Spark's configuration.
    """
    conf: dict[str, str] = {}
    url = endpoint(environ)
    if url:
        conf["spark.hadoop.fs.s3a.endpoint"] = url
        conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(url.startswith("https://"))
    name = region(environ)
    if name:
        conf["spark.hadoop.fs.s3a.endpoint.region"] = name
    return conf


def s3a_package() -> str:
    """Hadoop's S3A connector for the Hadoop that pyspark bundles: its jars must match
    Hadoop's own exactly (`hadoop-aws` pulls the AWS SDK it was built against)."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    home = os.environ.get("SPARK_HOME")
    for folder in ([Path(home) / "jars"] if home else []) + [jars]:
        for jar in sorted(folder.glob("hadoop-client-api-*.jar")):
            found = re.fullmatch(r"hadoop-client-api-(.+)\.jar", jar.name)
            if found:
                return f"org.apache.hadoop:hadoop-aws:{found.group(1)}"
    raise RuntimeError(
        f"no hadoop-client-api jar under {jars}: cannot tell which hadoop-aws matches this "
        "Spark; name it in DRIFTLINE_SPARK_PACKAGES"
    )


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """Arrow's file system for `uri` (a local path, `file://`, `s3://` or `s3a://`) and the
    path within it.

    On AWS without `AWS_REGION` the bucket's own region is looked up, as Arrow's URI
    parsing does; a local path is taken as it is (a URI would need `%`, `#` or `?` in a
    folder's name escaped)."""
    from pyarrow import fs as pafs

    if uri.startswith("s3a://"):
        uri = "s3://" + uri[len("s3a://") :]
    if "://" not in uri:
        return pafs.LocalFileSystem(), str(Path(uri).resolve())
    if not uri.startswith("s3://"):
        filesystem, path = pafs.FileSystem.from_uri(uri)
        return filesystem, path.rstrip("/")
    bucket_and_key = uri[len("s3://") :].rstrip("/")
    url = endpoint()
    if url is None:
        bucket = bucket_and_key.split("/", 1)[0]
        name = region() or pafs.resolve_s3_region(bucket)
        return pafs.S3FileSystem(region=name), bucket_and_key
    parts = urlsplit(url)
    options = {"region": region()} if region() else {}
    filesystem = pafs.S3FileSystem(endpoint_override=parts.netloc, scheme=parts.scheme, **options)
    return filesystem, bucket_and_key
