"""TCP option parsing, Linux layouts, timestamp rewriting, and malformed option bytes."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyreplay.packet.errors import PacketError
from pyreplay.packet.options import (
    encode_tcp_options,
    find_timestamp_offset,
    parse_tcp_options,
    replace_timestamp,
    with_timestamp,
)
from pyreplay.packet.segment import TcpOptions

# A Linux SYN's options as seen on the wire (tcpdump: mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7).
LINUX_SYN = bytes.fromhex("020405b4" "0402080a" "00000001" "00000000" "01030307")


def test_parse_linux_syn():
    opts = parse_tcp_options(LINUX_SYN)
    assert opts == TcpOptions(mss=1460, wscale=7, sack_permitted=True, timestamp=(1, 0), raw=LINUX_SYN)


def test_encode_linux_syn_layout():
    assert encode_tcp_options(mss=1460, wscale=7, sack_permitted=True, timestamp=(1, 0)) == LINUX_SYN


@pytest.mark.parametrize(
    ("kwargs", "expected_hex"),
    [
        ({}, ""),
        ({"timestamp": (0x01020304, 0xA0B0C0D0)}, "0101080a01020304a0b0c0d0"),
        ({"mss": 536}, "02040218"),
        ({"wscale": 14}, "0103030e"),
        ({"sack_permitted": True}, "01010402"),
        ({"mss": 1460, "sack_permitted": True, "wscale": 7}, "020405b4" "01010402" "01030307"),
        ({"mss": 1460, "timestamp": (5, 6), "wscale": 2}, "020405b4" "0101080a0000000500000006" "01030302"),
    ],
)
def test_encode_layouts(kwargs, expected_hex):
    assert encode_tcp_options(**kwargs) == bytes.fromhex(expected_hex)


@pytest.mark.parametrize("kwargs", [{"mss": 65536}, {"mss": -1}, {"wscale": 256}, {"timestamp": (1 << 32, 0)}])
def test_encode_rejects_out_of_range(kwargs):
    with pytest.raises(ValueError):
        encode_tcp_options(**kwargs)


option_fields = st.fixed_dictionaries(
    {
        "mss": st.none() | st.integers(0, 0xFFFF),
        "wscale": st.none() | st.integers(0, 255),
        "sack_permitted": st.booleans(),
        "timestamp": st.none() | st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    }
)


@given(option_fields)
def test_encode_parse_round_trip(fields):
    raw = encode_tcp_options(**fields)
    assert len(raw) % 4 == 0 and len(raw) <= 40
    assert parse_tcp_options(raw) == TcpOptions(**fields, raw=raw)


def test_unknown_kinds_nop_and_eol():
    # NOP, unknown kind 30 (len 4), MSS, EOL, then garbage after EOL that must be ignored.
    raw = bytes.fromhex("01" "1e04abcd" "02040578" "00" "ff")
    assert parse_tcp_options(raw) == TcpOptions(mss=1400, raw=raw)


def test_sack_blocks_are_skipped():
    raw = bytes.fromhex("0101050a" "0000000100000002" "0101080a" "0000000300000004")
    assert parse_tcp_options(raw).timestamp == (3, 4)


@pytest.mark.parametrize(
    "raw_hex",
    [
        "02",  # kind without a length byte
        "0201",  # length below 2
        "0200",
        "020405",  # length runs past the end
        "0203ff",  # MSS with the wrong length
        "080601020304",  # timestamp with the wrong length
        "03020000",  # window scale with the wrong length
        "04030000",  # SACK-permitted with the wrong length
    ],
)
def test_malformed_lengths_raise(raw_hex):
    with pytest.raises(PacketError):
        parse_tcp_options(bytes.fromhex(raw_hex))


def test_lenient_parse_keeps_what_came_before_the_damage():
    raw = bytes.fromhex("020405b4" "0101080a0000000700000008" "1e09")
    with pytest.raises(PacketError):
        parse_tcp_options(raw)
    assert parse_tcp_options(raw, strict=False) == TcpOptions(mss=1460, timestamp=(7, 8), raw=raw)


@given(st.binary(max_size=60), st.booleans())
def test_any_bytes_raise_only_packet_error(raw, strict):
    try:
        opts = parse_tcp_options(raw, strict=strict)
    except PacketError:
        assert strict
    else:
        assert opts.raw == raw


@given(
    option_fields.filter(lambda f: f["timestamp"] is not None),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
)
def test_replace_timestamp_keeps_other_options(fields, tsval, tsecr):
    raw = encode_tcp_options(**fields)
    new_raw = replace_timestamp(raw, tsval, tsecr)
    assert len(new_raw) == len(raw)
    expected = dict(fields, timestamp=(tsval, tsecr))
    assert parse_tcp_options(new_raw) == TcpOptions(**expected, raw=new_raw)
    offset = find_timestamp_offset(raw)
    assert new_raw[offset + 2 : offset + 10] == struct.pack("!II", tsval, tsecr)
    assert new_raw[: offset + 2] == raw[: offset + 2] and new_raw[offset + 10 :] == raw[offset + 10 :]


def test_replace_timestamp_after_unknown_option():
    raw = bytes.fromhex("1e04abcd" "0101080a" "0000000100000002" "01010000")
    assert find_timestamp_offset(raw) == 6
    assert replace_timestamp(raw, 9, 10) == bytes.fromhex("1e04abcd" "0101080a" "000000090000000a" "01010000")


def test_replace_timestamp_without_one_raises():
    with pytest.raises(PacketError):
        replace_timestamp(encode_tcp_options(mss=1460), 1, 2)


def test_with_timestamp_updates_fields_and_raw():
    opts = parse_tcp_options(LINUX_SYN)
    new = with_timestamp(opts, 100, 200)
    assert new == parse_tcp_options(replace_timestamp(LINUX_SYN, 100, 200))
    assert with_timestamp(TcpOptions(), 1, 2) == TcpOptions(timestamp=(1, 2))
