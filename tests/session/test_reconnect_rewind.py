"""A target that closes (FIN) or resets a connection before answering a request: the session
goes on on a new connection from the first byte of that request, so it and every request after
it reach the target whole (docs/decisions.md, "Target closes").

Keep-alive traffic below: request Rk carries the client ACK ``Ak``; the online response to Rk
was ``RESP[k]`` bytes, so ``Ak+1 = Ak + RESP[k]``. ``Ok`` is Rk's first client byte.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pyreplay.packet.segment import ACK, FIN, PSH, RST, SYN, ResponseSummary, Segment
from pyreplay.session.commands import Finished, Outcome
from pyreplay.session.config import SessionConfig
from pyreplay.session.session import Session
from pyreplay.session.state import Phase
from pyreplay.session.stream import CapturedStream

from session_playbook import CISN, OISN, TISN, Playbook, brief, cseg, resp, s, sent
from sim_target import LineServer, run

RESP = {1: 100, 2: 200, 3: 300}
A1 = OISN + 1
A2 = A1 + RESP[1]
A3 = A2 + RESP[2]

R1 = b"GET /1 HTTP/1.1\r\n\r\n"
R2A, R2B = b"POST /2 HTTP/1.1\r\n", b"Content-Length: 0\r\n\r\n"
R2 = R2A + R2B
R3 = b"GET /3 HTTP/1.1\r\n\r\n"
O1 = CISN + 1
O2 = O1 + len(R1)
O2B = O2 + len(R2A)
O3 = O2 + len(R2)
T1 = TISN + 1  # the target's first data byte on the first connection
T2 = 7000  # the target's ISN on the second connection


def data(out):
    return [(seg.seq, seg.payload) for seg in sent(out) if seg.payload]


def r1_answered_alone() -> Playbook:
    """R1 sent, acked and answered as long as online; nothing captured after it yet."""
    pb = Playbook()
    pb.open_with_syn()
    pb.client(cseg(O1, A1, payload=R1))
    pb.target(resp(T1, O2), at=pb.now + 0.01)
    pb.respond(0, RESP[1], O2, at=pb.now + 0.005)
    return pb


def after_r1_answered(**config) -> Playbook:
    """R1 sent and answered as long as online; R2 and R3 captured; R2 goes at once."""
    pb = Playbook(**config)
    pb.open_with_syn()
    assert data(pb.client(cseg(O1, A1, payload=R1))) == [(s(O1), R1)]
    pb.target(resp(T1, O2), at=pb.now + 0.01)
    pb.client(cseg(O2, A2, payload=R2))
    pb.client(cseg(O3, A3, payload=R3))
    pb.respond(0, RESP[1], O2, at=pb.now + 0.005)
    out = pb.advance_to_deadline()  # the sized response's grace
    assert data(out) == [(s(O2), R2)] and pb.session.phase is Phase.AWAITING_RESPONSE
    return pb


def handshake(pb: Playbook, syn_seq: int):
    """The SYN-ACK of the reconnection whose SYN carried ``syn_seq``; its commands."""
    return pb.target(resp(T2, syn_seq + 1, flags=SYN | ACK), at=pb.now + 0.01)


def counters(pb: Playbook) -> Counter:
    return Counter(pb.session.counters)  # a name never counted reads 0


# ---------------------------------------------------------------------- the stream's part


def test_stream_rewind_gives_back_the_retained_bytes_as_captured():
    stream = CapturedStream(O1, 1 << 20)
    for seq, ack, payload in ((O1, A1, R1), (O2, A2, R2A), (O2B, A2, R2B), (O3, A3, R3)):
        stream.add(cseg(seq, ack, payload=payload), Counter())
    stream.take(100)  # R1, not retained
    first = stream.take(5, retain=True)  # R2 cut by a window
    rest = stream.take(100, retain=True)
    assert first.payload + rest.payload == R2A and stream.retained_bytes == len(R2A)
    assert stream.take(100, retain=True).payload == R2B
    assert stream.retained_from == s(O2)
    assert stream.rewind() == len(R2) and stream.retained_bytes == 0
    taken = [stream.take(1000) for _ in range(4)]
    assert [(c.seq, c.client_ack, c.payload) for c in taken] == [
        (s(O2), s(A2), R2A[:5]), (s(O2 + 5), s(A2), R2A[5:]), (s(O2B), s(A2), R2B), (s(O3), s(A3), R3)]


def test_stream_release_before_keeps_only_from_a_chunk_start():
    stream = CapturedStream(O1, 1 << 20)
    for seq, ack, payload in ((O1, A1, R1), (O2, A2, R2), (O3, A3, R3)):
        stream.add(cseg(seq, ack, payload=payload), Counter())
    for _ in range(3):
        stream.take(1000, retain=True)
    stream.release_before(O2)
    assert stream.retained_from == s(O2) and stream.retained_bytes == len(R2) + len(R3)
    with pytest.raises(ValueError):
        stream.release_before(O2 + 1)
    stream.release_all()
    assert stream.retained_from is None and stream.rewind() == 0 and stream.peek() is None


# ---------------------------------------------------------------------- target FIN / RST


def test_fin_after_answering_r1_while_r2_is_in_flight_resends_r2_whole():
    pb = after_r1_answered()
    # the target closes (its keep-alive timeout) before R2 reached it: R2 is never acked
    out = pb.target(resp(T1 + RESP[1], O2, flags=FIN | ACK), at=pb.now + 0.002)
    assert brief(out) == [
        ("ACK", s(O3), s(T1 + RESP[1] + 1)),
        ("RST|ACK", s(O3), s(T1 + RESP[1] + 1)),
        ("register",),
        ("SYN", s(O2 - 1)),
    ]
    out = handshake(pb, O2 - 1)
    assert brief(out) == [("ACK", s(O2), T2 + 1), ("PSH|ACK", s(O2), T2 + 1, R2)]
    c = counters(pb)
    assert c["reconnects"] == 1 and c["requests_resent_after_reconnect"] == 1
    assert c["bytes_resent_after_reconnect"] == len(R2) and c["bytes_unacked_at_reconnect"] == len(R2)
    # R3 follows R2's answer on the new connection, as on the old one
    pb.target(resp(T2 + 1, O3), at=pb.now + 0.01)
    pb.respond_on(T2, 0, RESP[2], O3)
    assert data(pb.advance_to_deadline()) == [(s(O3), R3)]


def test_r2_acked_by_the_target_kernel_then_rst_resends_r2_whole():
    pb = after_r1_answered()
    pb.target(resp(T1 + RESP[1], O3), at=pb.now + 0.002)  # acked, not answered
    out = pb.target(resp(T1 + RESP[1], O3, flags=RST | ACK), at=pb.now + 0.05)
    assert brief(out) == [("register",), ("SYN", s(O2 - 1))]
    assert data(handshake(pb, O2 - 1)) == [(s(O2), R2)]
    c = counters(pb)
    assert c["requests_resent_after_reconnect"] == 1 and c["bytes_resent_after_reconnect"] == len(R2)
    assert c["bytes_unacked_at_reconnect"] == 0


def test_request_cut_by_the_target_ack_is_resent_from_its_start():
    """R2 in two segments; the target acked the first only, then closed: R2 goes whole."""
    pb = Playbook()
    pb.open_with_syn()
    pb.client(cseg(O1, A1, payload=R1))
    pb.target(resp(T1, O2), at=pb.now + 0.01)
    pb.client(cseg(O2, A2, payload=R2A))
    pb.client(cseg(O2B, A2, payload=R2B))
    pb.respond(0, RESP[1], O2, at=pb.now + 0.005)
    assert data(pb.advance_to_deadline()) == [(s(O2), R2A), (s(O2B), R2B)]
    pb.target(resp(T1 + RESP[1], O2B), at=pb.now + 0.002)
    out = pb.target(resp(T1 + RESP[1], O2B, flags=FIN | ACK), at=pb.now + 0.01)
    assert brief(out)[-1] == ("SYN", s(O2 - 1))
    assert data(handshake(pb, O2 - 1)) == [(s(O2), R2A), (s(O2B), R2B)]
    assert counters(pb)["bytes_resent_after_reconnect"] == len(R2)


def test_request_whose_rest_is_not_captured_yet_starts_whole_on_the_new_connection():
    """The target closes after acking R2's first segment, before R2's second was captured: the
    new connection starts at R2's first byte, and the second segment follows it there."""
    pb = r1_answered_alone()
    pb.tick(pb.now + 1.0)  # quiet period: R1 answered
    assert data(pb.client(cseg(O2, A2, payload=R2A))) == [(s(O2), R2A)]
    pb.target(resp(T1 + RESP[1], O2B), at=pb.now + 0.01)
    out = pb.target(resp(T1 + RESP[1], O2B, flags=FIN | ACK), at=pb.now + 0.01)
    assert brief(out)[-1] == ("SYN", s(O2 - 1))
    assert data(handshake(pb, O2 - 1)) == [(s(O2), R2A)]
    assert data(pb.client(cseg(O2B, A2, payload=R2B))) == [(s(O2B), R2B)]


def test_pipelined_requests_answered_in_part_then_reset_are_resent_whole():
    """P1 P2 P3 written at once online (one client ACK: TCP shows no boundary between them);
    the target answers P1 only and resets (it closed with P2 and P3 unread): the new connection
    carries P1 P2 P3 again, whole and in order (P1 a second time: see docs/decisions.md)."""
    p1, p2, p3 = b"GET /p1\r\n\r\n", b"GET /p2\r\n\r\n", b"GET /p3\r\n\r\n"
    online = (100, 100, 100)
    pb = Playbook()
    pb.open_with_syn()
    out = pb.client(cseg(O1, A1, payload=p1))
    out += pb.client(cseg(O1 + 11, A1, payload=p2))
    out += pb.client(cseg(O1 + 22, A1, payload=p3))
    end = O1 + 33
    pb.client(cseg(end, A1 + sum(online), flags=FIN | ACK))
    assert data(out) == [(s(O1), p1), (s(O1 + 11), p2), (s(O1 + 22), p3)]  # pipelined: at once
    pb.target(resp(T1, end), at=pb.now + 0.01)
    pb.respond(0, online[0], end, at=pb.now + 0.001)
    out = pb.target(resp(T1 + online[0], end, flags=RST | ACK), at=pb.now + 0.001)
    assert brief(out) == [("register",), ("SYN", s(O1 - 1))]
    assert data(handshake(pb, O1 - 1)) == [(s(O1), p1), (s(O1 + 11), p2), (s(O1 + 22), p3)]
    c = counters(pb)
    assert c["requests_resent_after_reconnect"] == 1 and c["bytes_resent_after_reconnect"] == 33


def test_pipelined_requests_answered_in_full_then_reset_are_not_resent():
    pb = Playbook()
    pb.open_with_syn()
    pb.client(cseg(O1, A1, payload=b"a\n"))
    pb.client(cseg(O1 + 2, A1, payload=b"b\n"))
    pb.client(cseg(O1 + 4, A1 + 30, payload=b"c\n"))  # answered online with 30 bytes in all
    pb.target(resp(T1, O1 + 4), at=pb.now + 0.01)
    pb.respond(0, 30, O1 + 4, at=pb.now + 0.001)
    out = pb.target(resp(T1 + 30, O1 + 4, flags=RST | ACK), at=pb.now + 0.0001)
    assert brief(out) == [("register",), ("SYN", s(O1 + 3))]
    assert counters(pb)["requests_resent_after_reconnect"] == 0


def test_everything_answered_then_fin_resends_nothing():
    pb = r1_answered_alone()
    pb.tick(pb.now + 1.0)
    assert pb.session.phase is Phase.ESTABLISHED and pb.session._stream.retained_bytes == 0
    out = pb.target(resp(T1 + RESP[1], O2, flags=FIN | ACK), at=pb.now + 0.01)
    assert brief(out) == [("ACK", s(O2), s(T1 + RESP[1] + 1))]  # nothing to resend: wait
    out = pb.client(cseg(O2, A2, payload=R2), at=pb.now + 0.5)
    assert brief(out)[-1] == ("SYN", s(O2 - 1))
    assert data(handshake(pb, O2 - 1)) == [(s(O2), R2)]
    assert counters(pb)["requests_resent_after_reconnect"] == 0
    assert [p for _, p in data(pb.log)].count(R1) == 1


def test_everything_answered_then_fin_with_no_tick_between_resends_nothing():
    """Nothing waited on R1's response, so no timer marked it complete (the delayed ACK's tick
    came before the quiet period was over): the FIN a second later finds it complete all the
    same, since the session decides a pending completion first, as of each event."""
    pb = r1_answered_alone()
    assert brief(pb.advance_to_deadline()) == [("ACK", s(O2), s(T1 + RESP[1]))]
    assert pb.session.phase is Phase.AWAITING_RESPONSE and pb.session.next_deadline() > pb.now + 60
    out = pb.target(resp(T1 + RESP[1], O2, flags=FIN | ACK), at=pb.now + 1.0)
    assert brief(out) == [("ACK", s(O2), s(T1 + RESP[1] + 1))]
    assert counters(pb)["responses"] == 1 and pb.session._stream.retained_bytes == 0
    out = pb.client(cseg(O2, A2, payload=R2), at=pb.now + 0.5)
    assert brief(out)[-1] == ("SYN", s(O2 - 1))
    assert data(handshake(pb, O2 - 1)) == [(s(O2), R2)]
    assert counters(pb)["requests_resent_after_reconnect"] == 0


def test_fin_right_after_a_shorter_response_counts_as_answered():
    """A server closes after a response, not inside one (Connection: close, keepalive_requests):
    a FIN after response bytes answers the request even when the response is shorter than the
    online one (a changed target), so nothing is sent twice."""
    pb = after_r1_answered()
    pb.target(resp(T1 + RESP[1], O3), at=pb.now + 0.002)
    pb.respond(RESP[1], 20, O3, at=pb.now + 0.001)  # online: RESP[2] = 200
    out = pb.target(resp(T1 + RESP[1] + 20, O3, flags=FIN | ACK), at=pb.now + 0.0001)
    assert brief(out)[-1] == ("SYN", s(O3 - 1))
    assert data(handshake(pb, O3 - 1)) == [(s(O3), R3)]
    assert counters(pb)["requests_resent_after_reconnect"] == 0


def test_rst_inside_a_response_resends_the_request():
    """An RST after fewer response bytes than the online server sent: the response was cut, the
    request goes again (a duplicate if the target did process it, counted)."""
    pb = after_r1_answered()
    pb.target(resp(T1 + RESP[1], O3), at=pb.now + 0.002)
    pb.respond(RESP[1], RESP[2] // 2, O3, at=pb.now + 0.001)
    out = pb.target(resp(T1 + RESP[1] + RESP[2] // 2, O3, flags=RST | ACK), at=pb.now + 0.001)
    assert brief(out)[-1] == ("SYN", s(O2 - 1))
    assert data(handshake(pb, O2 - 1)) == [(s(O2), R2)]
    assert counters(pb)["requests_resent_after_reconnect"] == 1


def test_last_request_unanswered_is_resent_although_nothing_else_is_left():
    """The keep-alive race on a connection's last request: the target closes as it arrives."""
    pb = Playbook()
    pb.open_with_syn()
    pb.client(cseg(O1, A1, payload=R1))
    out = pb.target(resp(T1, O2, flags=FIN | ACK), at=pb.now + 0.01)
    assert brief(out)[-2:] == [("register",), ("SYN", s(O1 - 1))]
    assert data(handshake(pb, O1 - 1)) == [(s(O1), R1)]
    pb.client(cseg(O2, A2, flags=FIN | ACK))
    pb.target(resp(T2 + 1, O2), at=pb.now + 0.01)
    out = pb.respond_on(T2, 0, RESP[1], O2)
    out += pb.advance_to_deadline()
    assert brief(out)[-1] == ("FIN|ACK", s(O2), T2 + 1 + RESP[1])
    out = pb.target(resp(T2 + 1 + RESP[1], O2 + 1, flags=FIN | ACK), at=pb.now + 0.01)
    assert brief(out)[-1] == ("finished", "complete")


def test_the_reset_of_a_request_that_crossed_the_fin_does_not_refuse_the_new_connection():
    """The race itself: R2 reaches the target after it closed, and its TCP answers R2 with an
    RST (no ACK flag, seq = R2's ACK) while the session's new SYN waits for its SYN-ACK."""
    pb = after_r1_answered()
    out = pb.target(resp(T1 + RESP[1], O2, flags=FIN | ACK), at=pb.now + 0.002)
    assert brief(out)[-1] == ("SYN", s(O2 - 1))
    assert pb.target(resp(T1 + RESP[1] + 1, 0, flags=RST), at=pb.now + 0.001) == []
    assert pb.session.phase is Phase.SYN_SENT and counters(pb)["target_stale_reset"] == 1
    assert data(handshake(pb, O2 - 1)) == [(s(O2), R2)]


def test_target_rst_with_nothing_unanswered_and_nothing_left_ends_the_session():
    pb = r1_answered_alone()
    pb.tick(pb.now + 1.0)
    out = pb.target(resp(T1 + RESP[1], O2, flags=RST | ACK), at=pb.now + 0.01)
    assert brief(out) == [("unregister",), ("finished", "target_reset")]


# ---------------------------------------------------------------------- bounds


def test_reconnect_limit_still_applies_to_resends():
    pb = after_r1_answered(max_reconnects=1)
    pb.target(resp(T1 + RESP[1], O2, flags=RST | ACK), at=pb.now + 0.002)
    assert data(handshake(pb, O2 - 1)) == [(s(O2), R2)]
    out = pb.target(resp(T2 + 1, O2, flags=RST | ACK), at=pb.now + 0.01)
    assert brief(out) == [("RST|ACK", s(O3), T2 + 1), ("unregister",), ("finished", "reconnect_limit")]
    assert counters(pb)["requests_resent_after_reconnect"] == 1


def test_a_request_resent_once_and_unanswered_again_is_not_resent_twice():
    """No progress (a target that closes on that request every time): go on after it."""
    pb = after_r1_answered()
    pb.target(resp(T1 + RESP[1], O2, flags=RST | ACK), at=pb.now + 0.002)
    assert data(handshake(pb, O2 - 1)) == [(s(O2), R2)]
    pb.target(resp(T2 + 1, O3), at=pb.now + 0.01)
    out = pb.target(resp(T2 + 1, O3, flags=RST | ACK), at=pb.now + 0.01)
    assert brief(out) == [("register",), ("SYN", s(O3 - 1))]
    out = pb.target(resp(T2 + 5000, O3, flags=SYN | ACK), at=pb.now + 0.01)
    assert data(out) == [(s(O3), R3)]
    c = counters(pb)
    assert c["requests_resent_after_reconnect"] == 1 and c["requests_not_resent_twice"] == 1
    assert c["reconnects"] == 2


def test_a_request_larger_than_the_buffer_bound_is_not_held_for_a_resend():
    big_a, big_b = b"A" * 2000, b"B" * 2000
    pb = Playbook(max_buffered_bytes=3000)
    pb.open_with_syn()
    pb.client(cseg(O1, A1, payload=big_a))
    pb.target(resp(T1, O1 + 2000), at=pb.now + 0.01)
    assert pb.session._stream.retained_bytes == 2000
    pb.client(cseg(O1 + 2000, A1, payload=big_b))
    assert pb.session._stream.retained_bytes == 0 and pb.session.outcome is None
    assert counters(pb)["requests_too_large_to_resend"] == 1
    pb.client(cseg(O1 + 4000, A2, payload=R2))
    out = pb.target(resp(T1, O1 + 4000, flags=FIN | ACK), at=pb.now + 0.01)
    assert brief(out)[-1] == ("SYN", s(O1 + 3999))  # from the next unsent byte, as before
    assert counters(pb)["requests_resent_after_reconnect"] == 0


# ---------------------------------------------------------------------- -W


def test_no_wait_resends_only_what_the_target_did_not_ack_whole():
    """With -W nothing says which requests the target answered: one it acked whole counts as
    answered; the request it had not received whole is resent from its start."""
    pb = Playbook(no_wait=True)
    pb.open_with_syn()
    out = pb.client(cseg(O1, A1, payload=R1))
    out += pb.client(cseg(O2, A2, payload=R2A))
    out += pb.client(cseg(O2B, A2, payload=R2B))
    out += pb.client(cseg(O3, A3, payload=R3))
    assert [p for _, p in data(out)] == [R1, R2A, R2B, R3]  # -W: all at once
    pb.target(resp(T1, O2B), at=pb.now + 0.01)  # R1 acked whole, R2 in part
    assert pb.session._stream.retained_from == s(O2)
    out = pb.target(resp(T1, O2B, flags=RST | ACK), at=pb.now + 0.01)
    assert brief(out) == [("register",), ("SYN", s(O2 - 1))]
    assert data(handshake(pb, O2 - 1)) == [(s(O2), R2A), (s(O2B), R2B), (s(O3), R3)]
    c = counters(pb)
    assert c["requests_resent_after_reconnect"] == 2 and c["bytes_resent_after_reconnect"] == len(R2) + len(R3)


def test_no_wait_holds_nothing_once_everything_sent_is_acked():
    pb = Playbook(no_wait=True)
    pb.open_with_syn()
    pb.client(cseg(O1, A1, payload=R1))
    pb.client(cseg(O2, A2, payload=R2))
    pb.target(resp(T1, O3), at=pb.now + 0.01)
    assert pb.session._stream.retained_bytes == 0
    pb.client(cseg(O3, A3, payload=R3))
    out = pb.target(resp(T1, O3, flags=RST | ACK), at=pb.now + 0.01)
    assert brief(out)[-1] == ("SYN", s(O3 - 1))
    assert counters(pb)["requests_resent_after_reconnect"] == 1


# ---------------------------------------------------------------------- property


class ClosingLineTarget(LineServer):
    """A line-protocol server (one request per line) that answers each known line with its
    response length and closes connections: connection i (0-based) closes once it has answered
    ``quotas[i]`` requests and more data comes, in ``mode``:

    * ``fin``: the new data is acked and dropped unanswered, then FIN (a keep-alive timeout
      racing with a request). Only where a new request group starts (``group_heads``: the
      first line of each): a FIN after an answer counts as the end of it (docs/decisions.md).
    * ``rst``: the data is acked and the connection reset (closed with it unread), also behind
      an answered line of a pipelined group;
    * ``cut``: as ``rst``, but the next complete line is read and half answered first (an
      abort inside a response).

    Connections past the quotas never close first. Anything not a known line is garbage
    (recorded, answered with an error and FIN). ``read[i]`` lists the lines connection i read,
    ``answered[i]`` how many of them it answered in full.
    """

    def __init__(self, responses: dict[bytes, int], group_heads: set[bytes], quotas: list[int], mode: str):
        super().__init__(responses)
        self.group_heads, self.quotas, self.mode = group_heads, quotas, mode
        self.read: list[list[bytes]] = []
        self.answered: list[int] = []

    def receive(self, seg: Segment) -> list[ResponseSummary]:
        opened = self._open_or_reset(seg)
        if opened is not None:
            if seg.flags & SYN:
                self.read.append([])
                self.answered.append(0)
            return opened
        if self.dead or self.rcv_nxt is None:
            return []  # late segments of a closed connection vanish (no stray RST)
        out: list[ResponseSummary] = []
        if seg.payload and seg.seq == self.rcv_nxt:
            conn = len(self.read) - 1
            quota = self.quotas[conn] if conn < len(self.quotas) else None
            at_group_head = not self.buffer and any(seg.payload.startswith(h) for h in self.group_heads)
            self._take_data(seg)
            out.append(self._summary(self.snd_nxt, ACK))
            if quota is not None and self.answered[conn] >= quota and (self.mode != "fin" or at_group_head):
                return out + self._close(conn)
            while (line := self._next_line()) is not None:
                self.read[conn].append(line)
                length = self.responses.get(line)
                if length is None:
                    self.dead = True
                    return out + self._reject(line)
                out.append(self._data(length))
                self.answered[conn] += 1
                if quota is not None and self.answered[conn] >= quota and self.buffer and self.mode != "fin":
                    return out + self._close(conn)  # pipelined requests behind the quota
        elif seg.payload:
            out.append(self._summary(self.snd_nxt, ACK))
        fin = self._answer_client_fin(seg)
        if fin:
            self.dead = True
        return out + fin

    def _close(self, conn: int) -> list[ResponseSummary]:
        self.dead = True
        if self.mode == "fin":
            return [self._fin()]
        out = []
        if self.mode == "cut" and b"\n" in self.buffer:
            line = self.buffer.split(b"\n", 1)[0] + b"\n"
            self.read[conn].append(line)
            out.append(self._data(self.responses[line] // 2))
        return out + [self._summary(self.snd_nxt, RST | ACK)]


def _captured(seq, ack, flags, payload=b""):
    return Segment(src=bytes([192, 168, 1, 10]), dst=bytes([10, 0, 0, 2]), sport=40000, dport=80,
                   seq=seq % 2**32, ack=ack % 2**32, flags=flags, window=500, payload=payload)


@st.composite
def closing_targets(draw):
    """Requests in groups (a group: pipelined requests, one client ACK), any segmentation; a
    target closing once or twice, after any number of answers, in any mode; a second close
    leaves at least a group's worth of answers to its connection (so a resend makes progress).
    RST closes come once the whole capture is in: an RST after response bytes is judged by
    the online response's length, known from the client's next packet."""
    n = draw(st.integers(1, 6))
    requests = [b"Q%d " % i + draw(st.binary(max_size=1500)).replace(b"\n", b".") + b"\n" for i in range(n)]
    # at least 4 bytes: a response cut in half is 2 bytes short (one byte short before the
    # client's FIN counts as whole: the online server's FIN in the client's ACK)
    responses = [draw(st.integers(4, 2000)) for _ in range(n)]
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(min(draw(st.integers(1, 3)), n - sum(sizes)))
    mode = draw(st.sampled_from(["fin", "rst", "cut"]))
    cisn = draw(st.integers(2**32 - 3000, 2**32 - 1))
    oisn = draw(st.integers(0, 2**32 - 1))
    packets = [_captured(cisn, 0, SYN), _captured(cisn + 1, oisn + 1, ACK)]
    group_of: list[int] = []
    offset = acked = 0
    for g, size in enumerate(sizes):
        first = len(group_of)
        group = b"".join(requests[first:first + size])
        cuts = sorted(set(draw(st.lists(st.integers(1, len(group) - 1), max_size=3))))
        for a, b in zip([0, *cuts], [*cuts, len(group)]):
            packets.append(_captured(cisn + 1 + offset + a, oisn + 1 + acked, PSH | ACK, group[a:b]))
        offset += len(group)
        acked += sum(responses[first:first + size])
        group_of += [g] * size
    packets.append(_captured(cisn + 1 + offset, oisn + 1 + acked, FIN | ACK))
    quotas = [draw(st.integers(0, n))]
    if draw(st.booleans()):
        quotas.append(draw(st.integers(max(sizes), n)))
    step = 0.0001 if mode != "fin" else draw(st.sampled_from([0.0001, 0.002, 0.03]))
    return requests, responses, group_of, quotas, mode, [(i * step, p) for i, p in enumerate(packets)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(closing_targets())
def test_property_wherever_the_target_closes_every_request_arrives_whole_and_in_order(case):
    """The target reads whole requests only (no fragment: no garbage line). Each connection
    reads a run of consecutive requests that starts no later than the first request not yet
    answered in full (none is lost) and not before that request's group (nothing answered in
    full is sent again, only requests pipelined with it); the last request is answered; the
    counters count the requests resent and their bytes."""
    requests, responses, group_of, quotas, mode, captured = case
    heads = {b"Q%d " % i for i, g in enumerate(group_of) if i == 0 or group_of[i - 1] != g}
    target = ClosingLineTarget(dict(zip(requests, responses)), heads, quotas, mode)
    session = Session(SessionConfig(), (bytes([10, 9, 8, 1]), 40000), (bytes([10, 0, 0, 99]), 8080))
    commands = run(session, target, captured, limit=60.0)
    assert target.garbage == []
    finished = commands[-1]
    assert isinstance(finished, Finished) and finished.outcome is Outcome.COMPLETE, finished.reason
    index = {r: i for i, r in enumerate(requests)}
    needed = 0  # the first request not answered in full so far
    resent_bytes = 0
    for lines, answered in zip(target.read, target.answered):
        run_ = [index[line] for line in lines]
        if not run_:
            continue
        start = run_[0]
        assert run_ == list(range(start, start + len(run_))), target.read
        assert start <= needed, (target.read, needed)
        assert group_of[start] == group_of[needed] or start == needed, (target.read, needed)
        resent_bytes += sum(len(requests[i]) for i in range(start, needed))
        needed = max(needed, start + answered)
    assert needed == len(requests), (target.read, target.answered)
    c = Counter(session.counters)
    event(f"{mode}: {c['reconnects']} reconnects, {c['requests_resent_after_reconnect']} resent")
    assert c["bytes_resent_after_reconnect"] >= resent_bytes
    assert (c["requests_resent_after_reconnect"] > 0) == (c["bytes_resent_after_reconnect"] > 0)
    assert c["requests_resent_after_reconnect"] <= c["reconnects"] <= len(quotas)
