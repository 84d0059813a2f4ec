"""Binary record layout of ``Responses`` items: the channel's hot path.

Contract: ``pack_runs(items)`` turns summaries into runs ``[addr_len, records, raw_options]``
(one run per stretch of same-family summaries, so order is kept); ``unpack_runs(runs)`` turns
them back, raising only ``ChannelError``. A malformed summary given to ``pack_runs`` is our own
misuse and raises ``ValueError``.

One record, network order, fixed size (40 bytes for IPv4, 64 for IPv6)::

    src(4|16) dst(4|16) sport:u16 dport:u16 seq:u32 ack:u32 flags:u8 window:u16
    payload_len:u32 opt_bits:u8 mss:u16 wscale:u8 tsval:u32 tsecr:u32 raw_len:u8

``opt_bits`` says which of mss (1), wscale (2), sack_permitted (4), timestamp (8) are present;
absent fields are zero. The ``raw_len`` bytes of captured option bytes of each record follow one
another in the run's ``raw_options`` blob. Fixed widths bound every value, so decoding needs
no per-field range checks; ``struct.iter_unpack`` does the parsing in C.
"""

from __future__ import annotations

import struct
from typing import Any, Final, Iterable

from pyreplay.channel.errors import ChannelError
from pyreplay.packet.segment import NO_OPTIONS, ResponseSummary, TcpOptions

OPT_MSS: Final = 0x01
OPT_WSCALE: Final = 0x02
OPT_SACK: Final = 0x04
OPT_TIMESTAMP: Final = 0x08
_OPT_ALL: Final = OPT_MSS | OPT_WSCALE | OPT_SACK | OPT_TIMESTAMP
MAX_RAW_OPTIONS: Final = 40  # TCP's option space

RECORDS: Final = {n: struct.Struct(f"!{n}s{n}sHHIIBHIBHBIIB") for n in (4, 16)}
MAX_RECORD_BYTES: Final = RECORDS[16].size + MAX_RAW_OPTIONS


def _pack_one(record: struct.Struct, s: ResponseSummary, raws: list[bytes]) -> bytes:
    opts = s.options
    bits = 0
    mss = wscale = tsval = tsecr = 0
    if opts.mss is not None:
        bits |= OPT_MSS
        mss = opts.mss
    if opts.wscale is not None:
        bits |= OPT_WSCALE
        wscale = opts.wscale
    if opts.sack_permitted:
        bits |= OPT_SACK
    if opts.timestamp is not None:
        bits |= OPT_TIMESTAMP
        tsval, tsecr = opts.timestamp
    raw = opts.raw
    if type(raw) is not bytes or len(raw) > MAX_RAW_OPTIONS:
        raise ValueError(f"options.raw must be at most {MAX_RAW_OPTIONS} bytes")
    if type(s.dst) is not bytes or len(s.dst) != len(s.src):
        raise ValueError("summary src and dst are of different address families")
    try:
        packed = record.pack(s.src, s.dst, s.sport, s.dport, s.seq, s.ack, s.flags, s.window,
                             s.payload_len, bits, mss, wscale, tsval, tsecr, len(raw))
    except struct.error as exc:
        raise ValueError(f"summary field out of range: {exc}: {s!r}") from None
    if raw:
        raws.append(raw)
    return packed


class RunBuilder:
    """Packs summaries one at a time; a bad one raises ``ValueError`` and is not kept."""

    __slots__ = ("_runs", "_addr_len", "_records", "_raws", "count")

    def __init__(self) -> None:
        self._runs: list[list[Any]] = []
        self._addr_len = -1
        self._records: list[bytes] = []
        self._raws: list[bytes] = []
        self.count = 0

    def add(self, s: ResponseSummary) -> None:
        if type(s) is not ResponseSummary:
            raise TypeError(f"Responses items must be ResponseSummary, not {type(s).__name__}")
        n = len(s.src) if type(s.src) is bytes else -1
        if n not in RECORDS:
            raise ValueError(f"summary src has {n} bytes, want 4 or 16")
        if n != self._addr_len and self._records:
            raws: list[bytes] = []
            record = _pack_one(RECORDS[n], s, raws)
            self._close_run()
            self._raws = raws
        else:
            record = _pack_one(RECORDS[n], s, self._raws)
        self._addr_len = n
        self._records.append(record)
        self.count += 1

    def _close_run(self) -> None:
        self._runs.append([self._addr_len, b"".join(self._records), b"".join(self._raws)])
        self._records, self._raws = [], []

    def build(self) -> list[list[Any]]:
        """The runs so far; the builder is then empty again."""
        if self._records:
            self._close_run()
        runs, self._runs, self._addr_len, self.count = self._runs, [], -1, 0
        return runs


def pack_runs(items: Iterable[ResponseSummary]) -> list[list[Any]]:
    builder = RunBuilder()
    for s in items:
        builder.add(s)
    return builder.build()


def _options(bits: int, mss: int, wscale: int, tsval: int, tsecr: int, raw: bytes) -> TcpOptions:
    if bits & ~_OPT_ALL:
        raise ChannelError(f"unknown option bits {bits:#x} in a response record")
    if (not bits & OPT_MSS and mss) or (not bits & OPT_WSCALE and wscale) or (
            not bits & OPT_TIMESTAMP and (tsval or tsecr)):
        raise ChannelError("response record has a value for an absent option")
    return TcpOptions(
        mss if bits & OPT_MSS else None,
        wscale if bits & OPT_WSCALE else None,
        bool(bits & OPT_SACK),
        (tsval, tsecr) if bits & OPT_TIMESTAMP else None,
        raw,
    )


def unpack_runs(runs: Any) -> list[ResponseSummary]:
    if type(runs) is not list:
        raise ChannelError("Responses body is not a list of runs")
    out: list[ResponseSummary] = []
    append = out.append
    for run in runs:
        if type(run) is not list or len(run) != 3:
            raise ChannelError("a Responses run is not [addr_len, records, raw_options]")
        addr_len, blob, raws = run
        record = RECORDS.get(addr_len) if type(addr_len) is int else None
        if record is None:
            raise ChannelError(f"a Responses run has address length {addr_len!r}, want 4 or 16")
        if type(blob) is not bytes or type(raws) is not bytes:
            raise ChannelError("a Responses run's records and raw options must be bin")
        if len(blob) % record.size:
            raise ChannelError(
                f"Responses records of {len(blob)} bytes are not a multiple of {record.size}")
        pos = 0
        for (src, dst, sport, dport, seq, ack, flags, window, plen,
             bits, mss, wscale, tsval, tsecr, raw_len) in record.iter_unpack(blob):
            if not (bits or raw_len or mss or wscale or tsval or tsecr):
                opts = NO_OPTIONS
            elif bits == OPT_TIMESTAMP and not (mss or wscale) and (raw_len == 0 or raw_len == 12):
                # most data segments: timestamps only, with or without their captured bytes
                if raw_len:
                    if pos + 12 > len(raws):
                        raise ChannelError("response record's raw options overrun the run")
                    opts = TcpOptions(None, None, False, (tsval, tsecr), raws[pos:pos + 12])
                    pos += 12
                else:
                    opts = TcpOptions(None, None, False, (tsval, tsecr), b"")
            else:
                if raw_len > MAX_RAW_OPTIONS or pos + raw_len > len(raws):
                    raise ChannelError("response record's raw options overrun the run")
                opts = _options(bits, mss, wscale, tsval, tsecr, raws[pos:pos + raw_len])
                pos += raw_len
            append(ResponseSummary(src, dst, sport, dport, seq, ack, flags, window, plen, opts))
        if pos != len(raws):
            raise ChannelError(f"{len(raws) - pos} unclaimed raw option bytes in a Responses run")
    return out
