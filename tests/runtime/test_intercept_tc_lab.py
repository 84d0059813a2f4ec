"""intercept --tc on the assistant, end to end in the lab: live HTTP load from the client
namespace, ``pyreplay copy`` capturing live in the online namespace, ``pyreplay intercept --tc
lab0`` (tc ingress through a tcx link) in the assistant namespace. The target's request log must
equal the online server's (count and bytes per connection). With ``--drop-responses`` the
program black-holes the responses itself (the assistant kernel never sees them: its
IpInAddrErrors stay flat), without it the kernel drops them (IpInAddrErrors grow). When the
processes end (SIGINT for copy; SIGTERM or SIGKILL for intercept) nothing stays attached."""

from __future__ import annotations

import signal
import time

import pytest

from pyreplay.ebpf import inventory
from pyreplay.lab import netns
from pyreplay.lab.netns import inside
from pyreplay.lab.replay_lab import start_servers, with_prefix
from pyreplay.lab.requestlog import compare
from pyreplay.lab.topology import lab
from test_copy_live import linked_prog_ids, load, prog_exists, start_copy, stop_copy, wait_replayed

pytestmark = [pytest.mark.netns, pytest.mark.bpf]


def attached(the_lab, role: str) -> list[inventory.Attachment]:
    """Every BPF program attached to any interface of a lab host (ours or not)."""
    with inside(the_lab.host(role).netns):
        return inventory.attachments()


def snmp(the_lab, role: str, group: str, field: str) -> int:
    lines = [line.split() for line in the_lab.run(role, ["cat", "/proc/net/snmp"]).stdout.splitlines()
             if line.startswith(group + ":")]
    return int(lines[1][lines[0].index(field)])


def eventually(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize("drop, copy_method, intercept_end", [
    (False, "tc", signal.SIGKILL),
    (True, "xdp", signal.SIGTERM),
], ids=["kernel-drops-responses", "drop-responses"])
def test_tc_intercept_on_the_assistant_replays_live_traffic_and_leaves_nothing_attached(drop, copy_method,
                                                                                       intercept_end):
    with lab() as the_lab:
        rl = start_servers(the_lab)
        flags = ("--tc", "lab0", "--drop-responses") if drop else ("--tc", "lab0")
        intercept = rl.start_intercept(capture=flags)
        intercept_links = linked_prog_ids(intercept.pid)
        copy = None
        try:
            log = (the_lab.workdir / "intercept-36524.log").read_text()
            assert "capture method tcx-ingress on lab0 (forced by --tc)" in log, log
            hooks = [(a.hook, a.name, a.via_link) for a in attached(the_lab, "assistant")]
            assert hooks == [("tcx-ingress", "pyrpl_resp_tc_i", True)], hooks
            assert len(intercept_links) == 1
            copy, copy_log = start_copy(rl, copy_method)
            copy_links = linked_prog_ids(copy.pid)
            assert copy_links
            black_holed_before = snmp(the_lab, "assistant", "Ip", "InAddrErrors")
            tag = "tcd" if drop else "tck"
            prefixes = {f"/{tag}-ka": 40, f"/{tag}-short": 20, f"/{tag}-big": 2}
            load(rl, f"/{tag}-ka", 40, 4)
            load(rl, f"/{tag}-short", 20, 4, keepalive=False)
            load(rl, f"/{tag}-big", 2, 1, body_bytes=300_000, resp_bytes=50_000)
            wait_replayed(rl, prefixes)
            black_holed = snmp(the_lab, "assistant", "Ip", "InAddrErrors") - black_holed_before
        finally:
            out = stop_copy(copy) if copy is not None else ""
            intercept.send_signal(intercept_end)
            intercept.wait(15)
        for prefix, count in prefixes.items():
            online = with_prefix(rl.online.requests(), prefix)
            target = with_prefix(rl.target.requests(), prefix)
            c = compare(online, target)
            assert len(online) == count
            assert c.exact and c.target_requests == count, (prefix, c, out, copy_log.read_text()[-2000:])
        print(f"tc intercept, drop={drop}: assistant IpInAddrErrors grew by {black_holed}")
        if drop:
            assert black_holed == 0, black_holed  # TC_ACT_SHOT at ingress: the IP layer never saw them
        else:
            assert black_holed > 60, black_holed  # the kernel black-holes every routed response
        if intercept_end == signal.SIGTERM:
            assert intercept.returncode == 0
        # Nothing stays attached: the link fds are gone with the processes, the programs freed.
        assert eventually(lambda: not attached(the_lab, "assistant") and not attached(the_lab, "online")), (
            attached(the_lab, "assistant"), attached(the_lab, "online"))
        assert eventually(lambda: not any(prog_exists(i) for i in intercept_links | copy_links))
        for role in ("assistant", "online"):
            assert " xdp" not in netns.ip("-d", "-o", "link", "show", "dev", "lab0", netns=the_lab.host(role).netns)
