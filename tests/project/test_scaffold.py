"""`driftline init`: what it writes comes from the package, and the repository's own example
project is exactly what it writes (no second copy to drift apart)."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.core.errors import ConfigError
from driftline.core.loading import load_pipeline
from driftline.project.scaffold import init_project, template_files
from tests.conftest import PROJECT


def test_the_checkouts_example_project_is_the_template() -> None:
    files = template_files()
    for relative in (
        "driftline.yaml",
        *(f for f in files if f.startswith(("dags/", "expectations/"))),
    ):
        assert (PROJECT / relative).read_text(encoding="utf-8") == files[relative], relative
    assert {p.name for p in (PROJECT / "expectations").glob("*.json")} == {
        f.removeprefix("expectations/") for f in files if f.startswith("expectations/")
    }


def test_init_writes_a_loadable_project_with_a_week_of_sample_files(tmp_path: Path) -> None:
    target = tmp_path / "churn"
    written = init_project(target)
    assert (target / "README.md").is_file() and (target / ".gitignore").is_file()
    pipeline = load_pipeline(target / "driftline.yaml")
    assert str(pipeline.start_date) == "2024-01-01"
    for source in ("customers", "churn_labels"):
        days = sorted(p.name for p in (target / "drop" / source).iterdir())
        assert days == [f"2024-01-0{d}" for d in range(1, 8)], source
    assert len(written) == len([p for p in target.rglob("*") if p.is_file()])


def test_init_never_writes_over_an_existing_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not empty"):
        init_project(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_init_without_a_sample_says_so_and_points_at_drafting_suites(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    init_project(target, sample=False)
    assert not (target / "drop").exists()
    readme = (target / "README.md").read_text(encoding="utf-8")
    assert "<!--" not in readme
    assert "sample drop in `drop/`" not in readme and "2024-01-07" not in readme
    assert "no sample drop" in readme
    assert "driftline expectations suggest features --date" in readme
    header = (target / "driftline.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert "driftline demo" not in header and header.startswith("# Your pipeline")
    load_pipeline(target / "driftline.yaml")  # still the example's valid shape
    with_sample = (tmp_path / "sample").joinpath("README.md")
    init_project(with_sample.parent)
    text = with_sample.read_text(encoding="utf-8")
    assert "<!--" not in text and "sample drop in `drop/`" in text
