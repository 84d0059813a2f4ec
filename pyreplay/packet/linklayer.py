"""Link layers of capture files: find the IP packet inside one captured frame.

``decoder_for(linktype)`` returns a function ``frame -> bytes`` for a supported link type (None
otherwise). The function returns the IPv4 or IPv6 packet, cut at the length its own header
declares, so Ethernet padding and a trailing FCS never reach the TCP layer. A frame that carries
something else (ARP, LLC, an unknown address family) or is too short for its link header raises
``FrameSkipped`` with a reason meant to be counted, never shown as a crash.

Supported: Ethernet with any number of 802.1Q/802.1ad tags, Linux cooked SLL and SLL2, raw IP
(LINKTYPE_RAW and the BSD/OpenBSD DLT_RAW values 12 and 14), LINKTYPE_IPV4/IPV6, and BSD
loopback (NULL with the family in either byte order, LOOP in network order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

LINKTYPE_NULL: Final = 0
LINKTYPE_ETHERNET: Final = 1
DLT_RAW_BSD: Final = 12
DLT_RAW_OPENBSD: Final = 14
LINKTYPE_RAW: Final = 101
LINKTYPE_LOOP: Final = 108
LINKTYPE_LINUX_SLL: Final = 113
LINKTYPE_IPV4: Final = 228
LINKTYPE_IPV6: Final = 229
LINKTYPE_LINUX_SLL2: Final = 276

REASON_NOT_IP: Final = "not IP"
REASON_SHORT_FRAME: Final = "frame shorter than its headers"

ETHERTYPE_IPV4: Final = 0x0800
ETHERTYPE_IPV6: Final = 0x86DD
VLAN_ETHERTYPES: Final = frozenset({0x8100, 0x88A8, 0x9100})

# Address families written by BSD-derived loopback headers: IPv6 differs between systems.
AF_INET: Final = 2
AF_INET6_VALUES: Final = frozenset({10, 24, 28, 30})  # Linux, NetBSD/OpenBSD, FreeBSD, macOS

Decoder = Callable[[bytes], bytes]


class FrameSkipped(Exception):
    """The frame holds no IP packet we can use; ``reason`` is the key to count it under."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def ip_packet_at(frame: bytes, offset: int, version: int = 0) -> bytes:
    """The IP packet starting at ``offset``, trimmed to its declared length.

    ``version`` 4 or 6 insists on that version (the link layer said so); 0 accepts either.
    A declared length larger than the frame is left for the IP parser to judge.
    """
    available = len(frame) - offset
    if available <= 0:
        raise FrameSkipped(REASON_SHORT_FRAME)
    found = frame[offset] >> 4
    if found not in (4, 6) or (version and found != version):
        raise FrameSkipped(REASON_NOT_IP)
    end = len(frame)
    if found == 4:
        if available >= 4:
            total = (frame[offset + 2] << 8) | frame[offset + 3]
            if 20 <= total < available:
                end = offset + total
    elif available >= 40:
        payload = (frame[offset + 4] << 8) | frame[offset + 5]
        # Payload length 0 means a jumbogram (or a GSO frame): keep everything.
        if payload and 40 + payload < available:
            end = offset + 40 + payload
    return frame[offset:end]


def _after_ethertype(frame: bytes, ethertype: int, offset: int) -> bytes:
    """Follow VLAN tags from ``offset`` (where the payload of ``ethertype`` begins) to IP."""
    while ethertype in VLAN_ETHERTYPES:
        if len(frame) < offset + 4:
            raise FrameSkipped(REASON_SHORT_FRAME)
        ethertype = (frame[offset + 2] << 8) | frame[offset + 3]
        offset += 4
    if ethertype == ETHERTYPE_IPV4:
        return ip_packet_at(frame, offset, 4)
    if ethertype == ETHERTYPE_IPV6:
        return ip_packet_at(frame, offset, 6)
    raise FrameSkipped(REASON_NOT_IP)


def decode_ethernet(frame: bytes) -> bytes:
    if len(frame) < 14:
        raise FrameSkipped(REASON_SHORT_FRAME)
    return _after_ethertype(frame, (frame[12] << 8) | frame[13], 14)


def decode_linux_sll(frame: bytes) -> bytes:
    if len(frame) < 16:
        raise FrameSkipped(REASON_SHORT_FRAME)
    return _after_ethertype(frame, (frame[14] << 8) | frame[15], 16)


def decode_linux_sll2(frame: bytes) -> bytes:
    if len(frame) < 20:
        raise FrameSkipped(REASON_SHORT_FRAME)
    return _after_ethertype(frame, (frame[0] << 8) | frame[1], 20)


def decode_raw(frame: bytes) -> bytes:
    return ip_packet_at(frame, 0)


def decode_ipv4(frame: bytes) -> bytes:
    return ip_packet_at(frame, 0, 4)


def decode_ipv6(frame: bytes) -> bytes:
    return ip_packet_at(frame, 0, 6)


def _decode_family(frame: bytes, family: int) -> bytes:
    if family == AF_INET:
        return ip_packet_at(frame, 4, 4)
    if family in AF_INET6_VALUES:
        return ip_packet_at(frame, 4, 6)
    raise FrameSkipped(REASON_NOT_IP)


def decode_null(frame: bytes) -> bytes:
    """BSD loopback: a 4-byte family in the byte order of the machine that wrote the file."""
    if len(frame) < 4:
        raise FrameSkipped(REASON_SHORT_FRAME)
    family = int.from_bytes(frame[:4], "little")
    if family > 0xFFFF:
        family = int.from_bytes(frame[:4], "big")
    return _decode_family(frame, family)


def decode_loop(frame: bytes) -> bytes:
    """OpenBSD loopback: like NULL, but the family is always in network byte order."""
    if len(frame) < 4:
        raise FrameSkipped(REASON_SHORT_FRAME)
    return _decode_family(frame, int.from_bytes(frame[:4], "big"))


_DECODERS: Final[dict[int, Decoder]] = {
    LINKTYPE_NULL: decode_null,
    LINKTYPE_ETHERNET: decode_ethernet,
    DLT_RAW_BSD: decode_raw,
    DLT_RAW_OPENBSD: decode_raw,
    LINKTYPE_RAW: decode_raw,
    LINKTYPE_LOOP: decode_loop,
    LINKTYPE_LINUX_SLL: decode_linux_sll,
    LINKTYPE_IPV4: decode_ipv4,
    LINKTYPE_IPV6: decode_ipv6,
    LINKTYPE_LINUX_SLL2: decode_linux_sll2,
}

SUPPORTED_LINK_TYPES: Final = frozenset(_DECODERS)

# The link-type field of pcap files and IDBs carries FCS flags above bit 15 (pcap spec §4).
LINKTYPE_MASK: Final = 0xFFFF


def decoder_for(linktype: int) -> Decoder | None:
    """The frame decoder for ``linktype`` (FCS flag bits ignored), or None if unsupported."""
    return _DECODERS.get(linktype & LINKTYPE_MASK)
