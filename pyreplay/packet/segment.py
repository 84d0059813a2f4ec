"""Shared vocabulary of the core: a parsed TCP segment and a response header summary.

Addresses are packed bytes (4 for IPv4, 16 for IPv6) so every layer stays family-neutral and
keys hash fast. Sequence numbers are plain ints in [0, 2**32); compare them with
``pyreplay.packet.seqnum`` helpers, never with ``<``.
"""

from __future__ import annotations

from typing import Final

from pyreplay.packet.record import Record

FIN: Final = 0x01
SYN: Final = 0x02
RST: Final = 0x04
PSH: Final = 0x08
ACK: Final = 0x10
URG: Final = 0x20
ECE: Final = 0x40
CWR: Final = 0x80


class TcpOptions(Record):
    """The TCP options replay cares about; ``raw`` keeps the option bytes as captured."""

    __slots__ = ("mss", "wscale", "sack_permitted", "timestamp", "raw")
    FIELDS = ("mss", "wscale", "sack_permitted", "timestamp", "raw")

    def __init__(self, mss: int | None = None, wscale: int | None = None, sack_permitted: bool = False,
                 timestamp: tuple[int, int] | None = None, raw: bytes = b"") -> None:
        self.mss: Final = mss
        self.wscale: Final = wscale
        self.sack_permitted: Final = sack_permitted
        self.timestamp: Final = timestamp  # (TSval, TSecr)
        self.raw: Final = raw


NO_OPTIONS: Final = TcpOptions()


class Segment(Record):
    """One TCP segment as captured (client side) or as built for sending."""

    __slots__ = ("src", "dst", "sport", "dport", "seq", "ack", "flags", "window", "options", "payload",
                 "ip_id", "ttl")
    FIELDS = ("src", "dst", "sport", "dport", "seq", "ack", "flags", "window", "options", "payload",
              "ip_id", "ttl")

    def __init__(self, src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int,
                 window: int, options: TcpOptions = NO_OPTIONS, payload: bytes = b"", ip_id: int = 0,
                 ttl: int = 64) -> None:
        self.src: Final = src
        self.dst: Final = dst
        self.sport: Final = sport
        self.dport: Final = dport
        self.seq: Final = seq
        self.ack: Final = ack
        self.flags: Final = flags
        self.window: Final = window
        self.options: Final = options
        self.payload: Final = payload
        self.ip_id: Final = ip_id
        self.ttl: Final = ttl

    @property
    def seq_space(self) -> int:
        """Sequence numbers this segment occupies (payload, plus one each for SYN and FIN)."""
        return len(self.payload) + (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)


class ResponseSummary(Record):
    """What intercept tells copy about one response from the target: headers, no payload.

    ``src``/``sport`` are the target's, ``dst``/``dport`` the (rewritten) client's.
    """

    __slots__ = ("src", "dst", "sport", "dport", "seq", "ack", "flags", "window", "payload_len", "options")
    FIELDS = ("src", "dst", "sport", "dport", "seq", "ack", "flags", "window", "payload_len", "options")

    def __init__(self, src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int,
                 window: int, payload_len: int, options: TcpOptions = NO_OPTIONS) -> None:
        self.src: Final = src
        self.dst: Final = dst
        self.sport: Final = sport
        self.dport: Final = dport
        self.seq: Final = seq
        self.ack: Final = ack
        self.flags: Final = flags
        self.window: Final = window
        self.payload_len: Final = payload_len
        self.options: Final = options
