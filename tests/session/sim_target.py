"""A tiny simulated target server and network for property tests of the session engine.

It consumes the engine's ``Send`` commands (after a one-way delay), keeps its own receive and
send sequence state, answers every complete request with a response of a known length, ACKs
data, answers FIN with FIN, and reports everything back as ``ResponseSummary`` objects. The
loop delivers captured client packets at their capture times and ticks the session at its
deadlines; no wall clock anywhere.

``LineServer`` is the base of the line-protocol targets (one request per line) that the
capture-hole and reconnect property tests drive through ``run``: a fresh connection per SYN,
an RST kills it, summaries for ACKs, data and FIN, garbage lines answered with an error and FIN.
"""

from __future__ import annotations

import heapq
import itertools

from pyreplay.packet.segment import ACK, FIN, PSH, RST, SYN, ResponseSummary
from pyreplay.packet.seqnum import seq_add, seq_diff
from pyreplay.session.commands import Finished, Send
from pyreplay.session.events import ClientSegment, TargetResponse, Tick


class LineServer:
    """Connection state and the summaries a line server answers with; ``receive`` is the
    subclass's. ``responses`` maps each known line to its response length."""

    def __init__(self, responses: dict[bytes, int]):
        self.responses = responses
        self.garbage: list[bytes] = []
        self.isn = 90_000
        self.rcv_nxt: int | None = None
        self.snd_nxt = 0
        self.buffer = b""
        self.dead = True

    def _open_or_reset(self, seg) -> list[ResponseSummary] | None:
        """A SYN opens a fresh connection (SYN-ACK), an RST kills it ([]); None: neither."""
        if seg.flags & RST:
            self.dead = True
            return []
        if seg.flags & SYN:
            self.isn += 1_000_003
            self.rcv_nxt, self.snd_nxt = seq_add(seg.seq, 1), seq_add(self.isn, 1)
            self.buffer, self.dead = b"", False
            return [self._summary(self.isn, SYN | ACK)]
        return None

    def _take_data(self, seg) -> bool:
        """In-order payload joins the buffer (True); the caller ACKs either way."""
        if seg.payload and seg.seq == self.rcv_nxt:
            self.rcv_nxt = seq_add(self.rcv_nxt, len(seg.payload))
            self.buffer += seg.payload
            return True
        return False

    def _next_line(self) -> bytes | None:
        if b"\n" not in self.buffer:
            return None
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line + b"\n"

    def _reject(self, line: bytes) -> list[ResponseSummary]:
        """Garbage: recorded, answered with an error and FIN."""
        self.garbage.append(line)
        return [self._data(7), self._fin()]

    def _answer_client_fin(self, seg) -> list[ResponseSummary]:
        if seg.flags & FIN and seq_add(seg.seq, len(seg.payload)) == self.rcv_nxt:
            self.rcv_nxt = seq_add(self.rcv_nxt, 1)
            return [self._fin()]
        return []

    def _fin(self) -> ResponseSummary:
        summary = self._summary(self.snd_nxt, FIN | ACK)
        self.snd_nxt = seq_add(self.snd_nxt, 1)
        return summary

    def _data(self, length: int) -> ResponseSummary:
        summary = self._summary(self.snd_nxt, PSH | ACK, length)
        self.snd_nxt = seq_add(self.snd_nxt, length)
        return summary

    def _summary(self, seq: int, flags: int, payload_len: int = 0) -> ResponseSummary:
        return ResponseSummary(src=bytes([10, 0, 0, 99]), dst=bytes([10, 9, 8, 1]), sport=8080, dport=40000,
                               seq=seq % 2**32, ack=(self.rcv_nxt or 0) % 2**32, flags=flags, window=65535,
                               payload_len=payload_len)


class SimTarget:
    def __init__(self, isn: int, request_ends: list[int], response_lens: list[int], mss: int = 700,
                 close_after_response: bool = False):
        self.isn = isn
        self.close_after_response = close_after_response  # "Connection: close" server
        self.closed = False
        self.connections = 0
        self.request_ends = request_ends  # cumulative byte offsets where each request ends
        self.response_lens = response_lens
        self.mss = mss
        self.received = bytearray()
        self.rcv_nxt: int | None = None
        self.snd_nxt = seq_add(isn, 1)
        self.answered = 0
        self.response_end_seqs: list[int] = []  # target seq just past each response
        self.first_byte_acks: dict[int, int] = {}  # request index -> ACK on its first byte
        self.fin_received = False
        self.resets = 0

    def receive(self, seg) -> list[ResponseSummary]:
        if seg.flags & RST:
            self.resets += 1
            return []
        if seg.flags & SYN:
            if self.connections:  # a reconnection: fresh connection state, new ISN
                self.isn = seq_add(self.isn, 1_000_003)
                self.snd_nxt = seq_add(self.isn, 1)
                self.closed = self.fin_received = False
            self.connections += 1
            self.rcv_nxt = seq_add(seg.seq, 1)
            return [self._summary(self.isn, SYN | ACK)]
        assert self.rcv_nxt is not None, "data before SYN"
        out = []
        if seg.payload:
            offset = seq_diff(seg.seq, self.rcv_nxt)
            if offset <= 0 and offset + len(seg.payload) > 0:
                fresh = seg.payload[-offset:]
                start = len(self.received)
                for i, end in enumerate(self.request_ends):
                    if start < end and start + len(fresh) > (self.request_ends[i - 1] if i else 0):
                        first = self.request_ends[i - 1] if i else 0
                        if start <= first < start + len(fresh) and i not in self.first_byte_acks:
                            self.first_byte_acks[i] = seg.ack
                self.received += fresh
                self.rcv_nxt = seq_add(self.rcv_nxt, len(fresh))
            out.append(self._summary(self.snd_nxt, ACK))
            while self.answered < len(self.request_ends) and len(self.received) >= self.request_ends[self.answered]:
                out += self._respond(self.response_lens[self.answered])
                self.answered += 1
                if self.close_after_response:
                    out.append(self._summary(self.snd_nxt, FIN | ACK))
                    self.snd_nxt = seq_add(self.snd_nxt, 1)
                    self.closed = True
                    break
        if seg.flags & FIN and seq_add(seg.seq, len(seg.payload)) == self.rcv_nxt and not self.fin_received:
            self.fin_received = True
            self.rcv_nxt = seq_add(self.rcv_nxt, 1)
            if self.closed:
                out.append(self._summary(self.snd_nxt, ACK))
            else:
                out.append(self._summary(self.snd_nxt, FIN | ACK))
                self.snd_nxt = seq_add(self.snd_nxt, 1)
        return out

    def _respond(self, length: int) -> list[ResponseSummary]:
        out = []
        while length > 0:
            n = min(length, self.mss)
            out.append(self._summary(self.snd_nxt, PSH | ACK, n))
            self.snd_nxt = seq_add(self.snd_nxt, n)
            length -= n
        self.response_end_seqs.append(self.snd_nxt)
        return out

    def _summary(self, seq: int, flags: int, payload_len: int = 0) -> ResponseSummary:
        return ResponseSummary(
            src=b"\x0a\x00\x00\x63", dst=b"\x0a\x09\x08\x01", sport=8080, dport=40000,
            seq=seq, ack=self.rcv_nxt or 0, flags=flags, window=65535, payload_len=payload_len,
        )


def run(session, target: SimTarget, captured: list[tuple[float, object]], *, delay=0.001,
        drop_sends: frozenset[int] = frozenset(), limit=120.0):
    """Drive session and target until the session finishes; returns the commands it produced."""
    queue: list = []
    order = itertools.count()
    for at, seg in captured:
        heapq.heappush(queue, (at, next(order), "capture", seg))
    commands = []
    sends = 0
    now = 0.0
    while not session.finished:
        deadline = session.next_deadline()
        assert deadline == min(session._deadlines().values(), default=None)
        if queue and (deadline is None or queue[0][0] <= deadline):
            now, _, kind, item = heapq.heappop(queue)
            if kind == "capture":  # as the session table does: pure ACKs absorbed cheaply
                out = [] if session.absorb_pure_ack(item, now) else session.handle(ClientSegment(item), now=now)
            elif kind == "to_target":
                for i, summary in enumerate(target.receive(item)):
                    heapq.heappush(queue, (now + delay + i * 1e-5, next(order), "to_client", summary))
                continue
            else:
                out = session.handle(TargetResponse(item), now=now)
        elif deadline is not None:
            now = max(now, deadline)
            out = session.handle(Tick(), now=now)
        else:
            raise AssertionError("session stalled with no deadline and nothing in flight")
        assert now < limit, "session did not finish in simulated time"
        commands += out
        for c in out:
            if isinstance(c, Send):
                sends += 1
                if sends not in drop_sends:
                    heapq.heappush(queue, (now + delay, next(order), "to_target", c.segment))
    assert isinstance(commands[-1], Finished)
    return commands
