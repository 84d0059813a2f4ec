"""Capture holes that never fill: the session resyncs on a new target connection from the first
captured request boundary after the hole, instead of losing the rest of the connection.

Keep-alive traffic below: request Rk carries the client ACK ``Ak`` (the online server's bytes
received so far); the online response to Rk is ``RESP[k]`` bytes, so ``Ak+1 = Ak + RESP[k]``.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyreplay.packet.segment import ACK, FIN, PSH, RST, SYN, ResponseSummary, Segment
from pyreplay.packet.seqnum import seq_add
from pyreplay.session.commands import Finished, Outcome
from pyreplay.session.config import SessionConfig
from pyreplay.session.session import Session
from pyreplay.session.state import Phase
from pyreplay.session.stream import CapturedStream
from pyreplay.session.table import SessionTable

from session_playbook import CISN, OISN, TISN, Playbook, brief, cseg, resp, s, sent
from sim_target import LineServer, run

GAP = 3.0
RESP = {1: 100, 2: 200, 3: 300, 4: 400, 5: 500}
A1 = OISN + 1
A2 = A1 + RESP[1]
A3 = A2 + RESP[2]
A4 = A3 + RESP[3]
A5 = A4 + RESP[4]

R1 = b"GET /1 HTTP/1.1\r\n\r\n"
R2A, R2B = b"POST /2 HTTP/1.1\r\n", b"Content-Length: 0\r\n\r\n"
R2 = R2A + R2B
R3 = b"GET /3 HTTP/1.1\r\n\r\n"
R4 = b"GET /4 HTTP/1.1\r\n\r\n"
O1 = CISN + 1
O2 = O1 + len(R1)
O2B = O2 + len(R2A)
O3 = O2 + len(R2)
O4 = O3 + len(R3)
OFIN = O4 + len(R4)
T2 = 7000  # the target's ISN on the second connection


def data(out):
    return [(seg.seq, seg.ack, seg.payload) for seg in sent(out) if seg.payload]


def after_r1_answered(**config) -> Playbook:
    """R1 sent and completely answered (RESP[1] bytes, as online); the session is idle."""
    pb = Playbook(**{"capture_gap_timeout": GAP, **config})
    pb.open_with_syn()
    assert data(pb.client(cseg(O1, A1, payload=R1))) == [(s(O1), s(TISN + 1), R1)]
    pb.target(resp(TISN + 1, O2), at=pb.now + 0.01)
    pb.respond(0, RESP[1], O2, at=pb.now + 0.005)
    pb.tick(pb.now + 0.5)  # delayed ACK and the quiet period
    assert pb.session.phase is Phase.ESTABLISHED
    return pb


def finish_on_second_connection(pb: Playbook, resync_out):
    """Complete the handshake of the resync's connection, answer R3 and R4 like the online
    server, close; returns every command from the SYN-ACK on."""
    syn = sent(resync_out)[-1]
    assert syn.flags == SYN and syn.seq == s(O3 - 1) and syn.options.mss == 1460
    out = pb.target(resp(T2, O3, flags=SYN | ACK), at=pb.now + 0.01)
    out += pb.target(resp(T2 + 1, O4), at=pb.now + 0.01)
    out += pb.respond_on(T2, 0, RESP[3], O4)
    out += pb.client(cseg(OFIN, A5, flags=FIN | ACK))
    while not any(seg.payload == R4 for seg in sent(out)):
        out += pb.advance_to_deadline()
    out += pb.target(resp(T2 + 1 + RESP[3], OFIN), at=pb.now + 0.01)
    out += pb.respond_on(T2, RESP[3], RESP[4], OFIN)
    out += pb.target(resp(T2 + 1 + RESP[3] + RESP[4], OFIN + 1, flags=FIN | ACK), at=pb.now + 0.01)
    return out


# ---------------------------------------------------------------------- the main scenario


@pytest.mark.parametrize("lost", ["R2 whole", "R2 first segment", "R2 last segment"])
def test_lost_segment_of_r2_costs_r2_only_r3_r4_go_on_a_new_connection(lost):
    pb = after_r1_answered()
    t_gap = pb.now + 0.2
    out = []
    if lost == "R2 first segment":
        out += pb.client(cseg(O2B, A2, payload=R2B), at=t_gap)
    elif lost == "R2 last segment":
        out += pb.client(cseg(O2, A2, payload=R2A), at=t_gap)  # a new request: sent at once
        assert data(out) == [(s(O2), s(TISN + 1 + RESP[1]), R2A)]
        pb.target(resp(TISN + 1 + RESP[1], O2B), at=pb.now + 0.01)  # acked, never answered
    elif lost == "R2 whole":
        pb._at(t_gap)
    out += pb.client(cseg(O3, A3, payload=R3), at=pb.now + 0.001)
    out += pb.client(cseg(O4, A4, payload=R4))
    assert data(out) == ([(s(O2), s(TISN + 1 + RESP[1]), R2A)] if lost == "R2 last segment" else [])
    gap_since = pb.session._gap_since
    assert gap_since is not None
    assert pb.session.next_work_deadline() == gap_since + GAP  # work: an end of run waits for it

    out = pb.advance_to_deadline()
    assert pb.now == gap_since + GAP
    rst_seq = O2B if lost == "R2 last segment" else O2
    assert brief(out) == [("RST|ACK", s(rst_seq), s(TISN + 1 + RESP[1])), ("register",), ("SYN", s(O3 - 1))]
    assert pb.session.phase is Phase.SYN_SENT

    rest = finish_on_second_connection(pb, out)
    assert data(rest) == [(s(O3), s(T2 + 1), R3), (s(O4), s(T2 + 1 + RESP[3]), R4)]
    assert brief(rest)[0] == ("ACK", s(O3), s(T2 + 1))  # the faked handshake ACK
    assert brief(rest)[-2:] == [("unregister",), ("finished", "complete")]
    every = [p for _, _, p in data(pb.log)]
    assert R2B not in every and every.count(R3) == every.count(R4) == 1
    c = Counter(pb.session.counters)  # a name never counted reads 0
    skipped = len(R2B) if lost == "R2 last segment" else len(R2)  # from the hole on
    assert c["capture_gap_resyncs"] == 1 and c["capture_gap_bytes_skipped"] == skipped
    assert c["capture_gaps"] == 1 and c["reconnects"] == 0 and c["connections"] == 2


def test_hole_that_fills_before_the_timeout_is_no_resync():
    pb = after_r1_answered()
    assert pb.client(cseg(O3, A3, payload=R3), at=pb.now + 0.1) == []  # R2 late (reordered)
    assert "capture_gap" in pb.session._deadlines()
    out = pb.client(cseg(O2, A2, payload=R2), at=pb.now + 0.05)
    assert data(out) == [(s(O2), s(TISN + 1 + RESP[1]), R2)]
    assert "capture_gap" not in pb.session._deadlines()
    pb.target(resp(TISN + 1 + RESP[1], O3), at=pb.now + 0.01)
    out = pb.respond(RESP[1], RESP[2], O3, at=pb.now + 0.005)
    while not data(out):
        out += pb.advance_to_deadline()
    assert data(out) == [(s(O3), s(TISN + 1 + RESP[1] + RESP[2]), R3)]
    assert pb.session.counters.get("syns_sent", 0) == 1 and pb.session.counters.get("resets_sent", 0) == 0
    assert pb.session.counters.get("capture_gap_resyncs", 0) == 0 == pb.session.counters.get("capture_gaps", 0)


def test_hole_in_the_last_request_with_only_a_fin_after_it_ends_with_capture_gap():
    pb = after_r1_answered()
    pb.client(cseg(O2, A2, payload=R2A), at=pb.now + 0.1)
    pb.target(resp(TISN + 1 + RESP[1], O2B), at=pb.now + 0.01)
    t_fin = pb.now + 0.01
    assert pb.client(cseg(O3, A3, flags=FIN | ACK), at=t_fin) == []  # R2B lost: the FIN says so
    out = pb.advance_to_deadline()
    assert abs(pb.now - (t_fin + GAP)) < 1e-9
    assert brief(out) == [("RST|ACK", s(O2B), s(TISN + 1 + RESP[1])), ("unregister",),
                          ("finished", "capture_gap")]
    assert pb.session.counters.get("capture_gap_resyncs", 0) == 0


def test_data_after_the_hole_continuing_the_cut_request_is_never_sent():
    """R2's first segment lost: R2B carries R2's ACK, which is R1's ACK plus the length of the
    response to R1 (as the target answered it), so R2B continues a request whose start is
    gone. Nothing comes after it: the session waits, and ends capture_gap at the keep-alive
    timeout (or at the client's FIN)."""
    pb = after_r1_answered(keepalive_timeout=30.0)
    pb.client(cseg(O2B, A2, payload=R2B), at=pb.now + 0.1)
    out = pb.advance_to_deadline()  # the hole is given up: no boundary, nothing to do
    assert out == [] and pb.session.phase is Phase.ESTABLISHED
    out = pb.advance_to_deadline()
    assert brief(out) == [("RST|ACK", s(O2), s(TISN + 1 + RESP[1])), ("unregister",),
                          ("finished", "capture_gap")]
    assert R2B not in [p for _, _, p in data(pb.log)]


def test_a_boundary_captured_after_the_hole_was_given_up_resyncs_at_once():
    pb = after_r1_answered()
    pb.client(cseg(O2, A2, payload=R2A), at=pb.now + 0.1)
    pb.target(resp(TISN + 1 + RESP[1], O2B), at=pb.now + 0.01)
    half = len(R2B) // 2
    pb.client(cseg(O2B + half, A2, payload=R2B[half:]), at=pb.now + 0.01)  # continuation
    assert pb.advance_to_deadline() == []  # given up; R2B's tail is no request start
    out = pb.client(cseg(O3, A3, payload=R3), at=pb.now + 5)
    assert brief(out) == [("RST|ACK", s(O2B), s(TISN + 1 + RESP[1])), ("register",), ("SYN", s(O3 - 1))]
    assert pb.session.counters.get("capture_gap_bytes_skipped", 0) == len(R2B)


# ---------------------------------------------------------------------- pipelining


P = [b"GET /p%d HTTP/1.1\r\n\r\n" % i for i in range(6)]


def test_lost_request_before_pipelined_ones_resyncs_and_sends_the_pipeline_back_to_back():
    pb = after_r1_answered()
    # R2 (lost), then P3 and P4 pipelined (one write, same ACK), then R5 after both responses
    o3 = O2 + len(R2)
    o4 = o3 + len(P[3])
    o5 = o4 + len(P[4])
    pb.client(cseg(o3, A3, payload=P[3]), at=pb.now + 0.1)
    pb.client(cseg(o4, A3, payload=P[4]))
    pb.client(cseg(o5, A3 + 50 + 60, payload=P[5]))
    out = pb.advance_to_deadline()
    assert brief(out)[-1] == ("SYN", s(o3 - 1))
    out = pb.target(resp(T2, o3, flags=SYN | ACK), at=pb.now + 0.01)
    assert data(out) == [(s(o3), s(T2 + 1), P[3]), (s(o4), s(T2 + 1), P[4])]


def test_hole_inside_a_pipelined_batch_skips_the_rest_of_the_batch():
    """P2 P3 P4 pipelined with one ACK, P3 lost: P4's boundary is invisible at the TCP level
    (same ACK as P2), so it is skipped too; R5, sent after the responses, is the boundary."""
    pb = after_r1_answered()
    o2, o3, o4 = O2, O2 + len(P[2]), O2 + len(P[2]) + len(P[3])
    o5 = o4 + len(P[4])
    out = pb.client(cseg(o2, A2, payload=P[2]), at=pb.now + 0.1)
    assert data(out) == [(s(o2), s(TISN + 1 + RESP[1]), P[2])]
    pb.client(cseg(o4, A2, payload=P[4]))
    pb.client(cseg(o5, A2 + 30 + 40 + 50, payload=R3))
    pb.target(resp(TISN + 1 + RESP[1], o3), at=pb.now + 0.01)
    pb.respond(RESP[1], 30, o3, at=pb.now + 0.005)  # P2's response; P3 never reached the target
    out = []
    while not any(seg.flags & SYN for seg in sent(out)):
        out += pb.advance_to_deadline()
    assert brief(out)[-3:] == [("RST|ACK", s(o3), s(TISN + 1 + RESP[1] + 30)), ("register",), ("SYN", s(o5 - 1))]
    out = pb.target(resp(T2, o5, flags=SYN | ACK), at=pb.now + 0.01)
    assert data(out) == [(s(o5), s(T2 + 1), R3)]
    assert pb.session.counters.get("capture_gap_bytes_skipped", 0) == len(P[3]) + len(P[4])


# ---------------------------------------------------------------------- when it happens


def test_resync_waits_until_the_replay_reaches_the_hole_and_the_response_before_it_ends():
    pb = Playbook(capture_gap_timeout=GAP)
    pb.open_with_syn()
    pb.client(cseg(O1, A1, payload=R1))
    pb.target(resp(TISN + 1, O2), at=pb.now + 0.01)  # a slow target: R1 acked, not answered yet
    o3 = O2 + len(R2)
    o4 = o3 + len(R3)
    pb.client(cseg(O2, A2, payload=R2), at=pb.now + 0.01)  # waits for R1's response
    t_gap = pb.now + 0.01
    pb.client(cseg(o4, A4, payload=R4), at=t_gap)  # R3 lost
    out = []
    while pb.now < t_gap + GAP + 0.5:
        out += pb.tick(pb.now + 0.1)
    assert out == [] and pb.session.counters.get("capture_gaps", 0) == 1  # given up, not reached
    out = pb.respond(0, RESP[1], O2, at=pb.now + 0.01)
    while not data(out):
        out += pb.advance_to_deadline()
    assert data(out) == [(s(O2), s(TISN + 1 + RESP[1]), R2)]  # R2 still goes on this connection
    pb.target(resp(TISN + 1 + RESP[1], o3), at=pb.now + 0.01)
    out = pb.respond(RESP[1], RESP[2] // 2, o3, at=pb.now + 0.005)
    out += pb.respond(RESP[1] + RESP[2] // 2, RESP[2] // 2, o3, at=pb.now + 0.005)
    assert not any(seg.flags & RST for seg in sent(out))  # R2's response is not cut off
    while not any(seg.flags & SYN for seg in sent(out)):
        out += pb.advance_to_deadline()
    assert brief(out)[-3:] == [("RST|ACK", s(o3), s(TISN + 1 + RESP[1] + RESP[2])), ("register",),
                               ("SYN", s(o4 - 1))]
    assert pb.session.counters.get("capture_gap_bytes_skipped", 0) == len(R3)


@pytest.mark.parametrize("target_resets", [False, True])
def test_request_cut_by_the_hole_gets_a_silence_period_then_the_connection_is_given_up(target_resets):
    pb = Playbook(capture_gap_timeout=GAP)
    pb.open_with_syn()
    pb.client(cseg(O1, A1, payload=R1))
    pb.target(resp(TISN + 1, O2), at=pb.now + 0.01)
    pb.client(cseg(O2, A2, payload=R2A), at=pb.now + 0.01)  # waits for R1's response
    t_gap = pb.now + 0.01
    pb.client(cseg(O3, A3, payload=R3), at=t_gap)  # R2B lost
    pb.tick(t_gap + GAP + 0.1)  # given up while R2A is still pending
    out = pb.respond(0, RESP[1], O2, at=pb.now + 0.01)
    while not data(out):
        out += pb.advance_to_deadline()
    pb.target(resp(TISN + 1 + RESP[1], O2B), at=pb.now + 0.01)  # R2A acked; never answered
    acked_at = pb.now
    assert pb.session._deadlines()["capture_resync"] == acked_at + GAP
    assert pb.session.next_work_deadline() == acked_at + GAP  # work: an end of run waits for it
    if target_resets:
        out = pb.target(resp(TISN + 1 + RESP[1], O2B, flags=RST), at=acked_at + 1.0)
        assert brief(out) == [("register",), ("SYN", s(O3 - 1))]  # no RST to a reset connection
    else:
        out = pb.advance_to_deadline()
        assert pb.now == acked_at + GAP
        assert brief(out) == [("RST|ACK", s(O2B), s(TISN + 1 + RESP[1])), ("register",), ("SYN", s(O3 - 1))]
    assert pb.session.counters.get("capture_gap_resyncs", 0) == 1


def test_two_holes_two_resyncs_not_bounded_by_max_reconnects():
    pb = after_r1_answered(max_reconnects=1)
    o3 = O2 + len(R2)
    o4 = o3 + len(R3)
    o5 = o4 + len(R4)
    r5 = b"GET /5 HTTP/1.1\r\n\r\n"
    pb.client(cseg(o3, A3, payload=R3), at=pb.now + 0.1)  # R2 lost
    pb.client(cseg(o5, A5, payload=r5))  # R4 lost
    out = pb.advance_to_deadline()
    assert brief(out)[-1] == ("SYN", s(o3 - 1))
    out = pb.target(resp(T2, o3, flags=SYN | ACK), at=pb.now + 0.01)
    assert data(out) == [(s(o3), s(T2 + 1), R3)]
    pb.target(resp(T2 + 1, o4), at=pb.now + 0.01)
    pb.respond_on(T2, 0, RESP[3], o4)
    out = []
    while not any(seg.flags & SYN for seg in sent(out)):
        out += pb.advance_to_deadline()
    assert brief(out)[-3:] == [("RST|ACK", s(o4), s(T2 + 1 + RESP[3])), ("register",), ("SYN", s(o5 - 1))]
    c = Counter(pb.session.counters)  # a name never counted reads 0
    assert c["capture_gap_resyncs"] == 2 and c["capture_gap_bytes_skipped"] == len(R2) + len(R4)
    assert c["reconnects"] == 0


# ---------------------------------------------------------------------- the stream alone


def _chunk_seg(seq, ack, payload, flags=PSH | ACK):
    return cseg(seq, ack, flags=flags, payload=payload)


def _stream_with_hole(*after):
    """Stream with b"aaaa" (ACK 100) taken, then a 4-byte hole, then ``after`` (seq, ack, bytes)."""
    counters: Counter = Counter()
    stream = CapturedStream(1000, 1 << 20)
    stream.add(_chunk_seg(1000, 100, b"aaaa"), counters)
    stream.take(100)
    for seq, ack, payload in after:
        stream.add(_chunk_seg(seq, ack, payload), counters)
    return stream


def test_stream_resume_finds_the_first_ack_change_and_goes_on_from_there():
    stream = _stream_with_hole((1008, 100, b"cc"), (1010, 150, b"dddd"), (1014, 150, b"ee"))
    stream.give_up_hole(100, None)
    assert stream.resume() == 1010 - 1004
    assert [stream.take(100).payload for _ in range(2)] == [b"dddd", b"ee"]
    assert not stream.skipping and stream.next_seq == 1016 and stream.last_ack == 150


def test_stream_resume_without_reference_never_takes_the_first_chunk():
    stream = _stream_with_hole((1008, 150, b"cc"), (1010, 150, b"dd"))
    stream.give_up_hole(None, None)
    assert stream.resume() is None and stream.skipping and stream.next_seq == 1012
    stream.add(_chunk_seg(1012, 170, b"ff"), Counter())
    assert stream.resume() == 1012 - 1004 and stream.peek().payload == b"ff"


def test_stream_continuation_ack_applies_to_the_first_chunk_after_the_hole_only():
    stream = _stream_with_hole((1008, 150, b"cc"), (1010, 200, b"dd"))
    stream.give_up_hole(100, 150)  # 150: the ACK the request after the one before the hole had
    assert stream.resume() == 1010 - 1004


def test_stream_overlapping_retransmission_of_skipped_bytes_is_skipped():
    stream = _stream_with_hole((1008, 100, b"cccc"))
    stream.give_up_hole(100, None)
    assert stream.resume() is None
    stream.add(_chunk_seg(1010, 150, b"ccXX"), Counter())  # starts inside skipped bytes
    stream.add(_chunk_seg(1014, 150, b"gg"), Counter())  # same ACK: continues it
    assert stream.resume() is None and stream.next_seq == 1016


def test_stream_data_without_ack_flag_is_never_a_boundary():
    stream = _stream_with_hole()
    stream.add(cseg(1008, 0, flags=PSH, payload=b"zz"), Counter())
    stream.give_up_hole(100, None)
    assert stream.resume() is None


def test_give_up_hole_with_bytes_before_it_is_a_misuse():
    stream = CapturedStream(1000, 1 << 20)
    stream.add(_chunk_seg(1000, 100, b"aaaa"), Counter())
    with pytest.raises(ValueError):
        stream.give_up_hole(100, None)
    with pytest.raises(ValueError):
        stream.resume()


# ---------------------------------------------------------------------- counters in the table


def test_resync_counters_reach_the_table_totals():
    table = SessionTable(lambda seg, gen: Session(SessionConfig(capture_gap_timeout=GAP),
                                                  (bytes([10, 9, 8, 1]), 40000), (bytes([10, 0, 0, 99]), 8080)),
                         linger=1.0)
    now = 0.0
    table.handle_client(cseg(CISN, flags=SYN), now=now)
    table.handle_client(cseg(O1, A1), now=now)
    table.handle_response(_summary(TISN, CISN + 1, SYN | ACK), now=0.01)
    table.handle_client(cseg(O3, A3, payload=R3), now=0.02)  # R1 and R2 lost: no request before
    table.handle_client(cseg(O4, A4, payload=R4), now=0.02)
    out = table.handle_tick(now=0.02 + GAP)
    assert brief(out)[-1] == ("SYN", s(O3 - 1))
    table.shutdown(now=6.0)
    assert table.totals.get("capture_gap_resyncs", 0) == 1
    assert table.totals.get("capture_gap_bytes_skipped", 0) == len(R1) + len(R2)


def _summary(seq, ack, flags, payload_len=0):
    return ResponseSummary(src=bytes([10, 0, 0, 99]), dst=bytes([10, 9, 8, 1]), sport=8080, dport=40000,
                           seq=seq % 2**32, ack=ack % 2**32, flags=flags, window=65535, payload_len=payload_len)


# ---------------------------------------------------------------------- property


class LineTarget(LineServer):
    """A line server that answers each known line with its response length, on every
    connection; ``lines`` holds every complete line, all connections, in order."""

    def __init__(self, responses: dict[bytes, int]):
        super().__init__(responses)
        self.lines: list[bytes] = []
        self.connections = 0

    def receive(self, seg: Segment) -> list[ResponseSummary]:
        opened = self._open_or_reset(seg)
        if opened is not None:
            self.connections += bool(seg.flags & SYN)
            return opened
        if self.dead or self.rcv_nxt is None:
            return []
        out = []
        if self._take_data(seg):
            out.append(self._summary(self.snd_nxt, ACK))
            while (line := self._next_line()) is not None:
                self.lines.append(line)
                length = self.responses.get(line)
                if length is None:
                    out += self._reject(line)
                    break
                out.append(self._data(length))
        elif seg.payload:
            out.append(self._summary(self.snd_nxt, ACK))
        return out + self._answer_client_fin(seg)


def _captured(seq, ack, flags, payload=b""):
    return Segment(src=bytes([192, 168, 1, 10]), dst=bytes([10, 0, 0, 2]), sport=40000, dport=80,
                   seq=seq % 2**32, ack=ack % 2**32, flags=flags, window=500, payload=payload)


@st.composite
def one_lost_segment(draw):
    n = draw(st.integers(2, 5))
    requests = [b"Q%d " % i + draw(st.binary(min_size=0, max_size=2000)).replace(b"\n", b".") + b"\n"
                for i in range(n)]
    responses = [draw(st.integers(1, 3000)) for _ in range(n)]
    cisn = draw(st.integers(2**32 - 3000, 2**32 - 1))
    oisn = draw(st.integers(0, 2**32 - 1))
    segments, owner = [], []
    offset = acked = 0
    for k, (req, rlen) in enumerate(zip(requests, responses)):
        cuts = sorted(set(draw(st.lists(st.integers(1, len(req) - 1), max_size=3))))
        bounds = [0, *cuts, len(req)]
        for a, b in zip(bounds, bounds[1:]):
            segments.append(_captured(cisn + 1 + offset + a, oisn + 1 + acked, PSH | ACK, req[a:b]))
            owner.append(k)
        offset += len(req)
        acked += rlen
    lost = draw(st.integers(0, len(segments) - 1))
    lost_offset = seq_add(segments[lost].seq, -(cisn + 1) % 2**32)
    kept = segments[:lost] + segments[lost + 1:]
    packets = [_captured(cisn, 0, SYN), _captured(cisn + 1, oisn + 1, ACK), *kept,
               _captured(cisn + 1 + offset, oisn + 1 + acked, FIN | ACK)]
    step = draw(st.sampled_from([0.0001, 0.002, 0.03]))
    return requests, responses, owner[lost], lost_offset, [(i * step, p) for i, p in enumerate(packets)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(one_lost_segment())
def test_property_one_lost_segment_costs_exactly_its_request_and_no_fragment_is_replayed(case):
    requests, responses, hit, lost_offset, captured = case
    target = LineTarget(dict(zip(requests, responses)))
    session = Session(SessionConfig(capture_gap_timeout=GAP), (bytes([10, 9, 8, 1]), 40000),
                      (bytes([10, 0, 0, 99]), 8080))
    commands = run(session, target, captured, limit=60.0)
    assert target.garbage == []
    assert target.lines == [r for k, r in enumerate(requests) if k != hit]
    finished = commands[-1]
    assert isinstance(finished, Finished)
    if hit == len(requests) - 1:
        assert finished.outcome is Outcome.CAPTURE_GAP
    else:
        assert finished.outcome is Outcome.COMPLETE, finished.reason
        assert session.counters.get("capture_gap_resyncs", 0) == 1
        hit_end = sum(len(r) for r in requests[: hit + 1])
        assert session.counters.get("capture_gap_bytes_skipped", 0) == hit_end - lost_offset
