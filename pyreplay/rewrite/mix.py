"""Deterministic 64-bit mixing of (address, port) for sampling and pool mapping.

Contract: the same inputs give the same value in every process and on every run (unlike Python's
salted ``hash()``), and every input bit affects every output bit (MurmurHash3's fmix64
finalizer), so sequential ports or addresses spread evenly over any modulus.
"""

from __future__ import annotations
from typing import Final

MASK64: Final = (1 << 64) - 1


def fmix64(k: int) -> int:
    """MurmurHash3 finalizer: a bijection on 64-bit ints with full avalanche."""
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & MASK64
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & MASK64
    return k ^ (k >> 33)


def mix_endpoint(addr: bytes, port: int, salt: int) -> int:
    """64-bit hash of a packed address (4 or 16 bytes) and a port; ``salt`` picks the function."""
    h = salt & MASK64
    for i in range(0, len(addr), 8):
        h = fmix64(h ^ int.from_bytes(addr[i:i + 8], "big"))
    return fmix64(h ^ (port << 8) ^ len(addr))
