"""copy -i over a capture with a hole that never fills (client bytes lost for good), end to end
in the lab: one keep-alive connection of N requests is recorded on the online server, its pcap
rebuilt without some client bytes of request HIT, and replayed to the real target through
intercept. The session resyncs on a new target connection at the next request: the target gets
every request but HIT, byte for byte and in order, and nothing that is not a request (the
original tcpcopy, and pyreplay before, sent nothing after the hole)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pyreplay.lab.load import LoadPlan
from pyreplay.lab.replay_lab import with_prefix
from pyreplay.lab.requestlog import connections
from pyreplay.lab.services import ONLINE_PORT, run_load
from pyreplay.lab.topology import HOST_ADDRESSES
from pyreplay.packet.pcap import PcapWriter, open_capture
from pyreplay.packet.seqnum import seq_add, seq_diff
from pyreplay.packet.tcpip import build_packet, parse_packet

pytestmark = pytest.mark.netns
ONLINE = HOST_ADDRESSES["online"]
REQUESTS = 16
HIT = 7


def rebuild_without(recorded: Path, out: Path, prefix: str, cut: int | None) -> int:
    """Write ``out``: every recorded packet re-built from its parsed segment, except the first
    ``cut`` bytes of request HIT (None: the whole packet that starts it). Returns the client
    bytes from HIT's start to the next request's (what the replay skips)."""
    with open_capture(recorded) as reader:
        records = [(r.timestamp, parse_packet(r.packet)) for r in reader]
    assert len({(seg.src, seg.sport) for _, seg in records}) == 1, "one connection recorded"

    def start_of(index: int):
        line = f" {prefix}/{index} HTTP/1.1".encode()
        return next(seg for _, seg in records if seg.payload and line in seg.payload.split(b"\r\n", 1)[0])

    hit, after = start_of(HIT), start_of(HIT + 1)
    assert hit.payload.startswith((b"GET ", b"POST ")), "a request starts a packet"
    with open(out, "wb") as f:
        writer = PcapWriter(f)
        for ts, seg in records:
            if seg.payload and seg.seq == hit.seq:  # the packet (and any retransmission of it)
                if cut is None:
                    continue
                assert len(seg.payload) > cut
                seg = seg.replace(seq=seq_add(seg.seq, cut), payload=seg.payload[cut:])
            writer.write(ts, build_packet(seg))
    return seq_diff(after.seq, hit.seq)


@pytest.mark.parametrize("method, body, cut", [
    ("GET", 0, None),  # a one-packet request lost whole
    ("POST", 3000, 1000),  # the start of a 3 kB request lost, its rest captured
])
def test_hole_costs_the_request_it_hit_and_the_rest_replays_on_a_new_connection(rl, tmp_path, method, body, cut):
    prefix = f"/hole-{method.lower()}"
    with rl.recording(prefix[1:]) as recorded:
        result = run_load(rl.lab, LoadPlan(ONLINE, ONLINE_PORT, REQUESTS, 1, path_prefix=prefix, body_bytes=body))
        assert result.requests_ok == REQUESTS and result.connections == 1, result
    pcap = rl.lab.workdir / f"{prefix[1:]}-hole.pcap"
    skipped = rebuild_without(recorded, pcap, prefix, cut)

    # --idle-exit above capture_gap_timeout (2 s): after the file, copy waits for the resync
    done = rl.copy(pcap, "--idle-exit", "6")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"capture holes resynced past: 1, client bytes skipped: {skipped}" in done.stdout, done.stdout
    assert "outcomes complete 1" in done.stdout, done.stdout
    # two connections: nothing on the second was taken for garbage and closed by the target
    assert "connections established: 2," in done.stdout, done.stdout

    online = sorted(with_prefix(rl.online.requests(), prefix), key=lambda r: r.idx)
    assert [r.target for r in online] == [f"{prefix}/{i}" for i in range(REQUESTS)]
    want = [r.fingerprint for r in online if r.target != f"{prefix}/{HIT}"]
    deadline = time.monotonic() + 10
    while len(with_prefix(rl.target.requests(), prefix)) < len(want) and time.monotonic() < deadline:
        time.sleep(0.1)
    target = sorted(with_prefix(rl.target.requests(), prefix), key=lambda r: (r.conn, r.idx))
    assert [r.fingerprint for r in target] == want
    per_connection = [len(seqs) for _, seqs in sorted(connections(target).items())]
    assert per_connection == [HIT, REQUESTS - HIT - 1]
    assert all(r.client_addr.startswith("198.19.0.") for r in target)
