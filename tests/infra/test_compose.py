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


def test_no_password_has_a_default() -> None:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if "PASSWORD=" in line or "SECRET=" in line:
            assert line.endswith("="), f"{line} ships a default secret"


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
        "AIRFLOW_CONN_POSTGRES_DEFAULT",
    } <= set(env)
