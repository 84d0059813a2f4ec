"""Shared vocabulary of the core: a parsed TCP segment and a response header summary.

Addresses are packed bytes (4 for IPv4, 16 for IPv6) so every layer stays family-neutral and
keys hash fast. Sequence numbers are plain ints in [0, 2**32); compare them with
``pyreplay.packet.seqnum`` helpers, never with ``<``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20
ECE = 0x40
CWR = 0x80


@dataclass(frozen=True, slots=True)
class TcpOptions:
    """The TCP options replay cares about; ``raw`` keeps the option bytes as captured."""

    mss: int | None = None
    wscale: int | None = None
    sack_permitted: bool = False
    timestamp: tuple[int, int] | None = None  # (TSval, TSecr)
    raw: bytes = b""


NO_OPTIONS = TcpOptions()


@dataclass(frozen=True, slots=True)
class Segment:
    """One TCP segment as captured (client side) or as built for sending."""

    src: bytes
    dst: bytes
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    options: TcpOptions = NO_OPTIONS
    payload: bytes = b""
    ip_id: int = 0
    ttl: int = 64

    @property
    def seq_space(self) -> int:
        """Sequence numbers this segment occupies (payload, plus one each for SYN and FIN)."""
        return len(self.payload) + (1 if self.flags & SYN else 0) + (1 if self.flags & FIN else 0)


@dataclass(frozen=True, slots=True)
class ResponseSummary:
    """What intercept tells copy about one response from the target: headers, no payload.

    ``src``/``sport`` are the target's, ``dst``/``dport`` the (rewritten) client's.
    """

    src: bytes
    dst: bytes
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    payload_len: int
    options: TcpOptions = field(default=NO_OPTIONS)
