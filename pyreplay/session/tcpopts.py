"""Small TCP-option edits the engine needs, keeping ``TcpOptions.raw`` consistent with its fields.

Contract: functions return new ``TcpOptions``; when ``raw`` is non-empty it always agrees with
the parsed fields (a Timestamps option is patched in place, or appended if there is room).
Options built from scratch carry matching ``raw`` bytes. Malformed raw bytes are left alone.
"""

from __future__ import annotations

import struct
from typing import Final

from pyreplay.packet.segment import TcpOptions

_MAX_OPTION_BYTES: Final = 40
_TS_KIND, _TS_LEN = 8, 10
_NOP_NOP_TIMESTAMP: Final = b"\x01\x01\x08\x0a"
_TS_VALUES: Final = struct.Struct("!II")


def mss_only(mss: int) -> TcpOptions:
    return TcpOptions(mss=mss, raw=struct.pack("!BBH", 2, 4, mss))


def timestamp_only(tsval: int, tsecr: int) -> TcpOptions:
    return TcpOptions(None, None, False, (tsval, tsecr), _NOP_NOP_TIMESTAMP + _TS_VALUES.pack(tsval, tsecr))


def with_timestamp(options: TcpOptions, tsval: int, tsecr: int) -> TcpOptions:
    raw = options.raw
    if len(raw) == 12 and raw[:4] == _NOP_NOP_TIMESTAMP:  # nearly every segment after the handshake
        return TcpOptions(options.mss, options.wscale, options.sack_permitted, (tsval, tsecr),
                           _NOP_NOP_TIMESTAMP + _TS_VALUES.pack(tsval, tsecr))
    if raw:
        offset = _find_timestamp(raw)
        if offset is not None:
            raw = raw[: offset + 2] + struct.pack("!II", tsval, tsecr) + raw[offset + _TS_LEN :]
        elif len(raw) + 12 <= _MAX_OPTION_BYTES:
            raw = raw + _ts_block(tsval, tsecr)
    return options.replace(timestamp=(tsval, tsecr), raw=raw)


def _ts_block(tsval: int, tsecr: int) -> bytes:
    return b"\x01\x01" + struct.pack("!BBII", _TS_KIND, _TS_LEN, tsval, tsecr)


def _find_timestamp(raw: bytes) -> int | None:
    i = 0
    while i < len(raw):
        kind = raw[i]
        if kind == 0:
            return None
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(raw) or raw[i + 1] < 2:
            return None
        if kind == _TS_KIND and raw[i + 1] == _TS_LEN and i + _TS_LEN <= len(raw):
            return i
        i += raw[i + 1]
    return None
