"""intercept's flags from the original. In a namespace of the test's own (``unshare -n``, only
lo): ``-D`` routes a response sent to a rewritten address to the copy process that registered
the original one; an intercept command line with every flag of the original starts, and the
flags without effect say so in one line each. Without a network: ``-n``, ``-s`` and ``-t``
shape the batcher and the routing table."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pyreplay.config import InterceptConfig
from pyreplay.packet.segment import ResponseSummary
from pyreplay.runtime.intercept import new_batcher, new_router

netns = pytest.mark.netns
PROBE = str(Path(__file__).with_name("intercept_flags_probe.py"))


def probe(tmp_path, registered, seen, *flags):
    done = subprocess.run(["unshare", "-n", sys.executable, PROBE, str(tmp_path / "intercept.log"), registered,
                           seen, *flags], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


@netns
def test_dockered_response_reaches_the_copy_that_registered_the_original_address(tmp_path):
    got = probe(tmp_path, "127.0.0.3", "127.0.0.2", "-D", "127.0.0.2-127.0.0.3")
    assert got["summaries"], got["log"]
    first = got["summaries"][0]
    assert (first["dst"], first["dport"], first["flags"], first["ack"]) == ("127.0.0.3", 40001, 0x12, 1001)


@netns
def test_without_dockered_the_response_has_no_route(tmp_path):
    got = probe(tmp_path, "127.0.0.3", "127.0.0.2")
    assert got["summaries"] == []


@netns
def test_an_intercept_command_line_with_every_flag_of_the_original_starts(tmp_path):
    got = probe(tmp_path, "127.0.0.3", "127.0.0.3", "-n", "6", "-s", "131072", "-t", "120",
                "-D", "127.0.0.9-127.0.0.10", "-x", "10.0.0.9", "-q", "2048", "-c", "-b", "127.0.0.1")
    assert [s["dst"] for s in got["summaries"]] == ["127.0.0.3"]
    warnings = [line for line in got["stderr"].splitlines() if line.startswith("pyreplay: warning: ")]
    assert [w.split(":")[2].strip() for w in warnings] == ["-x 10.0.0.9", "-q 2048", "-c"], got["stderr"]


# --- -n, -s, -t shape the batcher and the routing table (no network) ---------------------------------

KEY = (bytes([198, 19, 0, 5]), 40001, bytes([198, 18, 0, 30]), 8080)


def response(flags=0x10, dport=40001):
    return ResponseSummary(KEY[2], KEY[0], 8080, dport, 5000, 1001, flags, 65535, 10)


@pytest.mark.parametrize("combine, frames_for_three", [("0", 3), ("1", 3), ("2", 1), (None, 0)])
def test_combine_sets_how_many_responses_share_a_frame(combine, frames_for_three):
    batcher = new_batcher(InterceptConfig.from_options(combine=combine))
    batcher.add(response(), 0.0)  # the first after a quiet spell always goes at once
    frames = [batcher.add(response(), 0.0001) for _ in range(3)]
    assert sum(f is not None for f in frames) == frames_for_three


def test_route_timeout_expires_unused_routes():
    router = new_router(InterceptConfig.from_options(route_timeout="30"))
    router.register(*KEY, "copy-1", 0.0)
    assert router.route(response(), 29.0) == [("copy-1", response())]
    assert router.route(response(), 58.9) == [("copy-1", response())]  # used at 29: lives to 59
    assert router.route(response(), 89.5) == []
    default = new_router(InterceptConfig.from_options())
    default.register(*KEY, "copy-1", 0.0)
    assert default.route(response(), 500.0)  # 600 s by default


def test_delay_capacity_bounds_early_responses_held():
    router = new_router(InterceptConfig.from_options(delay_capacity="2"))
    for port in (40001, 40002, 40003):
        router.route(response(0x12, port), 0.0)  # SYN-ACKs before their Register
    assert router.stats().delayed_pending == 2
    assert router.register(KEY[0], 40001, KEY[2], 8080, "copy-1", 0.1) == []  # the oldest went
    assert len(router.register(KEY[0], 40003, KEY[2], 8080, "copy-1", 0.1)) == 1
