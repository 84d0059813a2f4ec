"""Internet checksums (RFC 1071) and their incremental update (RFC 1624), pure and fast.

The ones'-complement sum of 16-bit big-endian words equals the whole buffer read as one big
integer modulo 0xFFFF, because 2**16 == 1 (mod 0xFFFF); ``int.from_bytes`` does the work in C.
A 32-bit field likewise counts as its own value: its two words sum to it modulo 0xFFFF.
The only care needed is the representation of zero: a ones'-complement sum is +0 (0x0000) only
when every word is zero, and -0 (0xFFFF) when they are not all zero but add up to a multiple of 0xFFFF.

Checksums are returned as ints in [0, 0xFFFF] ready to be packed big-endian.
"""

from __future__ import annotations

from typing import Final, TypeAlias

BytesLike: TypeAlias = bytes | bytearray | memoryview

IPPROTO_TCP: Final = 6


def _nbytes(data: BytesLike) -> int:
    return data.nbytes if isinstance(data, memoryview) else len(data)


def unfolded_sum(data: BytesLike) -> int:
    """An integer congruent to the word sum of ``data`` modulo 0xFFFF, zero only if all bytes are.

    Several parts can be added and ``fold``-ed once when each but the last has even length.
    Reading little-endian is faster in CPython; multiplying by 256 swaps the bytes of every
    word modulo 0xFFFF (256 * 256 == 1), and it also pads an odd last byte correctly.
    """
    return int.from_bytes(data, "little") << 8


def fold(total: int) -> int:
    """The ones'-complement sum for a non-negative total of ``unfolded_sum`` values and words."""
    folded = total % 0xFFFF
    if folded == 0 and total:
        return 0xFFFF
    return folded


def ones_complement_sum(data: BytesLike) -> int:
    """The 16-bit ones'-complement sum of ``data`` (odd length padded with a zero byte)."""
    return fold(unfolded_sum(data))


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
    return 0xFFFF - fold(pseudo_header_sum(src, dst, IPPROTO_TCP, length) + unfolded_sum(tcp_segment))


def checksum_adjust(old_csum: int, old_bytes: bytes, new_bytes: bytes) -> int:
    """RFC 1624 eqn. 3: the checksum after ``old_bytes`` were replaced by ``new_bytes``.

    The replaced bytes must start at an even offset of the checksummed data and keep their length
    (an odd-length field is padded on the right, which is exact for an even start).
    HC' = ~(~HC + ~m + m'), computed modulo 0xFFFF. The data is taken to be not all zero after
    the change (true of every IP header and TCP pseudo-header), so the new sum is never +0 and
    the result equals a full recompute.
    """
    if len(old_bytes) != len(new_bytes):
        raise ValueError("checksum_adjust needs old and new bytes of the same length")
    if not 0 <= old_csum <= 0xFFFF:
        raise ValueError(f"checksum out of range: {old_csum}")
    new_sum = ((0xFFFF - old_csum) - unfolded_sum(old_bytes) + unfolded_sum(new_bytes)) % 0xFFFF
    return 0xFFFF - (new_sum or 0xFFFF)
