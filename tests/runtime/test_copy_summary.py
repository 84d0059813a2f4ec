"""copy's end-of-run summary (``replay_summary``), from a replay driven by hand: no network."""

from __future__ import annotations

import ipaddress

from pyreplay.backends.emit import MemoryEmitter
from pyreplay.config import CopyConfig
from pyreplay.packet.segment import ACK, FIN, PSH, RST, SYN, ResponseSummary, Segment, TcpOptions
from pyreplay.packet.tcpip import build_packet, parse_packet
from pyreplay.runtime.copy import replay_summary
from pyreplay.runtime.replay import Replay


def ip(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


CLIENT, ONLINE, TARGET = ip("192.0.2.7"), ip("192.0.2.80"), ip("198.18.0.30")
R1, R2 = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"


def test_summary_counts_reconnects_and_the_requests_resent_whole():
    """The target resets the connection with R1 acked but unanswered: R1 goes again on a new
    connection, and the summary says so next to the reconnects."""
    cfg = CopyConfig.from_options(transfers="80-198.18.0.30:8080", intercepts="198.18.0.40")
    emitter = MemoryEmitter()
    replay = Replay(cfg, emitter.send, lambda frame, registers: None)
    sport = 40001
    captured = [Segment(CLIENT, ONLINE, sport, 80, 100, 0, SYN, 65535, TcpOptions(mss=1460)),
                Segment(CLIENT, ONLINE, sport, 80, 101, 9001, ACK, 502),
                Segment(CLIENT, ONLINE, sport, 80, 101, 9001, ACK | PSH, 502, payload=R1),
                Segment(CLIENT, ONLINE, sport, 80, 101 + len(R1), 9301, ACK | PSH, 502, payload=R2),
                Segment(CLIENT, ONLINE, sport, 80, 101 + len(R1) + len(R2), 9601, FIN | ACK, 502)]
    for seg in captured:
        parsed = replay.captured_segment(build_packet(seg))
        assert parsed is not None
        replay.client_segment(parsed, 0.0)

    def sent():
        return [parse_packet(packet) for _, packet in emitter.packets]

    syn = sent()[0]
    assert syn.flags == SYN and syn.dst == TARGET

    def answer(seq: int, ack: int, flags: int, now: float) -> None:
        replay.response(ResponseSummary(TARGET, syn.src, 8080, syn.sport, seq, ack, flags, 65535, 0), now)

    answer(5000, 101, SYN | ACK, 0.01)
    assert [s.payload for s in sent() if s.payload] == [R1]
    answer(5001, 101 + len(R1), ACK, 0.02)  # R1 acked, never answered
    answer(5001, 101 + len(R1), RST | ACK, 0.03)
    assert [s.seq for s in sent() if s.flags & SYN] == [100, 100]
    answer(8000, 101, SYN | ACK, 0.04)
    assert [s.payload for s in sent() if s.payload] == [R1, R1]
    replay.shutdown(0.05)
    summary = replay_summary(replay, emitter, {})
    assert (f"reconnects after the target closed or reset: 1, requests resent whole: 1 ({len(R1)} bytes)"
            in summary.lines), summary.lines
