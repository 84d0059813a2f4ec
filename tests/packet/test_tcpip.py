"""IPv4/TCP build and parse: golden bytes, round trips, checksums, and hostile bytes."""

from __future__ import annotations

import re
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyreplay.packet.checksum import checksum_adjust
from pyreplay.packet.errors import PacketError
from pyreplay.packet.options import encode_tcp_options, find_timestamp_offset, parse_tcp_options
from pyreplay.packet.segment import ACK, FIN, NO_OPTIONS, PSH, SYN, Segment, TcpOptions
from pyreplay.packet.tcpip import build_packet, ipv4_packet_length, parse_packet, usual_tcp_dport, wire_options

CLIENT = bytes([192, 0, 2, 1])
SERVER = bytes([198, 51, 100, 7])


def reference_checksum(data: bytes) -> int:
    """Word-by-word RFC 1071, independent of the code under test."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(word for (word,) in struct.iter_unpack("!H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def expected_packet(*, src, dst, ip_id, ttl, sport, dport, seq, ack, flags, window, options, payload):
    """Packet bytes assembled field by field from RFC 791/793 layouts."""
    tcp_len = 20 + len(options) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + tcp_len, ip_id, 0x4000, ttl, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", reference_checksum(ip)) + ip[12:]
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (5 + len(options) // 4) << 4, flags, window, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, tcp_len)
    csum = reference_checksum(pseudo + tcp + options + payload)
    tcp = tcp[:16] + struct.pack("!H", csum) + tcp[18:]
    return ip + tcp + options + payload


def assert_checksums_verify(packet: bytes) -> None:
    ihl = (packet[0] & 0x0F) * 4
    assert reference_checksum(packet[:ihl]) == 0
    tcp = packet[ihl:]
    pseudo = packet[12:16] + packet[16:20] + struct.pack("!BBH", 0, 6, len(tcp))
    assert reference_checksum(pseudo + tcp) == 0


def test_golden_syn():
    seg = Segment(
        src=CLIENT,
        dst=SERVER,
        sport=40000,
        dport=80,
        seq=0xFFFFFFF0,
        ack=0,
        flags=SYN,
        window=64240,
        options=TcpOptions(mss=1460, wscale=7, sack_permitted=True, timestamp=(0x11223344, 0)),
        ip_id=0x1234,
        ttl=64,
    )
    # Linux SYN options: mss 1460,sackOK,TS val 0x11223344 ecr 0,nop,wscale 7.
    linux_syn_options = bytes.fromhex("020405b4" "0402080a" "11223344" "00000000" "01030307")
    expected = expected_packet(
        src=CLIENT, dst=SERVER, ip_id=0x1234, ttl=64, sport=40000, dport=80, seq=0xFFFFFFF0, ack=0,
        flags=SYN, window=64240, options=linux_syn_options, payload=b"",
    )  # fmt: skip
    packet = build_packet(seg)
    assert packet == expected
    assert_checksums_verify(packet)
    ver_ihl, tos, total, ip_id, frag, ttl, proto, _, src, dst = struct.unpack("!BBHHHBBH4s4s", packet[:20])
    assert (ver_ihl, tos, total, ip_id, frag, ttl, proto, src, dst) == (0x45, 0, 60, 0x1234, 0x4000, 64, 6, CLIENT, SERVER)
    sport, dport, seq, ack, off, flags, window, _, urg = struct.unpack("!HHIIBBHHH", packet[20:40])
    assert (sport, dport, seq, ack, off >> 4, flags, window, urg) == (40000, 80, 0xFFFFFFF0, 0, 10, SYN, 64240, 0)
    parsed = parse_packet(packet)
    assert parsed == Segment(**{**_fields(seg), "options": TcpOptions(1460, 7, True, (0x11223344, 0), linux_syn_options)})


def test_golden_data_segment_with_captured_options_and_odd_payload():
    raw = bytes.fromhex("0101080a" "0a0b0c0d" "01020304")
    payload = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"
    assert len(payload) % 2 == 1
    seg = Segment(
        src=CLIENT, dst=SERVER, sport=51234, dport=8080, seq=0x7FFFFFFF, ack=0xDEADBEEF, flags=ACK | PSH,
        window=502, options=parse_tcp_options(raw), payload=payload, ip_id=0xFFFF, ttl=63,
    )  # fmt: skip
    expected = expected_packet(
        src=CLIENT, dst=SERVER, ip_id=0xFFFF, ttl=63, sport=51234, dport=8080, seq=0x7FFFFFFF, ack=0xDEADBEEF,
        flags=ACK | PSH, window=502, options=raw, payload=payload,
    )  # fmt: skip
    packet = build_packet(seg)
    assert packet == expected
    assert_checksums_verify(packet)
    assert parse_packet(packet) == seg
    assert ipv4_packet_length(seg) == len(packet)


def _fields(seg: Segment) -> dict:
    return {name: getattr(seg, name) for name in Segment.FIELDS}


u32 = st.integers(0, 2**32 - 1)
near_wrap = st.integers(2**32 - 3000, 2**32 - 1) | st.integers(0, 3000) | u32
option_fields = st.fixed_dictionaries(
    {
        "mss": st.none() | st.integers(0, 0xFFFF),
        "wscale": st.none() | st.integers(0, 14),
        "sack_permitted": st.booleans(),
        "timestamp": st.none() | st.tuples(u32, u32),
    }
)
options_strategy = st.one_of(
    st.just(NO_OPTIONS),
    option_fields.map(lambda f: TcpOptions(**f)),
    option_fields.map(lambda f: parse_tcp_options(encode_tcp_options(**f))),
)
segments = st.builds(
    Segment,
    src=st.binary(min_size=4, max_size=4),
    dst=st.binary(min_size=4, max_size=4),
    sport=st.integers(0, 0xFFFF),
    dport=st.integers(0, 0xFFFF),
    seq=near_wrap,
    ack=near_wrap,
    flags=st.integers(0, 0xFF),
    window=st.integers(0, 0xFFFF),
    options=options_strategy,
    payload=st.binary(max_size=3000),
    ip_id=st.integers(0, 0xFFFF),
    ttl=st.integers(0, 255),
)


@given(segments)
def test_build_parse_round_trip(seg):
    packet = build_packet(seg)
    wire = wire_options(seg.options)
    assert parse_packet(packet) == Segment(**{**_fields(seg), "options": parse_tcp_options(wire)})
    if seg.options.raw or seg.options is NO_OPTIONS:
        assert parse_packet(packet) == seg


@given(segments)
def test_the_usual_packet_s_port_reads_as_parse_packet_reads_it(seg):
    packet = build_packet(seg)
    assert usual_tcp_dport(packet) == parse_packet(packet).dport == seg.dport


def test_other_packets_have_no_usual_port():
    packet = build_packet(Segment(bytes(4), bytes([10, 0, 0, 2]), 40000, 80, 1, 0, SYN, 100))
    fragment = packet[:6] + bytes([0x20, 0]) + packet[8:]  # more fragments follow
    udp = packet[:9] + bytes([17]) + packet[10:]
    with_ip_options = bytes([0x46]) + packet[1:20] + bytes(4) + packet[20:]
    for other in (fragment, udp, with_ip_options, packet[:39], bytearray(packet)):
        assert usual_tcp_dport(other) == -1
    assert usual_tcp_dport(packet) == 80


@given(segments)
def test_built_packets_checksums_verify(seg):
    packet = build_packet(seg)
    assert len(packet) == ipv4_packet_length(seg)
    assert_checksums_verify(packet)


# Byte ranges a rewrite may change, all at even offsets: (name, start, length).
REWRITABLE = [("saddr", 12, 4), ("daddr", 16, 4), ("sport", 20, 2), ("dport", 22, 2), ("seq", 24, 4),
              ("ack", 28, 4), ("window", 34, 2)]  # fmt: skip


@given(segments, st.sampled_from(REWRITABLE), st.data())
def test_checksum_adjust_matches_full_recompute(seg, field, data):
    name, start, length = field
    packet = build_packet(seg)
    new = data.draw(st.binary(min_size=length, max_size=length))
    old = packet[start : start + length]
    tcp_csum = checksum_adjust(int.from_bytes(packet[36:38], "big"), old, new)
    ip_csum = int.from_bytes(packet[10:12], "big")
    if name in ("saddr", "daddr"):
        ip_csum = checksum_adjust(ip_csum, old, new)
    patched = bytearray(packet)
    patched[start : start + length] = new
    patched[10:12] = ip_csum.to_bytes(2, "big")
    patched[36:38] = tcp_csum.to_bytes(2, "big")
    rebuilt = build_packet(Segment(**{**_fields(parse_packet(bytes(patched))), "options": seg.options}))
    assert bytes(patched) == rebuilt


@given(segments.filter(lambda s: s.options.timestamp is not None), u32, u32)
def test_checksum_adjust_for_timestamp_rewrite(seg, tsval, tsecr):
    packet = build_packet(seg)
    at = 40 + find_timestamp_offset(wire_options(seg.options)) + 2
    assert at % 2 == 0  # Linux layouts align TSval to 32 bits
    new = struct.pack("!II", tsval, tsecr)
    patched = bytearray(packet)
    patched[at : at + 8] = new
    patched[36:38] = checksum_adjust(int.from_bytes(packet[36:38], "big"), packet[at : at + 8], new).to_bytes(2, "big")
    assert_checksums_verify(bytes(patched))


def tcp_header(doff_words=5, options=b"", payload=b"", sport=1, dport=2):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 2, doff_words << 4, ACK, 100, 0, 0) + options + payload


def ip_packet(tcp: bytes, *, version=4, ihl=5, total=None, proto=6, frag=0x4000, ip_options=b"", trailer=b""):
    total = 4 * ihl + len(tcp) if total is None else total
    header = struct.pack("!BBHHHBBH4s4s", version << 4 | ihl, 0, total, 9, frag, 64, proto, 0, CLIENT, SERVER)
    return header + ip_options + tcp + trailer


def test_parse_skips_ip_options_and_link_padding():
    packet = ip_packet(tcp_header(payload=b"hello"), ihl=6, ip_options=b"\x01\x01\x01\x00", trailer=b"\x00" * 6)
    seg = parse_packet(packet)
    assert (seg.src, seg.dst, seg.sport, seg.dport, seg.seq, seg.ack) == (CLIENT, SERVER, 1, 2, 1, 2)
    assert (seg.flags, seg.window, seg.payload, seg.ip_id, seg.ttl) == (ACK, 100, b"hello", 9, 64)


def test_parse_accepts_bytearray_and_memoryview_slices():
    packet = ip_packet(tcp_header(payload=b"abc"))
    expected = parse_packet(packet)
    assert parse_packet(bytearray(packet)) == expected
    assert parse_packet(memoryview(b"\xaa" * 14 + packet)[14:]) == expected


def test_parse_zero_total_length_super_frame():
    payload = bytes(70000)
    seg = parse_packet(ip_packet(tcp_header(payload=payload), total=0))
    assert seg.payload == payload


def test_parse_keeps_damaged_options_leniently():
    options = bytes.fromhex("020405b4" "0101ff09")
    seg = parse_packet(ip_packet(tcp_header(doff_words=7, options=options)))
    assert seg.options == TcpOptions(mss=1460, raw=options)


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        (b"", "empty"),
        (ip_packet(tcp_header(), version=6), "IPv6"),
        (ip_packet(tcp_header(), version=5), "version 5"),
        (b"\x45" + bytes(10), "truncated IPv4 header"),
        (ip_packet(tcp_header(), ihl=4), "below 20"),
        (ip_packet(tcp_header(), total=19), "total length"),
        (ip_packet(tcp_header(), total=100), "truncated IPv4 packet"),
        (ip_packet(tcp_header(), total=0), "total length"),
        (ip_packet(tcp_header(), proto=17), "not TCP (IP protocol 17)"),
        (ip_packet(tcp_header(), frag=0x2000), "fragment"),
        (ip_packet(tcp_header(), frag=0x0001), "fragment"),
        (ip_packet(tcp_header()[:19]), "truncated TCP header"),
        (ip_packet(tcp_header(doff_words=4)), "data offset 16 below 20"),
        (ip_packet(tcp_header(doff_words=6)), "truncated TCP options"),
    ],
)
def test_parse_rejects_with_reason(packet, reason):
    with pytest.raises(PacketError, match=re.escape(reason)):
        parse_packet(packet)


@given(st.binary(max_size=120))
def test_any_bytes_raise_only_packet_error(data):
    for candidate in (data, b"\x45" + data, b"\x46" + data[:1] + b"\x00\x40" + data[3:]):
        try:
            parse_packet(candidate)
        except PacketError:
            pass


@given(segments.filter(lambda s: len(s.payload) < 200))
def test_truncations_of_valid_packets_raise_packet_error(seg):
    packet = build_packet(seg)
    for cut in range(len(packet)):
        with pytest.raises(PacketError):
            parse_packet(packet[:cut])


@given(segments.filter(lambda s: len(s.payload) < 200), st.data())
def test_corrupted_valid_packets_parse_or_raise_packet_error(seg, data):
    packet = bytearray(build_packet(seg))
    for _ in range(data.draw(st.integers(1, 4))):
        packet[data.draw(st.integers(0, len(packet) - 1))] = data.draw(st.integers(0, 255))
    try:
        parse_packet(bytes(packet))
    except PacketError:
        pass


def _segment(**changes) -> Segment:
    base = Segment(src=CLIENT, dst=SERVER, sport=1, dport=2, seq=3, ack=4, flags=ACK, window=5)
    return Segment(**{**_fields(base), **changes})


@pytest.mark.parametrize(
    "changes",
    [
        {"sport": 65536},
        {"dport": -1},
        {"seq": 2**32},
        {"ack": -1},
        {"flags": 256},
        {"window": 70000},
        {"ip_id": 65536},
        {"ttl": 256},
        {"src": bytes(16), "dst": bytes(16)},
        {"src": bytes(3)},
        {"payload": bytes(65536 - 40)},
        {"options": TcpOptions(raw=b"\x01" * 44)},
    ],
)
def test_build_rejects_misuse_with_value_error(changes):
    with pytest.raises(ValueError):
        build_packet(_segment(**changes))


def test_build_pads_unaligned_raw_options_with_nops():
    packet = build_packet(_segment(options=TcpOptions(raw=b"\x1e\x03\x07")))
    assert packet[40:44] == b"\x1e\x03\x07\x01"
    assert packet[32] >> 4 == 6
    assert_checksums_verify(packet)


def test_build_largest_packet():
    packet = build_packet(_segment(payload=b"\xff" * (65535 - 40), flags=ACK | FIN))
    assert len(packet) == 65535
    assert_checksums_verify(packet)


def test_checksums_that_come_out_zero_are_zero_not_ffff():
    fields = dict(src=CLIENT, dst=SERVER, ttl=64, sport=1000, dport=80, seq=1, ack=2, flags=ACK, options=b"",
                  payload=b"zero sum")  # fmt: skip
    # Choosing ip_id and window equal to the checksums they would otherwise give makes the sums 0xFFFF.
    probe = expected_packet(ip_id=0, window=0, **fields)
    ip_id, window = struct.unpack("!H", probe[10:12])[0], struct.unpack("!H", probe[36:38])[0]
    expected = expected_packet(ip_id=ip_id, window=window, **fields)
    assert expected[10:12] == b"\x00\x00" and expected[36:38] == b"\x00\x00"
    seg = Segment(
        src=CLIENT, dst=SERVER, sport=1000, dport=80, seq=1, ack=2, flags=ACK, window=window,
        payload=b"zero sum", ip_id=ip_id, ttl=64,
    )  # fmt: skip
    assert build_packet(seg) == expected


def _outcome(parse, packet):
    try:
        return parse(packet)
    except PacketError as exc:
        return ("error", str(exc).split(":")[0])


@given(segments, st.lists(st.tuples(st.integers(0, 60), st.integers(0, 255)), max_size=4),
       st.integers(0, 40), st.binary(max_size=6))
def test_fast_path_agrees_with_the_general_parser(seg, flips, cut, trailer):
    """``parse_packet`` of ``bytes`` takes a one-unpack fast path; a ``bytearray`` always the
    general one. Both must read any (damaged, truncated) packet the same way."""
    packet = bytearray(build_packet(seg)) + trailer  # link padding after the IP packet
    for offset, value in flips:
        if offset < len(packet):
            packet[offset] = value
    if cut:
        del packet[-cut:]
    fast, general = _outcome(parse_packet, bytes(packet)), _outcome(parse_packet, packet)
    if isinstance(general, tuple):
        assert isinstance(fast, tuple)  # the message may differ; both refuse it
    else:
        assert fast == general and type(fast.payload) is bytes
