"""Live copy end to end in the lab, with real BPF: HTTP load from the client namespace to the
online server while ``pyreplay copy --xdp|--tc|--afpacket lab0`` runs in the online namespace
and intercept (AF_PACKET) runs on the assistant. The target's request log must equal the online
server's (count and bytes per connection); the online server must answer every request, also
while copy is SIGKILLed mid-run; and a SIGKILL must leave no program attached."""

from __future__ import annotations

import re
import signal
import subprocess
import time

import pytest

from pyreplay.lab.load import LoadPlan
from pyreplay.lab.replay_lab import PY, TRANSFER, with_prefix
from pyreplay.lab.requestlog import compare
from pyreplay.lab.services import ONLINE_PORT, run_load
from pyreplay.lab.topology import HOST_ADDRESSES

pytestmark = [pytest.mark.netns, pytest.mark.bpf]
ONLINE = HOST_ADDRESSES["online"]


def start_copy(rl, method: str, *extra: str) -> tuple[subprocess.Popen, object]:
    log = rl.lab.workdir / f"copy-live-{method}-{time.monotonic_ns()}.log"
    argv = [PY, "-m", "pyreplay.cli", "copy", "-x", TRANSFER, "-s", HOST_ADDRESSES["assistant"],
            "-c", rl.lab.client_pool, f"--{method}", "lab0", "-l", str(log), *extra]
    proc = rl.lab.spawn("online", argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while "capturing with" not in (log.read_text() if log.exists() else ""):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate(timeout=10)
            pytest.fail(f"copy --{method} did not start: {out} {err} {log.read_text() if log.exists() else ''}")
        time.sleep(0.05)
    return proc, log


def stop_copy(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, out + err
    return out


def load(rl, prefix: str, requests: int, concurrency: int, **kw):
    result = run_load(rl.lab, LoadPlan(ONLINE, ONLINE_PORT, requests, concurrency, path_prefix=prefix, **kw))
    assert result.requests_ok == requests and result.errors == 0, result
    return result


def wait_replayed(rl, prefixes: dict[str, int], timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        target = rl.target.requests()
        if all(len(with_prefix(target, p)) >= n for p, n in prefixes.items()):
            break
        time.sleep(0.1)


def linked_prog_ids(pid: int) -> set[int]:
    """Program ids behind the BPF link fds a process holds (from /proc/PID/fdinfo)."""
    ids = set()
    import os

    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            text = open(f"/proc/{pid}/fdinfo/{fd}").read()
        except OSError:
            continue
        if "link_type:" in text:
            match = re.search(r"prog_id:\s*(\d+)", text)
            if match:
                ids.add(int(match.group(1)))
    return ids


def prog_exists(prog_id: int) -> bool:
    done = subprocess.run(["bpftool", "prog", "show", "id", str(prog_id)], capture_output=True, text=True, timeout=20)
    return done.returncode == 0


def xdp_on(rl, role: str) -> bool:
    out = subprocess.run(["ip", "-n", rl.lab.host(role).netns, "-d", "link", "show", "lab0"],
                         capture_output=True, text=True, timeout=20, check=True).stdout
    return "xdp" in out


@pytest.mark.parametrize("method", ["xdp", "tc", "afpacket"])
def test_live_copy_replays_every_request_byte_for_byte(rl, method):
    proc, log = start_copy(rl, method, "--stats-interval", "0.2")
    try:
        prefixes = {f"/{method}-ka": 60, f"/{method}-short": 40, f"/{method}-big": 3}
        load(rl, f"/{method}-ka", 60, 4)
        load(rl, f"/{method}-short", 40, 4, keepalive=False)
        load(rl, f"/{method}-big", 3, 1, body_bytes=300_000, resp_bytes=50_000)
        wait_replayed(rl, prefixes)
    finally:
        out = stop_copy(proc)
    log_text = log.read_text()
    assert f"capturing with" in log_text and "(forced)" in log_text
    assert "capture losses" in log_text  # the periodic stats line
    for prefix, count in prefixes.items():
        online = with_prefix(rl.online.requests(), prefix)
        target = with_prefix(rl.target.requests(), prefix)
        c = compare(online, target)
        assert len(online) == count
        assert c.exact and c.target_requests == count, (prefix, c, out, log_text[-2000:])
    assert re.search(r"capture: .* on lab0; losses: ", out), out
    assert not xdp_on(rl, "online")


@pytest.mark.parametrize("method", ["xdp", "tc"])
def test_sigkill_mid_run_leaves_nothing_attached_and_online_answers_everything(rl, method):
    proc, _ = start_copy(rl, method)
    prog_ids = linked_prog_ids(proc.pid)
    assert prog_ids and all(prog_exists(i) for i in prog_ids)
    if method == "xdp":
        assert xdp_on(rl, "online")
    argv = [PY, "-m", "pyreplay.lab.load", "--host", ONLINE, "--port", str(ONLINE_PORT), "--requests", "600",
            "--concurrency", "4", "--rate", "300", "--max-seconds", "30", "--path-prefix", f"/kill-{method}"]
    loader = rl.lab.spawn("client", argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.8)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        out, err = loader.communicate(timeout=60)
    finally:
        if loader.poll() is None:
            loader.kill()
    result = __import__("json").loads(out.strip().splitlines()[-1])
    assert result["errors"] == 0 and result["requests_ok"] == 600, (result, err)
    deadline = time.monotonic() + 5
    while any(prog_exists(i) for i in prog_ids) and time.monotonic() < deadline:
        time.sleep(0.1)  # the kernel frees the program once the last fd is gone
    assert not any(prog_exists(i) for i in prog_ids)
    assert not xdp_on(rl, "online")
    again, _ = start_copy(rl, method)  # the interface is free for a new attach
    stop_copy(again)


def test_load_is_answered_while_copy_runs(rl):
    proc, _ = start_copy(rl, "xdp")
    try:
        load(rl, "/answered", 300, 8, keepalive=False)
    finally:
        stop_copy(proc)


def test_forced_method_that_cannot_work_is_one_line_and_exit_1(rl):
    done = rl.lab.run("online", [PY, "-m", "pyreplay.cli", "copy", "-x", TRANSFER, "-s", HOST_ADDRESSES["assistant"],
                                 "--xdp", "nosuch0"], check=False, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "nosuch0" in done.stderr, done.stderr
