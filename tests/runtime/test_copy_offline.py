"""copy -i FILE end to end in the lab: record real HTTP traffic on the online server, replay it
through intercept to the real target, and compare the target's request log with the online
server's: same count, same bytes per request, same order per connection."""

import subprocess
import time

import pytest

from pyreplay.lab.load import LoadPlan
from pyreplay.lab.requestlog import compare, connections
from pyreplay.lab.services import ONLINE_PORT, run_load, wait_for_requests
from pyreplay.lab.topology import HOST_ADDRESSES

from pyreplay.lab.replay_lab import PY, with_prefix

pytestmark = pytest.mark.netns
ONLINE = HOST_ADDRESSES["online"]


def load(rl, prefix, requests, concurrency, **kw):
    result = run_load(rl.lab, LoadPlan(ONLINE, ONLINE_PORT, requests, concurrency, path_prefix=prefix, **kw))
    assert result.requests_ok == requests, result
    return result


def replayed(rl, prefix, expected):
    wait_for_requests(rl.target, 0, timeout=0)
    deadline = time.monotonic() + 10
    while len(with_prefix(rl.target.requests(), prefix)) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return with_prefix(rl.online.requests(), prefix), with_prefix(rl.target.requests(), prefix)


def test_keepalive_short_pipelined_and_large_posts_replay_byte_for_byte(rl):
    with rl.recording("mixed") as pcap:
        load(rl, "/m-ka", 30, 3)
        load(rl, "/m-short", 30, 3, keepalive=False)
        load(rl, "/m-pipe", 16, 2, pipeline=4)
        load(rl, "/m-big", 2, 1, body_bytes=1 << 20, resp_bytes=200_000)
    done = rl.copy(pcap)
    assert done.returncode == 0, done.stdout + done.stderr
    for prefix, count in (("/m-ka", 30), ("/m-short", 30), ("/m-pipe", 16), ("/m-big", 2)):
        online, target = replayed(rl, prefix, count)
        c = compare(online, target)
        assert c.exact and c.target_requests == count, (prefix, c, done.stdout)
        assert all(r.client_addr.startswith("198.19.0.") for r in target)
    assert "outcomes complete" in done.stdout


def test_copies_replay_every_session_three_times(rl):
    with rl.recording("copies") as pcap:
        load(rl, "/n-ka", 9, 3)
        load(rl, "/n-short", 6, 2, keepalive=False)
    done = rl.copy(pcap, "-n", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    for prefix, count in (("/n-ka", 9), ("/n-short", 6)):
        online, target = replayed(rl, prefix, 3 * count)
        assert compare(online, target, copies=3).exact
        assert len({r.client for r in target}) == len(connections(target))  # distinct identities


def test_sampling_replays_about_thirty_percent_of_sessions_each_complete(rl):
    with rl.recording("sample") as pcap:
        load(rl, "/r-short", 200, 4, keepalive=False)
    done = rl.copy(pcap, "-r", "30")
    assert done.returncode == 0, done.stdout + done.stderr
    online, target = replayed(rl, "/r-short", 1)
    time.sleep(1)
    target = with_prefix(rl.target.requests(), "/r-short")
    online_fingerprints = {r.fingerprint for r in online}
    assert all(r.fingerprint in online_fingerprints for r in target)
    assert 30 <= len(target) <= 90, len(target)  # 30% of 200 is 60; the hash decides which
    assert "sampled out (-r)" in done.stdout


def test_session_captured_mid_stream_is_replayed_from_the_capture_on(rl):
    plan = ["--host", ONLINE, "--port", str(ONLINE_PORT), "--requests", "40", "--concurrency", "2",
            "--rate", "40", "--path-prefix", "/mid", "--max-seconds", "20"]
    loadgen = rl.lab.spawn("client", [PY, "-m", "pyreplay.lab.load", *plan], stdout=subprocess.PIPE)
    time.sleep(0.3)  # both connections are open and have sent requests before capture starts
    with rl.recording("mid") as pcap:
        started = time.time()
        assert loadgen.wait(20) == 0
    done = rl.copy(pcap)
    assert done.returncode == 0, done.stdout + done.stderr
    online = with_prefix(rl.online.requests(), "/mid")
    after_start = [r for r in online if r.t > started + 0.05]
    _, target = replayed(rl, "/mid", len(after_start))
    assert {r.fingerprint for r in target} <= {r.fingerprint for r in online}
    assert len(target) >= len(after_start) > 0
    assert len(connections(target)) == 2  # two sessions, each with a faked handshake


def test_wrong_intercept_filter_is_diagnosed_not_silent(rl):
    wrong = rl.start_intercept(port=36525, filter_=f"tcp and src port {ONLINE_PORT}")
    try:
        with rl.recording("wrongfilter") as pcap:
            load(rl, "/w-short", 3, 1, keepalive=False)
        done = rl.copy(pcap, "-s", f"{HOST_ADDRESSES['assistant']}:36525", "-t", "5")
    finally:
        wrong.terminate()
    assert done.returncode == 1
    assert "problem: the target never answered through intercept" in done.stdout
    assert "-F filter" in done.stdout
