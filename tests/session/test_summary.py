"""session.summary: the words copy and burn share for the session events a healthy replay has
none of (capture holes resynced past, reconnects after the target closed), absent when none."""

from collections import Counter

from pyreplay.session.summary import EVENT_COUNTERS, event_fields, event_lines, event_notes


def test_a_healthy_run_adds_no_line_and_no_note_but_every_json_field():
    healthy = Counter({"requests": 10, "connections": 3, "retransmits": 1})
    assert event_lines(healthy) == [] and event_notes(healthy) == []
    assert event_fields(healthy) == dict.fromkeys(EVENT_COUNTERS, 0)


def test_capture_holes_and_reconnects_are_said_with_what_they_cost():
    counters = Counter({"capture_gap_resyncs": 2, "capture_gap_bytes_skipped": 300,
                        "reconnects": 1, "bytes_unacked_at_reconnect": 40})
    assert event_lines(counters) == [
        "capture holes resynced past: 2, client bytes skipped: 300",
        "reconnects after the target closed with client data left: 1, unacknowledged bytes dropped: 40",
    ]
    assert event_notes(counters) == ["capture holes resynced 2 (300 bytes skipped)", "reconnects 1"]
    assert event_fields(counters) == {"capture_gap_resyncs": 2, "capture_gap_bytes_skipped": 300,
                                      "reconnects": 1, "bytes_unacked_at_reconnect": 40}
    only_reconnects = Counter({"reconnects": 3})
    assert event_lines(only_reconnects) == [
        "reconnects after the target closed with client data left: 3, unacknowledged bytes dropped: 0"]
