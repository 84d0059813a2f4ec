"""intercept with BPF in the lab: record real HTTP traffic on the online server, replay it with
`pyreplay copy -i` through a BPF intercept, and compare the target's request log with online's.

(a) XDP on the assistant (responses routed there); (b) route-free: tcx egress on the target
itself, no pool route, responses swallowed by a redirect to lo — checked on the target's TCP
(retransmissions stay small, nothing stuck unacknowledged) and on the wire (a switch-side
capture sees no packet to the pool); (c) SIGKILL of intercept leaves nothing attached."""

from __future__ import annotations

import signal
import time

import pytest

from pyreplay.backends.afpacket import AfPacketCapture
from pyreplay.ebpf import inventory
from pyreplay.lab import netns
from pyreplay.lab.load import LoadPlan
from pyreplay.lab.netns import inside
from pyreplay.lab.replay_lab import PY, start_servers, with_prefix
from pyreplay.lab.requestlog import compare
from pyreplay.lab.services import ONLINE_PORT, TARGET_PORT, run_load
from pyreplay.lab.topology import HOST_ADDRESSES, LabSpec, lab

pytestmark = [pytest.mark.netns, pytest.mark.bpf]
ONLINE = HOST_ADDRESSES["online"]
FILTER = f"tcp and src port {TARGET_PORT}"


def load(rl, prefix, requests, concurrency, **kw):
    result = run_load(rl.lab, LoadPlan(ONLINE, ONLINE_PORT, requests, concurrency, path_prefix=prefix, **kw))
    assert result.requests_ok == requests, result
    return result


def replayed(rl, prefix, expected, timeout=10):
    deadline = time.monotonic() + timeout
    while len(with_prefix(rl.target.requests(), prefix)) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return with_prefix(rl.online.requests(), prefix), with_prefix(rl.target.requests(), prefix)


def snmp(rl, role: str, group: str, field: str) -> int:
    lines = [l.split() for l in rl.lab.run(role, ["cat", "/proc/net/snmp"]).stdout.splitlines() if l.startswith(group + ":")]
    return int(lines[1][lines[0].index(field)])


def intercept_log(rl, port=36524) -> str:
    return (rl.lab.workdir / f"intercept-{port}.log").read_text()


def attached_here(netns_name: str) -> list[inventory.Attachment]:
    with inside(netns_name):
        return [a for a in inventory.attachments() if a.name.startswith("pyrpl_resp")]


def replay_and_compare(rl, tag, *copy_args):
    with rl.recording(tag) as pcap:
        load(rl, f"/{tag}-ka", 30, 3)
        load(rl, f"/{tag}-short", 20, 2, keepalive=False)
        load(rl, f"/{tag}-big", 2, 1, body_bytes=200_000, resp_bytes=300_000)
    done = rl.copy(pcap, *copy_args)
    assert done.returncode == 0, done.stdout + done.stderr
    for prefix, count in ((f"/{tag}-ka", 30), (f"/{tag}-short", 20), (f"/{tag}-big", 2)):
        online, target = replayed(rl, prefix, count)
        c = compare(online, target)
        assert c.exact and c.target_requests == count, (prefix, c, done.stdout)
    return done


def test_xdp_intercept_on_the_assistant_replays_every_request_and_comes_off_on_sigkill():
    with lab() as the_lab:
        rl = start_servers(the_lab)
        proc = rl.start_intercept(capture=("--xdp", "lab0"))
        assistant = the_lab.host("assistant").netns
        try:
            assert "capture method xdp-generic on lab0 (forced by --xdp)" in intercept_log(rl)
            assert [a.hook for a in attached_here(assistant)] == ["xdp"]
            replay_and_compare(rl, "xdp")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        deadline = time.monotonic() + 5
        while attached_here(assistant) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert attached_here(assistant) == []
        assert " xdp" not in netns.ip("-d", "-o", "link", "show", "dev", "lab0", netns=assistant)


def test_default_method_picks_xdp_for_a_simple_filter_and_af_packet_otherwise():
    with lab() as the_lab:
        rl = start_servers(the_lab)
        simple = rl.start_intercept()
        assert "capture method xdp-generic on lab0 (the -F filter maps to 1 BPF rule(s))" in intercept_log(rl)
        complex_ = rl.start_intercept(port=36525, filter_=f"tcp and src port {TARGET_PORT} and tcp[13] & 16 != 0")
        assert "AF_PACKET with classic BPF on lab0 (the -F filter is not one of" in intercept_log(rl, 36525)
        forced = the_lab.run("assistant", [PY, "-m", "pyreplay.cli", "intercept", "--xdp", "lab0",
                                           "-F", "tcp[13] & 2 != 0", "-p", "36526"], check=False, timeout=30)
        assert forced.returncode == 1 and "--xdp: the -F filter" in forced.stderr
        for proc in (simple, complex_):
            proc.terminate()
            assert proc.wait(10) == 0


def test_route_free_intercept_on_the_target_swallows_responses_and_keeps_tcp_healthy():
    with lab(LabSpec(route_pool_via_assistant=False)) as the_lab:
        target_ns = the_lab.host("target").netns
        # A production target has a default gateway and no route to the assistant: here the client
        # host plays the gateway (it does not forward), so a leaked response would reach the wire.
        netns.ip("route", "add", "default", "via", HOST_ADDRESSES["client"], netns=target_ns)
        rl = start_servers(the_lab)
        proc = rl.start_intercept(role="target", capture=("-i", "lab0", "--route-free", "--pool", the_lab.client_pool))
        with inside(the_lab.switch_netns):
            wire = AfPacketCapture("p-target", f"dst net {the_lab.client_pool}")
        try:
            # Positive control: the switch-side capture does see what the target sends to the pool.
            control = []
            for _ in range(5):  # the first datagram may wait for ARP to the gateway
                the_lab.run("target", [PY, "-c", "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
                                       ".sendto(b'x', ('198.19.0.5', 9))"])
                deadline = time.monotonic() + 1
                while not control and time.monotonic() < deadline:
                    control = wire.drain(10)
                    time.sleep(0.05)
                if control:
                    break
            assert control, "the wire capture saw nothing: the leak check below would prove nothing"
            assert "route-free: tcx egress on lab0" in intercept_log(rl)
            assert [a.hook for a in attached_here(target_ns)] == ["tcx-egress"]
            retrans_before = snmp(rl, "target", "Tcp", "RetransSegs")
            out_before = snmp(rl, "target", "Tcp", "OutSegs")
            replay_and_compare(rl, "rf", "-s", HOST_ADDRESSES["target"])
            time.sleep(0.5)
            retrans = snmp(rl, "target", "Tcp", "RetransSegs") - retrans_before
            sent = snmp(rl, "target", "Tcp", "OutSegs") - out_before
            leaked = len(wire.drain(100_000))
            stuck = [line for line in the_lab.run("target", ["ss", "-tinH", "state", "established"]).stdout.splitlines()
                     if "198.19." in line and ("unacked" in line or "notsent" in line)]
        finally:
            wire.close()
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        print(f"route-free: target sent {sent} segments, retransmitted {retrans}, leaked to the wire {leaked}")
        assert sent > 200
        assert leaked == 0
        assert retrans <= max(3, sent // 100), (retrans, sent)
        assert stuck == []
        deadline = time.monotonic() + 5
        while attached_here(target_ns) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert attached_here(target_ns) == []
