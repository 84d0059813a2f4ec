"""Session-consistent sampling for ``-r``, and the ``-g`` ramp of its percentage.

Contract: ``sample_session`` depends only on the original client address and port, so every
packet of a session (and every copy of it) gets the same answer, in every process and run. A
session kept at some percentage is kept at every higher one, so as ``gradual_percent`` ramps
up, sessions are only ever added. ``gradual_percent(elapsed, cap)`` is a pure function of the
seconds since the first captured packet: ``min(cap, 1 + whole seconds)``, as tcpcopy's ``-g``
(which always ramps to 100; here it ramps to ``-r``).
"""

from __future__ import annotations
from typing import Final

from pyreplay.rewrite.mix import mix_endpoint

SAMPLE_SALT: Final = 0x9E3779B97F4A7C15


def sample_session(client_addr: bytes, client_port: int, percent: int) -> bool:
    """True for about ``percent`` % of client (address, port) pairs; 100 keeps all."""
    if not 1 <= percent <= 100:
        raise ValueError(f"percent must be 1..100, got {percent}")
    if percent == 100:
        return True
    return (mix_endpoint(client_addr, client_port, SAMPLE_SALT) * 100) >> 64 < percent


def gradual_percent(elapsed: float, cap: int = 100) -> int:
    """The ``-g`` percentage ``elapsed`` seconds after the first captured packet."""
    if not 1 <= cap <= 100:
        raise ValueError(f"cap must be 1..100, got {cap}")
    if not elapsed >= 0:  # also NaN
        return 1
    return min(cap, 1 + int(elapsed))
