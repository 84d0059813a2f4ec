"""House rules for the session package: sans-IO imports, docstrings, one transition table."""

import ast
import pathlib

import pytest

from pyreplay.session.state import TRANSITIONS, InvalidTransition, Phase, Trigger, advance

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "pyreplay" / "session"
FORBIDDEN = {"socket", "select", "selectors", "time", "threading", "asyncio", "bcc", "pyroute2",
             "subprocess", "multiprocessing"}


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_module_is_sans_io_and_documented(path):
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), f"{path.name} needs a contract docstring"
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_transition_table_rejects_misuse_and_closed_is_terminal():
    with pytest.raises(InvalidTransition):
        advance(Phase.NEW, Trigger.REQUEST)
    assert all(src is not Phase.CLOSED for src, _ in TRANSITIONS)
    assert all(advance(p, Trigger.FINISH) is Phase.CLOSED for p in Phase if p is not Phase.CLOSED)
