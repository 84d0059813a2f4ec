"""Reduce a captured response packet to the header summary copy needs (intercept's job).

``summarize(ip_packet) -> ResponseSummary`` reads IPv4 + TCP headers only: the payload is never
copied, its length comes from the IP total length (GRO frames carry many segments; the total
length, not the MTU, is the truth). Anything that is not a whole IPv4/TCP header raises
``PacketError``.
"""

from __future__ import annotations

import struct

from pyreplay.packet.errors import PacketError
from pyreplay.packet.options import parse_tcp_options
from pyreplay.packet.segment import NO_OPTIONS, ResponseSummary

_IP = struct.Struct("!BxHxxHxB2x4s4s")
_TCP = struct.Struct("!HHIIBBH")
_FRAGMENTED = 0x3FFF  # MF flag or a fragment offset


def summarize(packet: bytes | memoryview) -> ResponseSummary:
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
