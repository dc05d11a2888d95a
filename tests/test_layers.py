"""The layering of `src/driftline/`, held as a test over the import graph.

Every import counts, also those inside functions (Driftline imports heavy libraries
lazily, but a lazy import is still a dependency). A lower layer importing a higher one fails
here with the module, line and the rule it breaks.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PROJECT

PACKAGE = PROJECT / "src" / "driftline"
DAGS = PROJECT / "dags"

BELOW_STEPS = {"core", "lake", "sources", "context", "data", "quality", "model", "monitoring"}
# What each part of the package may import of Driftline (itself always).
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "lake": {"core"},
    "context": {"core", "lake"},
    "sources": {"core", "lake", "context"},
    "data": {"core", "lake", "context"},
    "quality": {"core", "lake", "context", "data"},
    "model": {"core", "lake", "context", "data", "quality"},
    "monitoring": {"core", "lake", "context", "data", "model"},
    "steps": BELOW_STEPS,
    "orchestration": {"core", "context", "steps"},
    "dags": {"core", "orchestration"},
    "demo": BELOW_STEPS | {"steps", "orchestration"},
    "project": BELOW_STEPS | {"steps", "orchestration", "demo", "dags"},
    "cli": BELOW_STEPS | {"steps", "orchestration", "demo", "project"},
}
# Below orchestration, Airflow is reached only through provider hooks (connections).
AIRFLOW_ALLOWED_BELOW = ("airflow.providers.", "airflow.sdk.BaseHook")
AIRFLOW_USERS = {"orchestration", "dags", "demo", "project", "cli"}
HEAVY = ("pyspark", "mlflow", "xgboost", "great_expectations", "deltalake", "delta", "pandas")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module's path, for the message
    line: int
    target: str  # dotted name imported (module, or module.name for `from x import name`)
    top_level: bool


def imports_of(path: Path, root: Path = PROJECT) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            targets = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            found.append(Import(str(path.relative_to(root)), node.lineno, target, id(node) in top))
    return found


def layer_of(dotted: str) -> str | None:
    """`driftline.model.scoring` -> `model`; the package root (`__version__`) -> None."""
    parts = dotted.split(".")
    if parts[0] != "driftline" or len(parts) < 2 or parts[1].startswith("__"):
        return None
    return parts[1].removesuffix(".py")


def layer_violations(package: Path, root: Path = PROJECT) -> list[str]:
    problems = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        own = relative.parts[0].removesuffix(".py") if relative.parts[0] != "__init__.py" else None
        if own is None:
            continue
        allowed = MAY_IMPORT[own] | {own}
        for item in imports_of(path, root):
            target = layer_of(item.target)
            if target is not None and target not in allowed:
                problems.append(
                    f"{item.module}:{item.line}: {own} imports {item.target} ({target}); "
                    f"{own} may import only {sorted(allowed)}"
                )
            if (
                item.target.split(".")[0] == "airflow"
                and own not in AIRFLOW_USERS
                and not item.target.startswith(AIRFLOW_ALLOWED_BELOW)
            ):
                problems.append(
                    f"{item.module}:{item.line}: {own} imports {item.target}; below "
                    "orchestration Airflow is reached only through provider hooks"
                )
    return problems


DAG_LAYERS = ("dags", "orchestration", "core")


def dag_violations(dags: Path, root: Path = PROJECT) -> list[str]:
    problems = []
    for path in sorted(dags.glob("*.py")):
        for item in imports_of(path, root):
            if not item.top_level:
                continue
            target = layer_of(item.target)
            if item.target.startswith("driftline") and target not in DAG_LAYERS:
                problems.append(
                    f"{item.module}:{item.line}: a DAG file imports {item.target} at module "
                    "level; only driftline.dags, .orchestration and .core belong there"
                )
            if item.target.split(".")[0] in HEAVY:
                problems.append(
                    f"{item.module}:{item.line}: a DAG file imports {item.target} at module "
                    "level; Airflow parses DAG files every few seconds"
                )
    return problems


def test_every_subpackage_has_a_rule() -> None:
    parts = {
        p.name.removesuffix(".py")
        for p in PACKAGE.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py")
    } - {"__init__"}
    assert parts == set(MAY_IMPORT)


def test_no_layer_imports_a_higher_one() -> None:
    assert layer_violations(PACKAGE) == []


def test_dag_files_import_only_orchestration_and_core() -> None:
    """A project's DAG files and the package's DAG definitions alike."""
    assert dag_violations(DAGS) == []
    assert dag_violations(PACKAGE / "dags") == []


def test_the_checks_catch_a_violation(tmp_path: Path) -> None:
    package = tmp_path / "driftline"
    (package / "core").mkdir(parents=True)
    (package / "core" / "bad.py").write_text(
        "def f():\n    from driftline.steps import step_function\n"
    )
    (package / "sources").mkdir()
    (package / "sources" / "bad.py").write_text("from airflow.models import DagRun\n")
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "bad.py").write_text("import pyspark\nfrom driftline.model import registry\n")

    layers = layer_violations(package, tmp_path)
    in_dags = dag_violations(dags, tmp_path)
    assert len(layers) == 2
    assert "core imports driftline.steps.step_function" in layers[0]
    assert "provider hooks" in layers[1]
    assert len(in_dags) == 2
