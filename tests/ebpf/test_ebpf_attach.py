"""Attach through bpf_link between two fresh namespaces: counts, detach, SIGKILL, no clobbering."""

from __future__ import annotations

import errno
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from ebpf_netns import inside_netns, ping, smoke_count, xdp_attached
from pyreplay.ebpf import link, loader

pytestmark = [pytest.mark.bpf, pytest.mark.netns]

PINGS = 20

ATTACH_AND_WAIT = """
import sys, time
from pyreplay.ebpf import link, loader
compiled = loader.compile_program("smoke")
function = compiled.load_func(b"smoke_xdp", compiled.XDP)
held = link.attach_xdp(function.fd, sys.argv[1], mode="generic")
print("attached", flush=True)
time.sleep(60)
"""


def test_generic_xdp_link_sees_pings_and_detaches(veth_pair, smoke):
    compiled, function = smoke
    with inside_netns(veth_pair.ns_a):
        attached = link.attach_xdp(function.fd, veth_pair.if_a, mode="generic")
    with attached:
        assert "xdpgeneric" in subprocess.run(
            ["ip", "-n", veth_pair.ns_a, "-d", "-o", "link", "show", "dev", veth_pair.if_a],
            capture_output=True, text=True, check=True).stdout
        assert not os.get_inheritable(attached.fd), "link fds are O_CLOEXEC"
        result = ping(veth_pair, PINGS)
        assert result.returncode == 0, result.stdout + result.stderr
        assert smoke_count(compiled, 0) >= PINGS
        assert smoke_count(compiled, 1) >= PINGS
    assert attached.closed
    assert not xdp_attached(veth_pair.ns_a, veth_pair.if_a)


def test_sigkill_of_the_owner_detaches(veth_pair):
    child = subprocess.Popen(
        ["ip", "netns", "exec", veth_pair.ns_a, sys.executable, "-c", ATTACH_AND_WAIT, veth_pair.if_a],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        ready, _, _ = select.select([child.stdout], [], [], 60)
        line = child.stdout.readline() if ready else ""
        if line != "attached\n":
            child.kill()
            pytest.fail(f"the child did not attach: {child.communicate(timeout=20)[1]}")
        assert xdp_attached(veth_pair.ns_a, veth_pair.if_a)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=20) == -signal.SIGKILL
        assert _eventually(lambda: not xdp_attached(veth_pair.ns_a, veth_pair.if_a))
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=20)


def test_second_xdp_link_is_refused_with_a_clear_error(veth_pair, smoke):
    _, function = smoke
    with inside_netns(veth_pair.ns_a):
        with link.attach_xdp(function.fd, veth_pair.if_a, mode="generic"):
            with pytest.raises(link.AttachError) as refused:
                link.attach_xdp(function.fd, veth_pair.if_a, mode="generic")
            assert refused.value.errno == errno.EBUSY
            assert str(refused.value) == (
                f"another XDP program is already attached to {veth_pair.if_a}; pyreplay will not replace it")
            with pytest.raises(link.AttachError) as other_mode:
                link.attach_xdp(function.fd, veth_pair.if_a, mode="native")
            assert other_mode.value.errno in (errno.EBUSY, errno.EEXIST)
            assert "pyreplay will not replace it" in str(other_mode.value)
    assert not xdp_attached(veth_pair.ns_a, veth_pair.if_a)


def test_program_attached_by_someone_else_over_netlink_is_not_replaced(veth_pair, smoke):
    compiled, function = smoke
    skb_mode = 1 << 1
    with inside_netns(veth_pair.ns_a):
        compiled.attach_xdp(veth_pair.if_a.encode(), function, skb_mode)  # netlink, as other tools do
        try:
            with pytest.raises(link.AttachError, match="already attached .* will not replace it") as refused:
                link.attach_xdp(function.fd, veth_pair.if_a, mode="generic")
            assert refused.value.errno == errno.EBUSY
            assert xdp_attached(veth_pair.ns_a, veth_pair.if_a)
        finally:
            compiled.remove_xdp(veth_pair.if_a.encode(), skb_mode)
    assert not xdp_attached(veth_pair.ns_a, veth_pair.if_a)


def test_forked_child_drops_its_copy_of_the_link(veth_pair, smoke):
    _, function = smoke
    with inside_netns(veth_pair.ns_a):
        attached = link.attach_xdp(function.fd, veth_pair.if_a, mode="generic")
    with attached:
        fd = attached.fd
        pid = os.fork()
        if pid == 0:  # child: the at-fork hook must already have closed the inherited link fd
            try:
                os.fstat(fd)
                os._exit(1)
            except OSError:
                os._exit(0 if attached.closed else 2)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert xdp_attached(veth_pair.ns_a, veth_pair.if_a), "the child's close must not detach"
    assert not xdp_attached(veth_pair.ns_a, veth_pair.if_a)


def test_tcx_ingress_link_counts_and_detaches(veth_pair):
    compiled = loader.compile_program("smoke_tcx")
    try:
        function = compiled.load_func(b"smoke_tcx", compiled.SCHED_CLS)
        with inside_netns(veth_pair.ns_a):
            attached = link.attach_tcx(function.fd, veth_pair.if_a, direction="ingress")
        with attached:
            assert ping(veth_pair, PINGS).returncode == 0
            seen = compiled[b"smoke_tcx_counts"].sum(0).value
            assert seen >= PINGS
        assert ping(veth_pair, 3).returncode == 0
        assert compiled[b"smoke_tcx_counts"].sum(0).value == seen, "detached: no more packets counted"
    finally:
        compiled.cleanup()


def test_unknown_interface_is_a_clear_error(veth_pair, smoke):
    _, function = smoke
    with inside_netns(veth_pair.ns_a):
        with pytest.raises(link.AttachError, match="no interface named nosuch0 in this network namespace"):
            link.attach_xdp(function.fd, "nosuch0")


def _eventually(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
