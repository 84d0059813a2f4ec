"""User identities and which captured session each user replays (``pyreplay burn`` -u -c -m -e).

Contract:
* ``IdentityPool(pool, layout, port_seed, quarantine)`` hands out (packed address, port)
  identities from the ``-c`` addresses x ports 32768..61000, in tcpburn's order: ``-m 0``
  (IP_FIRST) takes the first port on every address, then the next port on every address...;
  ``-m 1`` (PORT_FIRST) takes every port of address 1, then address 2... Ports are in order,
  or shuffled deterministically by ``-e`` when it is not 0. ``acquire(now)`` never returns an
  identity that is live or was released less than ``quarantine`` seconds ago (the target may
  still hold that 4-tuple in TIME_WAIT); fresh identities come first, then the oldest rested
  ones; None when every identity is busy. ``release(identity, now)`` starts the rest.
  Memory: O(identities live or resting), never O(pool size).
* ``session_for(connection, sessions)``: connection n (user n % users, pass n // users)
  replays captured session n mod S, so users cycle over the sessions and ``--loop`` passes
  continue the cycle.
Pure: ``now`` is a parameter; ``random.Random(seed)`` only shuffles the port order.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence

from pyreplay.config import BURN_PORTS, UserLayout

Identity = tuple[bytes, int]


def port_order(seed: int, lo: int = BURN_PORTS[0], hi: int = BURN_PORTS[1]) -> list[int]:
    ports = list(range(lo, hi + 1))
    if seed:
        random.Random(seed).shuffle(ports)
    return ports


class IdentityPool:
    def __init__(self, pool: Sequence[bytes], layout: UserLayout = UserLayout.IP_FIRST,
                 port_seed: int = 0, quarantine: float = 60.0) -> None:
        if not pool:
            raise ValueError("the client pool is empty")
        if quarantine < 0:
            raise ValueError("quarantine must be >= 0")
        self._addrs = tuple(pool)
        self._ports = port_order(port_seed)
        self._layout = layout
        self.quarantine = quarantine
        self.size = len(self._addrs) * len(self._ports)
        self._cursor = 0
        self._live: set[Identity] = set()
        self._resting: deque[tuple[float, Identity]] = deque()
        self.exhausted = 0  # acquire() calls that found no identity

    def at(self, position: int) -> Identity:
        """The identity at ``position`` in the layout order (0-based)."""
        if self._layout is UserLayout.IP_FIRST:
            rank, a = divmod(position, len(self._addrs))
            return self._addrs[a], self._ports[rank]
        a, rank = divmod(position, len(self._ports))
        return self._addrs[a], self._ports[rank]

    def acquire(self, now: float) -> Identity | None:
        if self._cursor < self.size:
            ident = self.at(self._cursor)
            self._cursor += 1
        elif self._resting and self._resting[0][0] <= now:
            ident = self._resting.popleft()[1]
        else:
            self.exhausted += 1
            return None
        self._live.add(ident)
        return ident

    def release(self, ident: Identity, now: float) -> None:
        if ident not in self._live:
            raise ValueError(f"identity {ident!r} is not live")
        self._live.remove(ident)
        self._resting.append((now + self.quarantine, ident))

    @property
    def live(self) -> int:
        return len(self._live)

    @property
    def resting(self) -> int:
        return len(self._resting)

    def next_free_at(self) -> float | None:
        """When ``acquire`` can next succeed if it cannot now (None: never without a release)."""
        if self._cursor < self.size:
            return float("-inf")
        return self._resting[0][0] if self._resting else None


def session_for(connection: int, sessions: int) -> int:
    if sessions <= 0:
        raise ValueError("no sessions to replay")
    return connection % sessions
