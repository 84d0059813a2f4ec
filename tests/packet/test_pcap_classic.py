"""Classic pcap reading and writing, with files built by hand using struct."""

from __future__ import annotations

import io
import math
import struct
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyreplay.packet.pcap import (
    REASON_BAD_LENGTHS,
    REASON_CORRUPT,
    REASON_EOF,
    REASON_TRUNCATED,
    CaptureReader,
    PcapError,
    PcapRecord,
    PcapWriter,
    open_capture,
)


def ipv4(payload: bytes = b"GET / HTTP/1.1\r\n\r\n") -> bytes:
    total = 20 + len(payload) if len(payload) <= 65515 else 0  # 0, as in a GSO super-frame
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, total, 7, 0, 64, 6, 0, b"\x0a\0\0\1", b"\x0a\0\0\2"
    )
    return header + payload


def ipv6(payload: bytes = b"GET / HTTP/1.1\r\n\r\n") -> bytes:
    header = struct.pack("!IHBB16s16s", 6 << 28, len(payload), 6, 64, b"\1" * 16, b"\2" * 16)
    return header + payload


def ethernet(packet: bytes, ethertype: int = 0x0800) -> bytes:
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02" + struct.pack("!H", ethertype) + packet


def pcap_file(
    records: list[tuple[int, int, bytes]] | list,
    *,
    order: str = "<",
    nanosecond: bool = False,
    linktype: int = 1,
    major: int = 2,
) -> bytes:
    """records: (seconds, fraction, frame) or (seconds, fraction, frame, original length)."""
    magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
    out = struct.pack(order + "IHHiIII", magic, major, 4, 0, 0, 65535, linktype)
    for seconds, fraction, frame, *length in records:
        wire = length[0] if length else len(frame)
        out += struct.pack(order + "IIII", seconds, fraction, len(frame), wire) + frame
    return out


def read_all(data: bytes) -> CaptureReader:
    reader = CaptureReader(io.BytesIO(data))
    reader.records = list(reader)  # type: ignore[attr-defined]
    return reader


def exact(seconds: int, fraction: int, per_second: int) -> float:
    return float(Fraction(seconds) + Fraction(fraction, per_second))


@pytest.mark.parametrize("order", ["<", ">"], ids=["little", "big"])
@pytest.mark.parametrize("nanosecond", [False, True], ids=["usec", "nsec"])
def test_all_four_magics_give_packets_and_timestamps(order, nanosecond):
    per_second = 10**9 if nanosecond else 10**6
    fraction = 123_456_789 if nanosecond else 654_321
    data = pcap_file(
        [(1_700_000_000, fraction, ethernet(ipv4())), (1_700_000_001, 0, ethernet(ipv6(), 0x86DD))],
        order=order,
        nanosecond=nanosecond,
    )
    reader = read_all(data)
    assert reader.records == [
        PcapRecord(exact(1_700_000_000, fraction, per_second), ipv4()),
        PcapRecord(1_700_000_001.0, ipv6()),
    ]
    assert reader.skipped == {}
    assert reader.records_read == 2
    assert reader.link_types == (1,)
    assert reader.format == "pcap"


def test_truncated_and_non_ip_records_are_counted_and_skipped():
    data = pcap_file(
        [
            (1, 0, ethernet(ipv4())[:30], len(ethernet(ipv4()))),
            (2, 0, ethernet(bytes(28), 0x0806)),
            (3, 0, ethernet(ipv4())),
            (4, 0, ethernet(ipv4()), 10),
        ]
    )
    reader = read_all(data)
    assert reader.records == [PcapRecord(3.0, ipv4())]
    assert reader.skipped == {REASON_TRUNCATED: 1, "not IP": 1, REASON_BAD_LENGTHS: 1}


@pytest.mark.parametrize("caplen", [256 * 1024 + 1, 0x7FFF_FFFF])
def test_absurd_caplen_stops_reading(caplen):
    good = pcap_file([(1, 0, ipv4())], linktype=101)
    corrupt = struct.pack("<IIII", 2, 0, caplen, caplen) + ipv4() * 10
    reader = read_all(good + corrupt)
    assert reader.records == [PcapRecord(1.0, ipv4())]
    assert reader.skipped == {REASON_CORRUPT: 1}


def test_caplen_of_256_kib_is_accepted():
    big = ipv4(bytes(256 * 1024 - 20 - 14))
    reader = read_all(pcap_file([(1, 0, ethernet(big))]))
    assert [len(r.packet) for r in reader.records] == [len(big)]


def test_link_type_fcs_flag_bits_are_accepted():
    frame = ethernet(ipv4()) + b"\xde\xad\xbe\xef"
    reader = read_all(pcap_file([(1, 0, frame)], linktype=1 | 0x04000000 | (2 << 28)))
    assert reader.records == [PcapRecord(1.0, ipv4())]
    assert reader.link_types == (1,)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "too short"),
        (b"\xd4\xc3\xb2\xa1\x02\x00", "too short"),
        (b"GET / HTTP/1.1\r\n" * 3, "not a pcap"),
        (pcap_file([], linktype=147), "unsupported link type 147"),
        (pcap_file([], major=1), "version"),
    ],
)
def test_bad_file_headers_raise_pcap_error(data, message):
    with pytest.raises(PcapError, match=message):
        CaptureReader(io.BytesIO(data))


def test_pcap_error_is_a_value_error():
    assert issubclass(PcapError, ValueError)


def test_file_cut_inside_a_record_counts_one_truncation():
    data = pcap_file([(1, 0, ipv4()), (2, 0, ipv4())], linktype=101)
    for cut in (len(data) - 1, len(data) - len(ipv4()) - 3):
        reader = read_all(data[:cut])
        assert reader.records == [PcapRecord(1.0, ipv4())]
        assert reader.skipped == {REASON_EOF: 1}


class Trickle(io.RawIOBase):
    """A raw stream that returns at most three bytes per read, like a slow pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(min(3, len(buffer)))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class ShortReads:
    """A file-like object (not an io class) whose read() returns fewer bytes than asked."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._data.read(min(n, 5) if n >= 0 else 5)


@pytest.mark.parametrize("stream", [Trickle, ShortReads])
def test_short_reads_are_completed(stream):
    records = [(i, i * 1000, ipv4(bytes([i]) * i)) for i in range(1, 6)]
    data = pcap_file(records, linktype=101)
    assert list(CaptureReader(stream(data))) == list(CaptureReader(io.BytesIO(data)))
    assert len(list(CaptureReader(stream(data)))) == 5


def test_open_capture_owns_and_closes_the_file(tmp_path):
    path = tmp_path / "x.pcap"
    path.write_bytes(pcap_file([(5, 0, ipv4())], linktype=101))
    with open_capture(path) as reader:
        assert list(reader) == [PcapRecord(5.0, ipv4())]
        inner = reader._file
    assert inner.closed


def test_open_capture_raises_pcap_error_for_a_non_capture(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello, this is not a capture file")
    with pytest.raises(PcapError):
        open_capture(path)


def test_reader_leaves_a_callers_file_open():
    fileobj = io.BytesIO(pcap_file([(5, 0, ipv4())], linktype=101))
    with CaptureReader(fileobj) as reader:
        list(reader)
    assert not fileobj.closed


# -- writer ------------------------------------------------------------------------------------


def test_writer_header_follows_tcpdump_conventions():
    out = io.BytesIO()
    writer = PcapWriter(out)
    writer.write(1_700_000_000.5, ipv4())
    data = out.getvalue()
    magic, major, minor, zone, sigfigs, snaplen, linktype = struct.unpack_from("<IHHiIII", data)
    assert (magic, major, minor, zone, sigfigs, snaplen, linktype) == (
        0xA1B2C3D4, 2, 4, 0, 0, 262144, 101,
    )  # fmt: skip
    size = len(ipv4())
    assert struct.unpack_from("<IIII", data, 24) == (1_700_000_000, 500_000, size, size)
    assert data[40:] == ipv4()


def test_nanosecond_writer_uses_the_nanosecond_magic():
    out = io.BytesIO()
    PcapWriter(out, nanosecond=True).write(3.000000007, ipv4())
    assert struct.unpack_from("<I", out.getvalue())[0] == 0xA1B23C4D
    assert struct.unpack_from("<II", out.getvalue(), 24) == (3, 7)


def test_writer_with_ethernet_link_type_reads_back():
    out = io.BytesIO()
    PcapWriter(out, linktype=1).write(2.0, ethernet(ipv6(), 0x86DD))
    out.seek(0)
    assert list(CaptureReader(out)) == [PcapRecord(2.0, ipv6())]


@pytest.mark.parametrize(
    "timestamp, packet",
    [(-1.0, ipv4()), (float(2**32), ipv4()), (math.nan, ipv4()), (math.inf, ipv4()),
     (1.0, ipv4(bytes(262144)))],
)  # fmt: skip
def test_writer_rejects_what_pcap_cannot_hold(timestamp, packet):
    with pytest.raises(ValueError):
        PcapWriter(io.BytesIO()).write(timestamp, packet)


ip_packets = st.one_of(
    st.binary(max_size=1500).map(ipv4),
    st.binary(max_size=1500).map(ipv6),
)


@settings(deadline=None)
@given(
    nanosecond=st.booleans(),
    records=st.lists(
        st.tuples(st.floats(min_value=0, max_value=2**32 - 2, allow_nan=False), ip_packets),
        max_size=20,
    ),
)
def test_writer_then_reader_round_trip(nanosecond, records):
    out = io.BytesIO()
    writer = PcapWriter(out, nanosecond=nanosecond)
    for timestamp, packet in records:
        writer.write(timestamp, packet)
    out.seek(0)
    reader = CaptureReader(out)
    back = list(reader)
    resolution = 1e-9 if nanosecond else 1e-6
    assert [r.packet for r in back] == [p for _, p in records]
    for record, (timestamp, _) in zip(back, records):
        assert abs(record.timestamp - timestamp) <= resolution / 2 + 2 * math.ulp(timestamp)
    assert reader.skipped == {}
    assert reader.records_read == len(records)
