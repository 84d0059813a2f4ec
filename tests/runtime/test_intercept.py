"""intercept in the lab: the target's SYN-ACK to a fake client, routed to the assistant, reaches
the copy process that registered that client, and so does a pure ACK nothing follows; a garbage
peer is closed, others keep working."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyreplay.lab.services import TARGET_PORT, start_http_server
from pyreplay.lab.topology import HOST_ADDRESSES, lab

pytestmark = pytest.mark.netns
PROBE = str(Path(__file__).with_name("channel_probe.py"))
ASSISTANT = HOST_ADDRESSES["assistant"]


@pytest.fixture
def intercept_lab():
    with lab() as the_lab:
        start_http_server(the_lab, "target", TARGET_PORT)
        log = the_lab.workdir / "intercept.log"
        proc = the_lab.spawn("assistant", [sys.executable, "-m", "pyreplay.cli", "intercept", "-i", "lab0",
                                           "-F", f"tcp and src port {TARGET_PORT}", "-l", str(log)],
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        assert proc.poll() is None, proc.stderr.read()
        yield the_lab, proc, log


def probe(the_lab, port, *extra):
    done = the_lab.run("online", [sys.executable, PROBE, ASSISTANT, "198.19.0.5", str(port),
                                  HOST_ADDRESSES["target"], str(TARGET_PORT), *extra], timeout=20)
    return json.loads(done.stdout)


def test_syn_ack_reaches_the_registered_copy_process(intercept_lab):
    the_lab, _, _ = intercept_lab
    summaries = probe(the_lab, 40001)
    assert summaries, "intercept forwarded nothing"
    first = summaries[0]
    assert (first["src"], first["sport"]) == (HOST_ADDRESSES["target"], TARGET_PORT)
    assert (first["dst"], first["dport"]) == ("198.19.0.5", 40001)
    assert first["flags"] & 0x12 == 0x12 and first["ack"] == 1001


def test_a_pure_ack_nothing_follows_still_reaches_copy(intercept_lab):
    """The target's ACK of a partial request is its last packet: the BPF ring takes it without
    waking intercept (it waits for the next summary), and intercept must still pass it on at
    its next timed wake-up (50 ms), not only when another summary comes."""
    the_lab, _, _ = intercept_lab
    summaries = probe(the_lab, 40003, "partial")
    partial_end = 1001 + len(b"GET /half HTTP/1.1\r\n")
    acks = [s for s in summaries if s["ack"] == partial_end]
    assert acks, summaries
    assert acks[0]["flags"] == 0x10 and acks[0]["payload_len"] == 0  # a pure ACK, as meant
    assert acks[0]["after"] < 1.0, acks


def test_garbage_peer_is_closed_and_others_are_served(intercept_lab):
    the_lab, proc, log = intercept_lab
    summaries = probe(the_lab, 40002, "garbage")
    assert summaries and summaries[0]["dport"] == 40002
    proc.terminate()
    proc.wait(10)
    text = log.read_text()
    assert "closing" in text and "Hello" in text, text
    assert "exit:" in text
