"""Capture files in, IP packets out: read classic pcap and pcapng, write classic pcap.

``CaptureReader(fileobj)`` takes a binary file object (the caller opens it; ``open_capture(path)``
is the convenience that does) and yields ``PcapRecord(timestamp, packet)`` where ``packet`` is the
IPv4/IPv6 packet with the link layer removed (see ``linklayer``). The format is detected from the
first bytes.

Errors follow the house rule: a file whose header is not a capture header raises ``PcapError``
when the reader is built; everything after that is counted, never raised. ``reader.skipped`` maps
a reason to the number of records (or blocks) skipped for it, for the caller to print. A record
cut by the end of the file ends iteration and counts as ``REASON_EOF``; a record header that
cannot be real (caplen above ``MAX_CAPLEN``) ends iteration as ``REASON_CORRUPT``, because classic
pcap has no framing to resynchronise on.

``PcapWriter(fileobj)`` writes classic pcap (little-endian, micro- or nanosecond, snaplen 262144),
raw IP by default, readable by this reader, tcpdump and Wireshark.
"""

from __future__ import annotations

import io
import math
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from pyreplay.packet.linklayer import LINKTYPE_RAW, FrameSkipped, decoder_for

MAX_CAPLEN = 256 * 1024
SNAPLEN = 262144

REASON_TRUNCATED = "truncated (caplen < len)"
REASON_EOF = "truncated at end of file"
REASON_CORRUPT = "corrupt record header"
REASON_BAD_LENGTHS = "caplen > len"

PCAP_MAGIC_USEC = 0xA1B2C3D4
PCAP_MAGIC_NSEC = 0xA1B23C4D
PCAPNG_SHB_TYPE = 0x0A0D0D0A

_MAGICS = {
    PCAP_MAGIC_USEC.to_bytes(4, "little"): ("<", 1_000_000),
    PCAP_MAGIC_USEC.to_bytes(4, "big"): (">", 1_000_000),
    PCAP_MAGIC_NSEC.to_bytes(4, "little"): ("<", 1_000_000_000),
    PCAP_MAGIC_NSEC.to_bytes(4, "big"): (">", 1_000_000_000),
}
_FILE_HEADER_REST = {order: struct.Struct(order + "HHiIII") for order in "<>"}
_RECORD_HEADER = {order: struct.Struct(order + "IIII") for order in "<>"}


class PcapError(ValueError):
    """The file is not a capture file we can read (bad or truncated file header, unknown link)."""


@dataclass(frozen=True, slots=True)
class PcapRecord:
    """One captured packet: capture time in seconds since the epoch and the IP packet bytes."""

    timestamp: float
    packet: bytes


def read_exact(read: Callable[[int], bytes], n: int, data: bytes = b"") -> bytes:
    """Complete ``data`` to ``n`` bytes, looping over short reads; fewer only at end of file."""
    if not data:
        data = read(n)
    while len(data) < n:
        more = read(n - len(data))
        if not more:
            break
        data += more
    return data


class _ClassicPcap:
    """Records of a classic pcap file whose 24-byte header has been read."""

    def __init__(self, read: Callable[[int], bytes], header: bytes, skipped: dict[str, int]):
        order, self._divisor = _MAGICS[header[:4]]
        major, _minor, _zone, _sigfigs, _snaplen, linktype = _FILE_HEADER_REST[order].unpack(
            header[4:]
        )
        if major != 2:
            raise PcapError(f"unsupported pcap version {major}")
        decode = decoder_for(linktype)
        if decode is None:
            raise PcapError(f"unsupported link type {linktype & 0xFFFF} in pcap header")
        self._decode = decode
        self.link_types = (linktype & 0xFFFF,)
        self._read = read
        self._record_header = _RECORD_HEADER[order]
        self._skipped = skipped
        self.records_read = 0

    def _count(self, reason: str) -> None:
        self._skipped[reason] = self._skipped.get(reason, 0) + 1

    def records(self) -> Iterator[PcapRecord]:
        read = self._read
        unpack = self._record_header.unpack
        decode = self._decode
        divisor = self._divisor
        while True:
            header = read(16)
            if len(header) < 16:
                header = read_exact(read, 16, header)
                if len(header) < 16:
                    if header:
                        self._count(REASON_EOF)
                    return
            seconds, fraction, caplen, length = unpack(header)
            if caplen > MAX_CAPLEN:
                self._count(REASON_CORRUPT)
                return
            frame = read(caplen)
            if len(frame) < caplen:
                frame = read_exact(read, caplen, frame)
                if len(frame) < caplen:
                    self._count(REASON_EOF)
                    return
            if caplen < length:
                self._count(REASON_TRUNCATED)
                continue
            if caplen > length:
                self._count(REASON_BAD_LENGTHS)
                continue
            try:
                packet = decode(frame)
            except FrameSkipped as skip:
                self._count(skip.reason)
                continue
            self.records_read += 1
            yield PcapRecord((seconds * divisor + fraction) / divisor, packet)


class CaptureReader:
    """Iterate the IP packets of a classic pcap or pcapng file (one pass).

    ``skipped``: reason -> count; ``records_read``: records yielded so far; ``link_types``: the
    link type of each interface seen so far (one entry for classic pcap); ``format``: "pcap" or
    "pcapng". Closing (or leaving the ``with`` block) closes the file only if the reader owns it.
    """

    def __init__(self, fileobj: BinaryIO, *, owns_file: bool = False) -> None:
        if isinstance(fileobj, io.RawIOBase):
            fileobj = io.BufferedReader(fileobj)
        self._file = fileobj
        self._owns_file = owns_file
        self.skipped: dict[str, int] = {}
        read = fileobj.read
        head = read_exact(read, 4)
        if len(head) < 4:
            raise PcapError("file too short for a capture file header")
        if int.from_bytes(head, "little") == PCAPNG_SHB_TYPE:
            # Imported here: pcapng builds on this module's records and errors.
            from pyreplay.packet.pcapng import PcapngParser

            self._parser: _ClassicPcap | PcapngParser = PcapngParser(read, head, self.skipped)
            self.format = "pcapng"
        elif head in _MAGICS:
            header = head + read_exact(read, 20)
            if len(header) < 24:
                raise PcapError("file too short for a pcap file header")
            self._parser = _ClassicPcap(read, header, self.skipped)
            self.format = "pcap"
        else:
            raise PcapError(f"not a pcap or pcapng file (magic {head.hex()})")
        self._records = self._parser.records()

    @property
    def records_read(self) -> int:
        return self._parser.records_read

    @property
    def link_types(self) -> tuple[int, ...]:
        return tuple(self._parser.link_types)

    def __iter__(self) -> Iterator[PcapRecord]:
        return self._records

    def close(self) -> None:
        if self._owns_file:
            self._file.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_capture(path: str | os.PathLike[str]) -> CaptureReader:
    """Open a capture file for reading; use as ``with open_capture(p) as reader: ...``."""
    fileobj = open(path, "rb", buffering=1 << 20)
    try:
        return CaptureReader(fileobj, owns_file=True)
    except BaseException:
        fileobj.close()
        raise


class PcapWriter:
    """Write classic pcap records of ``linktype`` frames (raw IP packets by default).

    Every record is written whole (caplen == len). A timestamp outside the 32-bit seconds range
    or a packet longer than the snaplen is a caller error (ValueError).
    """

    def __init__(
        self,
        fileobj: BinaryIO,
        linktype: int = LINKTYPE_RAW,
        *,
        nanosecond: bool = False,
        snaplen: int = SNAPLEN,
    ) -> None:
        self._write = fileobj.write
        self._divisor = 1_000_000_000 if nanosecond else 1_000_000
        self._snaplen = snaplen
        self._record_header = _RECORD_HEADER["<"]
        magic = PCAP_MAGIC_NSEC if nanosecond else PCAP_MAGIC_USEC
        self._write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))

    def write(self, timestamp: float, packet: bytes) -> None:
        if not math.isfinite(timestamp):
            raise ValueError(f"timestamp {timestamp!r} is not finite")
        seconds = math.floor(timestamp)
        fraction = round((timestamp - seconds) * self._divisor)
        if fraction >= self._divisor:
            seconds += 1
            fraction -= self._divisor
        if not 0 <= seconds < 1 << 32:
            raise ValueError(f"timestamp {timestamp!r} does not fit a pcap record")
        if len(packet) > self._snaplen:
            raise ValueError(f"packet of {len(packet)} bytes exceeds snaplen {self._snaplen}")
        self._write(self._record_header.pack(seconds, fraction, len(packet), len(packet)))
        self._write(packet)
