"""Events the session engine consumes (frozen, slotted; no behaviour).

Contract: the runtime (or the session table) turns every input into exactly one of these and
passes it to ``Session.handle(event, now=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyreplay.packet.segment import ResponseSummary, Segment


@dataclass(frozen=True, slots=True)
class ClientSegment:
    """A captured client packet already matched to this session; addresses as captured."""

    segment: Segment


@dataclass(frozen=True, slots=True)
class TargetResponse:
    """The header summary of one packet the target sent to our rewritten client identity."""

    summary: ResponseSummary


@dataclass(frozen=True, slots=True)
class Tick:
    """A deadline returned by ``next_deadline()`` was reached (early ticks are harmless)."""


@dataclass(frozen=True, slots=True)
class Shutdown:
    """The tool is exiting: end the session now, resetting the target connection if open."""


@dataclass(frozen=True, slots=True)
class Superseded:
    """A new connection (new SYN, other ISN) reuses this session's key: end this one now."""


Event = ClientSegment | TargetResponse | Tick | Shutdown | Superseded
