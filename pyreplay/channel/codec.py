"""Wire format of the channel: framing and message bodies.

Contract: ``encode(message) -> bytes`` gives one frame; ``FrameDecoder.feed(data)`` takes any
split of the received stream and returns the whole messages it completes. The decoder raises
only ``ChannelError`` (oversized or empty frame, undecodable body, wrong type or arity of a
field, unknown kind, first message not a ``Hello``, incompatible major version, a kind this
peer must not send); after that the decoder stays failed and the connection should be closed.

Frame: ``u32 big-endian body length`` + msgpack body. Every body is an array whose first element
is the kind; addresses are bin:

    Hello       [0, version, role, name]
    Register    [1, client_addr, client_port, target_addr, target_port]
    Unregister  [2, client_addr, client_port, target_addr, target_port]
    Responses   [3, [[addr_len, records, raw_options], ...]]   (layout in ``records``)
    Bye         [4, reason]

A Hello's version is read before anything else in it, so any future Hello layout still yields
the "peer speaks channel version X" error rather than a confusing arity error.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Final

import msgpack  # type: ignore[import-untyped]

from pyreplay.channel.errors import ChannelError
from pyreplay.channel.messages import (
    CHANNEL_VERSION,
    Bye,
    Hello,
    Message,
    Register,
    Responses,
    Unregister,
    format_version,
    version_major,
)
from pyreplay.channel.records import MAX_RECORD_BYTES, pack_runs, unpack_runs

KIND_HELLO, KIND_REGISTER, KIND_UNREGISTER, KIND_RESPONSES, KIND_BYE = range(5)

DEFAULT_MAX_FRAME: Final = 256 * 1024
FRAME_HEADER: Final = struct.Struct("!I")
RESPONSES_OVERHEAD: Final = 64  # msgpack array and bin headers around the records, generously

_KIND_NAMES: Final = {KIND_HELLO: "Hello", KIND_REGISTER: "Register", KIND_UNREGISTER: "Unregister",
               KIND_RESPONSES: "Responses", KIND_BYE: "Bye"}


def max_responses_per_frame(max_frame: int = DEFAULT_MAX_FRAME) -> int:
    """How many summaries always fit one frame, whatever their family and options."""
    return (max_frame - RESPONSES_OVERHEAD) // MAX_RECORD_BYTES


# One packer for the process: ``packb`` makes a new one per call, with a fresh 256 KiB buffer.
# ``pack`` returns the bytes and empties the buffer, also when it raises.
_PACKER: Final = msgpack.Packer(use_bin_type=True)


def _frame(body_items: list[Any]) -> bytes:
    body = _PACKER.pack(body_items)
    return FRAME_HEADER.pack(len(body)) + body


def encode_responses(runs: list[Any]) -> bytes:
    """A Responses frame from runs already packed (``records.RunBuilder``)."""
    return _frame([KIND_RESPONSES, runs])


def encode_route(register: bool, client: tuple[bytes, int], target: tuple[bytes, int]) -> bytes:
    """The Register (``register``) or Unregister frame of one route, from the session engine's
    endpoints: the bytes ``encode(Register(...))`` gives, without building the message (its
    field checks run as Python, twice per session; the engine's endpoints are valid by
    construction, and intercept checks what it decodes)."""
    return _frame([KIND_REGISTER if register else KIND_UNREGISTER, client[0], client[1], target[0], target[1]])


def encode(message: Message) -> bytes:
    """One frame for ``message``; a summary that cannot be encoded raises ``ValueError``."""
    if isinstance(message, Responses):
        return _frame([KIND_RESPONSES, pack_runs(message.items)])
    if isinstance(message, (Register, Unregister)):
        return _frame([KIND_REGISTER if isinstance(message, Register) else KIND_UNREGISTER,
                       message.client_addr, message.client_port,
                       message.target_addr, message.target_port])
    if isinstance(message, Hello):
        return _frame([KIND_HELLO, message.version, message.role, message.name])
    if isinstance(message, Bye):
        return _frame([KIND_BYE, message.reason])
    raise TypeError(f"not a channel message: {type(message).__name__}")


def _unpack(body: bytes) -> list[Any]:
    try:
        obj = msgpack.unpackb(body, raw=False, use_list=True, strict_map_key=True)
    except Exception as exc:  # msgpack raises several kinds; all mean "garbage"
        raise ChannelError(f"undecodable frame body ({type(exc).__name__}: {exc})") from None
    if type(obj) is not list or not obj or type(obj[0]) is not int:
        raise ChannelError("frame body is not [kind, ...]")
    return obj


def _check_version(obj: list[Any]) -> None:
    version = obj[1] if len(obj) > 1 else None
    if type(version) is not int or not 0 <= version <= 0xFFFF:
        raise ChannelError(f"Hello carries no valid version: {version!r}")
    if version_major(version) != version_major(CHANNEL_VERSION):
        raise ChannelError(f"peer speaks channel version {format_version(version)}, "
                           f"we speak {format_version(CHANNEL_VERSION)}")


def _build(name: str, cls: Callable[..., Message], args: list[Any]) -> Message:
    try:
        return cls(*args)
    except (TypeError, ValueError) as exc:
        raise ChannelError(f"bad {name}: {exc}") from None


def _decode_hello(obj: list[Any]) -> Message:
    _check_version(obj)
    if len(obj) != 4:
        raise ChannelError(f"Hello has {len(obj) - 1} fields, want 3")
    return _build("Hello", Hello, obj[1:])


def _decode_endpoints(name: str, cls: Callable[..., Message]) -> Callable[[list[Any]], Message]:
    def decode(obj: list[Any]) -> Message:
        if len(obj) != 5:
            raise ChannelError(f"{name} has {len(obj) - 1} fields, want 4")
        return _build(name, cls, obj[1:])
    return decode


def _decode_responses(obj: list[Any]) -> Message:
    if len(obj) != 2:
        raise ChannelError(f"Responses has {len(obj) - 1} fields, want 1")
    return Responses(tuple(unpack_runs(obj[1])))


def _decode_bye(obj: list[Any]) -> Message:
    if len(obj) != 2:
        raise ChannelError(f"Bye has {len(obj) - 1} fields, want 1")
    return _build("Bye", Bye, obj[1:])


_DECODERS: Final[dict[int, Callable[[list[Any]], Message]]] = {
    KIND_HELLO: _decode_hello,
    KIND_REGISTER: _decode_endpoints("Register", Register),
    KIND_UNREGISTER: _decode_endpoints("Unregister", Unregister),
    KIND_RESPONSES: _decode_responses,
    KIND_BYE: _decode_bye,
}


def decode_body(body: bytes) -> Message:
    """One frame body to its message, with no per-connection rules (those are FrameDecoder's)."""
    obj = _unpack(body)
    decoder = _DECODERS.get(obj[0])
    if decoder is None:
        raise ChannelError(f"unknown message kind {obj[0]}")
    return decoder(obj)


class FrameDecoder:
    """Per-connection stream decoder: Hello first, bounded frames, only accepted kinds."""

    __slots__ = ("_buf", "_max_frame", "_accepts", "_failed", "peer")

    def __init__(self, *, max_frame: int = DEFAULT_MAX_FRAME,
                 accepts: frozenset[type] | None = None) -> None:
        if max_frame < 1:
            raise ValueError("max_frame must be positive")
        self._buf = bytearray()
        self._max_frame = max_frame
        self._accepts = accepts
        self._failed: str | None = None
        self.peer: Hello | None = None  # the peer's Hello, once received

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a whole frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Message]:
        if self._failed is not None:
            raise ChannelError(f"channel already failed: {self._failed}")
        buf = self._buf
        buf += data
        out: list[Message] = []
        pos, end_of_data = 0, len(buf)
        try:
            while end_of_data - pos >= 4:
                (length,) = FRAME_HEADER.unpack_from(buf, pos)
                if length > self._max_frame:
                    raise self._garbage(
                        f"frame of {length} bytes exceeds the {self._max_frame} byte limit")
                if length == 0:
                    raise self._garbage("empty frame")
                end = pos + 4 + length
                if end > end_of_data:
                    break
                out.append(self._accept(bytes(buf[pos + 4:end])))
                pos = end
        except ChannelError as exc:
            self._failed = str(exc)
            self._buf = bytearray()
            raise
        del buf[:pos]
        return out

    def _garbage(self, reason: str) -> ChannelError:
        if self.peer is None:
            reason += (" before any Hello (is the peer a pyreplay channel? a C tcpcopy opens"
                       " with 14 mostly-zero bytes)")
        return ChannelError(reason)

    def _accept(self, body: bytes) -> Message:
        try:
            obj = _unpack(body)
        except ChannelError as exc:
            raise self._garbage(str(exc)) from None
        kind = obj[0]
        decoder = _DECODERS.get(kind)
        if decoder is None:
            raise self._garbage(f"unknown message kind {kind}")
        if self.peer is None and kind != KIND_HELLO:
            raise ChannelError(f"first message must be Hello, got {_KIND_NAMES[kind]}")
        if self.peer is not None and kind == KIND_HELLO:
            raise ChannelError("second Hello on one connection")
        message = decoder(obj)
        if self.peer is None:
            self.peer = message  # type: ignore[assignment]
        if self._accepts is not None and type(message) not in self._accepts:
            role = self.peer.role if self.peer is not None else "new"
            raise ChannelError(f"a {role} peer must not send {_KIND_NAMES[kind]}")
        return message
