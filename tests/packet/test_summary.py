"""Response summaries: header fields and payload length from any captured response."""

from hypothesis import given, strategies as st

import pytest

from pyreplay.packet.errors import PacketError
from pyreplay.packet.options import encode_tcp_options, parse_tcp_options
from pyreplay.packet.segment import ACK, PSH, Segment
from pyreplay.packet.summary import summarize
from pyreplay.packet.tcpip import build_packet


def response(payload=b"x" * 100, options=b""):
    opts = parse_tcp_options(options) if options else None
    seg = Segment(src=bytes([198, 18, 0, 30]), dst=bytes([198, 19, 0, 7]), sport=8080, dport=40000,
                  seq=4_294_967_000, ack=77, flags=ACK | PSH, window=501, payload=payload,
                  **({"options": opts} if opts else {}))
    return build_packet(seg)


def test_fields_and_payload_length_come_from_the_headers():
    s = summarize(response(b"y" * 1234))
    assert (s.src, s.dst, s.sport, s.dport) == (bytes([198, 18, 0, 30]), bytes([198, 19, 0, 7]), 8080, 40000)
    assert (s.seq, s.ack, s.flags, s.window, s.payload_len) == (4_294_967_000, 77, ACK | PSH, 501, 1234)


def test_options_are_parsed():
    s = summarize(response(b"", encode_tcp_options(timestamp=(5, 6))))
    assert s.options.timestamp == (5, 6) and s.payload_len == 0


def test_payload_length_uses_total_length_even_when_capture_is_cut():
    packet = response(b"z" * 5000)
    assert summarize(packet[:60]).payload_len == 5000


@given(st.binary(max_size=120))
def test_garbage_raises_only_packet_error(data):
    try:
        summarize(data)
    except PacketError:
        pass


def test_non_tcp_is_refused():
    packet = bytearray(response())
    packet[9] = 17
    with pytest.raises(PacketError, match="not TCP"):
        summarize(bytes(packet))


def _outcome(packet):
    try:
        return summarize(packet)
    except PacketError:
        return "error"


@given(st.binary(max_size=60), st.lists(st.tuples(st.integers(0, 59), st.integers(0, 255)), max_size=4),
       st.sampled_from([b"", bytes.fromhex("0101080a0000000100000002"), bytes.fromhex("020405b40402080a00000001000000020103030700")]),
       st.integers(0, 30))
def test_fast_path_agrees_with_the_general_summary(payload, flips, options, cut):
    """``summarize`` of ``bytes`` takes a one-unpack fast path, of a ``memoryview`` the general
    one; they must agree on any damaged or truncated packet."""
    packet = bytearray(response(payload, options.ljust(-(-len(options) // 4) * 4, b"\x00")))
    for offset, value in flips:
        if offset < len(packet):
            packet[offset] = value
    if cut:
        del packet[-cut:]
    assert _outcome(bytes(packet)) == _outcome(memoryview(bytes(packet)))
