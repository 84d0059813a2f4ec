"""Collision-free client identities (address, port) for replayed sessions.

Contract: ``allocate(key, now)`` never returns an identity that is live (held by another key) or
that was released less than ``quarantine`` seconds ago, so the target never sees a new SYN on a
4-tuple it may still hold in TIME_WAIT, and intercept can route every response by its destination
(address, port) alone. ``release(key, now)`` starts the quarantine. Both are O(1) amortised;
memory is O(identities live or in quarantine). When no identity is free, ``PoolExhausted``.
``now`` is any clock in seconds; a value lower than one already seen counts as that one.

Why: tcpcopy maps a client IP to a pool IP by a hash of the IP and keeps the port (§4.2, §4.3), so
two live sessions can land on one identity and one of them is lost (26-33 % of short connections
at high rates).

Layout:
- Preferred identity, tried first (users like recognisable ports): the original client port on
  - with a ``-c`` pool: pool address number ``(fmix(client address) + copy) mod pool size``
    among the pool addresses of the client's family, so one client keeps one replayed address
    and the ``-n`` copies of a session land on consecutive addresses with the same port;
  - without a pool: the client's own address (copies 1.. then always move).
- ``-f`` port share: a process owning share ``PortSlice(i, k)`` only ever uses ports p with
  p % k == i. An original port outside the share moves up by less than k. Copy processes that
  share one pool and one intercept take the shares 0..k-1 of the same k and cannot collide.
- When the preferred identity is busy: a free identity from the pool's space of addresses x
  share ports within ``ports`` (default 1024..65535), in the order port 32768 (or the first port
  of the share above it) on every address, then the next port on every address, ..., wrapping
  round to 1024. Identities returned from quarantine are reused first (oldest first) so the
  memory stays bounded by the peak number busy.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from pyreplay.config import CLIENT_PORTS, TIME_WAIT_SECONDS, WHOLE_PORT_SPACE, PortSlice
from pyreplay.packet.record import Record
from pyreplay.rewrite.mix import mix_endpoint

Identity = tuple[bytes, int]  # (packed address, port)

POOL_SALT: Final = 0xC2B2AE3D27D4EB4F
FIRST_CURSOR_PORT: Final = 32768  # where moved sessions start: the usual ephemeral range


class PoolExhausted(Exception):
    """Every identity a session could take is live or in quarantine."""


class ClientKey(Record):
    """One replayed session: the original client, the copy index (-n) and, optionally, the online
    destination (so one client port talking to two online services makes two sessions) and the
    generation (a client reusing its port while its old connection is still replayed makes a
    second, concurrent session of the same endpoints)."""

    __slots__ = ("addr", "port", "copy", "dst_addr", "dst_port", "generation")
    FIELDS = ("addr", "port", "copy", "dst_addr", "dst_port", "generation")

    def __init__(self, addr: bytes, port: int, copy: int = 0, dst_addr: bytes = b"", dst_port: int = 0,
                 generation: int = 0) -> None:
        self.addr: Final = addr
        self.port: Final = port
        self.copy: Final = copy
        self.dst_addr: Final = dst_addr
        self.dst_port: Final = dst_port
        self.generation: Final = generation

    def __eq__(self, other: object) -> bool:  # a dict key per lookup: compared field by field
        if not isinstance(other, ClientKey):
            return NotImplemented
        return (self.port == other.port and self.addr == other.addr and self.copy == other.copy
                and self.generation == other.generation and self.dst_port == other.dst_port
                and self.dst_addr == other.dst_addr)

    def __hash__(self) -> int:
        return hash((self.addr, self.port, self.copy, self.dst_addr, self.dst_port, self.generation))


@dataclass(frozen=True, slots=True)
class AllocatorStats:
    live: int
    quarantined: int
    tracked: int  # identities held in memory: live, quarantined, or queued for reuse
    moved: int  # allocations that could not take their preferred identity
    exhausted: int  # allocations refused with PoolExhausted


class _Space:
    """addresses x ports, handed out in a fixed order by a cursor that never goes back.

    Invariant: every identity before the cursor that is neither live nor quarantined is in
    ``free``; identities after it that are not busy are simply untouched.
    """

    __slots__ = ("addrs", "index", "ports", "start", "size", "cursor", "free", "busy", "transient")

    def __init__(self, addrs: tuple[bytes, ...], ports: range, transient: bool) -> None:
        self.addrs = addrs
        self.index = {addr: i for i, addr in enumerate(addrs)}
        self.ports = ports
        self.start = _start_rank(ports, FIRST_CURSOR_PORT)
        self.size = len(addrs) * len(ports)
        self.cursor = 0
        self.free: OrderedDict[Identity, None] = OrderedDict()
        self.busy = 0  # identities of this space that are live or quarantined
        self.transient = transient

    def _at(self, position: int) -> Identity:
        rank, addr_index = divmod(position, len(self.addrs))
        return self.addrs[addr_index], self.ports[(rank + self.start) % len(self.ports)]

    def behind_cursor(self, ident: Identity) -> bool:
        addr_index = self.index.get(ident[0])
        if addr_index is None or ident[1] not in self.ports:
            return False
        rank = (self.ports.index(ident[1]) - self.start) % len(self.ports)
        return rank * len(self.addrs) + addr_index < self.cursor

    def take(self, busy: Callable[[Identity], bool]) -> Identity | None:
        if self.free:
            return self.free.popitem(last=False)[0]
        while self.cursor < self.size:
            ident = self._at(self.cursor)
            self.cursor += 1
            if not busy(ident):
                return ident
        return None


def _start_rank(ports: range, port: int) -> int:
    """Rank in ``ports`` of its first port at or above ``port``; 0 if there is none."""
    if not ports or ports[0] >= port or ports[-1] < port:
        return 0
    return -(-(port - ports[0]) // ports.step)


class ClientAllocator:
    """Hands out rewritten client identities; see the module docstring for the layout."""

    def __init__(
        self,
        pool: Sequence[bytes] = (),
        *,
        port_slice: PortSlice = WHOLE_PORT_SPACE,
        quarantine: float = TIME_WAIT_SECONDS,
        ports: tuple[int, int] = CLIENT_PORTS,
    ) -> None:
        if not quarantine >= 0:
            raise ValueError(f"quarantine must be >= 0 seconds, got {quarantine}")
        if len(set(pool)) != len(pool) or any(len(a) not in (4, 16) for a in pool):
            raise ValueError("pool addresses must be unique packed IPv4 or IPv6 addresses")
        lo, hi = ports
        if not 0 < lo <= hi <= 65535:
            raise ValueError(f"ports must be within 1..65535, got {ports}")
        # as ints: PortSlice's own `in` is a Python call, once per session
        self._share_index, self._share_count = port_slice.index, port_slice.count
        self._ports = port_slice.ports(lo, hi)
        if not self._ports:
            raise ValueError(f"the port share {port_slice} has no port within {lo}..{hi}")
        self._fallback_port = self._ports[_start_rank(self._ports, FIRST_CURSOR_PORT)]
        self.quarantine = quarantine
        self._spaces: dict[object, _Space] = {}
        for family in (4, 16):
            addrs = tuple(a for a in pool if len(a) == family)
            if addrs:
                self._spaces[family] = _Space(addrs, self._ports, transient=False)
        self._keep_client_addr = not pool
        self._live: dict[ClientKey, tuple[Identity, _Space]] = {}
        self._owner: dict[Identity, ClientKey] = {}
        self._cooling: dict[Identity, float] = {}
        self._quarantined: deque[tuple[float, Identity, _Space]] = deque()
        self._now = float("-inf")
        self._moved = 0
        self._exhausted = 0

    def allocate(self, key: ClientKey, now: float) -> Identity:
        """The identity for ``key``: the same one again while ``key`` is live."""
        self._advance(now)
        held = self._live.get(key)
        if held is not None:
            return held[0]
        space, addr = self._space_for(key)
        ident = (addr, self._preferred_port(key.port))
        if self._busy(ident):
            taken = space.take(self._busy)
            if taken is None:
                self._exhausted += 1
                raise PoolExhausted(self._exhausted_message(space))
            ident = taken
            self._moved += 1
        else:
            space.free.pop(ident, None)
        space.busy += 1
        self._live[key] = (ident, space)
        self._owner[ident] = key
        return ident

    def release(self, key: ClientKey, now: float) -> bool:
        """End ``key``'s session; its identity rests for the quarantine. False if not live."""
        self._advance(now)
        held = self._live.pop(key, None)
        if held is None:
            return False
        ident, space = held
        del self._owner[ident]
        until = self._now + self.quarantine
        self._cooling[ident] = until
        self._quarantined.append((until, ident, space))
        return True

    def identity(self, key: ClientKey) -> Identity | None:
        held = self._live.get(key)
        return None if held is None else held[0]

    def owner(self, addr: bytes, port: int) -> ClientKey | None:
        """The live session using (addr, port), e.g. to route a response."""
        return self._owner.get((addr, port))

    def stats(self) -> AllocatorStats:
        queued = sum(len(space.free) for space in self._spaces.values())
        return AllocatorStats(len(self._live), len(self._cooling),
                              len(self._live) + len(self._cooling) + queued,
                              self._moved, self._exhausted)

    # --- internals --------------------------------------------------------------------------

    def _busy(self, ident: Identity) -> bool:
        return ident in self._owner or ident in self._cooling

    def _advance(self, now: float) -> None:
        if now != now:
            raise ValueError("now is NaN")
        if now > self._now:
            self._now = now
        queue = self._quarantined
        while queue and queue[0][0] <= self._now:
            _, ident, space = queue.popleft()
            del self._cooling[ident]
            space.busy -= 1
            if space.transient and space.busy == 0:
                del self._spaces[space.addrs[0]]
            elif space.behind_cursor(ident):
                space.free[ident] = None

    def _space_for(self, key: ClientKey) -> tuple[_Space, bytes]:
        if self._keep_client_addr:
            space = self._spaces.get(key.addr)
            if space is None:
                space = self._spaces[key.addr] = _Space((key.addr,), self._ports, transient=True)
            return space, key.addr
        space = self._spaces.get(len(key.addr))
        if space is None:
            self._exhausted += 1
            family = "IPv4" if len(key.addr) == 4 else "IPv6"
            raise PoolExhausted(f"the -c pool has no {family} address for an {family} client")
        base = mix_endpoint(key.addr, 0, POOL_SALT)
        return space, space.addrs[(base + key.copy) % len(space.addrs)]

    def _preferred_port(self, port: int) -> int:
        count = self._share_count
        if port % count == self._share_index and 0 < port <= 65535:
            return port
        moved = port + (self._share_index - port) % count
        return moved if 0 < moved <= 65535 else self._fallback_port

    def _exhausted_message(self, space: _Space) -> str:
        where = ("the client's own address (no -c)" if space.transient
                 else f"{len(space.addrs)} -c address(es)")
        return (f"no free client identity: {where} x {len(self._ports)} ports, {space.busy} live "
                f"or resting {self.quarantine:g} s after use; add -c addresses or lower -n")
