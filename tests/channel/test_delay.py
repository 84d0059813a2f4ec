"""Delay table: bounded, ordered, and nothing delivered after its time to live."""

from __future__ import annotations

from pyreplay.channel.delay import DelayTable
from pyreplay.packet.segment import SYN, ResponseSummary

A, B, C = (bytes(4), 1, bytes(4), 80), (bytes(4), 2, bytes(4), 80), (bytes(4), 3, bytes(4), 80)


def s(seq: int) -> ResponseSummary:
    return ResponseSummary(bytes(4), bytes(4), 80, 1, seq, 0, SYN, 0, 0)


def test_take_returns_entries_in_order_and_forgets_them():
    t = DelayTable(ttl=10.0)
    t.hold(A, s(1), 0.0)
    t.hold(B, s(2), 0.5)
    t.hold(A, s(3), 1.0)
    assert t.take(A, 2.0) == [s(1), s(3)]
    assert t.take(A, 2.0) == [] and len(t) == 1 and t.delivered == 2


def test_take_never_returns_an_expired_entry_even_without_a_purge():
    t = DelayTable(ttl=10.0)
    t.hold(A, s(1), 0.0)
    t.hold(A, s(2), 5.0)
    assert t.take(A, 10.0) == [s(2)]
    assert t.expired == 1 and len(t) == 0


def test_eviction_keeps_expiry_order_exact():
    t = DelayTable(ttl=10.0, capacity=3)
    t.hold(A, s(1), 0.0)
    t.hold(B, s(2), 1.0)
    t.hold(A, s(3), 5.0)
    t.hold(C, s(4), 6.0)  # full: A's entry of t=0 goes, A's head is now t=5
    assert t.dropped == 1
    t.purge(11.5)  # B (t=1) is expired; A, now holding only t=5, must not shield it
    assert len(t) == 2 and t.expired == 1 and t.next_expiry() == 15.0
    assert t.take(B, 11.5) == []


def test_per_key_limit_keeps_the_latest():
    t = DelayTable(per_key=2)
    for seq in range(5):
        t.hold(A, s(seq), float(seq))
    assert t.take(A, 5.0) == [s(3), s(4)] and t.dropped == 3
