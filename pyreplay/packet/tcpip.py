"""IP/TCP packets <-> ``Segment``: parse an L3 packet, build one ready to send.

``parse_packet`` takes an L3 packet (no link header) and returns its TCP segment, or raises
``PacketError`` saying why it cannot: truncated, not IPv4, a fragment, not TCP, bad header lengths.
The IP total length bounds the packet (trailing link padding is ignored) but is never trusted
beyond the buffer. The captured TCP checksum is never validated: captures over veth carry partial
checksums. IP options are stepped over and not kept. Dispatch is on the version nibble so IPv6
can slot in; today it raises ``PacketError``.

``build_packet`` makes a 20-byte IPv4 header (DF, TTL and id from the segment, IP checksum) and
a TCP header carrying ``options.raw`` when set, else options encoded from the fields, with a full
TCP checksum. It runs per packet, so it uses precompiled structs and the big-integer checksum.
"""

from __future__ import annotations

import struct
from typing import Final

from pyreplay.packet.checksum import IPPROTO_TCP
from pyreplay.packet.errors import PacketError
from pyreplay.packet.options import MAX_OPTIONS_LENGTH, NOP, encode_options, parse_tcp_options
from pyreplay.packet.segment import NO_OPTIONS, Segment, TcpOptions

IPV4_HEADER_LENGTH: Final = 20
TCP_HEADER_LENGTH: Final = 20
MAX_IPV4_TOTAL_LENGTH: Final = 0xFFFF

_DONT_FRAGMENT: Final = 0x4000
_MORE_FRAGMENTS: Final = 0x2000
_FRAGMENT_OFFSET: Final = 0x1FFF

_IPV4: Final = struct.Struct("!BBHHHBBH4s4s")
_TCP: Final = struct.Struct("!HHIIBBHHH")
_IPV4_TCP: Final = struct.Struct("!BBHHHBBH4s4sHHIIBBHHH")
_TIMESTAMP_VALUES: Final = struct.Struct("!II")
_NOP_NOP_TIMESTAMP: Final = b"\x01\x01\x08\x0a"


def parse_packet(buf: bytes | bytearray | memoryview) -> Segment:
    """The TCP segment in an L3 IP packet; ``PacketError`` for anything we cannot read."""
    if type(buf) is bytes and len(buf) >= 40 and buf[0] == 0x45:
        # Fast path: the usual packet (IPv4 without options, well-formed), its fields read by
        # index (compiled, cheaper than a struct unpack and its tuple). Anything it does not
        # accept takes the general path below, which says what is wrong.
        total_length = (buf[2] << 8) + buf[3]
        end = 20 + (buf[32] >> 4) * 4
        if (buf[9] == IPPROTO_TCP and not (buf[6] & 0x3F or buf[7])  # not a fragment
                and 40 <= end <= total_length <= len(buf)):
            src, dst = buf[12:16], buf[16:20]
            ip_id, ttl = (buf[4] << 8) + buf[5], buf[8]
            sport, dport = (buf[20] << 8) + buf[21], (buf[22] << 8) + buf[23]
            seq = (buf[24] << 24) + (buf[25] << 16) + (buf[26] << 8) + buf[27]
            ack = (buf[28] << 24) + (buf[29] << 16) + (buf[30] << 8) + buf[31]
            flags, window = buf[33], (buf[34] << 8) + buf[35]
            if end == 40:
                options = NO_OPTIONS
            elif end == 52 and buf[40:44] == _NOP_NOP_TIMESTAMP:
                options = TcpOptions(None, None, False, _TIMESTAMP_VALUES.unpack_from(buf, 44), buf[40:52])
            else:
                options = parse_tcp_options(buf[40:end], strict=False)
            return Segment(src, dst, sport, dport, seq, ack, flags, window, options,
                               buf[end:total_length], ip_id, ttl)
    view = memoryview(buf).cast("B") if isinstance(buf, memoryview) else memoryview(buf)
    if not view:
        raise PacketError("empty packet")
    version = view[0] >> 4
    if version == 4:
        return _parse_ipv4(view)
    if version == 6:
        raise PacketError("IPv6 not supported yet")
    raise PacketError(f"not an IP packet (version {version})")


def usual_tcp_dport(buf: bytes | bytearray | memoryview) -> int:
    """The TCP destination port of the usual packet (IPv4 without IP options, TCP, not a
    fragment, 40 bytes or more: what ``parse_packet``'s fast path takes), read without parsing;
    -1 for any other packet. For dropping packets to other ports before paying for a parse."""
    if (type(buf) is bytes and len(buf) >= 40 and buf[0] == 0x45 and buf[9] == IPPROTO_TCP
            and not (buf[6] & 0x3F or buf[7])):
        return (buf[22] << 8) + buf[23]
    return -1


def _parse_ipv4(view: memoryview) -> Segment:
    if len(view) < IPV4_HEADER_LENGTH:
        raise PacketError(f"truncated IPv4 header: {len(view)} bytes")
    (ver_ihl, _tos, total_length, ip_id, frag, ttl, protocol, _csum, src, dst) = _IPV4.unpack_from(view)
    header_length = (ver_ihl & 0x0F) * 4
    if header_length < IPV4_HEADER_LENGTH:
        raise PacketError(f"IPv4 header length {header_length} below 20")
    if total_length == 0 and len(view) > MAX_IPV4_TOTAL_LENGTH:
        # BIG TCP / merged GRO frames over 64 KiB carry tot_len 0; the buffer is the packet.
        total_length = len(view)
    if total_length > len(view):
        raise PacketError(f"truncated IPv4 packet: total length {total_length}, have {len(view)}")
    if total_length < header_length:
        raise PacketError(f"IPv4 total length {total_length} below header length {header_length}")
    if frag & (_MORE_FRAGMENTS | _FRAGMENT_OFFSET):
        raise PacketError("IPv4 fragment")
    if protocol != IPPROTO_TCP:
        raise PacketError(f"not TCP (IP protocol {protocol})")
    return _parse_tcp(view[header_length:total_length], src, dst, ip_id, ttl)


def _parse_tcp(tcp: memoryview, src: bytes, dst: bytes, ip_id: int, ttl: int) -> Segment:
    if len(tcp) < TCP_HEADER_LENGTH:
        raise PacketError(f"truncated TCP header: {len(tcp)} bytes")
    sport, dport, seq, ack, offset_byte, flags, window, _csum, _urgent = _TCP.unpack_from(tcp)
    header_length = (offset_byte >> 4) * 4
    if header_length < TCP_HEADER_LENGTH:
        raise PacketError(f"TCP data offset {header_length} below 20")
    if header_length > len(tcp):
        raise PacketError(f"truncated TCP options: data offset {header_length}, have {len(tcp)}")
    if header_length > TCP_HEADER_LENGTH:
        # Linux and tcpcopy accept a segment whose options are damaged; so do we.
        options = parse_tcp_options(tcp[TCP_HEADER_LENGTH:header_length], strict=False)
    else:
        options = NO_OPTIONS
    return Segment(
        src=src,
        dst=dst,
        sport=sport,
        dport=dport,
        seq=seq,
        ack=ack,
        flags=flags,
        window=window,
        options=options,
        payload=bytes(tcp[header_length:]),
        ip_id=ip_id,
        ttl=ttl,
    )


def wire_options(options: TcpOptions) -> bytes:
    """The option bytes ``build_packet`` puts on the wire: ``raw`` or the encoded fields, NOP-padded."""
    if options is NO_OPTIONS:
        return b""
    raw = options.raw or encode_options(options)
    if len(raw) & 3:
        raw += bytes((NOP,)) * (-len(raw) & 3)
    if len(raw) > MAX_OPTIONS_LENGTH:
        raise ValueError(f"TCP options of {len(raw)} bytes exceed {MAX_OPTIONS_LENGTH}")
    return raw


def ipv4_packet_length(seg: Segment) -> int:
    """Bytes of the IPv4 packet ``build_packet`` makes for ``seg``."""
    return IPV4_HEADER_LENGTH + TCP_HEADER_LENGTH + len(wire_options(seg.options)) + len(seg.payload)


def build_packet(seg: Segment) -> bytes:
    """An IPv4/TCP packet for ``seg`` with correct IP and TCP checksums.

    Out-of-range fields or a packet over 65535 bytes (split it first) raise ``ValueError``.
    """
    src, dst = seg.src, seg.dst
    if len(src) != 4 or len(dst) != 4:
        if len(src) == len(dst) == 16:
            raise ValueError("building IPv6 packets is not supported yet")
        raise ValueError(f"addresses must both be 4 bytes, got {len(src)} and {len(dst)}")
    options = wire_options(seg.options)
    payload = seg.payload
    tcp_length = TCP_HEADER_LENGTH + len(options) + len(payload)
    total_length = IPV4_HEADER_LENGTH + tcp_length
    if total_length > MAX_IPV4_TOTAL_LENGTH:
        raise ValueError(f"IPv4 packet of {total_length} bytes is too long; split_to_mtu first")
    ttl, ip_id, flags, window = seg.ttl, seg.ip_id, seg.flags, seg.window
    offset_byte = (tcp_length - len(payload)) << 2
    # A 32-bit field's two words sum to the field itself modulo 0xFFFF (2**16 == 1), so header
    # words are added as fields. Each sum includes the protocol, never +0: "or 0xFFFF" folds.
    # The addresses' and options' words are added one by one: compiled, that is cheaper than
    # int.from_bytes (a Python call, and a number too big for a machine word).
    address_sum = ((src[0] << 8) + src[1] + (src[2] << 8) + src[3]
                   + (dst[0] << 8) + dst[1] + (dst[2] << 8) + dst[3])
    tcp_sum = address_sum + (IPPROTO_TCP + tcp_length + seg.sport + seg.dport + seg.seq + seg.ack
                             + (offset_byte << 8) + flags + window)
    for i in range(0, len(options), 2):  # wire options are whole 32-bit words
        tcp_sum += (options[i] << 8) + options[i + 1]
    if payload:
        tcp_sum += (int.from_bytes(payload, "little") % 0xFFFF) << 8  # see checksum.unfolded_sum
    ip_sum = address_sum + 0x4500 + total_length + ip_id + _DONT_FRAGMENT + (ttl << 8) + IPPROTO_TCP
    ip_checksum = 0xFFFF - (ip_sum % 0xFFFF or 0xFFFF)
    tcp_checksum = 0xFFFF - (tcp_sum % 0xFFFF or 0xFFFF)
    try:
        headers = _IPV4_TCP.pack(
            0x45, 0, total_length, ip_id, _DONT_FRAGMENT, ttl, IPPROTO_TCP, ip_checksum, src, dst,
            seg.sport, seg.dport, seg.seq, seg.ack, offset_byte, flags, window, tcp_checksum, 0,
        )  # fmt: skip
    except struct.error as exc:
        raise ValueError(f"segment field out of range: {exc}") from exc
    if not payload:
        return headers + options if options else headers
    return b"".join((headers, options, payload))
