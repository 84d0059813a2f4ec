"""Reassembly of the captured client byte stream (client sequence space).

Contract: ``CapturedStream.add`` accepts captured payload segments in any order, any number of
times, with any overlap, and exposes the bytes exactly once, in order, as ``Chunk``s via
``peek``/``take``. Every chunk remembers the client's ACK number when it was sent (request
boundaries are where that number changes) and the captured segment it came from (flags,
window, options, ip id, ttl). Odd input is counted into the given counter, never raised.

A hole that will never fill (a captured packet lost for good) is given up with ``give_up_hole``
once nothing before it is left to take; ``resume`` then skips to the first captured request
boundary after it (see ``resume``) and the stream goes on from there.

Bytes taken with ``retain=True`` stay held (``retained_bytes``) until ``release_before`` or
``release_all`` lets them go; ``rewind`` puts every retained byte back at the head of the
contiguous part, so it is taken again, exactly as captured (the session resends a request the
target closed on, see ``Session._reconnect``).
"""

from __future__ import annotations

from collections import deque
from typing import Final

from pyreplay.packet.record import Record

from pyreplay.packet.segment import ACK, Segment
from pyreplay.packet.seqnum import seq_add, seq_diff, seq_gt, seq_le, seq_lt

from .tally import tally


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
        self.last_ack: int | None = None  # client ACK of the last contiguous chunk (None: no ACK yet)
        self._pending: deque[Chunk] = deque()
        self._out_of_order: list[Chunk] = []
        self._retained: list[Chunk] = []  # taken, in order, contiguous, ending at the head (a request or two)
        self._retained_bytes = 0
        # skipping a given-up hole: bytes from _skip_from to next_seq are skipped, _skip_ack is
        # the ACK of the last captured byte among them (or before them)
        self._skipping = False
        self._skip_from = start
        self._skip_ack: int | None = None
        self._continuation_ack: int | None = None

    @property
    def has_gap(self) -> bool:
        """Bytes are missing: some arrived past the contiguous part, or the FIN lies past it."""
        fin_seq = self.fin_seq
        return bool(self._out_of_order) or (fin_seq is not None and seq_gt(fin_seq, self.next_seq))

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    @property
    def skipping(self) -> bool:
        """A hole was given up and no request boundary after it was found yet."""
        return self._skipping

    @property
    def skipped_from(self) -> int:
        """Where the last hole given up began."""
        return self._skip_from

    @property
    def buffered_bytes(self) -> int:
        chunks = (*self._pending, *self._out_of_order)
        return sum(len(c.payload) for c in chunks)

    @property
    def retained_bytes(self) -> int:
        return self._retained_bytes

    @property
    def retained_from(self) -> int | None:
        """The first retained byte (None: nothing retained)."""
        return self._retained[0].seq if self._retained else None

    @property
    def fin_reached(self) -> bool:
        return (
            self.fin_seq is not None and self.next_seq == self.fin_seq and not self._pending
            and not self._skipping
        )

    def add(self, segment: Segment, counters: dict[str, int]) -> bool:
        """Buffer the payload of ``segment``; True if the contiguous stream grew."""
        client_ack = segment.ack if segment.flags & ACK else None
        chunk = Chunk(segment.seq, segment.payload, client_ack, segment)
        if seq_le(chunk.end, self.next_seq):
            tally(counters, "client_retransmission")
            return False
        if seq_diff(chunk.seq, self.next_seq) > self._horizon:
            tally(counters, "client_beyond_horizon")
            return False
        if self.fin_seq is not None and seq_gt(chunk.end, self.fin_seq):
            tally(counters, "client_data_after_fin")
            return False
        if seq_lt(chunk.seq, self.next_seq):
            tally(counters, "client_overlap_trimmed")
            if self._skipping:  # it continues bytes being skipped: skip it too
                self._skip_past(chunk)
                return False
            chunk = chunk.without_prefix(seq_diff(self.next_seq, chunk.seq))
        if self._skipping:  # judged by the next ``resume``
            self._out_of_order.append(chunk)
            return False
        if chunk.seq != self.next_seq:
            tally(counters, "client_out_of_order")
            self._out_of_order.append(chunk)
            return False
        self._append(chunk)
        self._drain_out_of_order()
        return True

    def note_fin(self, seq: int, counters: dict[str, int]) -> None:
        if self.fin_seq is None and seq_lt(seq, self.next_seq):
            tally(counters, "client_fin_inside_data")
        elif self.fin_seq is None:
            self.fin_seq = seq
        elif self.fin_seq != seq:
            tally(counters, "client_fin_seq_mismatch")

    def peek(self) -> Chunk | None:
        return self._pending[0] if self._pending else None

    def take(self, limit: int, retain: bool = False) -> Chunk:
        """Remove and return up to ``limit`` bytes from the head of the contiguous part;
        ``retain``: hold them for ``rewind`` (only right after bytes retained, or none)."""
        head = self._pending[0]
        if len(head.payload) <= limit:
            taken = self._pending.popleft()
        else:
            self._pending[0] = head.without_prefix(limit)
            taken = head.prefix(limit)
        if retain:
            self._retained.append(taken)
            self._retained_bytes += len(taken.payload)
        return taken

    def release_before(self, seq: int) -> None:
        """Stop holding the retained bytes before ``seq`` (a retained chunk's first byte, or
        the end of what was retained)."""
        retained = self._retained
        while retained and seq_le(retained[0].end, seq):
            self._retained_bytes -= len(retained.pop(0).payload)
        if retained and retained[0].seq != seq:
            raise ValueError(f"release_before({seq}) inside a retained chunk")

    def release_all(self) -> None:
        self._retained.clear()
        self._retained_bytes = 0

    def rewind(self) -> int:
        """Put every retained byte back at the head of the contiguous part (they come out of
        ``peek``/``take`` again, with their captured ACKs and templates); the bytes put back."""
        head = self._pending[0].seq if self._pending else self.next_seq
        if self._retained and self._retained[-1].end != head:
            raise ValueError("rewind with bytes taken after the retained ones but not retained")
        rewound = self._retained_bytes
        self._pending.extendleft(reversed(self._retained))
        self.release_all()
        return rewound

    def give_up_hole(self, reference_ack: int | None, continuation_ack: int | None) -> None:
        """Stop waiting for the bytes at ``next_seq``: skip them up to a request boundary.

        Call when everything before the hole was taken. ``reference_ack`` is the client's ACK on
        the last byte before the hole (None: unknown). ``continuation_ack``, when known, is the
        ACK the request right after that byte's request carried (that ACK plus the online
        response's length): data right after the hole with this ACK continues a request whose
        start fell into the hole, so it is no boundary.
        """
        if self._pending:
            raise ValueError("give_up_hole with bytes before the hole still pending")
        self._skipping = True
        self._skip_from = self.next_seq
        self._skip_ack = reference_ack
        self._continuation_ack = continuation_ack

    def resume(self) -> int | None:
        """While skipping: find the first request boundary among the bytes buffered past the
        hole; the number of client bytes skipped to reach it (None: no boundary yet).

        A captured chunk starts a new request when its client ACK is past the ACK of the last
        captured byte before it: the online server answered in between. Bytes judged not to
        start one are dropped (they continue a request cut by the hole, or share the ACK of
        pipelined requests, whose boundaries TCP does not show). From the boundary on the
        stream is contiguous again and ``peek``/``take`` go on from there.
        """
        if not self._skipping:
            raise ValueError("resume without a hole given up")
        base = self.next_seq
        chunks = sorted(self._out_of_order, key=lambda c: seq_diff(c.seq, base))
        for i, chunk in enumerate(chunks):
            if seq_le(chunk.end, self.next_seq):
                continue  # inside bytes skipped already
            if self._starts_request(chunk):
                self._out_of_order = chunks[i:]
                return self._resume_at(chunk.seq)
            self._skip_past(chunk)
        self._out_of_order = []
        return None

    def _starts_request(self, chunk: Chunk) -> bool:
        ack, before = chunk.client_ack, self._skip_ack
        return (
            not seq_lt(chunk.seq, self.next_seq)  # its first byte is a segment's first byte
            and ack is not None and before is not None and seq_gt(ack, before)
            and ack != self._continuation_ack
        )

    def _skip_past(self, chunk: Chunk) -> None:
        if seq_gt(chunk.end, self.next_seq):
            self.next_seq = chunk.end
        if chunk.client_ack is not None:
            self._skip_ack = chunk.client_ack
        self._continuation_ack = None  # only the first chunk after the hole may continue it

    def _resume_at(self, seq: int) -> int:
        skipped = seq_diff(seq, self._skip_from)
        self._skipping = False
        self._skip_ack = self._continuation_ack = None
        self.next_seq = seq
        self._drain_out_of_order()
        return skipped

    def _append(self, chunk: Chunk) -> None:
        self._pending.append(chunk)
        self.next_seq = chunk.end
        if chunk.client_ack is not None:
            self.last_ack = chunk.client_ack

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
