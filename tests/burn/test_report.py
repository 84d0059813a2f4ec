"""BurnReport: counts, latency percentiles, bounded samples, JSON shape."""

import json

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
