"""The burn scheduler (sans-IO): users started at a rate, each replaying one captured session
through its own ``Session``, think times taken from the capture.

Contract: ``Scheduler(index, identities, session_config, plan, report, start)``; the runtime
calls ``tick(now)`` at ``next_deadline()`` (early calls are harmless), ``response(summary, now)``
for every intercept summary and ``shutdown(now)`` at the end, and executes the returned session
commands (``Send``/``Register``/``Unregister``; ``Finished`` is already handled here) in order.
``done`` turns true when every user ran its passes (``--loop``) or ``--duration`` is over.
With ``comet`` and a duration: only when it is over, so the connections stay open that long.
With ``comet`` and no duration: once every user ran its passes and nothing moved (no response
arrived, nothing was sent) for ``plan.idle`` seconds, as tcpburn's comet mode keeps running
while responses arrive; a target that pushes forever needs ``--duration``.

Rules:
* Connection n (user n % users, pass n // users) replays session n mod S from its own identity
  (``IdentityPool``: never two live users on one identity). A user starts its next pass after
  its previous connection finished. New connections start at most ``plan.rate`` per second,
  evenly spaced (no bursts, no catch-up after idle periods).
* Topology (tcpburn ``-T``, ``plan.topology_window``): when connection n starts right after
  connection n-1 and its session began at most the window after n-1's session in the capture,
  it starts no earlier than n-1's start + that capture gap / acceleration (the captured order
  and spacing of closely following sessions is kept; the rate still applies on top).
* Captured client segment k of a session is fed to the user's ``Session`` no earlier than
  ``user start + offset_k / acceleration``; the session holds a new request until the previous
  response is complete, so a think time (captured gap / acceleration) follows each response.
* A session whose capture has no FIN/RST (or any session with ``comet``) is "open at end" once
  every captured segment was fed, every distinct captured stream byte was sent (retransmitted or
  overlapping captured segments count once) and its last response completed (the session is
  ESTABLISHED again); or, when some captured bytes can never be sent (garbage beyond the
  stream), once all that was fed sits ESTABLISHED and idle (nothing sent or received on the
  connection) for ``plan.idle`` seconds. It counts as finished, its connection stays open (the
  target's FIN is answered by the engine) until the user starts its next pass or the run ends,
  when it is reset.
* A finished connection keeps receiving responses for ``plan.linger`` seconds (late packets are
  absorbed), then its identity is released (it then rests in the pool's quarantine).
* Latency per request: first byte sent -> first response byte reported.
* A connection's session counters go to the report when it is forgotten (after its linger, or
  at ``shutdown``): the report's session totals are complete once ``shutdown`` returned.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass, replace
from typing import Final

from pyreplay.packet.segment import SYN, ResponseSummary
from pyreplay.session.commands import Command, Finished
from pyreplay.session.config import SessionConfig
from pyreplay.session.events import ClientSegment, Shutdown, TargetResponse, Tick
from pyreplay.session.session import Session
from pyreplay.session.state import Phase

from .index import CapturedSession, SessionIndex
from .report import BurnReport
from .users import Identity, IdentityPool, session_for

MAX_STARTS_PER_TICK: Final = 256  # bounded work per call; the rest is due at once on the next call


@dataclass(frozen=True, slots=True)
class BurnPlan:
    users: int
    rate: float = 1024.0  # new connections per second (-i)
    acceleration: float = 1.0  # -a
    comet: bool = False
    loops: int = 1  # passes per user; 0: until the duration ends
    duration: float | None = None
    linger: float = 6.0
    idle: float = 3.0  # s without movement: comet runs end, a stuck open-at-end user counts as open
    topology_window: float | None = None  # -T seconds; None: starts follow the rate only

    def __post_init__(self) -> None:
        if (self.users < 1 or self.rate <= 0 or self.acceleration <= 0 or self.loops < 0 or self.linger < 0
                or self.idle < 0 or not (self.topology_window is None or self.topology_window >= 0)):
            raise ValueError(f"invalid burn plan {self!r}")


class _User:
    __slots__ = ("uid", "user", "captured", "identity", "session", "start", "next_seg", "req_at",
                 "requests", "state", "open_at_end", "scheduled", "stream_bytes", "moved", "idle_at")

    def __init__(self, uid: int, user: int, captured: CapturedSession, identity: Identity,
                 session: Session, start: float, stream_bytes: int) -> None:
        self.uid = uid
        self.user = user
        self.captured = captured
        self.identity = identity
        self.session = session
        self.start = start
        self.next_seg = 0
        self.req_at: float | None = None
        self.requests = 0
        self.state = "running"  # running -> open (open at end) / finished -> gone
        self.open_at_end = False
        self.scheduled: float | None = None
        self.stream_bytes = stream_bytes  # distinct captured payload bytes (retransmissions once)
        self.moved = start  # last time the connection sent or received anything
        self.idle_at: float | None = None  # pending idle check (heap entry)


class Scheduler:
    def __init__(self, index: SessionIndex, identities: IdentityPool, session_config: SessionConfig,
                 plan: BurnPlan, report: BurnReport, start: float) -> None:
        if not len(index):
            raise ValueError("the session index is empty")
        self.index = index
        self.identities = identities
        # a user is done once its last response completed (_may_stay_open): time every one
        self.session_config = replace(session_config, time_every_completion=True)
        self.plan = plan
        self.report = report
        self.start = start
        self.end = None if plan.duration is None else start + plan.duration
        self._interval = 1.0 / plan.rate
        self._next_start = start
        self._ready: deque[tuple[int, int]] = deque((u, 0) for u in range(plan.users))  # (user, pass)
        self._by_identity: dict[Identity, _User] = {}
        self._users: dict[int, _User] = {}
        self._open_of_user: dict[int, _User] = {}
        self._feed: list[tuple[float, int, int]] = []
        self._deadlines: list[tuple[float, int, int]] = []
        self._linger: list[tuple[float, int]] = []
        self._idle: list[tuple[float, int, int]] = []
        self._stream_bytes: list[int | None] = [None] * len(index)
        self._last_moved = start
        self._ids = itertools.count()
        self._stopped = False
        self._running = 0  # users whose connection is neither finished nor open-at-end
        self._out: list[Command] = []
        self._now_seen = float("-inf")
        self._last_started: tuple[int, float] | None = None  # (connection, when) for -T

    # ------------------------------------------------------------------ public API

    @property
    def done(self) -> bool:
        if self._stopped:
            return True
        if self.end is not None and self._now_seen >= self.end:
            return True
        if self.plan.comet and self.end is not None:
            return False  # comet with a duration: hold the connections open until it ends
        if self._ready or self._running:
            return False
        return not self.plan.comet or self._now_seen >= self._last_moved + self.plan.idle

    @property
    def live_connections(self) -> int:
        return len(self._by_identity)

    def next_deadline(self) -> float | None:
        candidates = []
        if self._ready and not self._stopped:
            free_at = self.identities.next_free_at()
            if free_at is not None:
                candidates.append(max(self._next_start, free_at))
        for heap in (self._feed, self._linger, self._idle):
            if heap:
                candidates.append(heap[0][0])
        if self.plan.comet and self.end is None and not self._ready and not self._running and not self._stopped:
            candidates.append(self._last_moved + self.plan.idle)
        while self._deadlines:
            at, _, uid = self._deadlines[0]
            u = self._users.get(uid)
            if u is not None and u.scheduled == at:
                candidates.append(at)
                break
            heapq.heappop(self._deadlines)
        if self.end is not None:
            candidates.append(self.end)
        return min(candidates, default=None)

    def tick(self, now: float) -> list[Command]:
        out: list[Command] = []
        self._out = out
        self._now_seen = max(self._now_seen, now)
        self._release_lingering(now)
        self._check_idle(now)
        self._ignite(now)
        self._feed_due(now)
        self._fire_deadlines(now)
        return out

    def response(self, summary: ResponseSummary, now: float) -> list[Command]:
        out: list[Command] = []
        self._out = out
        self._now_seen = max(self._now_seen, now)
        u = self._by_identity.get((summary.dst, summary.dport))
        if u is None:
            self.report.error("response for no live user")
            return out
        if summary.payload_len and u.req_at is not None:
            self.report.response_seen(now - u.req_at)
            u.req_at = None
        if summary.flags & 0x04:  # RST
            self.report.target_resets += 1
        self._deliver(u, TargetResponse(summary), now)
        return out

    def shutdown(self, now: float) -> list[Command]:
        """End every connection still open (resetting it) and release every identity."""
        out: list[Command] = []
        self._out = out
        self._stopped = True
        self._ready.clear()
        for u in list(self._users.values()):
            if u.state in ("running", "open"):
                self._deliver(u, Shutdown(), now)
        for u in list(self._users.values()):
            self._forget(u, now)
        self._linger.clear()
        return out

    # ------------------------------------------------------------------ starting users

    def _ignite(self, now: float) -> None:
        if self._stopped or (self.end is not None and now >= self.end):
            self._ready.clear()
            return
        budget = MAX_STARTS_PER_TICK
        while self._ready and self._next_start <= now and budget:
            chained = self._chained_start(*self._ready[0])
            if chained > now:
                self._next_start = chained
                break
            identity = self.identities.acquire(now)
            if identity is None:
                self.report.error("waits for a free client identity")
                return
            budget -= 1
            user, pass_ = self._ready.popleft()
            self._start_user(user, pass_, identity, now)
            self._next_start += self._interval
        if not self._ready or self._next_start < now - self._interval:
            self._next_start = max(self._next_start, now)  # no catch-up burst after idle time

    def _chained_start(self, user: int, pass_: int) -> float:
        """The earliest start -T allows for this connection (-inf: not chained)."""
        window = self.plan.topology_window
        if window is None or self._last_started is None:
            return float("-inf")
        uid = pass_ * self.plan.users + user
        last_uid, last_at = self._last_started
        k = session_for(uid, len(self.index))
        if last_uid != uid - 1 or k == 0:
            return float("-inf")
        gap = self.index[k].start - self.index[k - 1].start
        if not 0 <= gap <= window:
            return float("-inf")
        return last_at + gap / self.plan.acceleration

    def _start_user(self, user: int, pass_: int, identity: Identity, now: float) -> None:
        previous = self._open_of_user.pop(user, None)
        if previous is not None:
            self._deliver(previous, Shutdown(), now)
        uid = pass_ * self.plan.users + user
        self._last_started = (uid, now)
        n = session_for(uid, len(self.index))
        captured = self.index[n]
        distinct = self._stream_bytes[n]
        if distinct is None:
            distinct = self._stream_bytes[n] = stream_bytes(captured)
        session = Session(self.session_config, identity, captured.target)
        u = _User(uid, user, captured, identity, session, now, distinct)
        self._users[uid] = u
        self._by_identity[identity] = u
        self._running += 1
        self.report.user_started()
        self._feed_user(u, now)

    # ------------------------------------------------------------------ feeding the capture

    def _feed_due(self, now: float) -> None:
        feed = self._feed
        while feed and feed[0][0] <= now:
            _, _, uid = heapq.heappop(feed)
            u = self._users.get(uid)
            if u is not None and u.state == "running":
                self._feed_user(u, now)

    def _feed_user(self, u: _User, now: float) -> None:
        captured = u.captured
        segments, offsets = captured.segments, captured.offsets
        accel = self.plan.acceleration
        while u.next_seg < len(segments) and u.state == "running":
            due = u.start + offsets[u.next_seg] / accel
            if due > now:
                heapq.heappush(self._feed, (due, next(self._ids), u.uid))
                return
            segment = segments[u.next_seg]
            u.next_seg += 1
            self._deliver(u, ClientSegment(segment), now)

    # ------------------------------------------------------------------ session events

    def _fire_deadlines(self, now: float) -> None:
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            at, _, uid = heapq.heappop(heap)
            u = self._users.get(uid)
            if u is None or u.scheduled != at:
                continue
            u.scheduled = None
            self._deliver(u, Tick(), now)

    def _deliver(self, u: _User, event, now: float) -> None:
        session = u.session
        commands = session.handle(event, now=now)
        if commands or type(event) is TargetResponse:
            u.moved = self._last_moved = now
        requests = session.counters.get("requests", 0)
        if requests != u.requests:
            for _ in range(requests - u.requests):
                self.report.request_sent()
            u.requests = requests
            if u.req_at is None:
                u.req_at = now
        self._out += commands
        for command in commands:
            if type(command) is Finished:
                self._finished(u, command, now)
        if u.state == "running" and self._may_stay_open(u):
            counters = session.counters
            # bytes resent after a target close were counted when first sent too
            distinct_sent = counters.get("bytes_sent", 0) - counters.get("bytes_resent_after_reconnect", 0)
            if distinct_sent >= u.stream_bytes or now >= u.moved + self.plan.idle:
                self._mark_open(u, now)
            elif u.idle_at is None:  # bytes it can never send: open once idle (checked in tick)
                u.idle_at = u.moved + self.plan.idle
                heapq.heappush(self._idle, (u.idle_at, next(self._ids), u.uid))
        if u.state in ("running", "open"):
            at = session.next_deadline()
            if at != u.scheduled:
                u.scheduled = at
                if at is not None:
                    heapq.heappush(self._deadlines, (at, next(self._ids), u.uid))

    def _may_stay_open(self, u: _User) -> bool:
        """Everything captured was fed and no response is outstanding, and the session is one
        that is left open at the end (comet, or the capture never closed it)."""
        return (
            (self.plan.comet or not u.captured.has_fin)
            and u.next_seg >= len(u.captured.segments)
            and u.session.phase is Phase.ESTABLISHED
        )

    def _check_idle(self, now: float) -> None:
        heap = self._idle
        while heap and heap[0][0] <= now:
            _, _, uid = heapq.heappop(heap)
            u = self._users.get(uid)
            if u is None or u.idle_at is None:
                continue
            u.idle_at = None
            if u.state != "running" or not self._may_stay_open(u):
                continue
            if now >= u.moved + self.plan.idle:
                self.report.error("open at end with captured bytes never sent")
                self._mark_open(u, now)
            else:
                u.idle_at = u.moved + self.plan.idle
                heapq.heappush(heap, (u.idle_at, next(self._ids), u.uid))

    def _mark_open(self, u: _User, now: float) -> None:
        u.state = "open"
        u.open_at_end = True
        self._running -= 1
        self.report.user_finished("open_at_end")
        self._open_of_user[u.user] = u
        self._next_pass(u)

    def _finished(self, u: _User, command: Finished, now: float) -> None:
        if u.state == "running":
            self._running -= 1
            self.report.user_finished(command.outcome.value)
            self._next_pass(u)
        if self._open_of_user.get(u.user) is u:
            del self._open_of_user[u.user]
        u.state = "finished"
        u.scheduled = None
        heapq.heappush(self._linger, (now + self.plan.linger, u.uid))

    def _next_pass(self, u: _User) -> None:
        pass_ = u.uid // self.plan.users + 1
        if self._stopped or (self.plan.loops and pass_ >= self.plan.loops):
            return
        self._ready.append((u.user, pass_))

    # ------------------------------------------------------------------ ending connections

    def _release_lingering(self, now: float) -> None:
        heap = self._linger
        while heap and heap[0][0] <= now:
            _, uid = heapq.heappop(heap)
            u = self._users.get(uid)
            if u is not None:
                self._forget(u, now)

    def _forget(self, u: _User, now: float) -> None:
        if self._users.pop(u.uid, None) is not None:
            self.report.session_ended(u.session.counters)
        if self._by_identity.get(u.identity) is u:
            del self._by_identity[u.identity]
            self.identities.release(u.identity, now)


def stream_bytes(captured: CapturedSession) -> int:
    """Distinct client payload bytes of a captured session: the union of the segments' sequence
    ranges (a retransmitted or overlapping captured segment counts once). With a captured SYN the
    stream starts after it; bytes before the stream (stale segments) are not counted."""
    spans = []
    base = None
    for seg in captured.segments:
        if seg.flags & SYN:
            base = (seg.seq + 1) & 0xFFFFFFFF
        elif seg.payload:
            if base is None:
                base = seg.seq
            start = (seg.seq - base) & 0xFFFFFFFF
            if start >= 0x80000000:
                start -= 0x100000000
            spans.append((start, start + len(seg.payload)))
    total = 0
    reached = 0
    for start, end in sorted(spans):
        start = max(start, reached)
        if end > start:
            total += end - start
            reached = end
    return total
