"""Link-layer decoding: frames built by hand per link type must yield exactly the IP packet."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyreplay.packet.linklayer import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    REASON_NOT_IP,
    REASON_SHORT_FRAME,
    FrameSkipped,
    decoder_for,
)


def ipv4(payload: bytes = b"GET / HTTP/1.1\r\n\r\n") -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, 0, 64, 6, 0, b"\x0a\0\0\1", b"\x0a\0\0\2"
    )
    return header + payload


def ipv6(payload: bytes = b"GET / HTTP/1.1\r\n\r\n") -> bytes:
    header = struct.pack("!IHBB16s16s", 6 << 28, len(payload), 6, 64, b"\1" * 16, b"\2" * 16)
    return header + payload


MACS = b"\x02\0\0\0\0\x01" + b"\x02\0\0\0\0\x02"


def ethernet(ethertype: int, payload: bytes, tags: tuple[int, ...] = ()) -> bytes:
    frame = MACS
    for tpid in tags:
        frame += struct.pack("!HH", tpid, 0x0064)  # TPID, then TCI (VLAN 100)
    return frame + struct.pack("!H", ethertype) + payload


def sll(protocol: int, payload: bytes) -> bytes:
    # packet type, ARPHRD_ETHER, address length, address (8 bytes, padded), protocol
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02\0\0\0\0\x01", protocol) + payload


def sll2(protocol: int, payload: bytes) -> bytes:
    # protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address length, address
    return struct.pack("!HHIHBB8s", protocol, 0, 3, 1, 0, 6, b"\x02\0\0\0\0\x01") + payload


def decode(linktype: int, frame: bytes) -> bytes:
    decoder = decoder_for(linktype)
    assert decoder is not None
    return decoder(frame)


def skip_reason(linktype: int, frame: bytes) -> str:
    with pytest.raises(FrameSkipped) as caught:
        decode(linktype, frame)
    return caught.value.reason


@pytest.mark.parametrize("packet", [ipv4(), ipv6()], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize(
    "linktype, wrap",
    [
        (LINKTYPE_ETHERNET, lambda p: ethernet(0x0800 if p[0] >> 4 == 4 else 0x86DD, p)),
        (LINKTYPE_LINUX_SLL, lambda p: sll(0x0800 if p[0] >> 4 == 4 else 0x86DD, p)),
        (LINKTYPE_LINUX_SLL2, lambda p: sll2(0x0800 if p[0] >> 4 == 4 else 0x86DD, p)),
        (LINKTYPE_RAW, lambda p: p),
        (12, lambda p: p),
        (14, lambda p: p),
        (LINKTYPE_NULL, lambda p: struct.pack("<I", 2 if p[0] >> 4 == 4 else 30) + p),
        (LINKTYPE_NULL, lambda p: struct.pack(">I", 2 if p[0] >> 4 == 4 else 24) + p),
        (LINKTYPE_LOOP, lambda p: struct.pack(">I", 2 if p[0] >> 4 == 4 else 24) + p),
    ],
    ids=["ether", "sll", "sll2", "raw101", "raw12", "raw14", "null-le", "null-be", "loop"],
)
def test_each_link_type_yields_the_ip_packet(linktype, wrap, packet):
    assert decode(linktype, wrap(packet)) == packet


def test_ipv4_and_ipv6_link_types_insist_on_their_version():
    assert decode(LINKTYPE_IPV4, ipv4()) == ipv4()
    assert decode(LINKTYPE_IPV6, ipv6()) == ipv6()
    assert skip_reason(LINKTYPE_IPV4, ipv6()) == REASON_NOT_IP
    assert skip_reason(LINKTYPE_IPV6, ipv4()) == REASON_NOT_IP


@pytest.mark.parametrize(
    "tags",
    [(0x8100,), (0x88A8,), (0x9100,), (0x88A8, 0x8100), (0x9100, 0x8100, 0x8100)],
    ids=["dot1q", "dot1ad", "9100", "qinq", "triple"],
)
def test_vlan_tags_are_followed(tags):
    assert decode(LINKTYPE_ETHERNET, ethernet(0x0800, ipv4(), tags)) == ipv4()
    assert decode(LINKTYPE_ETHERNET, ethernet(0x86DD, ipv6(), tags)) == ipv6()


def test_vlan_tag_inside_linux_cooked_headers():
    tagged = struct.pack("!HH", 0x0064, 0x0800) + ipv4()
    assert decode(LINKTYPE_LINUX_SLL, sll(0x8100, tagged)) == ipv4()
    assert decode(LINKTYPE_LINUX_SLL2, sll2(0x8100, tagged)) == ipv4()


def test_ethernet_padding_and_fcs_are_cut_at_the_ip_length():
    small = ipv4(b"")  # 20 bytes: the frame gets padded to 60 and an FCS follows
    frame = ethernet(0x0800, small)
    frame += bytes(60 - len(frame)) + b"\xde\xad\xbe\xef"
    assert decode(LINKTYPE_ETHERNET, frame) == small
    assert decode(LINKTYPE_ETHERNET, ethernet(0x86DD, ipv6(b"x") + bytes(9))) == ipv6(b"x")


def test_ip_length_larger_than_frame_is_left_to_the_ip_parser():
    packet = bytearray(ipv4(b"abcdef"))
    packet[2:4] = (60000).to_bytes(2, "big")
    assert decode(LINKTYPE_RAW, bytes(packet)) == bytes(packet)


def test_ipv6_payload_length_zero_keeps_the_whole_packet():
    packet = bytearray(ipv6(b"jumbo"))
    packet[4:6] = b"\0\0"
    assert decode(LINKTYPE_RAW, bytes(packet)) == bytes(packet)


@pytest.mark.parametrize(
    "linktype, frame",
    [
        (LINKTYPE_ETHERNET, ethernet(0x0806, bytes(28))),  # ARP
        (LINKTYPE_ETHERNET, ethernet(0x0800, ipv6())),  # ethertype says v4, packet is v6
        (LINKTYPE_ETHERNET, MACS + b"\x00\x2e" + b"\xaa\xaa\x03" + bytes(43)),  # 802.3 + LLC
        (LINKTYPE_ETHERNET, ethernet(0x0806, b"", (0x8100,))),
        (LINKTYPE_LINUX_SLL, sll(0x0806, bytes(28))),
        (LINKTYPE_LINUX_SLL2, sll2(0x0003, bytes(28))),
        (LINKTYPE_RAW, b"\x00" + ipv4()[1:]),
        (LINKTYPE_NULL, struct.pack("<I", 7) + ipv4()),
        (LINKTYPE_LOOP, struct.pack("<I", 2) + ipv4()),  # LOOP is always big-endian
    ],
)
def test_non_ip_frames_are_skipped_as_not_ip(linktype, frame):
    assert skip_reason(linktype, frame) == REASON_NOT_IP


@pytest.mark.parametrize(
    "linktype, frame",
    [
        (LINKTYPE_ETHERNET, MACS),
        (LINKTYPE_ETHERNET, ethernet(0x0800, b"")),
        (LINKTYPE_ETHERNET, MACS + b"\x81\x00\x00"),
        (LINKTYPE_LINUX_SLL, sll(0x0800, b"")[:15]),
        (LINKTYPE_LINUX_SLL2, sll2(0x0800, b"")[:19]),
        (LINKTYPE_RAW, b""),
        (LINKTYPE_NULL, b"\x02\0"),
        (LINKTYPE_NULL, b"\x02\0\0\0"),
    ],
)
def test_frames_shorter_than_their_headers_are_skipped(linktype, frame):
    assert skip_reason(linktype, frame) == REASON_SHORT_FRAME


def test_unknown_link_types_have_no_decoder_and_fcs_bits_are_ignored():
    assert decoder_for(147) is None
    assert decoder_for(LINKTYPE_ETHERNET | 0x04000000 | (2 << 28)) is not None


@given(
    linktype=st.sampled_from([0, 1, 12, 14, 101, 108, 113, 228, 229, 276]),
    frame=st.binary(max_size=200),
)
def test_any_frame_either_decodes_to_a_slice_or_is_skipped(linktype, frame):
    try:
        packet = decode(linktype, frame)
    except FrameSkipped:
        return
    assert packet and packet[0] >> 4 in (4, 6)
    assert packet in frame
