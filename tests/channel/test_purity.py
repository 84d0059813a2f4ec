"""The channel is sans-IO: none of its modules imports I/O, clocks or threads."""

from __future__ import annotations

import ast
from pathlib import Path

import pyreplay.channel

FORBIDDEN = {"socket", "select", "selectors", "time", "threading", "asyncio", "bcc", "pyroute2",
             "subprocess", "os"}


def test_channel_modules_import_nothing_impure():
    package = Path(pyreplay.channel.__file__).parent
    modules = sorted(package.glob("*.py"))
    assert len(modules) >= 6
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_every_channel_module_states_its_contract():
    package = Path(pyreplay.channel.__file__).parent
    for path in package.glob("*.py"):
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path.name} has no docstring"
