"""All sessions of one copy/burn process: lookup, creation, response routing, one deadline heap.

Contract: captured client segments are keyed by (client addr, client port, online addr, online
port), the destination included so two online services seen from one client port never collide;
target responses are routed by (rewritten client addr, port, target addr, port). Sessions are
made by the caller's ``factory(segment) -> Session | None`` (None: not replayed by policy) on a
SYN or on a payload segment. A finished session lingers for ``linger`` seconds to absorb late
packets, then is removed and its counters are added to ``totals``. A new SYN with another ISN on
a live key ends the old session (``Superseded``) and starts the new one, so no connection is lost
to port reuse. ``next_deadline``/``handle_tick`` aggregate every session's deadline in one heap.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable

from pyreplay.packet.segment import SYN, ResponseSummary, Segment
from pyreplay.packet.seqnum import seq_ge

from .commands import Command, Finished
from .events import ClientSegment, Shutdown, Superseded, TargetResponse, Tick
from .session import Session

Key = tuple[bytes, int, bytes, int]
SessionFactory = Callable[[Segment], "Session | None"]


class SessionTable:
    def __init__(self, factory: SessionFactory, *, linger: float = 6.0) -> None:
        if linger < 0:
            raise ValueError("linger must be >= 0")
        self._factory = factory
        self._linger = linger
        self._sessions: dict[Key, Session] = {}
        self._routes: dict[Key, Key] = {}
        self._closed_at: dict[Key, float] = {}
        self._heap: list[tuple[float, int, Key]] = []
        self._scheduled: dict[Key, tuple[float, int]] = {}
        self._ids = itertools.count()
        self.counters: Counter[str] = Counter()
        self.totals: Counter[str] = Counter()  # counters of removed sessions, summed

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, key: Key) -> Session | None:
        return self._sessions.get(key)

    @staticmethod
    def key_of(segment: Segment) -> Key:
        return (segment.src, segment.sport, segment.dst, segment.dport)

    # ------------------------------------------------------------------ events

    def handle_client(self, segment: Segment, *, now: float) -> list[Command]:
        key = self.key_of(segment)
        session = self._sessions.get(key)
        out: list[Command] = []
        if session is not None and self._replaced_by(session, segment):
            if not session.finished:
                self.counters["port_reuse_superseded"] += 1
                out += self._deliver(key, session, Superseded(), now)
            self._remove(key)
            session = None
        if session is None:
            if not (segment.flags & SYN or segment.payload):
                self.counters["client_without_session"] += 1
                return out
            session = self._factory(segment)
            if session is None:
                self.counters["not_replayed"] += 1
                return out
            self.counters["sessions_created"] += 1
            self._sessions[key] = session
            route = self._route_of(session)
            if self._routes.get(route, key) != key:
                self.counters["route_collision"] += 1  # the newest session gets the responses
            self._routes[route] = key
        out += self._deliver(key, session, ClientSegment(segment), now)
        return out

    def handle_response(self, summary: ResponseSummary, *, now: float) -> list[Command]:
        key = self._routes.get((summary.dst, summary.dport, summary.src, summary.sport))
        session = None if key is None else self._sessions.get(key)
        if key is None or session is None:
            self.counters["response_without_session"] += 1
            return []
        return self._deliver(key, session, TargetResponse(summary), now)

    def handle_tick(self, now: float) -> list[Command]:
        out: list[Command] = []
        while self._heap and self._heap[0][0] <= now:
            at, entry_id, key = heapq.heappop(self._heap)
            if self._scheduled.get(key) != (at, entry_id):
                continue  # stale entry
            del self._scheduled[key]
            session = self._sessions[key]
            if session.finished:
                self._remove(key)
            else:
                out += self._deliver(key, session, Tick(), now)
        return out

    def shutdown(self, now: float) -> list[Command]:
        out: list[Command] = []
        for key, session in list(self._sessions.items()):
            out += self._deliver(key, session, Shutdown(), now)
            self._remove(key)
        return out

    def next_deadline(self) -> float | None:
        while self._heap and self._scheduled.get(self._heap[0][2]) != self._heap[0][:2]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    # ------------------------------------------------------------------ internals

    def _replaced_by(self, session: Session, segment: Segment) -> bool:
        """Does ``segment`` open a new connection on the key of ``session``?"""
        if segment.flags & SYN:
            return session.captured_isn is None or segment.seq != session.captured_isn
        end = session.captured_end
        return (
            session.finished
            and bool(segment.payload)
            and end is not None
            and seq_ge(segment.seq, end)
        )

    def _deliver(self, key: Key, session: Session, event, now: float) -> list[Command]:
        was_finished = session.finished
        out = session.handle(event, now=now)
        if not was_finished and session.finished:
            self._closed_at[key] = now
            for command in out:
                if isinstance(command, Finished):
                    self.counters[f"outcome_{command.outcome}"] += 1
        self._schedule(key, session)
        return out

    def _schedule(self, key: Key, session: Session) -> None:
        if session.finished:
            at: float | None = self._closed_at[key] + self._linger
        else:
            at = session.next_deadline()
        current = self._scheduled.get(key)
        if at is None:
            self._scheduled.pop(key, None)
        elif current is None or current[0] != at:
            entry = (at, next(self._ids))
            self._scheduled[key] = entry
            heapq.heappush(self._heap, (*entry, key))

    def _remove(self, key: Key) -> None:
        session = self._sessions.pop(key)
        route = self._route_of(session)
        if self._routes.get(route) == key:
            del self._routes[route]
        self._closed_at.pop(key, None)
        self._scheduled.pop(key, None)
        self.totals.update(session.counters)
        self.counters["sessions_removed"] += 1

    @staticmethod
    def _route_of(session: Session) -> Key:
        return (session.client[0], session.client[1], session.target[0], session.target[1])
