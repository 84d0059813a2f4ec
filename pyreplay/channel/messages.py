"""Messages of pyreplay's channel between copy/burn processes and intercept.

Contract: plain frozen data, valid by construction (fields are checked in ``__post_init__`` and a
bad value raises ``ValueError``/``TypeError``), no I/O and no wire format (``codec`` owns that).

Directions: copy/burn -> intercept send ``Hello``, ``Register``, ``Unregister``, ``Bye``;
intercept -> copy/burn sends ``Hello``, ``Responses``, ``Bye``. Every connection starts with a
``Hello`` from each side. ``Register`` goes out before a session's SYN (to every intercept the
process uses) and ``Unregister`` when the session ends.

Versioning: ``CHANNEL_VERSION`` is ``major << 8 | minor``. Peers must share the major version.
A minor bump may add message kinds, sent only to a peer whose Hello shows it knows them; it never
changes the layout of an existing message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from pyreplay.packet.segment import ResponseSummary

VERSION_MAJOR = 1
VERSION_MINOR = 0
CHANNEL_VERSION = VERSION_MAJOR << 8 | VERSION_MINOR

DEFAULT_CHANNEL_PORT = 36524  # the C intercept's default, which users know

ROLES = frozenset({"copy", "burn", "intercept"})
MAX_NAME_LEN = 255
MAX_REASON_LEN = 1024

RouteKey = tuple[bytes, int, bytes, int]
"""(client_addr, client_port, target_addr, target_port) of one replayed connection."""


def version_major(version: int) -> int:
    return version >> 8


def format_version(version: int) -> str:
    return f"{version >> 8}.{version & 0xFF}"


def _check_int(name: str, value: object, limit: int) -> None:
    if type(value) is not int:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value <= limit:
        raise ValueError(f"{name} {value} out of range 0..{limit}")


def _check_str(name: str, value: object, limit: int) -> None:
    if type(value) is not str:
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if len(value) > limit:
        raise ValueError(f"{name} longer than {limit} characters")


def _check_endpoints(client_addr: object, client_port: object, target_addr: object,
                     target_port: object) -> None:
    for name, addr in (("client_addr", client_addr), ("target_addr", target_addr)):
        if type(addr) is not bytes:
            raise TypeError(f"{name} must be packed bytes, not {type(addr).__name__}")
        if len(addr) not in (4, 16):
            raise ValueError(f"{name} has {len(addr)} bytes, want 4 (IPv4) or 16 (IPv6)")
    if len(client_addr) != len(target_addr):  # type: ignore[arg-type]
        raise ValueError("client_addr and target_addr are of different address families")
    _check_int("client_port", client_port, 0xFFFF)
    _check_int("target_port", target_port, 0xFFFF)


@dataclass(frozen=True, slots=True)
class Hello:
    """First message on every connection, from both sides."""

    version: int
    role: str  # one of ROLES
    name: str  # free text for logs: host, pid, instance name

    def __post_init__(self) -> None:
        _check_int("version", self.version, 0xFFFF)
        _check_str("role", self.role, MAX_NAME_LEN)
        if self.role not in ROLES:
            raise ValueError(f"role {self.role!r} is not one of {sorted(ROLES)}")
        _check_str("name", self.name, MAX_NAME_LEN)


class _RouteMessage:
    """Fields check and route key shared by Register and Unregister (which stay distinct types)."""

    __slots__ = ()
    client_addr: bytes
    client_port: int
    target_addr: bytes
    target_port: int

    def __post_init__(self) -> None:
        _check_endpoints(self.client_addr, self.client_port, self.target_addr, self.target_port)

    @property
    def key(self) -> RouteKey:
        return (self.client_addr, self.client_port, self.target_addr, self.target_port)


@dataclass(frozen=True, slots=True)
class Register(_RouteMessage):
    """Responses for this connection (as the target sees it) belong to the sender."""

    client_addr: bytes
    client_port: int
    target_addr: bytes
    target_port: int


@dataclass(frozen=True, slots=True)
class Unregister(_RouteMessage):
    """The sender's session on this connection ended; forget its route."""

    client_addr: bytes
    client_port: int
    target_addr: bytes
    target_port: int


@dataclass(frozen=True, slots=True)
class Responses:
    """A batch of response header summaries, in capture order.

    Items are checked when encoded, not here: this is the hot path and the decoder's record
    layout already bounds every field.
    """

    items: tuple[ResponseSummary, ...]

    def __post_init__(self) -> None:
        if type(self.items) is not tuple:
            raise TypeError(f"items must be a tuple, not {type(self.items).__name__}")


@dataclass(frozen=True, slots=True)
class Bye:
    """Orderly close, with a reason for the peer's log (shutdown, version mismatch...)."""

    reason: str = ""

    def __post_init__(self) -> None:
        _check_str("reason", self.reason, MAX_REASON_LEN)


Message = Union[Hello, Register, Unregister, Responses, Bye]

FROM_CLIENT: frozenset[type] = frozenset({Hello, Register, Unregister, Bye})
"""What intercept accepts from a copy/burn connection."""
FROM_INTERCEPT: frozenset[type] = frozenset({Hello, Responses, Bye})
"""What copy/burn accepts from an intercept connection."""
