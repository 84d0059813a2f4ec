"""Helpers for the kernel-side tests: the veth-pair description, `ip`, ping, setns, counters.

Namespace entry comes from pyreplay.lab.netns; the veth pair here is the
smallest topology the attach tests need. Nothing here touches the host's own interfaces.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from pyreplay.lab.netns import inside as inside_netns  # noqa: F401 - re-exported for the tests


@dataclass(frozen=True)
class VethPair:
    """``ns_a``/``veth0``/``addr_a`` <-> ``ns_b``/``veth1``/``addr_b``, in 10.199.<n>.0/24."""

    ns_a: str
    ns_b: str
    addr_a: str
    addr_b: str
    if_a: str = "veth0"
    if_b: str = "veth1"


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=20).stdout


def xdp_attached(namespace: str, ifname: str) -> bool:
    return "xdp" in ip("-n", namespace, "-d", "-o", "link", "show", "dev", ifname)


def ping(pair: VethPair, count: int = 20) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ip", "netns", "exec", pair.ns_b, "ping", "-q", "-n", "-c", str(count), "-i", "0.02",
         "-W", "1", "-w", "10", pair.addr_a],
        capture_output=True, text=True, timeout=30,
    )


def smoke_count(compiled, slot: int = 0) -> int:
    return compiled[b"smoke_counts"].sum(slot).value
