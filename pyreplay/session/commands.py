"""Commands the session engine returns (frozen, slotted; no behaviour).

Contract: the runtime executes them in list order. ``Send`` segments are final except for
checksums and MTU splitting (the emitter's job). ``Register`` always precedes the SYN it
announces. ``Finished`` is the last command a session ever returns.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pyreplay.packet.record import Record
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


class Send(Record):
    """Send this segment to the target (addresses already rewritten: client identity -> target)."""

    __slots__ = ("segment",)
    FIELDS = ("segment",)

    def __init__(self, segment: Segment) -> None:
        self.segment: Final = segment


class Register(Record):
    """Tell the intercept(s) to route the target's packets for ``client`` (from ``target``) to us."""

    __slots__ = ("client", "target")
    FIELDS = ("client", "target")

    def __init__(self, client: Endpoint, target: Endpoint) -> None:
        self.client: Final = client
        self.target: Final = target


class Unregister(Record):
    """The session no longer needs the target's packets for ``client``."""

    __slots__ = ("client", "target")
    FIELDS = ("client", "target")

    def __init__(self, client: Endpoint, target: Endpoint) -> None:
        self.client: Final = client
        self.target: Final = target


class Finished(Record):
    """The session ended; ``reason`` is one human-readable line."""

    __slots__ = ("outcome", "reason", "client", "target")
    FIELDS = ("outcome", "reason", "client", "target")

    def __init__(self, outcome: Outcome, reason: str, client: Endpoint | None = None,
                 target: Endpoint | None = None) -> None:
        self.outcome: Final = outcome
        self.reason: Final = reason
        self.client: Final = client
        self.target: Final = target


Command = Send | Register | Unregister | Finished
