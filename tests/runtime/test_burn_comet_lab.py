"""burn --comet without --duration ends by itself, in the lab: real keep-alive sessions recorded
on the online server (one client data segment duplicated, as a capture of a retransmission
holds it), replayed by 20 users; every request reaches the target once per user, the
connections stay open while the run lasts, and the process exits on its own (the idle period
after the last response) and resets them."""

import subprocess
import time

import pytest

from pyreplay.lab.load import LoadPlan
from pyreplay.lab.replay_lab import PY, TRANSFER
from pyreplay.lab.requestlog import compare
from pyreplay.lab.services import ONLINE_PORT, TARGET_PORT, run_load
from pyreplay.lab.topology import HOST_ADDRESSES
from pyreplay.packet.pcap import PcapWriter, open_capture
from pyreplay.packet.tcpip import parse_packet

pytestmark = pytest.mark.netns
ONLINE = HOST_ADDRESSES["online"]
USERS = 20


def with_one_retransmission(pcap, out):
    """Copy ``pcap`` to ``out``, writing the first client data segment twice."""
    duplicated = False
    with open_capture(pcap) as reader, open(out, "wb") as fh:
        writer = PcapWriter(fh)
        for record in reader:
            writer.write(record.timestamp, record.packet)
            if not duplicated and parse_packet(record.packet).payload:
                writer.write(record.timestamp + 0.0005, record.packet)
                duplicated = True
    assert duplicated
    return out


def established_from_pool(rl):
    out = rl.lab.run("target", ["ss", "-Htn", "state", "established", f"( sport = :{TARGET_PORT} )"],
                     check=False).stdout
    return sum(1 for line in out.splitlines() if "198.19.0." in line)


def test_comet_without_duration_ends_by_itself_after_every_user_replayed_its_session(rl):
    with rl.recording("comet-idle") as recorded:
        result = run_load(rl.lab, LoadPlan(ONLINE, ONLINE_PORT, 8, 4, keepalive=True, path_prefix="/ci-ka"))
        assert result.requests_ok == 8, result
    pcap = with_one_retransmission(recorded, rl.lab.workdir / "comet-idle-retrans.pcap")
    online = [r for r in rl.online.requests() if r.target.startswith("/ci-ka/")]
    argv = [PY, "-m", "pyreplay.cli", "burn", "-f", str(pcap), "-x", TRANSFER, "-s", HOST_ADDRESSES["assistant"],
            "-c", rl.lab.client_pool, "-u", str(USERS), "--comet"]
    started = time.monotonic()
    proc = rl.lab.spawn("online", argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while len([r for r in rl.target.requests() if r.target.startswith("/ci-ka/")]) < 8 * USERS // 4:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the target did not get every request"
            time.sleep(0.05)
        during = established_from_pool(rl)  # within the idle period after the last response
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, out + err
    assert elapsed < 12, (elapsed, out)  # the idle period (3 s) after the last response, not a timeout
    assert during == USERS, (during, out, err)
    assert f"open_at_end {USERS}" in out, out
    time.sleep(0.3)
    assert established_from_pool(rl) == 0  # reset when the run ended
    target = [r for r in rl.target.requests() if r.target.startswith("/ci-ka/")]
    c = compare(online, target, copies=USERS // 4)  # 4 captured sessions, each replayed by 5 users
    assert c.exact and c.target_requests == 8 * USERS // 4, (c, out)
