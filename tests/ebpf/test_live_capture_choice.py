"""copy's choice of capture method: XDP when it can, tc when XDP is taken, AF_PACKET as the
last resort; one log line says which and why; a forced method that cannot work is an error."""

from __future__ import annotations

import pytest

from pyreplay.backends.live_capture import CaptureUnavailable, afpacket_filter, open_live_capture
from pyreplay.config import Transfer

TRANSFERS = (Transfer(None, 80, bytes([10, 0, 0, 9]), 8080), Transfer(bytes([10, 0, 0, 2]), 81, bytes([10, 0, 0, 9]), 8081))


def test_afpacket_filter_names_every_online_port():
    assert afpacket_filter(TRANSFERS) == "tcp and (dst port 80 or (dst host 10.0.0.2 and dst port 81))"


@pytest.mark.bpf
@pytest.mark.netns
def test_auto_prefers_xdp_then_tc_when_xdp_is_taken(veth_pair, smoke):
    from ebpf_netns import inside_netns
    from pyreplay.ebpf.link import attach_xdp

    _, smoke_function = smoke
    with inside_netns(veth_pair.ns_a):
        capture, why = open_live_capture(None, (), TRANSFERS)
        try:
            assert capture.description == "XDP (generic)" and capture.interfaces == (veth_pair.if_a,)
            assert "best method available" in why
        finally:
            capture.close()
        with attach_xdp(smoke_function.fd, veth_pair.if_a):
            capture, why = open_live_capture(None, (veth_pair.if_a,), TRANSFERS)
            try:
                assert capture.description == "tc (tcx ingress)"
                assert "passed over xdp: another XDP program is already attached" in why
            finally:
                capture.close()
            with pytest.raises(CaptureUnavailable, match="already attached"):
                open_live_capture("xdp", (veth_pair.if_a,), TRANSFERS)


@pytest.mark.bpf
@pytest.mark.netns
def test_ring_bytes_size_the_kernel_ring_buffer(veth_pair):
    """copy -B MB reaches the kernel: a ring buffer map of that size exists while the capture is open."""
    import json
    import subprocess

    from ebpf_netns import inside_netns

    def capture_rings() -> list[int]:
        maps = json.loads(subprocess.run(["bpftool", "-j", "map", "show"], capture_output=True, text=True,
                                         timeout=30, check=True).stdout)
        return [m["max_entries"] for m in maps if m.get("type") == "ringbuf"
                and m.get("name", "").startswith("pr_ring")]

    assert (1 << 20) not in capture_rings()  # no other 1 MiB capture ring around
    with inside_netns(veth_pair.ns_a):
        capture, _ = open_live_capture("xdp", (veth_pair.if_a,), TRANSFERS, ring_bytes=1 << 20)
        try:
            assert capture_rings().count(1 << 20) == 1
        finally:
            capture.close()
