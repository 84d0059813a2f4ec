"""Rewriting decisions for replayed sessions (sans-IO): where a packet goes, which client identity
it is sent from (and ``-H`` for loopback clients), whether its session is sampled (``-r``, the
``-g`` ramp), and which client a response belongs to when its address was rewritten (``-D``).

Contract: pure functions and small state machines over packed addresses and ints; time is the
``now`` argument. Nothing here touches packets' bytes (that is ``pyreplay.packet``).
"""

from pyreplay.rewrite.addresses import ResponseDestinations, loopback_replacement
from pyreplay.rewrite.clients import (
    AllocatorStats,
    ClientAllocator,
    ClientKey,
    Identity,
    PoolExhausted,
)
from pyreplay.rewrite.mix import fmix64, mix_endpoint
from pyreplay.rewrite.sampling import gradual_percent, sample_session
from pyreplay.rewrite.transfer import TransferMap

__all__ = [
    "AllocatorStats",
    "ClientAllocator",
    "ClientKey",
    "Identity",
    "PoolExhausted",
    "ResponseDestinations",
    "TransferMap",
    "fmix64",
    "gradual_percent",
    "loopback_replacement",
    "mix_endpoint",
    "sample_session",
]
