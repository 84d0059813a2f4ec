"""Hostile input: any bytes, mutated files and every truncation of a valid file.

The reader may refuse a file only with PcapError when it is built; iterating never raises, and a
cut file yields exactly the records that are complete plus one "truncated at end of file".
"""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyreplay.packet.pcap import REASON_EOF, CaptureReader, PcapError, PcapRecord


def ipv4(payload: bytes) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, 0, 64, 6, 0, b"\x0a\0\0\1", b"\x0a\0\0\2"
    )
    return header + payload


def pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def block(order: str, block_type: int, body: bytes) -> bytes:
    body = pad4(body)
    length = 12 + len(body)
    return struct.pack(order + "II", block_type, length) + body + struct.pack(order + "I", length)


def shb(order: str) -> bytes:
    return block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(order: str, linktype: int) -> bytes:
    return block(order, 1, struct.pack(order + "HHI", linktype, 0, 0))


def epb(order: str, units: int, frame: bytes) -> bytes:
    head = struct.pack(order + "IIIII", 0, units >> 32, units & 0xFFFFFFFF, len(frame), len(frame))
    return block(order, 6, head + frame)


def pcap_header(order: str = "<", linktype: int = 101) -> bytes:
    return struct.pack(order + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)


def pcap_record(order: str, seconds: int, frame: bytes) -> bytes:
    return struct.pack(order + "IIII", seconds, 0, len(frame), len(frame)) + frame


def classic_file() -> tuple[list[bytes], list[PcapRecord | None]]:
    """The file as pieces (header, then one per record) and the record each piece holds."""
    packets = [ipv4(bytes([n]) * n) for n in (0, 1, 7, 30)]
    pieces = [pcap_header()] + [pcap_record("<", n, p) for n, p in enumerate(packets)]
    return pieces, [None] + [PcapRecord(float(n), p) for n, p in enumerate(packets)]


def pcapng_file() -> tuple[list[bytes], list[PcapRecord | None]]:
    """Two sections of opposite byte order; each piece is one block."""
    packets = [ipv4(bytes([n]) * n) for n in (0, 3, 9)]
    records = [PcapRecord(float(n + 1), p) for n, p in enumerate(packets)]
    pieces = [
        (shb("<"), None),
        (idb("<", 101), None),
        (epb("<", 1_000_000, packets[0]), records[0]),
        (block("<", 0xBAD, b"skip me"), None),
        (epb("<", 2_000_000, packets[1]), records[1]),
        (shb(">"), None),
        (idb(">", 101), None),
        (epb(">", 3_000_000, packets[2]), records[2]),
    ]
    return [piece for piece, _ in pieces], [record for _, record in pieces]


def read_everything(data: bytes) -> tuple[list[PcapRecord], dict[str, int]] | None:
    """Records and skip counts, or None if the reader refused the file with PcapError."""
    try:
        reader = CaptureReader(io.BytesIO(data))
    except PcapError:
        return None
    return list(reader), reader.skipped


@pytest.mark.parametrize("build", [classic_file, pcapng_file], ids=["pcap", "pcapng"])
def test_every_prefix_yields_complete_records_and_one_truncation(build):
    pieces, held = build()
    data = b"".join(pieces)
    ends = [sum(len(p) for p in pieces[: i + 1]) for i in range(len(pieces))]
    records = [record for record in held if record is not None]
    record_ends = [end for end, record in zip(ends, held) if record is not None]
    for cut in range(len(data) + 1):
        result = read_everything(data[:cut])
        if cut < ends[0]:
            assert result is None, cut
            continue
        assert result is not None, cut
        got, skipped = result
        assert got == [r for r, end in zip(records, record_ends) if end <= cut], cut
        assert skipped == ({} if cut in ends else {REASON_EOF: 1}), cut


def assert_well_behaved(data: bytes) -> None:
    result = read_everything(data)
    if result is None:
        return
    records, skipped = result
    for record in records:
        assert isinstance(record, PcapRecord)
        assert isinstance(record.timestamp, float)
        assert isinstance(record.packet, bytes) and record.packet[0] >> 4 in (4, 6)
    assert all(isinstance(k, str) and v > 0 for k, v in skipped.items())


PREFIXES = [
    b"",
    pcap_header("<", 1),
    pcap_header(">", 113),
    pcap_header("<", 0),
    struct.pack(">IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 276),
    shb("<"),
    shb(">") + idb(">", 1),
    shb("<") + idb("<", 101) + idb("<", 276),
]


@settings(deadline=None, max_examples=400)
@given(prefix=st.sampled_from(PREFIXES), tail=st.binary(max_size=3000))
def test_any_bytes_raise_nothing_but_pcap_error(prefix, tail):
    assert_well_behaved(prefix + tail)


@settings(deadline=None, max_examples=400)
@given(
    build=st.sampled_from([classic_file, pcapng_file]),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_mutated_files_raise_nothing_but_pcap_error(build, flips):
    data = bytearray(b"".join(build()[0]))
    for position, value in flips:
        data[position % len(data)] = value
    assert_well_behaved(bytes(data))


@settings(deadline=None)
@given(
    order=st.sampled_from("<>"),
    payloads=st.lists(st.binary(max_size=64), max_size=8),
    cut=st.integers(min_value=0),
)
def test_generated_pcapng_cut_anywhere(order, payloads, cut):
    blocks = [shb(order), idb(order, 101)] + [
        epb(order, (n + 1) * 1_000_000, ipv4(p)) for n, p in enumerate(payloads)
    ]
    data = b"".join(blocks)
    cut %= len(data) + 1
    result = read_everything(data[:cut])
    if cut < len(blocks[0]):
        assert result is None
        return
    assert result is not None
    records, skipped = result
    complete = 0
    end = len(blocks[0]) + len(blocks[1])
    for block_bytes in blocks[2:]:
        end += len(block_bytes)
        complete += end <= cut
    assert records == [PcapRecord(float(n + 1), ipv4(p)) for n, p in enumerate(payloads[:complete])]
    assert sum(skipped.values()) <= 1
