"""MTU splitting: payload preserved, sequence continuity across 2**32, flags, ids and sizes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyreplay.packet.options import encode_tcp_options, parse_tcp_options
from pyreplay.packet.segment import ACK, CWR, FIN, NO_OPTIONS, PSH, SYN, URG, Segment
from pyreplay.packet.segmentation import split_to_mtu
from pyreplay.packet.seqnum import seq_add
from pyreplay.packet.tcpip import build_packet, parse_packet

CLIENT = bytes([10, 0, 0, 1])
SERVER = bytes([10, 0, 0, 2])
TS_OPTIONS = parse_tcp_options(encode_tcp_options(timestamp=(5, 6)))  # 12 bytes


def make(payload: bytes, *, seq=1000, flags=ACK | PSH, options=NO_OPTIONS, ip_id=1) -> Segment:
    return Segment(
        src=CLIENT, dst=SERVER, sport=40000, dport=80, seq=seq, ack=77, flags=flags, window=1000,
        options=options, payload=payload, ip_id=ip_id, ttl=61,
    )  # fmt: skip


def test_fitting_segment_is_returned_as_is():
    seg = make(bytes(1460))
    assert split_to_mtu(seg, 1500) == [seg]
    assert split_to_mtu(make(b""), 40) == [make(b"")]


def test_split_exact_sizes_with_timestamps():
    seg = make(bytes(range(256)) * 12, options=TS_OPTIONS)  # 3072 bytes, 1448 per piece
    pieces = split_to_mtu(seg, 1500)
    assert [len(p.payload) for p in pieces] == [1448, 1448, 176]
    assert [p.seq for p in pieces] == [1000, 2448, 3896]
    assert [p.ip_id for p in pieces] == [1, 2, 3]
    assert [p.flags for p in pieces] == [ACK, ACK, ACK | PSH]
    assert all(p.options == TS_OPTIONS and p.ack == 77 and p.ttl == 61 for p in pieces)
    assert [len(build_packet(p)) for p in pieces] == [1500, 1500, 228]


def test_syn_with_data_takes_one_sequence_number():
    seg = make(b"a" * 100, seq=2**32 - 1, flags=SYN | FIN | CWR | URG)
    pieces = split_to_mtu(seg, 40 + 60)
    assert [p.payload for p in pieces] == [b"a" * 60, b"a" * 40]
    assert [p.seq for p in pieces] == [2**32 - 1, 60]
    assert [p.flags for p in pieces] == [SYN | CWR | URG, FIN | URG]


def test_ip_id_wraps():
    pieces = split_to_mtu(make(bytes(300), ip_id=0xFFFF), 140)
    assert [p.ip_id for p in pieces] == [0xFFFF, 0, 1]


def test_mtu_without_room_for_payload_is_misuse():
    with pytest.raises(ValueError):
        split_to_mtu(make(bytes(10), options=TS_OPTIONS), 52)


def test_gso_super_frame_of_64_kib():
    payload = (bytes(range(251)) * 261)[:65483]  # with 52 header bytes, a 65535-byte packet
    seg = make(payload, seq=2**32 - 30000, options=TS_OPTIONS)
    packet = build_packet(seg)
    assert len(packet) == 65535
    pieces = split_to_mtu(parse_packet(packet), 1500)
    assert len(pieces) == -(-len(payload) // 1448)
    assert b"".join(p.payload for p in pieces) == payload
    assert all(len(build_packet(p)) <= 1500 for p in pieces)


@given(
    payload=st.binary(max_size=70000).filter(bool) | st.integers(1, 70000).map(bytes),
    seq=st.integers(2**32 - 70000, 2**32 - 1) | st.integers(0, 2**32 - 1),
    flags=st.integers(0, 0xFF),
    options=st.sampled_from([NO_OPTIONS, TS_OPTIONS, parse_tcp_options(encode_tcp_options(1460, 7, True, (1, 2)))]),
    mtu=st.integers(100, 9000),
    ip_id=st.integers(0, 0xFFFF),
)
def test_split_properties(payload, seq, flags, options, mtu, ip_id):
    seg = make(payload, seq=seq, flags=flags, options=options, ip_id=ip_id)
    pieces = split_to_mtu(seg, mtu)
    assert b"".join(p.payload for p in pieces) == payload
    assert all(p.payload for p in pieces)
    assert pieces[0].seq == seq
    expected_next = seq_add(seq, 1) if flags & SYN else seq
    for i, piece in enumerate(pieces):
        if i:
            assert piece.seq == expected_next
        expected_next = seq_add(expected_next, len(piece.payload))
        assert piece.ip_id == (ip_id + i) % 65536
        assert (piece.src, piece.dst, piece.sport, piece.dport, piece.ack, piece.window, piece.options) == (
            seg.src, seg.dst, seg.sport, seg.dport, seg.ack, seg.window, seg.options
        )  # fmt: skip
        assert piece.flags & ~(SYN | CWR | FIN | PSH) == flags & ~(SYN | CWR | FIN | PSH)
    total_space = sum(p.seq_space for p in pieces)
    assert total_space == seg.seq_space
    assert pieces[0].flags & (SYN | CWR) == flags & (SYN | CWR)
    assert pieces[-1].flags & (FIN | PSH) == flags & (FIN | PSH)
    assert all(p.flags & (SYN | CWR) == 0 for p in pieces[1:])
    assert all(p.flags & (FIN | PSH) == 0 for p in pieces[:-1])
    sizes = [len(build_packet(p)) for p in pieces]
    assert all(size <= mtu for size in sizes)
    assert all(size == mtu for size in sizes[:-1])  # no piece smaller than it need be
