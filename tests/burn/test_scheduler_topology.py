"""burn -T (tcpburn's --topology): closely following captured sessions keep their start spacing,
in virtual time against the simulated target."""

import functools

import pytest

from pyreplay.burn import BurnPlan
from pyreplay.packet.segment import SYN

from . import virtual
from .captures import merged, session

REQ = [b"GET / HTTP/1.1\r\n\r\n"]
# sessions begin at 0, 0.5, 0.8 and 5.0 s in the capture: gaps 0.5, 0.3, 4.2
CAPTURE = merged(*[session(4000 + i, REQ, t0=t0) for i, t0 in enumerate((0.0, 0.5, 0.8, 5.0))])


def syn_times(monkeypatch, window, users=4, accel=1.0):
    if window is not None:
        monkeypatch.setattr(virtual, "BurnPlan", functools.partial(BurnPlan, topology_window=window))
    r = virtual.run(CAPTURE, users=users, rate=1000.0, accel=accel)
    assert r.report.outcomes == {"complete": users}
    return sorted(t for t, seg in r.sent if seg.flags & SYN)


def test_without_topology_starts_follow_the_rate(monkeypatch):
    assert syn_times(monkeypatch, None) == pytest.approx([0.0, 0.001, 0.002, 0.003])


def test_sessions_within_the_window_keep_their_captured_spacing(monkeypatch):
    # the 4th session began 4.2 s after the 3rd, beyond the 1 s window: the rate alone applies
    assert syn_times(monkeypatch, 1.0) == pytest.approx([0.0, 0.5, 0.8, 0.801])


def test_the_window_is_inclusive_and_gaps_scale_with_acceleration(monkeypatch):
    assert syn_times(monkeypatch, 0.5, accel=2.0) == pytest.approx([0.0, 0.25, 0.4, 0.401])
    assert syn_times(monkeypatch, 0.4) == pytest.approx([0.0, 0.001, 0.301, 0.302])


def test_each_cycle_over_the_sessions_starts_a_new_chain(monkeypatch):
    times = syn_times(monkeypatch, 1.0, users=8)
    # connection 4 replays session 0 again: not chained to connection 3, then 5-7 chain on it
    assert times == pytest.approx([0.0, 0.5, 0.8, 0.801, 0.802, 1.302, 1.602, 1.603])


def test_negative_window_is_refused():
    with pytest.raises(ValueError):
        BurnPlan(users=1, topology_window=-1.0)
