"""Internet checksums (RFC 1071) and their incremental update (RFC 1624), pure and fast.

The ones'-complement sum of 16-bit big-endian words equals the whole buffer read as one big
integer modulo 0xFFFF, because 2**16 == 1 (mod 0xFFFF); ``int.from_bytes`` does the work in C.
The only care needed is the representation of zero: a ones'-complement sum is +0 (0x0000) only
when every word is zero, and -0 (0xFFFF) when they are not all zero but add up to a multiple of 0xFFFF.

Checksums are returned as ints in [0, 0xFFFF] ready to be packed big-endian.
"""

from __future__ import annotations

from typing import TypeAlias

BytesLike: TypeAlias = bytes | bytearray | memoryview

IPPROTO_TCP = 6


def _nbytes(data: BytesLike) -> int:
    return data.nbytes if isinstance(data, memoryview) else len(data)


def _as_int(data: BytesLike) -> int:
    """The buffer as one big-endian integer, zero-padded on the right to an even length."""
    value = int.from_bytes(data, "big")
    if _nbytes(data) & 1:
        value <<= 8
    return value


def fold(total: int) -> int:
    """Fold a non-negative integer that is an exact sum of 16-bit words to a ones'-complement sum."""
    folded = total % 0xFFFF
    if folded == 0 and total:
        return 0xFFFF
    return folded


def ones_complement_sum(data: BytesLike) -> int:
    """The 16-bit ones'-complement sum of ``data`` (odd length padded with a zero byte)."""
    return fold(_as_int(data))


def internet_checksum(data: BytesLike) -> int:
    """The RFC 1071 checksum of ``data``: the complement of its ones'-complement sum."""
    return 0xFFFF - ones_complement_sum(data)


def pseudo_header_sum(src: bytes, dst: bytes, protocol: int, length: int) -> int:
    """Unfolded sum of the IPv4 or IPv6 pseudo-header words, chosen by the address length.

    IPv6 carries the length in 32 bits and the protocol in the last byte of a 32-bit word; the
    word sum of those is the same integer as IPv4's 16-bit fields, so one formula serves both.
    """
    if len(src) != len(dst) or len(src) not in (4, 16):
        raise ValueError(f"addresses must both be 4 or 16 bytes, got {len(src)} and {len(dst)}")
    return int.from_bytes(src, "big") + int.from_bytes(dst, "big") + protocol + (length >> 16) + (length & 0xFFFF)


def tcp_checksum(src: bytes, dst: bytes, tcp_segment: BytesLike) -> int:
    """The TCP checksum for ``tcp_segment`` (header + payload, checksum field zeroed) over IPv4 or IPv6."""
    length = _nbytes(tcp_segment)
    return 0xFFFF - fold(pseudo_header_sum(src, dst, IPPROTO_TCP, length) + _as_int(tcp_segment))


def checksum_adjust(old_csum: int, old_bytes: bytes, new_bytes: bytes) -> int:
    """RFC 1624 eqn. 3: the checksum after ``old_bytes`` were replaced by ``new_bytes``.

    The replaced bytes must start at an even offset of the checksummed data and keep their length
    (an odd-length field is padded on the right, which is exact for an even start).
    HC' = ~(~HC + ~m + m'); each ~m word is 0xFFFF - m, so the exact integer sum is formed here.
    It equals a full recompute whenever the data is not all zero, which holds for IP and TCP.
    """
    if len(old_bytes) != len(new_bytes):
        raise ValueError("checksum_adjust needs old and new bytes of the same length")
    if not 0 <= old_csum <= 0xFFFF:
        raise ValueError(f"checksum out of range: {old_csum}")
    words = (len(old_bytes) + 1) // 2
    total = (0xFFFF - old_csum) + (words * 0xFFFF - _as_int(old_bytes)) + _as_int(new_bytes)
    return 0xFFFF - fold(total)
