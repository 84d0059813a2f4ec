"""Reduce a captured response packet to the header summary copy needs (intercept's job).

``summarize(ip_packet) -> ResponseSummary`` reads IPv4 + TCP headers only: the payload is never
copied, its length comes from the IP total length (GRO frames carry many segments; the total
length, not the MTU, is the truth). Anything that is not a whole IPv4/TCP header raises
``PacketError``.
"""

from __future__ import annotations

import struct
from typing import Final

from pyreplay.packet.errors import PacketError
from pyreplay.packet.options import parse_tcp_options
from pyreplay.packet.segment import NO_OPTIONS, ResponseSummary, TcpOptions

_IP: Final = struct.Struct("!BxHxxHxB2x4s4s")
_TCP: Final = struct.Struct("!HHIIBBH")
_IP_TCP: Final = struct.Struct("!BxHxxHxB2x4s4sHHIIBBH")  # both, for a 20-byte IP header
_TIMESTAMP_VALUES: Final = struct.Struct("!II")
_NOP_NOP_TIMESTAMP: Final = b"\x01\x01\x08\x0a"
_FRAGMENTED: Final = 0x3FFF  # MF flag or a fragment offset


def summarize(packet: bytes | memoryview) -> ResponseSummary:
    if type(packet) is bytes and len(packet) >= 40 and packet[0] == 0x45:
        # Fast path: IPv4 without options, one unpack; anything unusual takes the general path.
        (_v, total_length, frag, protocol, src, dst,
         sport, dport, seq, ack, offset_byte, flags, window) = _IP_TCP.unpack_from(packet)
        end = 20 + (offset_byte >> 4) * 4
        if total_length == 0:
            total_length = len(packet)
        if protocol == 6 and not frag & _FRAGMENTED and 40 <= end <= len(packet) and end <= total_length:
            if end == 40:
                options = NO_OPTIONS
            elif end == 52 and packet[40:44] == _NOP_NOP_TIMESTAMP:
                options = TcpOptions(None, None, False, _TIMESTAMP_VALUES.unpack_from(packet, 44),
                                      packet[40:52])
            else:
                options = parse_tcp_options(packet[40:end], strict=False)
            return ResponseSummary(src, dst, sport, dport, seq, ack, flags, window, total_length - end, options)
    return _summarize(packet)


def _summarize(packet: bytes | memoryview) -> ResponseSummary:
    if len(packet) < 40:
        raise PacketError(f"too short for IPv4+TCP headers: {len(packet)} bytes")
    ver_ihl, total_length, frag, protocol, src, dst = _IP.unpack_from(packet)
    if ver_ihl >> 4 != 4:
        raise PacketError(f"not IPv4 (version {ver_ihl >> 4})")
    ihl = (ver_ihl & 0x0F) * 4
    if protocol != 6:
        raise PacketError(f"not TCP (IP protocol {protocol})")
    if frag & _FRAGMENTED:
        raise PacketError("IPv4 fragment")
    if total_length == 0:  # BIG TCP / merged GRO frames over 64 KiB
        total_length = len(packet)
    if ihl < 20 or len(packet) < ihl + 20:
        raise PacketError(f"bad IPv4 header length {ihl}")
    sport, dport, seq, ack, offset_byte, flags, window = _TCP.unpack_from(packet, ihl)
    doff = (offset_byte >> 4) * 4
    if doff < 20 or ihl + doff > len(packet):
        raise PacketError(f"bad TCP data offset {doff}")
    payload_len = total_length - ihl - doff
    if payload_len < 0:
        raise PacketError(f"IPv4 total length {total_length} shorter than its headers")
    options = NO_OPTIONS
    if doff > 20:
        options = parse_tcp_options(bytes(packet[ihl + 20: ihl + doff]), strict=False)
    return ResponseSummary(src, dst, sport, dport, seq, ack, flags, window, payload_len, options)
