"""Layering rules from docs/DESIGN: the sans-IO core imports no I/O, time or kernel modules,
and only the CLI imports click."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pyreplay"
CORE = ["packet", "session", "channel", "config.py", "rewrite.py", "rewrite", "burn"]
FORBIDDEN_IN_CORE = {"socket", "select", "selectors", "time", "asyncio", "threading", "bcc", "pyroute2",
                     "subprocess", "signal", "click", "ctypes"}


def modules(paths):
    for p in paths:
        path = PACKAGE / p
        if path.is_dir():
            yield from sorted(path.rglob("*.py"))
        elif path.exists():
            yield path


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", list(modules(CORE)), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_does_no_io(path):
    bad = imported_roots(path) & FORBIDDEN_IN_CORE
    assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}: the core takes bytes and `now`"


def test_only_the_cli_imports_click():
    offenders = [p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py")
                 if p.name != "cli.py" and "click" in imported_roots(p)]
    assert offenders == []


def test_every_module_states_its_contract():
    missing = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
               if not ast.get_docstring(ast.parse(p.read_text()))]
    assert missing == []
