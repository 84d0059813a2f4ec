"""Offline replay clock: -a divides capture time, -I compresses idle gaps."""

import pytest

from pyreplay.runtime.replay_clock import ReplayClock


def test_first_packet_is_due_at_start_and_later_ones_keep_their_spacing():
    clock = ReplayClock()
    assert [clock.due(ts, 100.0) for ts in (5.0, 5.5, 7.0)] == [100.0, 100.5, 102.0]


def test_acceleration_divides_the_gaps():
    clock = ReplayClock(acceleration=2)
    assert [clock.due(ts, 0.0) for ts in (10.0, 12.0, 14.0)] == [0.0, 1.0, 2.0]


def test_gap_threshold_compresses_idle_gaps_only():
    clock = ReplayClock(gap_threshold=0.5)
    due = [clock.due(ts, 0.0) for ts in (0.0, 0.2, 10.2, 10.4)]
    assert due == pytest.approx([0.0, 0.2, 0.7, 0.9])


def test_out_of_order_timestamps_never_go_back_before_start():
    clock = ReplayClock()
    assert clock.due(5.0, 1.0) == 1.0
    assert clock.due(4.0, 1.0) == 1.0


def test_acceleration_below_one_is_refused():
    with pytest.raises(ValueError):
        ReplayClock(acceleration=0.5)
