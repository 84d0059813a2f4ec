"""Segment: the sequence space a segment occupies (payload, plus one each for SYN and FIN)."""

from pyreplay.packet.segment import ACK, FIN, SYN, Segment

V4 = bytes([10, 0, 0, 1])


def segment(flags: int, payload: bytes = b"") -> Segment:
    return Segment(V4, V4, 1, 2, 3, 4, flags, 6, payload=payload)


def test_seq_space_counts_payload_syn_and_fin():
    assert segment(ACK).seq_space == 0
    assert segment(ACK, b"data").seq_space == 4
    assert segment(SYN).seq_space == 1
    assert segment(FIN | ACK, b"ab").seq_space == 3
    assert segment(SYN | FIN).seq_space == 2
