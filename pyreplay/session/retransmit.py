"""Sent-but-unacknowledged client data and the retransmission timeout estimate.

Contract: ``SendQueue`` holds what the target has not acknowledged, in sequence order; an ACK
removes whole entries and trims a partially acknowledged one, so a retransmission starts exactly
at the target's ACK. ``RtoEstimator`` implements RFC 6298 (SRTT/RTTVAR, floor, cap); samples
from retransmitted data are never taken (Karn), which the queue enforces.
"""

from __future__ import annotations

from collections import deque

from pyreplay.packet.record import Record
from pyreplay.packet.segment import Segment
from pyreplay.packet.seqnum import seq_add, seq_diff, seq_ge, seq_gt


class InFlight(Record):
    __slots__ = ("seq", "payload", "fin", "template", "sent_at", "retransmitted")
    FIELDS = ("seq", "payload", "fin", "template", "sent_at", "retransmitted")

    def __init__(self, seq: int, payload: bytes, fin: bool, template: Segment | None, sent_at: float,
                 retransmitted: bool = False) -> None:
        self.seq = seq
        self.payload = payload
        self.fin = fin
        self.template = template
        self.sent_at = sent_at  # changes on retransmission
        self.retransmitted = retransmitted

    @property
    def end(self) -> int:
        return seq_add(self.seq, len(self.payload) + (1 if self.fin else 0))


class SendQueue:
    def __init__(self) -> None:
        self._entries: deque[InFlight] = deque()

    def __bool__(self) -> bool:
        return bool(self._entries)

    @property
    def buffered_bytes(self) -> int:
        return sum(len(e.payload) for e in self._entries)

    def push(self, entry: InFlight) -> None:
        self._entries.append(entry)

    def first(self) -> InFlight | None:
        return self._entries[0] if self._entries else None

    def clear(self) -> int:
        dropped = self.buffered_bytes
        self._entries.clear()
        return dropped

    def acknowledge(self, ack: int) -> float | None:
        """Drop what ``ack`` covers; return the send time usable as an RTT sample, if any."""
        sample_from = None
        while self._entries and seq_ge(ack, self._entries[0].end):
            entry = self._entries.popleft()
            sample_from = None if entry.retransmitted else entry.sent_at
        if self._entries and seq_gt(ack, self._entries[0].seq):
            head = self._entries[0]
            head.payload = head.payload[seq_diff(ack, head.seq) :]
            head.seq = ack
        return sample_from


class RtoEstimator:
    def __init__(self, initial: float, floor: float, cap: float) -> None:
        self.srtt: float | None = None
        self.rttvar = 0.0
        self._initial, self._floor, self._cap = initial, floor, cap

    def sample(self, rtt: float) -> None:
        rtt = max(rtt, 0.0)
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt

    def timeout(self, backoff: int = 0) -> float:
        base = self._initial if self.srtt is None else self.srtt + 4 * self.rttvar
        return min(self._cap, max(self._floor, base) * (2**backoff))
