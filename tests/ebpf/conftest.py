"""Fixtures for the kernel-side tests: a veth pair between two fresh namespaces; the smoke program.

Namespaces get a random suffix and are always deleted, also when a test fails (deleting a
namespace destroys its veth and anything attached to it).
"""

from __future__ import annotations

import secrets
import subprocess
from typing import Iterator

import pytest

from ebpf_netns import VethPair, ip


@pytest.fixture
def veth_pair() -> Iterator[VethPair]:
    suffix = secrets.token_hex(4)
    subnet = f"10.199.{secrets.randbelow(256)}"
    pair = VethPair(f"pyrpl-ebpf-a-{suffix}", f"pyrpl-ebpf-b-{suffix}", f"{subnet}.1", f"{subnet}.2")
    created = []
    try:
        for ns in (pair.ns_a, pair.ns_b):
            ip("netns", "add", ns)
            created.append(ns)
        ip("-n", pair.ns_a, "link", "add", pair.if_a, "type", "veth", "peer", "name", pair.if_b,
           "netns", pair.ns_b)
        for ns, ifname, addr in ((pair.ns_a, pair.if_a, pair.addr_a), (pair.ns_b, pair.if_b, pair.addr_b)):
            ip("-n", ns, "addr", "add", f"{addr}/24", "dev", ifname)
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", ifname, "up")
        yield pair
    finally:
        for ns in created:
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True, timeout=20)


@pytest.fixture
def smoke():
    """The smoke XDP program, compiled and loaded: (bpf object, loaded function)."""
    from pyreplay.ebpf import loader

    compiled = loader.compile_program("smoke")
    try:
        yield compiled, compiled.load_func(b"smoke_xdp", compiled.XDP)
    finally:
        compiled.cleanup()
