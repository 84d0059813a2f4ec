"""Address substitutions the originals' flags ask for (sans-IO).

Contract:
- ``loopback_replacement(client, target, source)`` (tcpcopy ``-H``): the address a session
  captured from loopback (127.0.0.0/8, ::1) is sent from when its target is not on loopback;
  None when the client address stays (not loopback, target on loopback, other family, no -H).
  A packet from 127.0.0.1 leaving the host is a martian the target's kernel drops.
- ``ResponseDestinations(pairs)`` (intercept ``-D``, "dockered ips"): a response the target
  sends to a rewritten address (a container's NAT, say) is routed as if sent to the client
  address copy registered; other responses pass unchanged (the same object).
"""

from __future__ import annotations

from collections.abc import Iterable

from pyreplay.config import is_loopback
from pyreplay.packet.segment import ResponseSummary


def loopback_replacement(client: bytes, target: bytes, source: bytes | None) -> bytes | None:
    if source is None or len(client) != len(source) or not is_loopback(client):
        return None
    if len(target) != len(source) or is_loopback(target):
        return None
    return source


class ResponseDestinations:
    """Rewrites response destinations seen -> registered before intercept routes them."""

    __slots__ = ("_registered",)

    def __init__(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        self._registered = dict(pairs)

    def __bool__(self) -> bool:
        return bool(self._registered)

    def __call__(self, summary: ResponseSummary) -> ResponseSummary:
        registered = self._registered.get(summary.dst)
        return summary if registered is None else summary.replace(dst=registered)
