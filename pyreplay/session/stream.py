"""Reassembly of the captured client byte stream (client sequence space).

Contract: ``CapturedStream.add`` accepts captured payload segments in any order, any number of
times, with any overlap, and exposes the bytes exactly once, in order, as ``Chunk``s via
``peek``/``take``. Every chunk remembers the client's ACK number when it was sent (request
boundaries are where that number changes) and the captured segment it came from (flags,
window, options, ip id, ttl). Odd input is counted into the given counter, never raised.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Final

from pyreplay.packet.record import Record

from pyreplay.packet.segment import ACK, Segment
from pyreplay.packet.seqnum import seq_add, seq_diff, seq_gt, seq_le, seq_lt


class Chunk(Record):
    __slots__ = ("seq", "payload", "client_ack", "template")
    FIELDS = ("seq", "payload", "client_ack", "template")

    def __init__(self, seq: int, payload: bytes, client_ack: int | None, template: Segment) -> None:
        self.seq: Final = seq
        self.payload: Final = payload
        self.client_ack: Final = client_ack  # online-server space; None if the packet had no ACK flag
        self.template: Final = template

    @property
    def end(self) -> int:
        return seq_add(self.seq, len(self.payload))

    def without_prefix(self, count: int) -> Chunk:
        return Chunk(seq_add(self.seq, count), self.payload[count:], self.client_ack, self.template)

    def prefix(self, count: int) -> Chunk:
        return Chunk(self.seq, self.payload[:count], self.client_ack, self.template)


class CapturedStream:
    """Captured bytes from ``start`` on; ``next_seq`` is the end of the contiguous part."""

    def __init__(self, start: int, horizon: int) -> None:
        self.next_seq = start
        self.fin_seq: int | None = None
        self._horizon = horizon
        self._pending: deque[Chunk] = deque()
        self._out_of_order: list[Chunk] = []

    @property
    def has_gap(self) -> bool:
        return bool(self._out_of_order)

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    @property
    def buffered_bytes(self) -> int:
        chunks = (*self._pending, *self._out_of_order)
        return sum(len(c.payload) for c in chunks)

    @property
    def fin_reached(self) -> bool:
        return self.fin_seq is not None and self.next_seq == self.fin_seq and not self._pending

    def add(self, segment: Segment, counters: Counter) -> bool:
        """Buffer the payload of ``segment``; True if the contiguous stream grew."""
        client_ack = segment.ack if segment.flags & ACK else None
        chunk = Chunk(segment.seq, segment.payload, client_ack, segment)
        if seq_le(chunk.end, self.next_seq):
            counters["client_retransmission"] += 1
            return False
        if seq_diff(chunk.seq, self.next_seq) > self._horizon:
            counters["client_beyond_horizon"] += 1
            return False
        if self.fin_seq is not None and seq_gt(chunk.end, self.fin_seq):
            counters["client_data_after_fin"] += 1
            return False
        if seq_lt(chunk.seq, self.next_seq):
            counters["client_overlap_trimmed"] += 1
            chunk = chunk.without_prefix(seq_diff(self.next_seq, chunk.seq))
        if chunk.seq != self.next_seq:
            counters["client_out_of_order"] += 1
            self._out_of_order.append(chunk)
            return False
        self._append(chunk)
        self._drain_out_of_order()
        return True

    def note_fin(self, seq: int, counters: Counter) -> None:
        if self.fin_seq is None and seq_lt(seq, self.next_seq):
            counters["client_fin_inside_data"] += 1
        elif self.fin_seq is None:
            self.fin_seq = seq
        elif self.fin_seq != seq:
            counters["client_fin_seq_mismatch"] += 1

    def peek(self) -> Chunk | None:
        return self._pending[0] if self._pending else None

    def take(self, limit: int) -> Chunk:
        """Remove and return up to ``limit`` bytes from the head of the contiguous part."""
        head = self._pending[0]
        if len(head.payload) <= limit:
            return self._pending.popleft()
        self._pending[0] = head.without_prefix(limit)
        return head.prefix(limit)

    def _append(self, chunk: Chunk) -> None:
        self._pending.append(chunk)
        self.next_seq = chunk.end

    def _drain_out_of_order(self) -> None:
        progress = True
        while progress and self._out_of_order:
            progress = False
            for chunk in list(self._out_of_order):
                if seq_le(chunk.end, self.next_seq):
                    self._out_of_order.remove(chunk)
                elif seq_le(chunk.seq, self.next_seq):
                    self._out_of_order.remove(chunk)
                    self._append(chunk.without_prefix(seq_diff(self.next_seq, chunk.seq)))
                    progress = True
