"""The project's own promises: CI runs the README's test command; every package is installed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
FOLDER_OF = {
    "autoscope": "autoscope",
    "autoscope.core": "core",
    "autoscope.agents": "agents",
    "autoscope.collector": "collector",
    "autoscope.warehouse": "warehouse",
    "autoscope.pipelines": "pipelines",
}


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", text)[:2]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    demo, tests = readme_commands()
    assert "autoscope demo" in demo and "pytest" in tests
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci_lines


def test_ci_lints_before_it_tests() -> None:
    """ruff's lint and format check run in CI, before the suite (a failure there costs seconds)."""
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    _, tests = readme_commands()
    lint = ci_lines.index(".venv/bin/ruff check . && .venv/bin/ruff format --check .")
    assert lint < ci_lines.index(tests)
    assert "[tool.ruff]" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_the_suite_has_a_ci_size_and_a_documented_full_size() -> None:
    """tests/sizes.py: ci (the default) generates less than full; the README says how to ask for full."""
    assert settings.get_profile("ci").max_examples < settings.get_profile("full").max_examples
    assert "--hypothesis-profile=full" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_sub_package_is_listed_for_installation() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = set()
    for package, folder in FOLDER_OF.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            on_disk.add(".".join((package, *relative)))
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
