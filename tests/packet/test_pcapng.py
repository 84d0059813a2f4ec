"""pcapng reading, with blocks built by hand using struct (layout from the pcapng draft)."""

from __future__ import annotations

import io
import struct
from fractions import Fraction

import pytest

from pyreplay.packet.pcap import (
    REASON_EOF,
    REASON_TRUNCATED,
    CaptureReader,
    PcapError,
    PcapRecord,
)
from pyreplay.packet.pcapng import (
    REASON_BAD_SECTION,
    REASON_CORRUPT_BLOCK,
    REASON_UNKNOWN_INTERFACE,
)


def ipv4(payload: bytes = b"GET / HTTP/1.1\r\n\r\n") -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, 0, 64, 6, 0, b"\x0a\0\0\1", b"\x0a\0\0\2"
    )
    return header + payload


def ipv6(payload: bytes = b"GET / HTTP/1.1\r\n\r\n") -> bytes:
    header = struct.pack("!IHBB16s16s", 6 << 28, len(payload), 6, 64, b"\1" * 16, b"\2" * 16)
    return header + payload


def ethernet(packet: bytes, ethertype: int = 0x0800) -> bytes:
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02" + struct.pack("!H", ethertype) + packet


def sll2(packet: bytes, protocol: int = 0x86DD) -> bytes:
    return struct.pack("!HHIHBB8s", protocol, 0, 3, 1, 0, 6, b"\x02\0\0\0\0\x01") + packet


def pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def block(order: str, block_type: int, body: bytes) -> bytes:
    body = pad4(body)
    length = 12 + len(body)
    return struct.pack(order + "II", block_type, length) + body + struct.pack(order + "I", length)


def options(order: str, *items: tuple[int, bytes]) -> bytes:
    out = b""
    for code, value in items:
        out += struct.pack(order + "HH", code, len(value)) + pad4(value)
    return out + struct.pack(order + "HH", 0, 0) if items else b""


def shb(order: str = "<", major: int = 1) -> bytes:
    return block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, major, 0, -1))


def idb(order: str, linktype: int, snaplen: int = 0, *opts: tuple[int, bytes]) -> bytes:
    return block(order, 1, struct.pack(order + "HHI", linktype, 0, snaplen) + options(order, *opts))


def epb(order: str, interface: int, units: int, frame: bytes, wire: int | None = None) -> bytes:
    wire = len(frame) if wire is None else wire
    high, low = units >> 32, units & 0xFFFFFFFF
    head = struct.pack(order + "IIIII", interface, high, low, len(frame), wire)
    return block(order, 6, head + frame)


def spb(order: str, frame: bytes, wire: int | None = None) -> bytes:
    return block(order, 3, struct.pack(order + "I", len(frame) if wire is None else wire) + frame)


def opb(order: str, interface: int, units: int, frame: bytes) -> bytes:
    head = struct.pack(
        order + "HHIIII", interface, 0, units >> 32, units & 0xFFFFFFFF, len(frame), len(frame)
    )
    return block(order, 2, head + frame)


def tsresol(value: int) -> tuple[int, bytes]:
    return (9, bytes([value]))


def tsoffset(order: str, seconds: int) -> tuple[int, bytes]:
    return (14, struct.pack(order + "q", seconds))


def read_all(data: bytes) -> tuple[list[PcapRecord], CaptureReader]:
    reader = CaptureReader(io.BytesIO(data))
    return list(reader), reader


def exact(units: int, per_second: int) -> float:
    return float(Fraction(units, per_second))


@pytest.mark.parametrize("order", ["<", ">"], ids=["little", "big"])
def test_default_microsecond_resolution_in_either_byte_order(order):
    units = 1_700_000_000_123_456
    data = shb(order) + idb(order, 1) + epb(order, 0, units, ethernet(ipv4()))
    records, reader = read_all(data)
    assert records == [PcapRecord(exact(units, 10**6), ipv4())]
    assert reader.format == "pcapng"
    assert reader.link_types == (1,)
    assert reader.skipped == {}


def test_two_interfaces_with_different_link_types_and_resolutions():
    order = "<"
    ns = 1_700_000_000_987_654_321
    binary = (1_700_000_000 << 10) + 512  # 2^-10 second units: .5 s
    data = (
        shb(order)
        + idb(order, 1, 0, tsresol(9))  # Ethernet, nanoseconds
        + idb(order, 276, 0, tsresol(0x80 | 10), tsoffset(order, 100))  # SLL2, 2^-10 s, +100 s
        + epb(order, 0, ns, ethernet(ipv4()))
        + epb(order, 1, binary, sll2(ipv6()))
        + epb(order, 0, ns + 1, ethernet(ipv6(), 0x86DD))
    )
    records, reader = read_all(data)
    assert records == [
        PcapRecord(exact(ns, 10**9), ipv4()),
        PcapRecord(1_700_000_100.5, ipv6()),
        PcapRecord(exact(ns + 1, 10**9), ipv6()),
    ]
    assert reader.link_types == (1, 276)
    assert reader.records_read == 3


def test_tsresol_power_of_ten_other_than_micro_and_nano():
    data = shb() + idb("<", 101, 0, tsresol(3)) + epb("<", 0, 1_500, ipv4())
    assert read_all(data)[0] == [PcapRecord(1.5, ipv4())]


def test_simple_packet_block_takes_interface_zero_and_the_previous_timestamp():
    data = (
        shb()
        + idb("<", 101)
        + idb("<", 1)
        + spb("<", ipv6())  # no timestamp seen yet
        + epb("<", 1, 7_250_000, ethernet(ipv4()))
        + spb("<", ipv4(b"second"))
    )
    records, _ = read_all(data)
    assert records == [
        PcapRecord(0.0, ipv6()),
        PcapRecord(7.25, ipv4()),
        PcapRecord(7.25, ipv4(b"second")),
    ]


def test_simple_packet_block_cut_by_the_interface_snaplen_is_truncated():
    packet = ipv4(bytes(100))
    data = shb() + idb("<", 101, 64) + spb("<", packet[:64], wire=len(packet)) + spb("<", ipv4())
    records, reader = read_all(data)
    assert records == [PcapRecord(0.0, ipv4())]
    assert reader.skipped == {REASON_TRUNCATED: 1}


def test_obsolete_packet_block_is_read():
    data = shb(">") + idb(">", 101) + opb(">", 0, 3_000_000, ipv4())
    assert read_all(data)[0] == [PcapRecord(3.0, ipv4())]


def test_unknown_blocks_are_skipped_by_length():
    data = (
        shb()
        + block("<", 0x00000BAD, b"custom block body")
        + idb("<", 101)
        + block("<", 4, b"\x01\x00\x08\x00" + bytes(8))  # name resolution block
        + epb("<", 0, 1_000_000, ipv4())
        + block("<", 5, bytes(12))  # interface statistics block
    )
    records, reader = read_all(data)
    assert records == [PcapRecord(1.0, ipv4())]
    assert reader.skipped == {}


def test_unsupported_link_type_is_counted_per_packet_and_other_interfaces_still_work():
    data = (
        shb()
        + idb("<", 147)
        + idb("<", 101)
        + epb("<", 0, 1, b"anything")
        + epb("<", 1, 2_000_000, ipv4())
        + epb("<", 0, 3, b"anything")
    )
    records, reader = read_all(data)
    assert records == [PcapRecord(2.0, ipv4())]
    assert reader.skipped == {"unsupported link type 147": 2}
    assert reader.link_types == (147, 101)


def test_a_new_section_switches_byte_order_and_forgets_interfaces():
    data = (
        shb("<")
        + idb("<", 101)
        + idb("<", 1)
        + epb("<", 1, 1_000_000, ethernet(ipv4()))
        + shb(">")
        + idb(">", 229, 0, tsresol(9))
        + epb(">", 1, 5, ipv6())  # interface 1 existed only in the first section
        + epb(">", 0, 2_000_000_000, ipv6())
    )
    records, reader = read_all(data)
    assert records == [PcapRecord(1.0, ipv4()), PcapRecord(2.0, ipv6())]
    assert reader.skipped == {REASON_UNKNOWN_INTERFACE: 1}
    assert reader.link_types == (101, 1, 229)


def test_packet_before_any_interface_is_counted():
    records, reader = read_all(shb() + epb("<", 0, 1, ipv4()))
    assert records == []
    assert reader.skipped == {REASON_UNKNOWN_INTERFACE: 1}


def test_truncated_and_non_ip_packets_are_counted():
    frame = ethernet(ipv4())
    data = (
        shb()
        + idb("<", 1)
        + epb("<", 0, 1, frame[:40], wire=len(frame))
        + epb("<", 0, 2, ethernet(bytes(28), 0x0806))
        + epb("<", 0, 3_000_000, frame)
    )
    records, reader = read_all(data)
    assert records == [PcapRecord(3.0, ipv4())]
    assert reader.skipped == {REASON_TRUNCATED: 1, "not IP": 1}


def test_caplen_past_the_block_is_skipped_without_reading_garbage():
    bad = bytearray(epb("<", 0, 1, ipv4()))
    struct.pack_into("<I", bad, 20, 5000)  # caplen far beyond the block
    data = shb() + idb("<", 101) + bytes(bad) + epb("<", 0, 2_000_000, ipv4())
    records, reader = read_all(data)
    assert records == [PcapRecord(2.0, ipv4())]
    assert reader.skipped == {REASON_CORRUPT_BLOCK: 1}


@pytest.mark.parametrize("length", [8, 13, 0x7FFFFFF0])
def test_impossible_block_length_stops_reading(length):
    data = shb() + idb("<", 101) + epb("<", 0, 1_000_000, ipv4())
    data += struct.pack("<II", 6, length) + bytes(64)
    records, reader = read_all(data)
    assert records == [PcapRecord(1.0, ipv4())]
    assert reader.skipped == {REASON_CORRUPT_BLOCK: 1}


def test_mismatched_trailing_length_stops_reading():
    bad = bytearray(epb("<", 0, 2, ipv4()))
    bad[-4:] = struct.pack("<I", 4)
    data = shb() + idb("<", 101) + epb("<", 0, 1_000_000, ipv4())
    data += bytes(bad) + epb("<", 0, 3, ipv4())
    records, reader = read_all(data)
    assert records == [PcapRecord(1.0, ipv4())]
    assert reader.skipped == {REASON_CORRUPT_BLOCK: 1}


def test_bad_later_section_header_stops_reading():
    bad_section = bytearray(shb(">"))
    bad_section[8:12] = b"\xde\xad\xbe\xef"
    data = shb() + idb("<", 101) + epb("<", 0, 1_000_000, ipv4()) + bytes(bad_section)
    records, reader = read_all(data + idb(">", 101))
    assert records == [PcapRecord(1.0, ipv4())]
    assert reader.skipped == {REASON_BAD_SECTION: 1}


def test_file_cut_inside_a_block_counts_one_truncation():
    data = shb() + idb("<", 101) + epb("<", 0, 1_000_000, ipv4()) + epb("<", 0, 2, ipv4())
    for cut in (len(data) - 1, len(data) - 30, len(data) - len(epb("<", 0, 2, ipv4())) + 5):
        records, reader = read_all(data[:cut])
        assert records == [PcapRecord(1.0, ipv4())]
        assert reader.skipped == {REASON_EOF: 1}


@pytest.mark.parametrize(
    "data, message",
    [
        (shb()[:10], "section header"),
        (shb(major=2), "version 2"),
        (shb()[:8] + b"\x01\x02\x03\x04" + shb()[12:], "byte-order"),
        (struct.pack("<II", 0x0A0D0D0A, 12) + struct.pack("<I", 0x1A2B3C4D), "length"),
    ],
)
def test_bad_first_section_header_raises_pcap_error(data, message):
    with pytest.raises(PcapError, match=message):
        CaptureReader(io.BytesIO(data))


def test_option_with_length_past_the_block_is_ignored():
    broken = struct.pack("<HHI", 101, 0, 0) + struct.pack("<HH", 9, 200) + b"\x09\0\0\0"
    data = shb() + block("<", 1, broken) + epb("<", 0, 4_000_000, ipv4())
    assert read_all(data)[0] == [PcapRecord(4.0, ipv4())]


def test_short_interface_block_keeps_later_interface_numbers():
    data = shb() + block("<", 1, b"\x01\x00") + idb("<", 101) + epb("<", 0, 1, ipv4())
    data += epb("<", 1, 6_000_000, ipv4())
    records, reader = read_all(data)
    assert records == [PcapRecord(6.0, ipv4())]
    assert reader.skipped == {"corrupt interface block": 2}


def test_packet_above_256_kib_is_skipped_as_corrupt():
    huge = ipv4(bytes(60000)) + bytes(256 * 1024)
    data = shb() + idb("<", 101) + epb("<", 0, 1, huge) + epb("<", 0, 2_000_000, ipv4())
    records, reader = read_all(data)
    assert records == [PcapRecord(2.0, ipv4())]
    assert reader.skipped == {REASON_CORRUPT_BLOCK: 1}
