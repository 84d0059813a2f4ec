"""BPF smoke test on a lab veth: compile with bcc, attach through a bpf_link to the online
server's interface, count real HTTP traffic, detach, and leave nothing attached."""

import subprocess

import pytest

from pyreplay.ebpf import link, loader
from pyreplay.lab.load import LoadPlan
from pyreplay.lab.netns import inside
from pyreplay.lab.services import ONLINE_PORT, run_load, start_http_server
from pyreplay.lab.topology import HOST_ADDRESSES, lab

pytestmark = [pytest.mark.bpf, pytest.mark.netns]


def xdp_on(netns_name: str, iface: str) -> bool:
    out = subprocess.run(["ip", "-n", netns_name, "-d", "-o", "link", "show", "dev", iface],
                         capture_output=True, text=True, check=True).stdout
    return " xdp" in out


def test_xdp_program_counts_lab_traffic_and_comes_off():
    compiled = loader.compile_program("smoke")
    function = compiled.load_func(b"smoke_xdp", compiled.XDP)
    with lab() as the_lab:
        online = the_lab.host("online")
        start_http_server(the_lab, "online", ONLINE_PORT)
        with inside(online.netns):
            attached = link.attach_xdp(function.fd, online.iface, mode="generic")
        with attached:
            assert xdp_on(online.netns, online.iface)
            result = run_load(the_lab, LoadPlan(HOST_ADDRESSES["online"], ONLINE_PORT, 50, 5))
            assert result.requests_ok == 50
            ipv4_frames = compiled[b"smoke_counts"].sum(1).value
            assert ipv4_frames >= 60  # at least 5 SYNs, 5 handshake ACKs and 50 request segments
        assert not xdp_on(online.netns, online.iface)
        before = compiled[b"smoke_counts"].sum(1).value
        assert run_load(the_lab, LoadPlan(HOST_ADDRESSES["online"], ONLINE_PORT, 10, 1)).requests_ok == 10
        assert compiled[b"smoke_counts"].sum(1).value == before, "detached program still counting"
    compiled.cleanup()
