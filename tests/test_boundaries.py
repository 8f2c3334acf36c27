"""The one import-boundary test: which room may import which (docs/design.md, README "Layout").

* ``core/`` (the ground floor) imports none of the rooms;
* ``agents/`` (hooks inside lab tools) imports core; and only the standard library and
  OpenTelemetry (plus the few libraries named below), and what it takes from core is
  standard library only: a lab tool that imports the hooks never loads msgspec, Kafka,
  DuckDB or polars;
* ``collector/`` imports core; ``warehouse/`` imports core and nothing from the collector;
  ``pipelines/`` imports core and warehouse;
* the roof ``autoscope/`` (CLI, service wiring, broker, demo) imports everything.

Every import counts, also one inside a function: a lazy import is still a dependency.
``from autoscope import __version__`` reads the namespace package's ``__init__`` (one
constant), which every room loads anyway; it is not the roof.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: folder → the room it is
ROOMS = {
    "core": "core",
    "agents": "agents",
    "collector": "collector",
    "warehouse": "warehouse",
    "pipelines": "pipelines",
    "autoscope": "roof",
}
#: room → the rooms it may import (itself included)
MAY_IMPORT: dict[str, set[str]] = {
    "core": {"core"},
    "agents": {"core", "agents"},
    "collector": {"core", "collector"},
    "warehouse": {"core", "warehouse"},
    "pipelines": {"core", "warehouse", "pipelines"},
    "roof": {"core", "agents", "collector", "warehouse", "pipelines", "roof"},
}
#: third-party roots the hooks may import anywhere, and per file
HOOKS_THIRD_PARTY = {"opentelemetry"}
HOOKS_THIRD_PARTY_IN = {
    # google: google.rpc.Status (googleapis-common-protos), the body of the collector's OTLP
    # error answers
    "otlp.py": {"google"},
    # CODEOWNERS (gitignore) patterns of git's team mapping; pure Python, no dependencies,
    # imported only by `autoscope git` commands, never by a tool that imports the hooks
    "git_teams.py": {"pathspec"},
}


def room_of_module(module: str) -> str | None:
    """The room an ``autoscope.*`` module belongs to; None for anything else."""
    parts = module.split(".")
    if parts[0] != "autoscope":
        return None
    if len(parts) == 1:
        return "namespace"
    return parts[1] if parts[1] in ROOMS and parts[1] != "autoscope" else "roof"


def imports(path: Path) -> Iterator[str]:
    """Every absolute module name ``path`` imports, at any depth of its code."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import of {node.module}; the tree imports absolutely"
            yield node.module


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_each_room_imports_only_the_rooms_below_it() -> None:
    crossings: list[str] = []
    for folder, room in ROOMS.items():
        for path in sources(folder):
            relative = path.relative_to(ROOT).as_posix()
            for module in imports(path):
                target = room_of_module(module)
                if target is None or target == "namespace" or target in MAY_IMPORT[room]:
                    continue
                crossings.append(f"{relative} ({room}) imports {module} ({target})")
    assert crossings == []


def test_the_hooks_import_only_the_standard_library_opentelemetry_and_light_core() -> None:
    stdlib = set(sys.stdlib_module_names)
    core_used: set[str] = set()
    for path in sources("agents"):
        for module in imports(path):
            root = module.split(".")[0]
            if root == "autoscope":
                if module.startswith("autoscope.core"):
                    core_used.add(module)
                continue
            assert root in stdlib | HOOKS_THIRD_PARTY | HOOKS_THIRD_PARTY_IN.get(path.name, set()), (
                f"{path.name} imports {module}"
            )
    assert "autoscope.core.contract" in core_used
    # what the hooks take from the ground floor is itself standard library only
    for module in sorted(core_used - {"autoscope.core"}):
        path = ROOT / "core" / (module.removeprefix("autoscope.core.") + ".py")
        for name in imports(path):
            assert name.split(".")[0] in stdlib or name in core_used | {"autoscope.core"}, (
                f"{path.name}, imported by the hooks, imports {name}"
            )


def test_importing_the_hooks_loads_nothing_heavy() -> None:
    probe = (
        "import sys, autoscope.agents; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('msgspec', 'kafka', 'duckdb', 'polars')"
        " or m.startswith(('autoscope.collector', 'autoscope.warehouse', 'autoscope.pipelines',"
        " 'autoscope.core.structs'))]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
