"""Session-consistent sampling for ``-r``.

Contract: ``sample_session`` depends only on the original client address and port, so every
packet of a session (and every copy of it) gets the same answer, in every process and run.
"""

from __future__ import annotations

from pyreplay.rewrite.mix import mix_endpoint

SAMPLE_SALT = 0x9E3779B97F4A7C15


def sample_session(client_addr: bytes, client_port: int, percent: int) -> bool:
    """True for about ``percent`` % of client (address, port) pairs; 100 keeps all."""
    if not 1 <= percent <= 100:
        raise ValueError(f"percent must be 1..100, got {percent}")
    if percent == 100:
        return True
    return (mix_endpoint(client_addr, client_port, SAMPLE_SALT) * 100) >> 64 < percent
