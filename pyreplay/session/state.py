"""The session phase and the one transition table of the replay engine.

Contract: ``Phase`` is the whole lifecycle of one replayed connection as seen from the replaying
client; ``advance(phase, trigger)`` returns the next phase or raises ``InvalidTransition`` (a bug
in the engine, never a reaction to odd traffic). Orthogonal facts (captured FIN seen, client RST
pending, fake handshake) live as fields on the session; the phase lives only here.
"""

from __future__ import annotations

from enum import Enum
from typing import Final


class Phase(Enum):
    # Members are singletons compared by identity: hash them in C (Enum's own __hash__ is
    # Python code, and phases are hashed on every transition and set test).
    __hash__ = object.__hash__

    NEW = "new"  # nothing sent yet
    SYN_SENT = "syn_sent"  # SYN (captured or faked) sent, waiting for the SYN-ACK
    ESTABLISHED = "established"  # connected, no response outstanding: a new request may go
    AWAITING_GREETING = "awaiting_greeting"  # server-first protocol: the target speaks first
    AWAITING_RESPONSE = "awaiting_response"  # a request went out; its response is not complete
    FIN_WAIT = "fin_wait"  # client FIN sent, target still open
    CLOSE_WAIT = "close_wait"  # target FIN acked, client not closed yet
    LAST_ACK = "last_ack"  # both FINs exchanged, waiting for the target to ack ours
    CLOSED = "closed"  # finished (terminal)


class Trigger(Enum):
    __hash__ = object.__hash__

    SEND_SYN = "send_syn"
    SYN_ACK = "syn_ack"
    WAIT_GREETING = "wait_greeting"
    GREETING = "greeting"
    REQUEST = "request"
    RESPONSE_DONE = "response_done"
    CLIENT_FIN = "client_fin"
    TARGET_FIN = "target_fin"
    RECONNECT = "reconnect"
    FINISH = "finish"


class InvalidTransition(Exception):
    """The engine asked for a transition the table does not allow (a bug, not bad traffic)."""


P, T = Phase, Trigger

TRANSITIONS: Final[dict[tuple[Phase, Trigger], Phase]] = {
    (P.NEW, T.SEND_SYN): P.SYN_SENT,
    (P.SYN_SENT, T.SYN_ACK): P.ESTABLISHED,
    (P.ESTABLISHED, T.WAIT_GREETING): P.AWAITING_GREETING,
    (P.AWAITING_GREETING, T.GREETING): P.ESTABLISHED,
    (P.ESTABLISHED, T.REQUEST): P.AWAITING_RESPONSE,
    (P.AWAITING_RESPONSE, T.REQUEST): P.AWAITING_RESPONSE,  # only with no_wait (-W)
    (P.AWAITING_RESPONSE, T.RESPONSE_DONE): P.ESTABLISHED,
    (P.ESTABLISHED, T.CLIENT_FIN): P.FIN_WAIT,
    (P.AWAITING_RESPONSE, T.CLIENT_FIN): P.FIN_WAIT,  # half-close: target answers after EOF
    (P.CLOSE_WAIT, T.CLIENT_FIN): P.LAST_ACK,
    (P.ESTABLISHED, T.TARGET_FIN): P.CLOSE_WAIT,
    (P.AWAITING_GREETING, T.TARGET_FIN): P.CLOSE_WAIT,
    (P.AWAITING_RESPONSE, T.TARGET_FIN): P.CLOSE_WAIT,
    (P.FIN_WAIT, T.TARGET_FIN): P.LAST_ACK,
    **{
        (phase, T.RECONNECT): P.SYN_SENT
        for phase in (P.ESTABLISHED, P.AWAITING_GREETING, P.AWAITING_RESPONSE, P.CLOSE_WAIT)
    },
    **{(phase, T.FINISH): P.CLOSED for phase in Phase if phase is not P.CLOSED},
}

CONNECTED: Final = frozenset(
    {P.ESTABLISHED, P.AWAITING_GREETING, P.AWAITING_RESPONSE, P.FIN_WAIT, P.CLOSE_WAIT, P.LAST_ACK}
)


def advance(phase: Phase, trigger: Trigger) -> Phase:
    try:
        return TRANSITIONS[(phase, trigger)]
    except KeyError:
        raise InvalidTransition(f"{trigger.value} is not allowed in phase {phase.value}") from None
