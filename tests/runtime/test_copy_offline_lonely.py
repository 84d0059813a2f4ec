"""copy -L in the lab: intercept is stopped early in an offline replay and started again; copy
keeps replaying, reconnects after 12 s (the original's RETRY_INTERVAL) and the sessions
captured after that reach the real target. Without -L, copy stops when its intercept goes."""

from __future__ import annotations

import subprocess
import time

import pytest

from pyreplay.config import RECONNECT_INTERVAL
from pyreplay.lab.replay_lab import PY, TRANSFER, with_prefix
from pyreplay.lab.services import ONLINE_PORT
from pyreplay.lab.topology import HOST_ADDRESSES
from pyreplay.packet.pcap import PcapWriter
from pyreplay.packet.segment import ACK, FIN, PSH, SYN, Segment, TcpOptions
from pyreplay.packet.tcpip import build_packet

pytestmark = pytest.mark.netns
SESSIONS = 20  # one per second: the last ones come well after the reconnection at ~13.5 s
PORT = 36531  # an intercept of this test's own, so stopping it leaves the module's alone


def session_capture(path, prefix: str) -> None:
    client, online = bytes([198, 18, 0, 10]), bytes([198, 18, 0, 20])
    with open(path, "wb") as f:
        writer = PcapWriter(f)
        for i in range(SESSIONS):
            sport, t = 42000 + i, 1000.0 + i
            body = f"GET {prefix}/{i} HTTP/1.1\r\nHost: online\r\nConnection: close\r\n\r\n".encode()
            for k, seg in enumerate([
                Segment(client, online, sport, ONLINE_PORT, 100, 0, SYN, 65535, TcpOptions(mss=1460)),
                Segment(client, online, sport, ONLINE_PORT, 101, 9001, ACK, 502),
                Segment(client, online, sport, ONLINE_PORT, 101, 9001, ACK | PSH, 502, payload=body),
                Segment(client, online, sport, ONLINE_PORT, 101 + len(body), 9301, FIN | ACK, 502),
            ]):
                writer.write(t + k * 0.01, build_packet(seg))


def replay_losing_intercept(rl, prefix: str, *flags: str) -> tuple[subprocess.CompletedProcess, str, float]:
    """Replay the capture at its own pace; stop intercept once the first session reached the
    target, start it again 1 s later."""
    pcap, log = rl.lab.workdir / f"{prefix.strip('/')}.pcap", rl.lab.workdir / f"{prefix.strip('/')}.log"
    session_capture(pcap, prefix)
    intercept = rl.start_intercept(port=PORT)
    copy = rl.lab.spawn("online", [PY, "-m", "pyreplay.cli", "copy", "-x", TRANSFER, "-s",
                                   f"{HOST_ADDRESSES['assistant']}:{PORT}", "-c", rl.lab.client_pool,
                                   "-i", str(pcap), "-l", str(log), "--idle-exit", "2", *flags],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    # stop intercept only once copy replays through it (start-up time varies: a fresh clone
    # on a busy CI machine took over 1.5 s), then half a session later
    deadline = started + 20
    while not any(r.target == f"{prefix}/0" for r in rl.target.requests()) and time.monotonic() < deadline:
        assert copy.poll() is None, copy.communicate()
        time.sleep(0.05)
    time.sleep(0.5)
    intercept.terminate()
    intercept.wait(10)
    lost_at = time.monotonic() - started
    time.sleep(1.0)
    restarted = rl.start_intercept(port=PORT)
    try:
        out, err = copy.communicate(timeout=SESSIONS + RECONNECT_INTERVAL + 30)
    finally:
        restarted.terminate()
        restarted.wait(10)
    return subprocess.CompletedProcess(copy.args, copy.returncode, out, err), log.read_text(), lost_at


def replayed_indexes(rl, prefix: str) -> set[int]:
    time.sleep(1.0)
    return {int(r.target.rsplit("/", 1)[1]) for r in with_prefix(rl.target.requests(), prefix)}


def test_lonely_copy_reconnects_and_replays_what_comes_after(rl):
    done, log, lost_at = replay_losing_intercept(rl, "/lonely-L", "-L")
    assert "lost intercept" in log and "reconnecting every 12 s (-L)" in log, log
    assert "reconnected to intercept" in log, log
    assert f"captured packets: {4 * SESSIONS}" in done.stdout, done.stdout + done.stderr  # the whole file
    after_reconnect = {i for i in range(SESSIONS) if i >= lost_at + RECONNECT_INTERVAL + 1.5}
    assert len(after_reconnect) >= 2
    replayed = replayed_indexes(rl, "/lonely-L")
    assert after_reconnect <= replayed, (sorted(replayed), done.stdout)
    assert {0} <= replayed  # before the loss
    assert ("problem: lost 1 intercept connection(s) during the run; reconnected 1 time(s) (-L): sessions that "
            "ran while their intercept was gone got no responses") in done.stdout


def test_without_lonely_copy_stops_when_its_intercept_goes(rl):
    done, log, _ = replay_losing_intercept(rl, "/lonely-none")
    assert "no intercept left; stopping" in log, (log, done.stdout, done.stderr)
    assert max(replayed_indexes(rl, "/lonely-none"), default=-1) < 5
