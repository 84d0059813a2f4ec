"""TCP options: parse the ones replay needs, encode Linux's layouts, rewrite timestamps in place.

``parse_tcp_options`` reads MSS (kind 2), window scale (3), SACK-permitted (4) and timestamps (8),
skips NOP, stops at EOL and steps over unknown kinds by their length; it keeps the raw bytes.
``encode_tcp_options`` writes the layouts Linux's ``tcp_options_write`` emits, each block a whole
32-bit word: MSS; SACK-permitted+TS or NOP,NOP,TS; NOP,NOP,SACK-permitted; NOP,WS.
``replace_timestamp`` rewrites TSval/TSecr inside captured option bytes and keeps the rest.
"""

from __future__ import annotations

import struct
from typing import Final

from pyreplay.packet.errors import PacketError
from pyreplay.packet.segment import TcpOptions

EOL: Final = 0
NOP: Final = 1
MSS: Final = 2
WSCALE: Final = 3
SACK_PERMITTED: Final = 4
TIMESTAMP: Final = 8

MAX_OPTIONS_LENGTH: Final = 40

_EXPECTED_LENGTH: Final = {MSS: 4, WSCALE: 3, SACK_PERMITTED: 2, TIMESTAMP: 10}
_TIMESTAMP_VALUES: Final = struct.Struct("!II")
_NOP_NOP_TIMESTAMP: Final = bytes((NOP, NOP, TIMESTAMP, 10))


def _walk(raw: bytes, strict: bool):
    """Yield (kind, offset) of each option with a length byte; raise or stop on a malformed one."""
    end = len(raw)
    i = 0
    while i < end:
        kind = raw[i]
        if kind == EOL:
            return
        if kind == NOP:
            i += 1
            continue
        if i + 1 >= end:
            if strict:
                raise PacketError(f"TCP option kind {kind} at offset {i} has no length byte")
            return
        length = raw[i + 1]
        expected = _EXPECTED_LENGTH.get(kind)
        if length < 2 or i + length > end or (expected is not None and length != expected):
            if strict:
                raise PacketError(f"TCP option kind {kind} at offset {i} has bad length {length}")
            return
        yield kind, i
        i += length


def parse_tcp_options(raw: bytes | memoryview, *, strict: bool = True) -> TcpOptions:
    """Parse TCP option bytes.

    A malformed length raises ``PacketError``; with ``strict=False`` parsing stops there instead
    and keeps what was read before, as Linux and tcpcopy do with a segment they still accept.
    """
    raw = bytes(raw)
    if len(raw) == 12 and raw.startswith(_NOP_NOP_TIMESTAMP):
        # The layout of nearly every segment after the handshake.
        return TcpOptions(timestamp=_TIMESTAMP_VALUES.unpack_from(raw, 4), raw=raw)
    mss = wscale = timestamp = None
    sack_permitted = False
    for kind, i in _walk(raw, strict):
        if kind == MSS:
            mss = (raw[i + 2] << 8) | raw[i + 3]
        elif kind == WSCALE:
            wscale = raw[i + 2]
        elif kind == SACK_PERMITTED:
            sack_permitted = True
        elif kind == TIMESTAMP:
            timestamp = _TIMESTAMP_VALUES.unpack_from(raw, i + 2)
    return TcpOptions(mss=mss, wscale=wscale, sack_permitted=sack_permitted, timestamp=timestamp, raw=raw)


def _check_range(name: str, value: int, bits: int) -> None:
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{name} out of range for {bits} bits: {value}")


def encode_tcp_options(
    mss: int | None = None,
    wscale: int | None = None,
    sack_permitted: bool = False,
    timestamp: tuple[int, int] | None = None,
) -> bytes:
    """Option bytes in Linux's order and padding; already a multiple of 4 bytes."""
    parts = []
    if mss is not None:
        _check_range("mss", mss, 16)
        parts.append(struct.pack("!BBH", MSS, 4, mss))
    if timestamp is not None:
        tsval, tsecr = timestamp
        _check_range("TSval", tsval, 32)
        _check_range("TSecr", tsecr, 32)
        lead = bytes((SACK_PERMITTED, 2)) if sack_permitted else bytes((NOP, NOP))
        parts.append(lead + struct.pack("!BBII", TIMESTAMP, 10, tsval, tsecr))
    elif sack_permitted:
        parts.append(bytes((NOP, NOP, SACK_PERMITTED, 2)))
    if wscale is not None:
        _check_range("wscale", wscale, 8)
        parts.append(bytes((NOP, WSCALE, 3, wscale)))
    return b"".join(parts)


def encode_options(options: TcpOptions) -> bytes:
    """``encode_tcp_options`` of the parsed fields of ``options`` (``raw`` is ignored)."""
    return encode_tcp_options(options.mss, options.wscale, options.sack_permitted, options.timestamp)


def find_timestamp_offset(raw: bytes) -> int | None:
    """Offset of the timestamp option's kind byte in ``raw``, or None if it has none."""
    for kind, i in _walk(raw, strict=False):
        if kind == TIMESTAMP:
            return i
    return None


def replace_timestamp(raw: bytes, tsval: int, tsecr: int) -> bytes:
    """``raw`` with the timestamp option's TSval/TSecr replaced, every other byte kept.

    Raises ``PacketError`` when ``raw`` carries no well-formed timestamp option.
    """
    _check_range("TSval", tsval, 32)
    _check_range("TSecr", tsecr, 32)
    offset = find_timestamp_offset(raw)
    if offset is None:
        raise PacketError("TCP options carry no timestamp to replace")
    return raw[: offset + 2] + _TIMESTAMP_VALUES.pack(tsval, tsecr) + raw[offset + 10 :]


def with_timestamp(options: TcpOptions, tsval: int, tsecr: int) -> TcpOptions:
    """``options`` with new timestamp values, in ``raw`` too when it holds captured bytes."""
    raw = replace_timestamp(options.raw, tsval, tsecr) if options.raw else b""
    return TcpOptions(
        mss=options.mss,
        wscale=options.wscale,
        sack_permitted=options.sack_permitted,
        timestamp=(tsval, tsecr),
        raw=raw,
    )
