"""Shared vocabulary of the core: a parsed TCP segment and a response header summary.

Addresses are packed bytes (4 for IPv4, 16 for IPv6) so every layer stays family-neutral and
keys hash fast. Sequence numbers are plain ints in [0, 2**32); compare them with
``pyreplay.packet.seqnum`` helpers, never with ``<``. ``new_segment``/``new_summary``/
``new_options`` build the same objects positionally, faster, for the per-packet paths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


def _positional_constructor(cls: type) -> Callable[..., Any]:
    """A positional constructor for a frozen slotted dataclass that skips its ``__init__``.

    The frozen ``__init__`` goes through ``object.__setattr__`` per field; setting the slots
    through their descriptors builds an equal object about twice as fast, which matters for the
    objects made per packet. Every field must be passed, in declaration order; no validation.
    """
    names = getattr(cls, "__slots__", None)
    if names is None:  # compiled by mypyc: the class's own constructor is already native
        return cls
    setters = {f"_set_{name}": cls.__dict__[name].__set__ for name in names}
    args = ", ".join(names)
    body = "".join(f"    _set_{name}(obj, {name})\n" for name in names)
    source = f"def build({args}):\n    obj = _new(_cls)\n{body}    return obj\n"
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls, **setters}
    exec(source, scope)  # noqa: S102 - generated from the class's own slot names
    build = scope["build"]
    build.__doc__ = f"{cls.__name__}({args}) without the frozen __init__."
    return build


new_segment = _positional_constructor(Segment)
new_summary = _positional_constructor(ResponseSummary)
new_options = _positional_constructor(TcpOptions)
