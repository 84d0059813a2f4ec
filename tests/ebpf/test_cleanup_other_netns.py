"""``pyreplay cleanup`` must judge "held by a bpf_link" per network namespace: an XDP link on
another namespace's interface with the same ifindex says nothing about this namespace's
netlink-attached program (interface indexes are per namespace; every fresh namespace numbers
its first veth 2)."""

from __future__ import annotations

import secrets
import socket
import sys

import pytest

from pyreplay.ebpf import link, loader
from pyreplay.lab import netns
from pyreplay.lab.netns import inside

pytestmark = [pytest.mark.bpf, pytest.mark.netns]
XDP_SKB_MODE = 1 << 1


@pytest.fixture
def two_namespaces():
    names = [f"pyrpl-cleanup-{secrets.token_hex(4)}" for _ in range(2)]
    try:
        for name in names:
            netns.add_namespace(name)
            netns.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1", netns=name)
            netns.ip("link", "set", "v0", "up", netns=name)
            netns.ip("link", "set", "v1", "up", netns=name)
        yield names
    finally:
        for name in names:
            netns.delete_namespace(name)


def test_a_link_in_another_namespace_on_the_same_ifindex_does_not_shield_our_leftover(two_namespaces):
    here, elsewhere = two_namespaces
    compiled = loader.compile_program("smoke")
    other_run = loader.compile_program("smoke")  # the live process's own copy of the program
    held = None
    try:
        left_over = compiled.load_func(b"smoke_xdp", compiled.XDP)
        live = other_run.load_func(b"smoke_xdp", other_run.XDP)
        with inside(here):
            compiled.attach_xdp(b"v0", left_over, XDP_SKB_MODE)  # netlink, as a crashed fallback leaves it
            index_here = socket.if_nametoindex("v0")
        with inside(elsewhere):
            held = link.attach_xdp(live.fd, "v0", mode="generic")  # a running process's link
            index_elsewhere = socket.if_nametoindex("v0")
        assert index_here == index_elsewhere
        done = netns.run_in(here, [sys.executable, "-m", "pyreplay.cli", "cleanup"], check=False, timeout=120)
        assert done.stdout.startswith("removed: xdp smoke_xdp"), done.stdout + done.stderr
        assert "xdp" not in netns.ip("-d", "-o", "link", "show", "dev", "v0", netns=here)
    finally:
        if held is not None:
            held.close()
        compiled.cleanup()
        other_run.cleanup()
