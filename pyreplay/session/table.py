"""All sessions of one copy/burn process: lookup, creation, response routing, one deadline heap.

Contract: captured client segments are keyed by (client addr, client port, online addr, online
port), the destination included so two online services seen from one client port never collide;
target responses are routed by (rewritten client addr, port, target addr, port). Sessions are
made by the caller's ``factory(segment, generation) -> Session | None`` (None: not replayed by
policy) on a SYN or on a payload segment. A finished session lingers for ``linger`` seconds to
absorb late packets, then is removed and its counters are added to ``totals``.
``next_deadline``/``handle_tick`` aggregate every live session's deadline in one heap, and the
lingering sessions' in a queue (they finished in time order, so they leave in that order: the
heap holds only the live ones);
``next_work_deadline`` tells when the earliest timer that still moves the replay on is due.

Each session is held in a ``_Slot`` with its key, route and heap entry, reached by one dict
lookup per event (client key or route): the per-event path hashes no other key.

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
from collections import Counter, deque
from collections.abc import Callable
from typing import Final

from pyreplay.packet.segment import SYN, ResponseSummary, Segment
from pyreplay.packet.seqnum import seq_diff, seq_ge

from .commands import Command, Finished
from .events import ClientSegment, Shutdown, Superseded, TargetResponse, Tick
from .session import Session
from .tally import tally

Key = tuple[bytes, int, bytes, int]
SessionFactory = Callable[[Segment, int], "Session | None"]

DEFAULT_MAX_GENERATIONS: Final = 8
# How far past the captured end a segment still belongs to an old connection: the reassembly
# horizon of a session (out-of-order data is buffered that far ahead).
DEFAULT_RANGE_WINDOW: Final = 4 * 1024 * 1024


class _Slot:
    """One session the table holds: its key and generation, its route, its heap entry."""

    __slots__ = ("session", "key", "generation", "route", "entry", "at", "closed_at")

    def __init__(self, session: Session, key: Key, generation: int, route: Key) -> None:
        self.session = session
        self.key = key
        self.generation = generation
        self.route = route
        self.entry = -1  # id of the slot's live heap entry; -1: none (not scheduled, or removed)
        self.at = 0.0  # when that entry is due
        self.closed_at = -1.0  # when the session finished (it lingers from then on)


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
        self._slots: dict[_Slot, None] = {}  # every slot, in creation order
        self._by_key: dict[Key, list[_Slot]] = {}  # oldest generation first
        self._routes: dict[Key, _Slot] = {}
        self._heap: list[tuple[float, int, _Slot]] = []
        self._entries = 0  # heap entry ids handed out
        self._lingering: deque[_Slot] = deque()  # finished slots, oldest finish first
        self.counters: dict[str, int] = {}  # read with .get(name, 0): see tally
        self.totals: dict[str, int] = {}  # counters of removed sessions, summed

    def __len__(self) -> int:
        return len(self._slots)

    def get(self, key: Key) -> Session | None:
        """The newest session of ``key``."""
        slots = self._by_key.get(key)
        return slots[-1].session if slots else None

    def sessions_of(self, key: Key) -> list[Session]:
        """Every session held for ``key``, oldest first."""
        return [slot.session for slot in self._by_key.get(key, ())]

    @staticmethod
    def key_of(segment: Segment) -> Key:
        return (segment.src, segment.sport, segment.dst, segment.dport)

    # ------------------------------------------------------------------ events

    def handle_client(self, segment: Segment, *, now: float) -> list[Command]:
        key = (segment.src, segment.sport, segment.dst, segment.dport)
        slots = self._by_key.get(key)
        if slots is None:
            if not (segment.flags & SYN or segment.payload):
                tally(self.counters, "client_without_session")
                return []
            return self._create(key, 0, segment, now, [])
        if len(slots) == 1 and not segment.flags & SYN:
            # the usual case: one connection on the key; pure ACKs (half the captured packets)
            # are absorbed without commands or rescheduling
            only = slots[0]
            session = only.session
            if session.absorb_pure_ack(segment, now):
                return []
            if not (session.finished and segment.payload):
                return self._deliver(only, ClientSegment(segment), now)
        owner = self._owner_of(slots, segment)
        if owner is None:  # a new connection on this key
            tally(self.counters, "port_reuse")
            out: list[Command] = []
            if len(slots) >= self._max_generations:
                self._make_room(slots, now, out)
            return self._create(key, slots[-1].generation + 1 if slots else 0, segment, now, out)
        return self._deliver(owner, ClientSegment(segment), now)

    def handle_response(self, summary: ResponseSummary, *, now: float) -> list[Command]:
        slot = self._routes.get((summary.dst, summary.dport, summary.src, summary.sport))
        if slot is None:
            tally(self.counters, "response_without_session")
            return []
        return self._deliver(slot, TargetResponse(summary), now)

    def handle_tick(self, now: float) -> list[Command]:
        lingering, slots = self._lingering, self._slots
        while lingering and lingering[0].closed_at + self._linger <= now:
            slot = lingering.popleft()
            if slot in slots:  # else removed already (made room for, or shut down)
                self._remove(slot)
        out: list[Command] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, entry, slot = heapq.heappop(heap)
            if slot.entry != entry:
                continue  # stale entry
            slot.entry = -1
            out += self._deliver(slot, Tick(), now)
        return out

    def shutdown(self, now: float) -> list[Command]:
        out: list[Command] = []
        for slot in list(self._slots):
            out += self._deliver(slot, Shutdown(), now)
            self._remove(slot)
        self._lingering.clear()
        return out

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap and heap[0][2].entry != heap[0][1]:
            heapq.heappop(heap)
        lingering, slots = self._lingering, self._slots
        while lingering and lingering[0] not in slots:
            lingering.popleft()
        if not lingering:
            return heap[0][0] if heap else None
        leaves = lingering[0].closed_at + self._linger
        return min(heap[0][0], leaves) if heap else leaves

    def session_counters(self) -> Counter[str]:
        """The counters of every session the table held or holds, summed: ``totals`` plus the
        live ones (so a long keep-alive connection shows before it ends). Scans every session."""
        total = Counter(self.totals)
        for slot in self._slots:
            total.update(slot.session.counters)
        return total

    def next_work_deadline(self) -> float | None:
        """The earliest ``Session.next_work_deadline`` of the unfinished sessions: when a timer
        that moves the replay on is due (lingering finished sessions and give-up timers left
        out). Scans every session: for end-of-run decisions, not per event."""
        return min((at for slot in self._slots
                    if not slot.session.finished and (at := slot.session.next_work_deadline()) is not None),
                   default=None)

    # ------------------------------------------------------------------ internals

    def _owner_of(self, slots: list[_Slot], segment: Segment) -> _Slot | None:
        """The generation ``segment`` belongs to; None if it opens a new connection."""
        seq = segment.seq
        if segment.flags & SYN:
            for slot in reversed(slots):
                if slot.session.captured_isn == seq:
                    return slot  # a retransmitted SYN
            return None
        newest = slots[-1]
        if len(slots) > 1:
            for slot in reversed(slots):
                if self._in_range(slot.session, seq):
                    newest = slot
                    break
        session = newest.session
        if newest is slots[-1] and session.finished and segment.payload:
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
            tally(self.counters, "not_replayed")
            return out
        tally(self.counters, "sessions_created")
        route = (session.client[0], session.client[1], session.target[0], session.target[1])
        slot = _Slot(session, key, generation, route)
        self._slots[slot] = None
        self._by_key.setdefault(key, []).append(slot)
        if self._routes.get(route, slot) is not slot:
            tally(self.counters, "route_collision")  # the newest session gets the responses
        self._routes[route] = slot
        out += self._deliver(slot, ClientSegment(segment), now)
        return out

    def _make_room(self, slots: list[_Slot], now: float, out: list[Command]) -> None:
        """Drop the oldest finished session of the key, else end the oldest live one."""
        victim = next((slot for slot in slots if slot.session.finished), None)
        if victim is None:
            victim = slots[0]
            tally(self.counters, "port_reuse_superseded")
            out += self._deliver(victim, Superseded(), now)
        self._remove(victim)

    def _deliver(self, slot: _Slot, event, now: float) -> list[Command]:
        session = slot.session
        was_finished = session.finished
        out = session.handle(event, now=now)
        if session.finished:
            if not was_finished:
                slot.closed_at = now
                slot.entry = -1  # its timers are over: a heap entry left is stale
                self._lingering.append(slot)
                for command in out:
                    if type(command) is Finished:
                        tally(self.counters, f"outcome_{command.outcome}")
        else:
            self._schedule(slot, session.next_deadline())
        return out

    def _schedule(self, slot: _Slot, at: float | None) -> None:
        if at is None:
            slot.entry = -1
        elif slot.entry < 0 or slot.at != at:
            self._entries += 1
            slot.entry = self._entries
            slot.at = at
            heapq.heappush(self._heap, (at, self._entries, slot))

    def _remove(self, slot: _Slot) -> None:
        del self._slots[slot]
        slots = self._by_key[slot.key]
        slots.remove(slot)
        if not slots:
            del self._by_key[slot.key]
        if self._routes.get(slot.route) is slot:
            del self._routes[slot.route]
        slot.entry = -1
        totals = self.totals
        for name, count in slot.session.counters.items():
            tally(totals, name, count)
        tally(self.counters, "sessions_removed")
