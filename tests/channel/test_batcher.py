"""Batcher: frames by size and by deadline, prompt when quiet, never late."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyreplay.channel.batcher import ResponseBatcher
from pyreplay.channel.codec import FrameDecoder, encode
from pyreplay.channel.messages import CHANNEL_VERSION, Hello, Responses
from pyreplay.packet.segment import ACK, ResponseSummary

T, C = bytes([10, 0, 0, 2]), bytes([10, 9, 0, 1])


def summary(i: int) -> ResponseSummary:
    return ResponseSummary(T, C, 80, 40000, i, 1, ACK, 100, 10)


def items_of(frame: bytes) -> tuple:
    decoder = FrameDecoder()
    decoder.feed(encode(Hello(CHANNEL_VERSION, "intercept", "t")))
    (message,) = decoder.feed(frame)
    assert type(message) is Responses
    return message.items


def test_first_summary_after_a_quiet_spell_goes_out_at_once():
    b = ResponseBatcher(max_items=8, flush_interval=0.002)
    assert items_of(b.add(summary(1), 10.0)) == (summary(1),)
    assert b.next_deadline() is None


def test_summaries_during_busy_interval_wait_for_the_deadline():
    b = ResponseBatcher(max_items=8, flush_interval=0.002)
    b.add(summary(0), 10.0)
    assert b.add(summary(1), 10.0005) is None
    assert b.add(summary(2), 10.001) is None
    assert b.next_deadline() == pytest.approx(10.002)
    assert b.flush_due(10.0019) is None
    assert items_of(b.flush_due(10.002)) == (summary(1), summary(2))
    assert b.next_deadline() is None and len(b) == 0


def test_batch_goes_out_when_full():
    b = ResponseBatcher(max_items=3, flush_interval=1.0)
    b.add(summary(0), 0.0)
    assert b.add(summary(1), 0.1) is None
    assert b.add(summary(2), 0.2) is None
    assert items_of(b.add(summary(3), 0.3)) == (summary(1), summary(2), summary(3))
    assert b.frames == 2 and b.summaries == 4


def test_add_after_the_deadline_sends_without_waiting_for_flush_due():
    b = ResponseBatcher(max_items=8, flush_interval=0.002)
    b.add(summary(0), 0.0)
    b.add(summary(1), 0.001)
    assert items_of(b.add(summary(2), 0.005)) == (summary(1), summary(2))


def test_flush_sends_everything_now():
    b = ResponseBatcher(max_items=8, flush_interval=5.0)
    b.add(summary(0), 0.0)
    b.add(summary(1), 0.0)
    assert items_of(b.flush(0.0)) == (summary(1),)
    assert b.flush(0.0) is None


def test_a_bad_summary_is_refused_alone():
    b = ResponseBatcher(max_items=8, flush_interval=1.0)
    b.add(summary(0), 0.0)
    b.add(summary(1), 0.0)
    with pytest.raises(ValueError):
        b.add(ResponseSummary(T, C, 80, 70000, 0, 0, ACK, 0, 0), 0.0)
    assert len(b) == 1
    assert items_of(b.flush_due(1.0)) == (summary(1),)


def test_limits_are_checked():
    with pytest.raises(ValueError):
        ResponseBatcher(max_items=0)
    with pytest.raises(ValueError):
        ResponseBatcher(max_items=100_000)


@given(st.lists(st.tuples(st.floats(0, 0.01), st.booleans()), max_size=200),
       st.integers(1, 16), st.floats(0.0001, 0.01))
@settings(max_examples=200)
def test_every_summary_leaves_in_order_and_never_after_its_deadline(steps, max_items, interval):
    """A runtime that calls flush_due at next_deadline(): no summary is ever late."""
    b = ResponseBatcher(max_items=max_items, flush_interval=interval)
    now, sent, added_at, i = 0.0, [], {}, 0

    def collect(frame, at):
        for item in items_of(frame):
            assert at <= added_at[item.seq] + interval + 1e-12
            sent.append(item.seq)

    for gap, add_now in steps:
        deadline = b.next_deadline()
        if deadline is not None and now + gap >= deadline:
            collect(b.flush_due(deadline), deadline)
        now += gap
        if add_now:
            added_at[i] = now
            frame = b.add(summary(i), now)
            if frame is not None:
                collect(frame, now)
            i += 1
        assert len(b) < max_items
    deadline = b.next_deadline()
    if deadline is not None:
        collect(b.flush_due(deadline), deadline)
    assert sent == list(range(i))
