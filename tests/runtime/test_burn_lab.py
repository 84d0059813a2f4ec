"""pyreplay burn end to end in the lab: real HTTP sessions recorded on the online server,
replayed as many users through the raw socket to the real target, paced by the real
AF_PACKET intercept; checked against the target's request log and its TCP sockets."""

import json
import subprocess
import time

import pytest

from pyreplay.lab.load import LoadPlan
from pyreplay.lab.replay_lab import PY, TRANSFER
from pyreplay.lab.requestlog import compare, connections
from pyreplay.lab.services import ONLINE_PORT, TARGET_PORT, run_load
from pyreplay.lab.topology import HOST_ADDRESSES

pytestmark = pytest.mark.netns
ONLINE = HOST_ADDRESSES["online"]


def record(rl, name, *loads):
    with rl.recording(name) as pcap:
        for prefix, requests, concurrency, keepalive in loads:
            result = run_load(rl.lab, LoadPlan(ONLINE, ONLINE_PORT, requests, concurrency, keepalive=keepalive,
                                               path_prefix=prefix))
            assert result.requests_ok == requests, result
    return pcap


def burn(rl, pcap, *args, timeout=60, spawn=False):
    argv = [PY, "-m", "pyreplay.cli", "burn", "-f", str(pcap), "-x", TRANSFER, "-s", HOST_ADDRESSES["assistant"],
            "-c", rl.lab.client_pool, *args]
    if spawn:
        return rl.lab.spawn("online", argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return rl.lab.run("online", argv, check=False, timeout=timeout)


def target_requests(rl, prefixes, expected, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        got = [r for r in rl.target.requests() if any(r.target.startswith(p + "/") for p in prefixes)]
        if len(got) >= expected or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_2000_users_over_20_sessions_replay_each_session_100_times_from_distinct_identities(rl, tmp_path):
    # 10 keep-alive sessions of 3 requests and 10 short sessions of 1 request
    pcap = record(rl, "burn20", ("/b-ka", 30, 10, True), ("/b-short", 10, 2, False))
    online = [r for r in rl.online.requests() if r.target.startswith(("/b-ka/", "/b-short/"))]
    assert len(connections(online)) == 20
    report = rl.lab.workdir / "burn20.json"
    done = burn(rl, pcap, "-u", "2000", "--report", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    target = target_requests(rl, ("/b-ka", "/b-short"), 100 * 40)
    c = compare(online, target, copies=100)  # same bytes, same order per connection
    assert c.exact and c.target_requests == 4000, (c, done.stdout)
    clients = {r.client for r in target}
    assert len(clients) == 2000 == len(connections(target))  # one identity per user
    assert all(r.client_addr.startswith("198.19.0.") for r in target)
    doc = json.loads(report.read_text())
    assert doc["outcomes"] == {"complete": 2000}, doc
    assert doc["requests"] == doc["responses"] == 4000
    assert doc["latency_ms"]["p50"] is not None


def test_rate_keeps_new_connections_at_about_100_per_second(rl):
    pcap = record(rl, "burnrate", ("/r-short", 5, 1, False))
    done = burn(rl, pcap, "-u", "300", "-i", "100")
    assert done.returncode == 0, done.stdout + done.stderr
    target = target_requests(rl, ("/r-short",), 300)
    starts = sorted(r.t for r in target if r.idx == 0)
    assert len(starts) == 300
    # the rate of the starts, measured over the central 290: now and then one session's first
    # request comes ~0.8 s late (a handshake retried, also before the sixth pass), and over all
    # 300 that one outlier at an end decided the figure
    inner = starts[5:-5]
    rate = (len(inner) - 1) / (inner[-1] - inner[0])
    assert 90 <= rate <= 110, rate
    per_second = [sum(1 for t in starts if starts[0] + s <= t < starts[0] + s + 1) for s in range(2)]
    assert all(85 <= n <= 115 for n in per_second), per_second


def established_from_pool(rl):
    out = rl.lab.run("target", ["ss", "-Htn", "state", "established", f"( sport = :{TARGET_PORT} )"],
                     check=False).stdout
    return sum(1 for line in out.splitlines() if "198.19.0." in line)


def test_comet_leaves_connections_open_until_the_run_ends(rl):
    pcap = record(rl, "burncomet", ("/c-ka", 8, 4, True))
    proc = burn(rl, pcap, "-u", "20", "--comet", "--duration", "3", spawn=True)
    # polled while burn runs (on a loaded machine its start-up alone can take seconds, so a
    # fixed sleep could look before the first connection): all 20 must stay open for over a
    # second of the 3 s run, where the captured sessions close within milliseconds
    during, all_open, give_up = 0, [], time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < give_up:
        now, count = time.monotonic(), established_from_pool(rl)
        during = max(during, count)
        if count == 20:
            all_open.append(now)
        time.sleep(0.1)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, out + err
    time.sleep(0.3)
    after = established_from_pool(rl)
    assert during == 20, (during, out, err)
    assert all_open[-1] - all_open[0] > 1.0, all_open
    assert after == 0, after  # reset when the run ended
    assert "open_at_end 20" in out
    assert len(target_requests(rl, ("/c-ka",), 40)) == 40


def test_capture_with_no_usable_session_is_a_clear_error(rl):
    pcap = record(rl, "burnnone", ("/n-short", 2, 1, False))
    wrong = [PY, "-m", "pyreplay.cli", "burn", "-f", str(pcap), "-x", f"81-{HOST_ADDRESSES['target']}:{TARGET_PORT}",
             "-s", HOST_ADDRESSES["assistant"], "-c", rl.lab.client_pool, "-u", "5"]
    done = rl.lab.run("online", wrong, check=False, timeout=30)
    assert done.returncode == 1
    assert "no usable session" in done.stderr
