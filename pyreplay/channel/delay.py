"""Sans-IO delay table: early SYN/RST responses held until their connection is registered.

Contract: ``hold(key, summary, now)`` keeps a response that has no route yet; ``take(key, now)``
returns the ones still fresh for that key, in arrival order, and forgets them. An entry held at
``t`` is deliverable while ``now < t + ttl``. Memory is bounded by ``capacity`` entries in all
and ``per_key`` per connection; on overflow the oldest entry goes. Counters say what happened.

Why: the target's SYN-ACK can reach intercept before the copy process's Register does (they
travel different paths); the C intercept keeps such responses 30 s. Our default is 10 s: the
race lasts milliseconds, and the target retransmits a SYN-ACK it still cares about anyway.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Final

from pyreplay.channel.messages import RouteKey
from pyreplay.packet.segment import ResponseSummary

DEFAULT_DELAY_TTL: Final = 10.0
DEFAULT_DELAY_CAPACITY: Final = 4096
DEFAULT_DELAY_PER_KEY: Final = 8


class DelayTable:
    __slots__ = ("_held", "_count", "_ttl", "_capacity", "_per_key",
                 "held", "delivered", "expired", "dropped")

    def __init__(self, *, ttl: float = DEFAULT_DELAY_TTL, capacity: int = DEFAULT_DELAY_CAPACITY,
                 per_key: int = DEFAULT_DELAY_PER_KEY) -> None:
        if ttl <= 0 or capacity < 1 or per_key < 1:
            raise ValueError("ttl, capacity and per_key must be positive")
        # Keys in order of their oldest entry (a key whose head goes moves to the end; with
        # ``now`` never decreasing that keeps the order exact), so expiry and eviction look at
        # the front only.
        self._held: OrderedDict[RouteKey, deque[tuple[float, ResponseSummary]]] = OrderedDict()
        self._count = 0
        self._ttl = ttl
        self._capacity = capacity
        self._per_key = per_key
        self.held = self.delivered = self.expired = self.dropped = 0

    def __len__(self) -> int:
        return self._count

    def hold(self, key: RouteKey, summary: ResponseSummary, now: float) -> None:
        self.purge(now)
        queue = self._held.get(key)
        if queue is not None and len(queue) >= self._per_key:
            queue.popleft()
            self._held.move_to_end(key)
            self._count -= 1
            self.dropped += 1
        elif self._count >= self._capacity:
            self._evict_oldest()
            queue = self._held.get(key)  # eviction may have emptied and removed it
        if queue is None:
            queue = self._held[key] = deque()
        queue.append((now, summary))
        self._count += 1
        self.held += 1

    def take(self, key: RouteKey, now: float) -> list[ResponseSummary]:
        queue = self._held.pop(key, None)
        if queue is None:
            return []
        self._count -= len(queue)
        fresh = [summary for held_at, summary in queue if now < held_at + self._ttl]
        self.expired += len(queue) - len(fresh)
        self.delivered += len(fresh)
        return fresh

    def purge(self, now: float) -> None:
        """Forget expired entries (cheap: stops at the first key still fresh)."""
        held, ttl = self._held, self._ttl
        while held:
            key, queue = next(iter(held.items()))
            if now < queue[0][0] + ttl:
                return
            while queue and now >= queue[0][0] + ttl:
                queue.popleft()
                self._count -= 1
                self.expired += 1
            if queue:
                held.move_to_end(key)  # its oldest entry is now younger
            else:
                del held[key]

    def next_expiry(self) -> float | None:
        if not self._held:
            return None
        return next(iter(self._held.values()))[0][0] + self._ttl

    def _evict_oldest(self) -> None:
        key, queue = next(iter(self._held.items()))
        queue.popleft()
        self._count -= 1
        self.dropped += 1
        if queue:
            self._held.move_to_end(key)
        else:
            del self._held[key]
