"""Record: value equality, hash, repr and replace for the per-packet classes; fields are Final."""

from __future__ import annotations

import ast
import sys

import pytest

from pyreplay import compiled
from pyreplay.packet.record import Record
from pyreplay.packet.segment import NO_OPTIONS, ResponseSummary, Segment, TcpOptions
from pyreplay.rewrite.clients import ClientKey
from pyreplay.session.commands import Finished, Outcome, Register, Send, Unregister
from pyreplay.session.events import ClientSegment, Shutdown, Superseded, TargetResponse, Tick
from pyreplay.session.retransmit import InFlight
from pyreplay.session.stream import Chunk

V4 = bytes([10, 0, 0, 1])
RECORDS = (TcpOptions, Segment, ResponseSummary, Send, Register, Unregister, Finished, ClientSegment,
           TargetResponse, Tick, Shutdown, Superseded, InFlight, Chunk, ClientKey)


def class_literals(cls) -> dict[str, tuple]:
    """The literal tuples assigned in the class body, read from its source (mypyc keeps no __slots__)."""
    module = sys.modules[cls.__module__]
    tree = ast.parse(compiled.source_path(module.__name__).read_text())
    body = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == cls.__name__)
    return {node.targets[0].id: ast.literal_eval(node.value) for node in body.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
def test_fields_are_the_slots_in_order(cls):
    assert issubclass(cls, Record)
    literals = class_literals(cls)
    assert literals["__slots__"] == literals.get("FIELDS", ()) == cls.FIELDS


def test_equality_hash_and_repr_are_by_value():
    a = Segment(V4, V4, 1, 2, 3, 4, 0x10, 6, payload=b"x")
    b = Segment(V4, V4, 1, 2, 3, 4, 0x10, 6, NO_OPTIONS, b"x", 0, 64)
    assert a == b and hash(a) == hash(b) and not (a != b)
    assert a != Segment(V4, V4, 1, 2, 3, 5, 0x10, 6, payload=b"x")
    assert repr(a).startswith("Segment(src=b'\\n\\x00\\x00\\x01', dst=")
    assert Register((V4, 1), (V4, 2)) != Unregister((V4, 1), (V4, 2))  # same fields, other class
    assert Tick() == Tick() and Tick() != Shutdown()
    assert {ClientKey(V4, 1, 0, V4, 80): "x"}[ClientKey(V4, 1, 0, V4, 80)] == "x"
    assert ClientKey(V4, 1) != ClientKey(V4, 1, generation=1)
    assert Finished(Outcome.COMPLETE, "done") == Finished(Outcome.COMPLETE, "done", None, None)


def test_replace_changes_only_the_named_fields():
    s = ResponseSummary(V4, V4, 80, 40000, 1, 2, 0x10, 512, 0)
    changed = s.replace(dport=40001, options=TcpOptions(mss=1460))
    assert (changed.dport, changed.options.mss, changed.seq, s.dport) == (40001, 1460, 1, 40000)
    with pytest.raises(TypeError, match="no field 'port'"):
        s.replace(port=1)


def test_mypy_rejects_assigning_a_field(tmp_path):
    """Immutability is checked where the fields are used: by mypy, which the mypyc build runs."""
    api = pytest.importorskip("mypy.api", reason="mypy (the native extra) is not installed")
    snippet = tmp_path / "assign.py"
    snippet.write_text("from pyreplay.packet.segment import Segment\n"
                       "def f(s: Segment) -> None:\n    s.seq = 5\n")
    out, _, status = api.run([str(snippet), "--follow-imports=silent", "--no-incremental"])
    assert status == 1 and 'Cannot assign to final attribute "seq"' in out
