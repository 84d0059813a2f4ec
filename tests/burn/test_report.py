"""BurnReport: counts, latency percentiles, bounded samples, JSON shape."""

import json
from collections import Counter

from pyreplay.burn import BurnReport
from pyreplay.burn.report import percentile


def test_nearest_rank_percentiles():
    xs = [float(i) for i in range(1, 101)]
    assert [percentile(xs, p) for p in (50, 90, 99, 100)] == [50.0, 90.0, 99.0, 100.0]
    assert percentile([], 50) is None
    assert percentile([3.0], 99) == 3.0


def test_counts_outcomes_errors_and_latency():
    r = BurnReport(users=3)
    for _ in range(3):
        r.user_started()
    r.user_finished("complete")
    r.user_finished("timeout")
    for ms in (10, 20, 30, 40):
        r.request_sent()
        r.response_seen(ms / 1000)
    doc = r.as_dict(2.0)
    json.dumps(doc)
    assert doc["users"] == {"configured": 3, "started": 3, "active": 1, "finished": 2}
    assert doc["outcomes"] == {"complete": 1, "timeout": 1}
    assert doc["errors"] == {"timeout": 1}
    assert doc["latency_ms"]["p50"] == 20.0 and doc["latency_ms"]["max"] == 40.0
    assert doc["latency_ms"]["mean"] == 25.0 and doc["rates_per_s"]["requests"] == 2.0
    assert r.timeouts == 1
    line = r.progress(2.0)
    assert "3/3 started" in line and "1 active" in line and "timeouts 1" in line


def test_latency_samples_stay_bounded_and_representative():
    r = BurnReport(max_samples=1000)
    for i in range(100_000):
        r.response_seen((i % 100) / 1000)
    assert len(r.latencies) == 1000 and r.latency_count == 100_000
    p50 = r.latency_ms()["p50"]
    assert 40 <= p50 <= 60


def test_session_counters_are_reported_as_copy_reports_them_the_rare_events_only_when_they_happened():
    r = BurnReport(users=2)
    r.session_ended(Counter({"connections": 1, "requests": 2, "retransmits": 1}))
    healthy = r.lines(1.0)
    assert "connections established: 1, retransmits: 1, resets from target: 0, resets sent: 0" in healthy
    assert not any("capture holes" in line or "reconnects" in line for line in healthy)
    r.session_ended(Counter({"connections": 2, "resets_sent": 1, "capture_gap_resyncs": 1,
                             "capture_gap_bytes_skipped": 120, "reconnects": 1,
                             "requests_resent_after_reconnect": 1, "bytes_resent_after_reconnect": 7}))
    lines = r.lines(1.0)
    assert "capture holes resynced past: 1, client bytes skipped: 120" in lines
    assert "reconnects after the target closed or reset: 1, requests resent whole: 1 (7 bytes)" in lines
    assert r.as_dict(1.0)["sessions"] == {
        "connections": 3, "retransmits": 1, "resets_sent": 1, "capture_gap_resyncs": 1,
        "capture_gap_bytes_skipped": 120, "reconnects": 1, "requests_resent_after_reconnect": 1,
        "bytes_resent_after_reconnect": 7, "requests_not_resent_twice": 0, "requests_too_large_to_resend": 0}
