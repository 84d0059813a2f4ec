"""Commands the session engine returns (frozen, slotted; no behaviour).

Contract: the runtime executes them in list order. ``Send`` segments are final except for
checksums and MTU splitting (the emitter's job). ``Register`` always precedes the SYN it
announces. ``Finished`` is the last command a session ever returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pyreplay.packet.segment import Segment

Endpoint = tuple[bytes, int]  # (packed address, port)


class Outcome(StrEnum):
    COMPLETE = "complete"  # both sides closed (or the client closed and all data was acked)
    CLIENT_RESET = "client_reset"  # the captured client reset the connection; forwarded
    TARGET_RESET = "target_reset"  # the target reset with nothing left to replay
    REFUSED = "refused"  # the target answered our SYN with RST
    TIMEOUT = "timeout"  # no answer from the target for session_timeout while waiting on it
    IDLE = "idle"  # keep-alive connection idle for keepalive_timeout
    HANDSHAKE_FAILED = "handshake_failed"
    RETRANSMIT_FAILED = "retransmit_failed"
    CAPTURE_GAP = "capture_gap"  # captured stream has a hole that never filled
    OVERFLOW = "overflow"  # per-session buffer bound exceeded
    RECONNECT_LIMIT = "reconnect_limit"
    SKIPPED = "skipped"  # not replayed by policy (-O without a captured SYN)
    SUPERSEDED = "superseded"  # a new connection reused the key
    SHUTDOWN = "shutdown"


@dataclass(frozen=True, slots=True)
class Send:
    """Send this segment to the target (addresses already rewritten: client identity -> target)."""

    segment: Segment


@dataclass(frozen=True, slots=True)
class Register:
    """Tell the intercept(s) to route the target's packets for ``client`` (from ``target``) to us."""

    client: Endpoint
    target: Endpoint


@dataclass(frozen=True, slots=True)
class Unregister:
    """The session no longer needs the target's packets for ``client``."""

    client: Endpoint
    target: Endpoint


@dataclass(frozen=True, slots=True)
class Finished:
    """The session ended; ``reason`` is one human-readable line."""

    outcome: Outcome
    reason: str
    client: Endpoint | None = None
    target: Endpoint | None = None


Command = Send | Register | Unregister | Finished
