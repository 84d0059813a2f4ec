"""Process plumbing: the garbage collector settings of a run, and the premise they rest on."""

import gc

import pytest

from pyreplay.packet.segment import ACK, RST
from pyreplay.runtime import process

from tests.runtime.test_replay import Harness, config, conversation


@pytest.fixture
def gc_state():
    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.set_debug(0)
    gc.garbage.clear()
    if enabled:
        gc.enable()


def test_settle_gc_freezes_start_up_objects_and_raises_the_thresholds(gc_state):
    made_at_start_up = [[i] for i in range(1000)]
    process.settle_gc()
    assert gc.get_threshold() == process.RUN_GC_THRESHOLDS
    assert gc.get_freeze_count() >= len(made_at_start_up)
    assert gc.isenabled()


def _pyreplay_objects(objects):
    return [o for o in objects if type(o).__module__.startswith("pyreplay")]


def test_replaying_sessions_leaves_no_cyclic_garbage(gc_state):
    """settle_gc relies on this: sessions, segments and commands are freed by reference
    counting alone. A cycle through them would hold every ended session until a rare full
    collection."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    h = Harness(config(client_pool="198.19.0.0/30"))
    requests = (b"GET /a HTTP/1.1\r\n\r\n", b"GET /b HTTP/1.1\r\n\r\n")
    for port in range(40000, 40060):
        h.capture(*conversation(sport=port, requests=requests), gap=0.001)
    for port in range(41000, 41010):  # captured mid-stream: faked handshake
        h.capture(*conversation(sport=port)[2:], gap=0.001)
    for port in range(42000, 42010):  # the client resets instead of closing
        segments = conversation(sport=port)
        last = segments[-1]
        segments[-1] = last.replace(flags=RST | ACK)
        h.capture(*segments, gap=0.001)
    for port in range(40000, 40010):  # port reuse: a second connection on the same client port
        h.capture(*conversation(sport=port, isn=900_000), gap=0.001)
    h.run_until(h.now + 120)
    assert h.replay.active_sessions == 0
    assert sum(h.replay.stats.outcomes.values()) == 90
    gc.collect()
    assert _pyreplay_objects(gc.garbage) == []
