"""pcapng reading: sections, interfaces and packet blocks to ``PcapRecord``s.

Used through ``pcap.CaptureReader``, which detects the format. Follows the pcapng draft
(draft-ietf-opsawg-pcapng): every Section Header Block sets the byte order and forgets the
interfaces of the previous section; an Interface Description Block gives its interface a link
type, a snaplen and the ``if_tsresol`` / ``if_tsoffset`` options; Enhanced, Simple and obsolete
Packet Blocks carry frames; every other block is skipped by its length.

A malformed packet or interface block is counted and skipped (block framing still holds); a
block length that cannot be right or a bad section header after the first one ends the file.
Packets of an interface with an unsupported link type are counted under that link type.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Literal

from pyreplay.packet.linklayer import LINKTYPE_MASK, Decoder, FrameSkipped, decoder_for
from pyreplay.packet.pcap import (
    MAX_CAPLEN,
    PCAPNG_SHB_TYPE,
    REASON_BAD_LENGTHS,
    REASON_EOF,
    REASON_TRUNCATED,
    PcapError,
    PcapRecord,
    read_exact,
)

IDB_TYPE = 0x00000001
OPB_TYPE = 0x00000002  # obsolete Packet Block
SPB_TYPE = 0x00000003
EPB_TYPE = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
MAX_BLOCK_LEN = 16 * 1024 * 1024

OPT_ENDOFOPT = 0
OPT_IF_TSRESOL = 9
OPT_IF_TSOFFSET = 14

REASON_CORRUPT_BLOCK = "corrupt block"
REASON_BAD_INTERFACE = "corrupt interface block"
REASON_UNKNOWN_INTERFACE = "packet of an undeclared interface"
REASON_BAD_SECTION = "corrupt section header"

_DEFAULT_DIVISOR = 1_000_000  # if_tsresol absent: microseconds


class _Order:
    """Struct layouts of one byte order."""

    def __init__(self, order: str) -> None:
        self.endian: Literal["little", "big"] = "little" if order == "<" else "big"
        self.block_head = struct.Struct(order + "II")
        self.epb = struct.Struct(order + "IIIII")
        self.opb = struct.Struct(order + "HHIIII")
        self.spb = struct.Struct(order + "I")
        self.idb = struct.Struct(order + "HHI")
        self.option = struct.Struct(order + "HH")
        self.shb_version = struct.Struct(order + "HH")
        self.tsoffset = struct.Struct(order + "q")


_ORDERS = {
    BYTE_ORDER_MAGIC.to_bytes(4, "little"): _Order("<"),
    BYTE_ORDER_MAGIC.to_bytes(4, "big"): _Order(">"),
}


class _Interface:
    __slots__ = ("decode", "divisor", "offset", "snaplen", "skip_reason")

    def __init__(
        self,
        decode: Decoder | None,
        divisor: int = _DEFAULT_DIVISOR,
        offset: int = 0,
        snaplen: int = 0,
        skip_reason: str = "",
    ) -> None:
        self.decode = decode
        self.divisor = divisor
        self.offset = offset
        self.snaplen = snaplen
        self.skip_reason = skip_reason


class PcapngParser:
    """Records of a pcapng file whose first four bytes (the SHB block type) have been read."""

    def __init__(self, read: Callable[[int], bytes], head: bytes, skipped: dict[str, int]):
        self._read = read
        self._skipped = skipped
        self.records_read = 0
        self.link_types: list[int] = []
        self._interfaces: list[_Interface] = []
        self._last_timestamp = 0.0
        problem = self._start_section(b"")
        if problem:
            raise PcapError(f"pcapng section header: {problem}")

    def _count(self, reason: str) -> None:
        self._skipped[reason] = self._skipped.get(reason, 0) + 1

    def _start_section(self, prefix: bytes) -> str:
        """Read the Section Header Block after its type; return what is wrong, or ""."""
        start = read_exact(self._read, 8, prefix)
        if len(start) < 8:
            return REASON_EOF
        order = _ORDERS.get(start[4:8])
        if order is None:
            return "bad byte-order magic"
        length = int.from_bytes(start[:4], order.endian)
        if length < 28 or length % 4 or length > MAX_BLOCK_LEN:
            return f"bad block length {length}"
        body = read_exact(self._read, length - 12)
        if len(body) < length - 12:
            return REASON_EOF
        major, _minor = order.shb_version.unpack_from(body, 0)
        if major != 1:
            return f"unsupported version {major}"
        if int.from_bytes(body[-4:], order.endian) != length:
            return "trailing block length differs"
        self._order = order
        self._interfaces = []
        return ""

    def _add_interface(self, body: bytes) -> None:
        order = self._order
        if len(body) < 12:
            self._count(REASON_BAD_INTERFACE)
            self._interfaces.append(_Interface(None, skip_reason=REASON_BAD_INTERFACE))
            return
        linktype, _reserved, snaplen = order.idb.unpack_from(body, 0)
        self.link_types.append(linktype & LINKTYPE_MASK)
        interface = _Interface(decoder_for(linktype), snaplen=snaplen)
        if interface.decode is None:
            interface.skip_reason = f"unsupported link type {linktype & LINKTYPE_MASK}"
        for code, value in self._options(body, 8, len(body) - 4):
            if code == OPT_IF_TSRESOL and value:
                exponent = value[0] & 0x7F
                interface.divisor = 2**exponent if value[0] & 0x80 else 10**exponent
            elif code == OPT_IF_TSOFFSET and len(value) == 8:
                interface.offset = order.tsoffset.unpack(value)[0]
        self._interfaces.append(interface)

    def _options(self, body: bytes, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        unpack_from = self._order.option.unpack_from
        while start + 4 <= end:
            code, length = unpack_from(body, start)
            if code == OPT_ENDOFOPT:
                return
            value_end = start + 4 + length
            if value_end > end:
                return
            yield code, body[start + 4 : value_end]
            start += 4 + ((length + 3) & ~3)

    def _packet(
        self, interface_id: int, caplen: int, length: int, body: bytes, at: int
    ) -> bytes | None:
        """The decoded IP packet of a packet block, or None after counting why not."""
        if interface_id >= len(self._interfaces):
            self._count(REASON_UNKNOWN_INTERFACE)
            return None
        interface = self._interfaces[interface_id]
        if interface.decode is None:
            self._count(interface.skip_reason)
            return None
        if caplen > MAX_CAPLEN or at + caplen > len(body) - 4:
            self._count(REASON_CORRUPT_BLOCK)
            return None
        if caplen < length:
            self._count(REASON_TRUNCATED)
            return None
        if caplen > length:
            self._count(REASON_BAD_LENGTHS)
            return None
        try:
            return interface.decode(body[at : at + caplen])
        except FrameSkipped as skip:
            self._count(skip.reason)
            return None

    def _timestamp(self, interface_id: int, units: int) -> float:
        if interface_id < len(self._interfaces):
            interface = self._interfaces[interface_id]
            self._last_timestamp = units / interface.divisor + interface.offset
        return self._last_timestamp

    def records(self) -> Iterator[PcapRecord]:
        read = self._read
        order = self._order
        while True:
            head = read(8)
            if len(head) < 8:
                head = read_exact(read, 8, head)
                if len(head) < 8:
                    if head:
                        self._count(REASON_EOF)
                    return
            block_type = int.from_bytes(head[:4], "little")
            if block_type == PCAPNG_SHB_TYPE:
                problem = self._start_section(head[4:])
                if problem:
                    self._count(problem if problem == REASON_EOF else REASON_BAD_SECTION)
                    return
                order = self._order
                continue
            block_type, length = order.block_head.unpack(head)
            if length < 12 or length % 4 or length > MAX_BLOCK_LEN:
                self._count(REASON_CORRUPT_BLOCK)
                return
            body = read(length - 8)
            if len(body) < length - 8:
                body = read_exact(read, length - 8, body)
                if len(body) < length - 8:
                    self._count(REASON_EOF)
                    return
            if int.from_bytes(body[-4:], order.endian) != length:
                self._count(REASON_CORRUPT_BLOCK)
                return
            if block_type == EPB_TYPE:
                if length < 32:
                    self._count(REASON_CORRUPT_BLOCK)
                    continue
                interface_id, high, low, caplen, wire_length = order.epb.unpack_from(body)
                timestamp = self._timestamp(interface_id, (high << 32) | low)
                packet = self._packet(interface_id, caplen, wire_length, body, 20)
            elif block_type == SPB_TYPE:
                if length < 16:
                    self._count(REASON_CORRUPT_BLOCK)
                    continue
                (wire_length,) = order.spb.unpack_from(body)
                caplen = wire_length
                if self._interfaces and self._interfaces[0].snaplen:
                    caplen = min(wire_length, self._interfaces[0].snaplen)
                timestamp = self._last_timestamp
                packet = self._packet(0, caplen, wire_length, body, 4)
            elif block_type == OPB_TYPE:
                if length < 32:
                    self._count(REASON_CORRUPT_BLOCK)
                    continue
                interface_id, _drops, high, low, caplen, wire_length = order.opb.unpack_from(body)
                timestamp = self._timestamp(interface_id, (high << 32) | low)
                packet = self._packet(interface_id, caplen, wire_length, body, 20)
            else:
                if block_type == IDB_TYPE:
                    self._add_interface(body)
                continue
            if packet is not None:
                self.records_read += 1
                yield PcapRecord(timestamp, packet)
