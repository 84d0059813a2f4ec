"""Events the session engine consumes (immutable records; no behaviour).

Contract: the runtime (or the session table) turns every input into exactly one of these and
passes it to ``Session.handle(event, now=...)``.
"""

from __future__ import annotations

from typing import Final

from pyreplay.packet.record import Record
from pyreplay.packet.segment import ResponseSummary, Segment


class ClientSegment(Record):
    """A captured client packet already matched to this session; addresses as captured."""

    __slots__ = ("segment",)
    FIELDS = ("segment",)

    def __init__(self, segment: Segment) -> None:
        self.segment: Final = segment


class TargetResponse(Record):
    """The header summary of one packet the target sent to our rewritten client identity."""

    __slots__ = ("summary",)
    FIELDS = ("summary",)

    def __init__(self, summary: ResponseSummary) -> None:
        self.summary: Final = summary


class Tick(Record):
    """A deadline returned by ``next_deadline()`` was reached (early ticks are harmless)."""

    __slots__ = ()


class Shutdown(Record):
    """The tool is exiting: end the session now, resetting the target connection if open."""

    __slots__ = ()


class Superseded(Record):
    """A new connection (new SYN, other ISN) reuses this session's key: end this one now."""

    __slots__ = ()


Event = ClientSegment | TargetResponse | Tick | Shutdown | Superseded
