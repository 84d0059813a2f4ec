"""Sans-IO routing table of intercept: which channel connection owns which replayed connection.

Contract: ``register``/``unregister`` come from Register/Unregister messages, ``drop_connection``
from a closed channel connection, and ``route(summary, now)`` tells where a response summary
goes: a list of ``(conn_id, summary)`` pairs to send (usually zero or one). ``conn_id`` is any
hashable the runtime uses for a connection. Time is only the ``now`` argument; expiry is lazy.

Rules:
* Exact 4-tuple lookup (no lossy hash as in the C intercept). A response's src is the target and
  its dst the client, so its key is ``(dst, dport, src, sport)``.
* The latest Register of a 4-tuple wins, also over another connection (counted as a takeover).
  Unregister only removes a route its own connection owns.
* A SYN or RST without a route is held in the delay table and delivered, in order, by the
  Register that matches it; any other response without a route is counted unrouted and dropped.
* Routes not used (registered or routed through) for ``idle_timeout`` expire, and at most
  ``max_routes`` are kept (least recently used goes): a safety net against peers that never
  unregister.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Final, Hashable

from pyreplay.channel.delay import (
    DEFAULT_DELAY_CAPACITY,
    DEFAULT_DELAY_PER_KEY,
    DEFAULT_DELAY_TTL,
    DelayTable,
)
from pyreplay.channel.messages import RouteKey
from pyreplay.packet.segment import RST, SYN, ResponseSummary

DEFAULT_IDLE_TIMEOUT: Final = 600.0
DEFAULT_MAX_ROUTES: Final = 1_000_000

ConnId = Hashable
Delivery = tuple[ConnId, ResponseSummary]


@dataclass(frozen=True, slots=True)
class RouterStats:
    """A snapshot of the router's counters, for the periodic summary and diagnosis."""

    routes: int  # live routes now
    delayed_pending: int  # held in the delay table now
    registrations: int
    unregistrations: int
    unregister_ignored: int  # Unregister for a route missing or owned by another connection
    takeovers: int  # a Register moved a live route to another connection
    routes_expired: int  # idle timeout
    routes_evicted: int  # max_routes reached
    routes_dropped: int  # their connection closed
    routed: int
    unrouted: int
    delayed: int
    delayed_delivered: int
    delayed_expired: int
    delayed_dropped: int  # delay table full


class _Route:
    __slots__ = ("conn_id", "last_used")

    def __init__(self, conn_id: ConnId, last_used: float) -> None:
        self.conn_id = conn_id
        self.last_used = last_used


class Router:
    __slots__ = ("_routes", "_by_conn", "_delay", "_idle_timeout", "_max_routes", "_purge_due",
                 "_registrations", "_unregistrations", "_unregister_ignored", "_takeovers",
                 "_expired", "_evicted", "_dropped", "_routed", "_unrouted")

    def __init__(self, *, idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 max_routes: int = DEFAULT_MAX_ROUTES, delay_ttl: float = DEFAULT_DELAY_TTL,
                 delay_capacity: int = DEFAULT_DELAY_CAPACITY,
                 delay_per_key: int = DEFAULT_DELAY_PER_KEY) -> None:
        if idle_timeout <= 0 or max_routes < 1:
            raise ValueError("idle_timeout and max_routes must be positive")
        # Least recently used first: expiry and eviction only look at the front.
        self._routes: OrderedDict[RouteKey, _Route] = OrderedDict()
        self._by_conn: dict[ConnId, set[RouteKey]] = {}
        self._delay = DelayTable(ttl=delay_ttl, capacity=delay_capacity, per_key=delay_per_key)
        self._idle_timeout = idle_timeout
        self._max_routes = max_routes
        self._purge_due = float("inf")
        self._registrations = self._unregistrations = self._unregister_ignored = 0
        self._takeovers = self._expired = self._evicted = self._dropped = 0
        self._routed = self._unrouted = 0

    def __len__(self) -> int:
        return len(self._routes)

    def owner(self, key: RouteKey) -> ConnId | None:
        route = self._routes.get(key)
        return None if route is None else route.conn_id

    def register(self, client_addr: bytes, client_port: int, target_addr: bytes,
                 target_port: int, conn_id: ConnId, now: float) -> list[Delivery]:
        """Route this 4-tuple to ``conn_id``; returns held early responses to deliver now."""
        self._purge_if_due(now)
        self._registrations += 1
        key = (client_addr, client_port, target_addr, target_port)
        route = self._routes.get(key)
        if route is None:
            if len(self._routes) >= self._max_routes:
                self._evicted += 1
                self._forget(next(iter(self._routes)))
            self._routes[key] = _Route(conn_id, now)
            self._by_conn.setdefault(conn_id, set()).add(key)
            self._purge_due = min(self._purge_due, now + self._idle_timeout)
        else:
            if route.conn_id != conn_id:
                self._takeovers += 1
                self._unlink(route.conn_id, key)
                self._by_conn.setdefault(conn_id, set()).add(key)
                route.conn_id = conn_id
            route.last_used = now
            self._routes.move_to_end(key)
        return [(conn_id, summary) for summary in self._delay.take(key, now)]

    def unregister(self, client_addr: bytes, client_port: int, target_addr: bytes,
                   target_port: int, conn_id: ConnId, now: float) -> bool:
        """Forget the route if ``conn_id`` owns it; returns whether it did."""
        self._purge_if_due(now)
        key = (client_addr, client_port, target_addr, target_port)
        route = self._routes.get(key)
        if route is None or route.conn_id != conn_id:
            self._unregister_ignored += 1
            return False
        self._unregistrations += 1
        self._forget(key)
        return True

    def drop_connection(self, conn_id: ConnId) -> int:
        """The connection closed: all its routes go. Returns how many."""
        keys = self._by_conn.pop(conn_id, set())
        for key in keys:
            del self._routes[key]
        self._dropped += len(keys)
        return len(keys)

    def route(self, summary: ResponseSummary, now: float) -> list[Delivery]:
        if now >= self._purge_due:
            self.purge(now)
        key = (summary.dst, summary.dport, summary.src, summary.sport)
        route = self._routes.get(key)
        if route is not None:
            route.last_used = now
            self._routes.move_to_end(key)
            self._routed += 1
            return [(route.conn_id, summary)]
        if summary.flags & (SYN | RST):
            self._delay.hold(key, summary, now)
            next_expiry = self._delay.next_expiry()
            if next_expiry is not None:
                self._purge_due = min(self._purge_due, next_expiry)
        else:
            self._unrouted += 1
        return []

    def purge(self, now: float) -> None:
        """Expire idle routes and stale held responses (also done lazily by the other calls)."""
        routes, idle = self._routes, self._idle_timeout
        while routes:
            key, route = next(iter(routes.items()))
            if now < route.last_used + idle:
                break
            self._expired += 1
            self._forget(key)
        self._delay.purge(now)
        candidates = [float("inf")]
        if routes:
            candidates.append(next(iter(routes.values())).last_used + self._idle_timeout)
        delay_expiry = self._delay.next_expiry()
        if delay_expiry is not None:
            candidates.append(delay_expiry)
        self._purge_due = min(candidates)

    def stats(self) -> RouterStats:
        d = self._delay
        return RouterStats(
            routes=len(self._routes), delayed_pending=len(d),
            registrations=self._registrations, unregistrations=self._unregistrations,
            unregister_ignored=self._unregister_ignored, takeovers=self._takeovers,
            routes_expired=self._expired, routes_evicted=self._evicted,
            routes_dropped=self._dropped, routed=self._routed, unrouted=self._unrouted,
            delayed=d.held, delayed_delivered=d.delivered, delayed_expired=d.expired,
            delayed_dropped=d.dropped,
        )

    def _purge_if_due(self, now: float) -> None:
        if now >= self._purge_due:
            self.purge(now)

    def _forget(self, key: RouteKey) -> None:
        route = self._routes.pop(key)
        self._unlink(route.conn_id, key)

    def _unlink(self, conn_id: ConnId, key: RouteKey) -> None:
        keys = self._by_conn.get(conn_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_conn[conn_id]
