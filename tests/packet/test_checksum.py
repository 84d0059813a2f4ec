"""Checksums against a word-by-word RFC 1071 reference, and RFC 1624 updates against recomputes."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from pyreplay.packet.checksum import (
    checksum_adjust,
    internet_checksum,
    ones_complement_sum,
    tcp_checksum,
)


def reference_sum(data: bytes) -> int:
    """RFC 1071 loop with end-around carry, written independently of the int trick."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for (word,) in struct.iter_unpack("!H", data):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return total


def reference_checksum(data: bytes) -> int:
    return ~reference_sum(data) & 0xFFFF


def test_rfc1071_worked_example():
    # RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
    assert ones_complement_sum(bytes.fromhex("0001f203f4f5f6f7")) == 0xDDF2
    assert internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_ipv4_header_published_example():
    # The worked example of the IPv4 header checksum article: 192.168.0.1 -> 192.168.0.199, UDP.
    header = bytes.fromhex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7")
    assert internet_checksum(header) == 0xB861
    assert internet_checksum(header[:10] + b"\xb8\x61" + header[12:]) == 0


def test_zero_edge_cases():
    assert ones_complement_sum(b"") == 0
    assert ones_complement_sum(b"\x00" * 6) == 0
    assert internet_checksum(b"\x00\x00") == 0xFFFF
    # Non-zero words summing to a multiple of 0xFFFF are -0, never +0.
    assert ones_complement_sum(b"\xff\xff") == 0xFFFF
    assert ones_complement_sum(b"\x80\x00\x7f\xff") == 0xFFFF
    assert internet_checksum(b"\xff\xff\xff\xff") == 0


@given(st.binary(max_size=3000))
def test_sum_matches_reference(data):
    assert ones_complement_sum(data) == reference_sum(data)
    assert internet_checksum(data) == reference_checksum(data)


@given(st.lists(st.sampled_from([b"\x00\x00", b"\xff\xff", b"\x00\x01", b"\xff\xfe"]), max_size=40))
def test_sum_matches_reference_on_edge_words(words):
    data = b"".join(words)
    assert ones_complement_sum(data) == reference_sum(data)


@given(st.binary(max_size=200))
def test_accepts_bytearray_and_memoryview(data):
    expected = reference_sum(data)
    assert ones_complement_sum(bytearray(data)) == expected
    assert ones_complement_sum(memoryview(data)) == expected
    assert ones_complement_sum(memoryview(b"xx" + data)[2:]) == expected


def ipv4_pseudo(src, dst, length):
    return src + dst + struct.pack("!BBH", 0, 6, length)


def ipv6_pseudo(src, dst, length):
    return src + dst + struct.pack("!I3xB", length, 6)


@given(st.binary(min_size=4, max_size=4), st.binary(min_size=4, max_size=4), st.binary(max_size=1600))
def test_tcp_checksum_ipv4_pseudo_header(src, dst, segment):
    assert tcp_checksum(src, dst, segment) == reference_checksum(ipv4_pseudo(src, dst, len(segment)) + segment)


@given(st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16), st.binary(max_size=1600))
def test_tcp_checksum_ipv6_pseudo_header(src, dst, segment):
    assert tcp_checksum(src, dst, segment) == reference_checksum(ipv6_pseudo(src, dst, len(segment)) + segment)


def test_tcp_checksum_ipv6_jumbo_length_uses_32_bits():
    src, dst = bytes(range(16)), bytes(range(16, 32))
    segment = b"\x01" * 70001
    assert tcp_checksum(src, dst, segment) == reference_checksum(ipv6_pseudo(src, dst, len(segment)) + segment)


def test_tcp_checksum_rejects_mixed_families():
    import pytest

    with pytest.raises(ValueError):
        tcp_checksum(b"\x00" * 4, b"\x00" * 16, b"")


@st.composite
def data_and_change(draw):
    """Checksummed data and an even-aligned replacement that keeps the first word non-zero.

    Like any real header (version nibble, protocol in the pseudo-header) the data is never all
    zero, the one case where eqn. 3 yields +0 and a recompute yields -0 (RFC 1624 section 3).
    """
    data = b"\x45\x00" + draw(st.binary(min_size=1, max_size=200))
    start = 2 * draw(st.integers(1, (len(data) - 1) // 2))
    length = draw(st.integers(1, len(data) - start))
    new = draw(st.binary(min_size=length, max_size=length))
    return data, start, new


@given(data_and_change())
def test_checksum_adjust_equals_recompute(case):
    data, start, new = case
    old = data[start : start + len(new)]
    changed = data[:start] + new + data[start + len(new) :]
    assert checksum_adjust(reference_checksum(data), old, new) == reference_checksum(changed)


@given(st.binary(min_size=4, max_size=4), st.binary(min_size=4, max_size=4), st.binary(min_size=4, max_size=4))
def test_checksum_adjust_address_rewrite_in_tcp_checksum(src, dst, new_dst):
    segment = b"\x1f\x90\x00\x50" + bytes(16) + b"payload"
    before = tcp_checksum(src, dst, segment)
    assert checksum_adjust(before, dst, new_dst) == tcp_checksum(src, new_dst, segment)
