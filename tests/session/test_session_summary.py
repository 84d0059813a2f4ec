"""session.summary: the words copy and burn share for the session events a healthy replay has
none of (capture holes resynced past, reconnects after the target closed or reset), absent when
none."""

from collections import Counter

from pyreplay.session.summary import EVENT_COUNTERS, event_fields, event_lines, event_notes


def test_a_healthy_run_adds_no_line_and_no_note_but_every_json_field():
    healthy = Counter({"requests": 10, "connections": 3, "retransmits": 1})
    assert event_lines(healthy) == [] and event_notes(healthy) == []
    assert event_fields(healthy) == dict.fromkeys(EVENT_COUNTERS, 0)


def test_capture_holes_and_reconnects_are_said_with_what_they_cost():
    counters = Counter({"capture_gap_resyncs": 2, "capture_gap_bytes_skipped": 300, "reconnects": 1,
                        "requests_resent_after_reconnect": 1, "bytes_resent_after_reconnect": 40})
    assert event_lines(counters) == [
        "capture holes resynced past: 2, client bytes skipped: 300",
        "reconnects after the target closed or reset: 1, requests resent whole: 1 (40 bytes)",
    ]
    assert event_notes(counters) == ["capture holes resynced 2 (300 bytes skipped)",
                                     "reconnects 1 (1 requests resent)"]
    assert event_fields(counters) == {"capture_gap_resyncs": 2, "capture_gap_bytes_skipped": 300,
                                      "reconnects": 1, "requests_resent_after_reconnect": 1,
                                      "bytes_resent_after_reconnect": 40, "requests_not_resent_twice": 0,
                                      "requests_too_large_to_resend": 0}
    not_resent = Counter({"reconnects": 3, "requests_not_resent_twice": 1, "requests_too_large_to_resend": 1})
    assert event_lines(not_resent) == [
        "reconnects after the target closed or reset: 3, requests resent whole: 0 (0 bytes), "
        "unanswered and not resent: 2"]
