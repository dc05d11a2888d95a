"""docker-compose.yml checked statically (no Docker engine runs on CI machines)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_build_context_and_dockerfile_exists() -> None:
    for name, service in compose()["services"].items():
        build = service.get("build")
        if build:
            context = ROOT / build["context"]
            assert context.is_dir(), f"{name}: build context {context} missing"
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name


def dockerfiles() -> dict[str, Path]:
    """Each service's Dockerfile, by service name."""
    found = {}
    for name, service in compose()["services"].items():
        build = service.get("build")
        if build:
            found[name] = ROOT / build["context"] / build.get("dockerfile", "Dockerfile")
    return found


def stage(dockerfile: Path, target: str) -> str:
    """The text of one stage of a multi-stage Dockerfile."""
    stages = re.split(r"^FROM ", dockerfile.read_text(), flags=re.M)
    (found,) = [s for s in stages if re.match(rf"\S+ AS {target}\b", s)]
    return found


def test_every_file_an_image_copies_exists() -> None:
    for name, dockerfile in dockerfiles().items():
        for line in dockerfile.read_text().splitlines():
            if line.startswith("COPY ") and "--from=" not in line:
                for source in line.split()[1:-1]:
                    assert (ROOT / source).exists(), f"{name}: {dockerfile} copies missing {source}"


def test_images_install_driftline_from_its_wheel() -> None:
    dockerfile = ROOT / "infra" / "Dockerfile"
    for target in ("spark", "airflow"):
        text = stage(dockerfile, target)
        assert "/dist/driftline-" in text, target
        assert "COPY src" not in text and "pip install -e" not in text, target
    services = compose()["services"]
    for name in ("spark-master", "airflow-scheduler"):
        build = services[name]["build"]
        assert build["dockerfile"] == "infra/Dockerfile" and build["target"] in ("spark", "airflow")
    assert services["spark-worker"]["image"] == services["spark-master"]["image"]


def test_every_driftline_setting_it_sets_exists() -> None:
    from driftline.core.settings import Settings

    env = compose()["services"]["airflow-scheduler"]["environment"]
    for key in (k for k in env if k.startswith("DRIFTLINE_")):
        assert key.removeprefix("DRIFTLINE_").lower() in Settings.model_fields, key
    # The launcher it asks for has its entry point in the package the images install.
    assert env["DRIFTLINE_STEP_LAUNCHER"] == "spark-submit"
    assert (ROOT / "src" / "driftline" / "orchestration" / "job.py").is_file()


def test_every_image_has_the_delta_and_s3a_jars_the_package_pins() -> None:
    # `driftline spark-jars` resolves Delta's jars for the installed delta-spark and S3A's
    # for pyspark's own Hadoop: no version is written anywhere else to drift from them.
    dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
    spark_stage = dockerfile[dockerfile.index(" AS spark") : dockerfile.index(" AS airflow")]
    (folder,) = re.findall(r"^RUN driftline spark-jars (\S+)$", spark_stage, re.MULTILINE)
    env = compose()["services"]["airflow-scheduler"]["environment"]
    assert env["DRIFTLINE_SPARK_JARS_DIR"] == folder
    # Tasks in many applications may commit to one table at once: only delta-rs's
    # conditional PUT makes that safe on S3 without a lock table.
    assert env["DRIFTLINE_LAKE_BACKEND"] == "delta-rs"
    # The workers are the spark stage's image, the drivers the airflow stage built on it.
    services = compose()["services"]
    assert services["spark-worker"]["image"] == services["spark-master"]["image"]
    assert services["spark-master"]["build"]["target"] == "spark"
    defaults = (ROOT / "infra" / "spark" / "spark-defaults.conf").read_text()
    assert "spark.jars.packages" not in defaults
    for other in ("docker-compose.yml", "infra/Dockerfile", "infra/spark/spark-defaults.conf"):
        assert "hadoop-aws:" not in (ROOT / other).read_text(), other
        assert "io.delta:" not in (ROOT / other).read_text(), other


def test_workers_see_the_drop_and_staging_folders_where_drivers_do() -> None:
    services = compose()["services"]
    env = services["airflow-scheduler"]["environment"]
    for service in ("airflow-scheduler", "spark-worker"):
        mounts = {v.split(":")[1] for v in services[service]["volumes"]}
        assert {env["DRIFTLINE_DROP_ROOT"], env["DRIFTLINE_STAGING_ROOT"]} <= mounts, service
    assert env["DRIFTLINE_LAKE_URI"].startswith("s3://")
    # Executors on another host need only the bucket: the files Spark parses go there too.
    bucket = env["DRIFTLINE_LAKE_URI"].split("/")[2]
    assert env["DRIFTLINE_STAGING_URI"] == f"s3://{bucket}/staging"


def test_every_mounted_file_exists_and_volumes_are_declared() -> None:
    data = compose()
    for name, service in data["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in data["volumes"], f"{name} uses undeclared volume {source}"


def test_every_variable_is_documented_in_the_example_env() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    documented = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert used - documented == set()


SECRET = re.compile(r"PASSWORD|SECRET")


def test_no_secret_has_a_default() -> None:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if not line.startswith("#") and SECRET.search(line.split("=")[0]):
            assert line.endswith("="), f"{line} ships a default secret"
    text = (ROOT / "docker-compose.yml").read_text()
    for name, rest in re.findall(r"\$\{([A-Z_][A-Z0-9_]*)([^}]*)\}", text):
        assert not rest.startswith((":-", "-")), f"{name} has a default in docker-compose.yml"


# -- locked down -------------------------------------------------------------------------


def test_published_ports_bind_to_localhost_only() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond localhost"


def test_airflow_has_a_production_auth_manager_with_three_roles() -> None:
    env = compose()["services"]["airflow-api-server"]["environment"]
    assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("fab_auth_manager.FabAuthManager")
    for path in [ROOT / "docker-compose.yml", *(ROOT / "infra").rglob("*")]:
        if path.is_file():
            assert "SimpleAuthManager" not in path.read_text(errors="ignore"), path
    init = (ROOT / "infra" / "airflow" / "entrypoint-init.sh").read_text()
    for role in ("Admin", "User", "Viewer"):
        assert re.search(rf"^user .* {role}$", init, flags=re.M), role
    assert "apache-airflow-providers-fab" in (ROOT / "pyproject.toml").read_text()
    assert "[postgres,stack]" in stage(ROOT / "infra" / "Dockerfile", "airflow")


def test_no_service_connects_to_postgres_as_the_superuser() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    urls = re.findall(r"postgres(?:ql)?(?:\+\w+)?://[^\s'\"]+", text)
    assert urls
    for url in urls:
        assert "POSTGRES_USER" not in url and "POSTGRES_PASSWORD}" not in url, url
    init = (ROOT / "infra" / "postgres" / "init.sh").read_text()
    assert "CREATE ROLE driftline_reader" in init
    assert "GRANT SELECT" in init and "GRANT ALL" not in init


def test_object_storage_keys_are_scoped() -> None:
    import json

    services = compose()["services"]
    for name, service in services.items():
        env = service.get("environment", {})
        if name not in ("minio", "minio-setup"):
            assert not any("MINIO_ROOT" in str(v) for v in env.values()), name
    assert services["airflow-scheduler"]["environment"]["AWS_ACCESS_KEY_ID"].startswith(
        "${PIPELINE_ACCESS_KEY"
    )
    policies = {
        who: json.loads((ROOT / "infra" / "minio" / f"{who}.json").read_text())
        for who in ("pipeline", "auditor")
    }
    for who, policy in policies.items():
        for statement in policy["Statement"]:
            for resource in statement["Resource"]:
                assert resource.startswith("arn:aws:s3:::LAKE_BUCKET"), (who, resource)
    auditor = {a for s in policies["auditor"]["Statement"] for a in s["Action"]}
    assert auditor <= {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"}
    pipeline = {a for s in policies["pipeline"]["Statement"] for a in s["Action"]}
    assert "s3:PutObject" in pipeline and not any(a.startswith("s3:*") for a in pipeline)


def test_long_running_services_have_health_checks() -> None:
    services = compose()["services"]
    for name in ("postgres", "minio", "mlflow", "spark-master", "airflow-api-server", "sftp"):
        assert "healthcheck" in services[name], name


def test_the_stack_runs_airflow_3_components_on_local_executor() -> None:
    services = compose()["services"]
    for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert services[f"airflow-{component}"]["command"] == ["airflow", component]
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert {
        "AIRFLOW_CONN_SPARK_DEFAULT",
        "AIRFLOW_CONN_SFTP_DROP",
        "AIRFLOW_CONN_AWS_DEFAULT",
        "AIRFLOW_CONN_LEGACY_DB",
    } <= set(env)
