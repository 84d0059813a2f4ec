"""Offline copy's end of a pass (dry run, simulated target, virtual clock): quiet for
``--idle-exit`` does not cut a session's near-term work (a capture hole's resync due after the
idle mark still replays the requests behind the hole), yet a session left only with give-up
timers (the session timeout ``-t``) ends the run within ``idle_exit`` of the last send."""

from __future__ import annotations

import ipaddress

import pytest

from pyreplay.config import CopyConfig
from pyreplay.packet.pcap import PcapWriter, open_capture
from pyreplay.packet.segment import ACK, FIN, PSH, RST, SYN, Segment, TcpOptions
from pyreplay.packet.tcpip import build_packet, parse_packet
from pyreplay.runtime.copy import OfflineCopy, work_horizon
from pyreplay.session.config import SessionConfig

CLIENT = ipaddress.ip_address("192.0.2.7").packed
ONLINE = ipaddress.ip_address("192.0.2.80").packed
IDLE_EXIT = 3.0
START = 1000.0  # the capture's first timestamp
R1 = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
R2 = b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"  # lost by the capture
R3 = b"GET /3 HTTP/1.1\r\nHost: x\r\n\r\n"
ONLINE_RESPONSE = 100  # what the online server answered each request with


class VirtualClock:
    """Monotonic time that moves only when slept on; refuses to run for ever."""

    def __init__(self, now: float = 50.0, limit: float = 600.0) -> None:
        self.now = now
        self._limit = now + limit

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        assert self.now < self._limit, "the run did not end"


def client(seq: int, ack: int, flags: int, payload: bytes = b"", options=TcpOptions()) -> Segment:
    return Segment(CLIENT, ONLINE, 40001, 80, seq, ack, flags, 65535, options, payload)


def write_capture(path, timed_segments) -> None:
    with open(path, "wb") as f:
        writer = PcapWriter(f)
        for at, seg in timed_segments:
            writer.write(START + at, build_packet(seg))


def keepalive_with_lost_r2(hole_seen_at: float, *, fin: bool = True):
    """One keep-alive connection: R1 at once, R2 lost, R3 (captured ``hole_seen_at`` s in, so
    the hole is noticed then), then the client's FIN."""
    o1, a1 = 101, 9001
    o2, a2 = o1 + len(R1), a1 + ONLINE_RESPONSE
    o3, a3 = o2 + len(R2), a2 + ONLINE_RESPONSE
    segments = [(0.0, client(100, 0, SYN, options=TcpOptions(mss=1460))),
                (0.01, client(o1, a1, ACK)),
                (0.01, client(o1, a1, PSH | ACK, R1)),
                (hole_seen_at, client(o3, a3, PSH | ACK, R3))]
    if fin:
        segments.append((hole_seen_at + 0.01, client(o3 + len(R3), a3 + ONLINE_RESPONSE, FIN | ACK)))
    return segments


def dry_run(tmp_path, segments, target=None):
    """Replay ``segments`` against the simulated target (``target(simulated)`` may change its
    behaviour first); returns (summary, sent segments with their times, when the run ended)."""
    capture, out = tmp_path / "online.pcap", tmp_path / "out.pcap"
    write_capture(capture, segments)
    config = CopyConfig.from_options(transfers="80-198.18.0.30:8080", intercepts="198.18.0.40",
                                     offline_file=str(capture))
    assert config.session_timeout == 600.0 and config.keepalive_timeout > 600.0
    clock = VirtualClock()
    runtime = OfflineCopy(config, dry_run_output=str(out), idle_exit=IDLE_EXIT, clock=clock, sleep=clock.sleep)
    if target is not None:
        target(runtime.simulated)
    summary = runtime.run()
    with open_capture(out) as reader:
        sent = [(r.timestamp, parse_packet(r.packet)) for r in reader]
    return summary, sent, clock.now


def test_work_horizon_covers_every_work_timer_counted_from_the_past():
    config = SessionConfig()
    assert work_horizon(config) == config.capture_gap_timeout == 2.0
    assert work_horizon(SessionConfig(fin_hold_timeout=2.5)) == 2.5


def test_hole_resync_due_after_the_idle_mark_still_replays_the_requests_behind_the_hole(tmp_path):
    # R1 is answered and acked within 0.1 s; the hole is noticed 1.5 s in, so its resync is
    # due 3.5 s in: after the idle mark (quiet since about 0.1 s), within the horizon of it.
    summary, sent, ended = dry_run(tmp_path, keepalive_with_lost_r2(1.5))
    first = sent[0][0]
    assert [seg.payload for _, seg in sent if seg.payload] == [R1, R3]
    quiet_from = max(at for at, _ in sent if at - first < 1.0)
    r3_at = next(at for at, seg in sent if seg.payload == R3)
    assert r3_at - quiet_from > IDLE_EXIT  # the idle mark passed while the resync was awaited
    assert "outcomes complete 1" in summary.lines[0], summary.lines
    assert f"capture holes resynced past: 1, client bytes skipped: {len(R2)}" in summary.lines
    assert "connections established: 2," in summary.lines[2], summary.lines
    assert ended - r3_at < 1.0  # the run ended with the session, no idle wait after it


def test_hole_noticed_long_after_the_last_activity_is_still_resynced(tmp_path):
    # R3 comes 10 s after R1 was answered: the run is long quiet when the hole is noticed, and
    # its resync is due 2 s later, within the horizon.
    summary, sent, _ = dry_run(tmp_path, keepalive_with_lost_r2(10.0))
    assert [seg.payload for _, seg in sent if seg.payload] == [R1, R3]
    assert "outcomes complete 1" in summary.lines[0], summary.lines


def acks_but_never_answers(simulated) -> None:
    simulated.response_bytes = 0  # a hung application: the target's kernel acks, nothing more


def goes_dark_after_the_handshake(simulated) -> None:
    acks_but_never_answers(simulated)
    answer = simulated.receive
    simulated.receive = lambda seg: answer(seg) if seg.flags & SYN else []


@pytest.mark.parametrize("target", [acks_but_never_answers, goes_dark_after_the_handshake])
def test_session_left_with_give_up_timers_ends_the_run_within_idle_exit_of_the_last_send(tmp_path, target):
    # R1 is never answered and the capture has no FIN: only -t (600 s) would end the session;
    # a target gone dark is retransmitted to (each a send) until the next is beyond the horizon.
    summary, sent, ended = dry_run(tmp_path, keepalive_with_lost_r2(0.5, fin=False)[:3], target)
    assert sent[-1][1].flags & RST  # reset at exit
    last_send = sent[-2][0]
    assert IDLE_EXIT <= ended - last_send <= IDLE_EXIT + 0.15
    assert ended - sent[0][0] < 20
    assert "outcomes shutdown 1" in summary.lines[0], summary.lines
