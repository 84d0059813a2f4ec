"""Playbook helper for session-engine tests: feed one event, get the commands in a short form.

``Playbook`` owns a ``Session`` and a clock. ``client``/``target``/``tick`` feed one event at a
time and return the commands; ``brief`` turns commands into tuples that read like a trace:
("SYN", seq, ack, payload) style, so a test can assert the exact sequence.
"""

from __future__ import annotations

from pyreplay.packet.segment import (
    ACK, FIN, NO_OPTIONS, PSH, RST, SYN, ResponseSummary, Segment, TcpOptions,
)
from pyreplay.session.commands import Finished, Register, Send, Unregister
from pyreplay.session.config import SessionConfig
from pyreplay.session.events import ClientSegment, Shutdown, TargetResponse, Tick
from pyreplay.session.session import Session

REAL_CLIENT = (bytes([192, 168, 1, 10]), 40000)  # as captured
ONLINE = (bytes([10, 0, 0, 2]), 80)
CLIENT = (bytes([10, 9, 8, 1]), 40000)  # rewritten identity
TARGET = (bytes([10, 0, 0, 99]), 8080)

CISN = 0xFFFFFF00  # client ISN near 2**32: data wraps past zero
TISN = 0xFFFFFFF0  # target ISN near 2**32
OISN = 5000  # online server ISN (only visible through the client's ACK numbers)


def cseg(seq, ack=0, flags=None, payload=b"", window=29200, options=NO_OPTIONS, ip_id=100):
    """A captured client packet (flags default: PSH|ACK with payload, else ACK)."""
    if flags is None:
        flags = PSH | ACK if payload else ACK
    return Segment(
        src=REAL_CLIENT[0], dst=ONLINE[0], sport=REAL_CLIENT[1], dport=ONLINE[1],
        seq=seq % 2**32, ack=ack % 2**32, flags=flags, window=window, options=options,
        payload=payload, ip_id=ip_id,
    )


def resp(seq, ack, flags=ACK, payload_len=0, window=65535, options=NO_OPTIONS):
    """A target response summary, as intercept would report it."""
    return ResponseSummary(
        src=TARGET[0], dst=CLIENT[0], sport=TARGET[1], dport=CLIENT[1],
        seq=seq % 2**32, ack=ack % 2**32, flags=flags, window=window,
        payload_len=payload_len, options=options,
    )


def s(n):
    return n % 2**32


_FLAG_NAMES = ((SYN, "SYN"), (FIN, "FIN"), (RST, "RST"), (PSH, "PSH"), (ACK, "ACK"))


def flag_name(flags):
    return "|".join(name for bit, name in _FLAG_NAMES if flags & bit) or "-"


def brief(commands):
    """Commands as short tuples: ("SYN", seq), ("ACK", seq, ack), ("PSH|ACK", seq, ack, data)."""
    out = []
    for c in commands:
        if isinstance(c, Send):
            seg = c.segment
            item = (flag_name(seg.flags), seg.seq)
            if seg.flags & ACK:
                item += (seg.ack,)
            if seg.payload:
                item += (seg.payload,)
            out.append(item)
        elif isinstance(c, Register):
            out.append(("register",))
        elif isinstance(c, Unregister):
            out.append(("unregister",))
        elif isinstance(c, Finished):
            out.append(("finished", str(c.outcome)))
        else:  # pragma: no cover
            raise AssertionError(f"unknown command {c!r}")
    return out


def sent(commands):
    return [c.segment for c in commands if isinstance(c, Send)]


class Playbook:
    def __init__(self, config: SessionConfig | None = None, **overrides):
        self.config = config or SessionConfig(**overrides)
        self.session = Session(self.config, CLIENT, TARGET)
        self.now = 0.0
        self.log: list = []

    def _at(self, at):
        if at is not None:
            assert at >= self.now, "time only moves forward"
            self.now = at

    def client(self, segment, at=None):
        self._at(at)
        return self._record(self.session.handle(ClientSegment(segment), now=self.now))

    def target(self, summary, at=None):
        self._at(at)
        return self._record(self.session.handle(TargetResponse(summary), now=self.now))

    def tick(self, at):
        self._at(at)
        return self._record(self.session.handle(Tick(), now=self.now))

    def shutdown(self, at=None):
        self._at(at)
        return self._record(self.session.handle(Shutdown(), now=self.now))

    def advance_to_deadline(self):
        """Tick exactly at the session's next deadline."""
        deadline = self.session.next_deadline()
        assert deadline is not None, "no deadline armed"
        return self.tick(max(deadline, self.now))

    def _record(self, commands):
        self.log.extend(commands)
        deadlines = self.session._deadlines()
        assert self.session.next_deadline() == min(deadlines.values(), default=None), deadlines
        return commands

    # common openings -------------------------------------------------------

    def open_with_syn(self, *, syn_options=NO_OPTIONS, synack_options=NO_OPTIONS, rtt=0.01,
                      synack_window=65535):
        """Captured SYN + handshake ACK, target SYN-ACK after ``rtt``; returns the commands."""
        out = self.client(cseg(CISN, flags=SYN, options=syn_options, window=64240))
        out += self.client(cseg(CISN + 1, OISN + 1, options=syn_options))
        out += self.target(
            resp(TISN, CISN + 1, flags=SYN | ACK, window=synack_window, options=synack_options),
            at=self.now + rtt,
        )
        return out

    def respond(self, seq_offset, length, ack, at=None, flags=ACK, window=65535):
        """Target response data: ``length`` bytes starting at TISN+1+seq_offset."""
        return self.target(
            resp(TISN + 1 + seq_offset, ack, flags=flags, payload_len=length, window=window), at=at
        )

    def respond_on(self, isn, seq_offset, length, ack):
        """Response data on a later connection (target ISN ``isn``), 5 ms from now."""
        return self.target(resp(isn + 1 + seq_offset, ack, payload_len=length), at=self.now + 0.005)


__all__ = [
    "ACK", "FIN", "PSH", "RST", "SYN", "TcpOptions", "CLIENT", "TARGET", "CISN", "TISN", "OISN",
    "Playbook", "brief", "cseg", "resp", "s", "sent",
]
