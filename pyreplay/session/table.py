"""All sessions of one copy/burn process: lookup, creation, response routing, one deadline heap.

Contract: captured client segments are keyed by (client addr, client port, online addr, online
port), the destination included so two online services seen from one client port never collide;
target responses are routed by (rewritten client addr, port, target addr, port). Sessions are
made by the caller's ``factory(segment, generation) -> Session | None`` (None: not replayed by
policy) on a SYN or on a payload segment. A finished session lingers for ``linger`` seconds to
absorb late packets, then is removed and its counters are added to ``totals``.
``next_deadline``/``handle_tick`` aggregate every session's deadline in one heap.

Port reuse: a client may open a new connection on a key whose old connection is still being
replayed (at high replay speed the target has often not answered the old one yet). Nothing is
lost: each connection of a key is its own session under an internal key ``(*key, generation)``,
``generation`` being distinct among the sessions the table holds for that key (the factory uses
it to give the new connection its own client identity, so both are routed by their rewritten
identity). A new SYN with another ISN, or payload past the end of a finished newest session,
starts a new generation; the old one runs on until it finishes. A captured non-SYN segment goes
to the session whose captured sequence range ``[start, captured end + window]`` holds its seq,
the newest first; when none does, to the newest. At most ``max_generations`` sessions per key
are kept: beyond that the oldest unfinished one is ended (``Superseded``) - a bound for
pathological captures, never reached by real port reuse.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable

from pyreplay.packet.segment import SYN, ResponseSummary, Segment
from pyreplay.packet.seqnum import seq_diff, seq_ge

from .commands import Command, Finished
from .events import ClientSegment, Shutdown, Superseded, TargetResponse, Tick
from .session import Session

Key = tuple[bytes, int, bytes, int]
InternalKey = tuple[bytes, int, bytes, int, int]  # Key + generation
SessionFactory = Callable[[Segment, int], "Session | None"]

DEFAULT_MAX_GENERATIONS = 8
# How far past the captured end a segment still belongs to an old connection: the reassembly
# horizon of a session (out-of-order data is buffered that far ahead).
DEFAULT_RANGE_WINDOW = 4 * 1024 * 1024


class SessionTable:
    def __init__(self, factory: SessionFactory, *, linger: float = 6.0,
                 max_generations: int = DEFAULT_MAX_GENERATIONS,
                 range_window: int = DEFAULT_RANGE_WINDOW) -> None:
        if linger < 0:
            raise ValueError("linger must be >= 0")
        if max_generations < 1 or range_window < 0:
            raise ValueError("max_generations must be >= 1 and range_window >= 0")
        self._factory = factory
        self._linger = linger
        self._max_generations = max_generations
        self._range_window = range_window
        self._sessions: dict[InternalKey, Session] = {}
        self._by_key: dict[Key, list[InternalKey]] = {}  # oldest generation first
        self._routes: dict[Key, InternalKey] = {}
        self._closed_at: dict[InternalKey, float] = {}
        self._heap: list[tuple[float, int, InternalKey]] = []
        self._scheduled: dict[InternalKey, tuple[float, int]] = {}
        self._ids = itertools.count()
        self.counters: Counter[str] = Counter()
        self.totals: Counter[str] = Counter()  # counters of removed sessions, summed

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, key: Key) -> Session | None:
        """The newest session of ``key``."""
        ikeys = self._by_key.get(key)
        return self._sessions[ikeys[-1]] if ikeys else None

    def sessions_of(self, key: Key) -> list[Session]:
        """Every session held for ``key``, oldest first."""
        return [self._sessions[ikey] for ikey in self._by_key.get(key, ())]

    @staticmethod
    def key_of(segment: Segment) -> Key:
        return (segment.src, segment.sport, segment.dst, segment.dport)

    # ------------------------------------------------------------------ events

    def handle_client(self, segment: Segment, *, now: float) -> list[Command]:
        key = (segment.src, segment.sport, segment.dst, segment.dport)
        ikeys = self._by_key.get(key)
        if ikeys is None:
            if not (segment.flags & SYN or segment.payload):
                self.counters["client_without_session"] += 1
                return []
            return self._create(key, 0, segment, now, [])
        if len(ikeys) == 1 and not segment.flags & SYN:
            # the usual case: one connection on the key; pure ACKs (half the captured packets)
            # are absorbed without commands or rescheduling
            only = ikeys[0]
            session = self._sessions[only]
            if session.absorb_pure_ack(segment, now):
                return []
            if not (session.finished and segment.payload):
                return self._deliver(only, session, ClientSegment(segment), now)
        ikey = self._owner_of(ikeys, segment)
        if ikey is None:  # a new connection on this key
            self.counters["port_reuse"] += 1
            out: list[Command] = []
            if len(ikeys) >= self._max_generations:
                self._make_room(ikeys, now, out)
            return self._create(key, ikeys[-1][4] + 1 if ikeys else 0, segment, now, out)
        return self._deliver(ikey, self._sessions[ikey], ClientSegment(segment), now)

    def handle_response(self, summary: ResponseSummary, *, now: float) -> list[Command]:
        ikey = self._routes.get((summary.dst, summary.dport, summary.src, summary.sport))
        session = None if ikey is None else self._sessions.get(ikey)
        if ikey is None or session is None:
            self.counters["response_without_session"] += 1
            return []
        return self._deliver(ikey, session, TargetResponse(summary), now)

    def handle_tick(self, now: float) -> list[Command]:
        out: list[Command] = []
        heap, scheduled, sessions = self._heap, self._scheduled, self._sessions
        while heap and heap[0][0] <= now:
            at, entry_id, ikey = heapq.heappop(heap)
            if scheduled.get(ikey) != (at, entry_id):
                continue  # stale entry
            del scheduled[ikey]
            session = sessions[ikey]
            if session.finished:
                self._remove(ikey)
            else:
                out += self._deliver(ikey, session, Tick(), now)
        return out

    def shutdown(self, now: float) -> list[Command]:
        out: list[Command] = []
        for ikey, session in list(self._sessions.items()):
            out += self._deliver(ikey, session, Shutdown(), now)
            self._remove(ikey)
        return out

    def next_deadline(self) -> float | None:
        heap, scheduled = self._heap, self._scheduled
        while heap and scheduled.get(heap[0][2]) != heap[0][:2]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    # ------------------------------------------------------------------ internals

    def _owner_of(self, ikeys: list[InternalKey], segment: Segment) -> InternalKey | None:
        """The generation ``segment`` belongs to; None if it opens a new connection."""
        sessions = self._sessions
        seq = segment.seq
        if segment.flags & SYN:
            for ikey in reversed(ikeys):
                if sessions[ikey].captured_isn == seq:
                    return ikey  # a retransmitted SYN
            return None
        newest = ikeys[-1]
        if len(ikeys) > 1:
            for ikey in reversed(ikeys):
                if self._in_range(sessions[ikey], seq):
                    newest = ikey
                    break
        session = sessions[newest]
        if newest == ikeys[-1] and session.finished and segment.payload:
            end = session.captured_end
            if end is not None and seq_ge(seq, end):
                return None  # data of a new connection whose SYN was not captured
        return newest

    def _in_range(self, session: Session, seq: int) -> bool:
        start, end = session.captured_start, session.captured_end
        if start is None or end is None:
            return False
        return seq_diff(seq, start) >= 0 and seq_diff(seq, end) <= self._range_window

    def _create(self, key: Key, generation: int, segment: Segment, now: float,
                out: list[Command]) -> list[Command]:
        session = self._factory(segment, generation)
        if session is None:
            self.counters["not_replayed"] += 1
            return out
        self.counters["sessions_created"] += 1
        ikey = (*key, generation)
        self._sessions[ikey] = session
        self._by_key.setdefault(key, []).append(ikey)
        route = (session.client[0], session.client[1], session.target[0], session.target[1])
        if self._routes.get(route, ikey) != ikey:
            self.counters["route_collision"] += 1  # the newest session gets the responses
        self._routes[route] = ikey
        out += self._deliver(ikey, session, ClientSegment(segment), now)
        return out

    def _make_room(self, ikeys: list[InternalKey], now: float, out: list[Command]) -> None:
        """Drop the oldest finished session of the key, else end the oldest live one."""
        sessions = self._sessions
        victim = next((ikey for ikey in ikeys if sessions[ikey].finished), None)
        if victim is None:
            victim = ikeys[0]
            self.counters["port_reuse_superseded"] += 1
            out += self._deliver(victim, sessions[victim], Superseded(), now)
        self._remove(victim)

    def _deliver(self, ikey: InternalKey, session: Session, event, now: float) -> list[Command]:
        was_finished = session.finished
        out = session.handle(event, now=now)
        if session.finished:
            if not was_finished:
                self._closed_at[ikey] = now
                for command in out:
                    if type(command) is Finished:
                        self.counters[f"outcome_{command.outcome}"] += 1
            at: float | None = self._closed_at[ikey] + self._linger
        else:
            at = session.next_deadline()
        self._schedule_at(ikey, at)
        return out

    def _schedule_at(self, ikey: InternalKey, at: float | None) -> None:
        current = self._scheduled.get(ikey)
        if at is None:
            if current is not None:
                del self._scheduled[ikey]
        elif current is None or current[0] != at:
            entry = (at, next(self._ids))
            self._scheduled[ikey] = entry
            heapq.heappush(self._heap, (at, entry[1], ikey))

    def _remove(self, ikey: InternalKey) -> None:
        session = self._sessions.pop(ikey)
        key = ikey[:4]
        ikeys = self._by_key[key]
        ikeys.remove(ikey)
        if not ikeys:
            del self._by_key[key]
        route = (session.client[0], session.client[1], session.target[0], session.target[1])
        if self._routes.get(route) == ikey:
            del self._routes[route]
        self._closed_at.pop(ikey, None)
        self._scheduled.pop(ikey, None)
        self.totals.update(session.counters)
        self.counters["sessions_removed"] += 1
