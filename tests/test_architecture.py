"""Imports point one way, api → collector → devices: nothing imports `api`, not even by name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Every package of the project but `api` (tests and benchmarks drive the API from outside).
BELOW_API = ("collector", "devices", "rules", "soak")
# A dotted or "module:attribute" name in `api`, as importlib or uvicorn would load it.
API_NAME = re.compile(r"^api([.:]\w+)*$")
# Strings that spell "api" without naming the package: the `serve --roles api` role.
NOT_THE_PACKAGE = {("collector/fleet/roles.py", "api")}


def _modules() -> list[Path]:
    return sorted(p for pkg in BELOW_API for p in (ROOT / pkg).rglob("*.py"))


def _imported(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _strings(tree: ast.AST) -> list[str]:
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_nothing_below_api_imports_it_or_loads_it_by_name() -> None:
    modules = _modules()
    # An empty walk would pass without checking anything.
    assert ROOT / "collector" / "service.py" in modules and len(modules) > 100
    offenders: list[str] = []
    for path in modules:
        tree = ast.parse(path.read_text(), filename=str(path))
        where = path.relative_to(ROOT)
        offenders += [
            f"{where} imports {name}"
            for name in _imported(tree)
            if name == "api" or name.startswith("api.")
        ]
        offenders += [
            f"{where} names {s!r}"
            for s in _strings(tree)
            if API_NAME.match(s.strip()) and (str(where), s) not in NOT_THE_PACKAGE
        ]
    assert offenders == []
