"""``pyreplay cleanup`` in a namespace of its own: it removes pyreplay's programs left attached
by netlink (XDP and a clsact tc filter), leaves another tool's program alone, and only reports
a program held by a live bpf_link; ``--dry-run`` reports the same and removes nothing.

The namespace holds four veth pairs: ``ours0`` (pyrpl_resp_xdp, netlink XDP generic, as an
older-kernel fallback or a crashed run would leave it), ``tcours0`` (smoke_tcx, netlink clsact
ingress filter), ``held0`` (smoke_xdp held by this process's bpf_link) and ``other0``
(other_tool_xdp, netlink XDP: not ours). Deleting the namespace removes every attachment, so the
fixture's teardown leaves nothing behind even when a test fails.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyreplay.ebpf import inventory, link, loader
from pyreplay.lab import netns
from pyreplay.lab.netns import inside

pytestmark = [pytest.mark.bpf, pytest.mark.netns]

XDP_SKB_MODE = 1 << 1
PAIRS = ("ours", "tcours", "held", "other")
FOREIGN_SOURCE = """\
// SPDX-License-Identifier: GPL-2.0
// Another tool's XDP program (test only): passes everything; its name is not pyreplay's.
#include <uapi/linux/bpf.h>

int other_tool_xdp(struct xdp_md *ctx) { return XDP_PASS; }
"""
HELD = "held by a running process's bpf_link (detaches when it exits)"


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"pyrpl-cleanup-{secrets.token_hex(4)}"
    netns.add_namespace(name)
    try:
        netns.ip("link", "set", "lo", "up", netns=name)
        for n, pair in enumerate(PAIRS):
            # High fixed indexes: the inventory tells link-held XDP programs by ifindex alone, across
            # namespaces, so a concurrent test's live XDP link on ifindex 2 of its own namespace
            # would make a leftover on ifindex 2 here look held (reported as a bug).
            netns.ip("link", "add", f"{pair}0", "index", str(2001 + 2 * n), "type", "veth", "peer", "name",
                     f"{pair}1", "index", str(2002 + 2 * n), netns=name)
            for end in (f"{pair}0", f"{pair}1"):
                netns.ip("link", "set", end, "up", netns=name)
        yield name
    finally:
        netns.delete_namespace(name)  # takes every veth and whatever is attached to it along
        assert name not in netns.list_namespaces()


@pytest.fixture
def compiled(tmp_path: Path) -> Iterator[dict]:
    """The four programs, compiled and loaded: {name: (bcc object, loaded function)}."""
    from pyreplay.backends.bpf_responses import program_defines

    foreign = tmp_path / "other_tool.bpf.c"
    foreign.write_text(FOREIGN_SOURCE)
    objects: list = []
    try:
        programs = {}
        for source, defines, function, kind in (
            ("response_xdp", program_defines("xdp", drop=False), b"pyrpl_resp_xdp", "XDP"),
            ("smoke_tcx", None, b"smoke_tcx", "SCHED_CLS"),
            ("smoke", None, b"smoke_xdp", "XDP"),
            (str(foreign), None, b"other_tool_xdp", "XDP"),
        ):
            bpf = loader.compile_program(source, defines)
            objects.append(bpf)
            programs[function.decode()] = (bpf, bpf.load_func(function, getattr(bpf, kind)))
        yield programs
    finally:
        for bpf in objects:
            bpf.cleanup()


def attach_tc_ingress_over_netlink(ifname: str, fd: int, name: str) -> None:
    """A clsact ingress direct-action filter, the way tc(8) or older pyreplay-like tools attach."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=ifname)[0]
        ipr.tc("add", "clsact", index)
        ipr.tc("add-filter", "bpf", index, ":1", fd=fd, name=name, parent="ffff:fff2", classid=1,
               direct_action=True)


def cleanup(namespace: str, *args: str) -> subprocess.CompletedProcess:
    return netns.run_in(namespace, [sys.executable, "-m", "pyreplay.cli", "cleanup", *args], check=False,
                        timeout=120)


def state(namespace: str) -> dict[str, tuple[str, str, int, bool]]:
    """ifname -> (hook, program name, program id, via_link), from iproute2 and BPF_PROG_QUERY."""
    with inside(namespace):
        found = inventory.attachments()
    by_ifname = {a.ifname: (a.hook, a.name, a.prog_id, a.via_link) for a in found}
    assert len(by_ifname) == len(found), found
    return by_ifname


def xdp_prog_id(namespace: str, ifname: str) -> int | None:
    """Independent of the inventory: the XDP program id `ip link` shows on an interface."""
    import json

    link_info = json.loads(netns.ip("-d", "-j", "link", "show", "dev", ifname, netns=namespace))[0]
    xdp = link_info.get("xdp") or {}
    return (xdp.get("prog") or {}).get("id")


def tc_ingress_filters(namespace: str, ifname: str) -> str:
    return netns.run_in(namespace, ["tc", "filter", "show", "dev", ifname, "ingress"]).stdout


def test_cleanup_removes_ours_left_by_netlink_reports_linked_ones_and_leaves_others_alone(namespace, compiled):
    held = None
    foreign_bpf, foreign = compiled["other_tool_xdp"]
    try:
        with inside(namespace):
            resp_bpf, resp = compiled["pyrpl_resp_xdp"]
            resp_bpf.attach_xdp(b"ours0", resp, XDP_SKB_MODE)  # netlink: survives its owner
            _, tcx_fn = compiled["smoke_tcx"]
            attach_tc_ingress_over_netlink("tcours0", tcx_fn.fd, "smoke_tcx")
            held = link.attach_xdp(compiled["smoke_xdp"][1].fd, "held0", mode="generic")
            foreign_bpf.attach_xdp(b"other0", foreign, XDP_SKB_MODE)
        before = state(namespace)
        assert {k: v[:2] + v[3:] for k, v in before.items()} == {
            "ours0": ("xdp", "pyrpl_resp_xdp", False),
            "tcours0": ("tc-ingress", "smoke_tcx", False),
            "held0": ("xdp", "smoke_xdp", True),
            "other0": ("xdp", "other_tool_xdp", False),
        }
        ids = {ifname: v[2] for ifname, v in before.items()}
        report = {
            "ours0": f"xdp pyrpl_resp_xdp (id {ids['ours0']}) on ours0",
            "tcours0": f"tc-ingress smoke_tcx (id {ids['tcours0']}) on tcours0",
            "held0": f"{HELD}: xdp smoke_xdp (id {ids['held0']}) on held0",
            "other0": f"left alone (not pyreplay's): xdp other_tool_xdp (id {ids['other0']}) on other0",
        }

        dry = cleanup(namespace, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert sorted(dry.stdout.splitlines()) == sorted([
            f"would remove: {report['ours0']}", f"would remove: {report['tcours0']}", report["held0"],
            report["other0"]]), dry.stdout
        assert state(namespace) == before, "--dry-run removed something"

        done = cleanup(namespace)
        assert done.returncode == 0, done.stdout + done.stderr
        assert sorted(done.stdout.splitlines()) == sorted([
            f"removed: {report['ours0']}", f"removed: {report['tcours0']}", report["held0"],
            report["other0"]]), done.stdout
        after = state(namespace)
        assert after == {"held0": before["held0"], "other0": before["other0"]}, after
        assert xdp_prog_id(namespace, "ours0") is None
        assert "bpf" not in tc_ingress_filters(namespace, "tcours0")
        assert xdp_prog_id(namespace, "held0") == ids["held0"]  # the link still holds it
        assert xdp_prog_id(namespace, "other0") == ids["other0"]  # never touched

        again = cleanup(namespace)  # idempotent: nothing of ours left to remove
        assert again.returncode == 0 and "removed" not in again.stdout, again.stdout
    finally:
        if held is not None:
            held.close()
        with inside(namespace):  # the test removes the foreign program itself
            foreign_bpf.remove_xdp(b"other0", XDP_SKB_MODE)
    assert state(namespace) == {}
    assert cleanup(namespace).stdout == ""
