"""``-x`` lookup: which target a captured packet's destination is replayed to.

Contract: ``TransferMap.match(dst_addr, dst_port)`` returns the transfer for an exact online
address first, then the wildcard for that port, else None. A wildcard only matches addresses of
its target's family (IPv4 traffic cannot be replayed to an IPv6 target). Two dict lookups at most.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pyreplay.config import Transfer


@dataclass(frozen=True, slots=True, init=False)
class TransferMap:
    transfers: tuple[Transfer, ...]
    _exact: dict[tuple[bytes, int], Transfer] = field(init=False, repr=False, compare=False)
    _wildcard: dict[tuple[int, int], Transfer] = field(init=False, repr=False, compare=False)

    def __init__(self, transfers: Iterable[Transfer]) -> None:
        object.__setattr__(self, "transfers", tuple(transfers))
        exact: dict[tuple[bytes, int], Transfer] = {}
        wildcard: dict[tuple[int, int], Transfer] = {}
        for t in self.transfers:
            clash = (exact.setdefault((t.online_addr, t.online_port), t) if t.online_addr is not None
                     else wildcard.setdefault((len(t.target_addr), t.online_port), t))
            if clash is not t:
                raise ValueError(f"two transfers for the same online side: {clash} and {t}")
        object.__setattr__(self, "_exact", exact)
        object.__setattr__(self, "_wildcard", wildcard)

    def match(self, dst_addr: bytes, dst_port: int) -> Transfer | None:
        found = self._exact.get((dst_addr, dst_port))
        if found is None:
            found = self._wildcard.get((len(dst_addr), dst_port))
        return found

    @property
    def online_ports(self) -> frozenset[int]:
        """Every online port of the map (what capture must let through)."""
        return frozenset(t.online_port for t in self.transfers)
