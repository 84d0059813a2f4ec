"""copy, offline: replay a capture file to the target at the captured pace (``-a``, ``-I``),
paced by the target's responses from intercept, ``-T`` times, then print a summary and exit.

The loop: poll the intercept connections until the next due captured packet or session
deadline → hand due packets (at most ``CAPTURED_PER_ITERATION``), responses and ticks to
``Replay`` → send what it emits in batches of at most ``SEND_BATCH`` packets: the queued
Register/Unregister messages in one channel write per intercept first (so intercept knows a
client before its SYN-ACK can arrive), then the queued packets. After the
file ends it exits when every session has finished, or when nothing was sent or received for
``idle_exit`` seconds and no session has work due within ``work_horizon`` (sessions then still
open are reset, as the original does at exit). Work is a timer that moves the replay on (the
resync past a capture hole, a retransmission, a delayed ACK, a response's quiet period, a held
FIN: ``Session.next_work_deadline``); the horizon is the longest such timer that counts from
something already past (``capture_gap_timeout``, 2 s), so a hole found just before the idle
mark is still resynced. Timers that only give up (the session timeout ``-t``, keep-alive,
handshake, linger) never hold the run, so a target that went silent costs ``idle_exit``, not
``-t``; nor does a retransmission due beyond the horizon. Each awaited timer either sends,
which restarts the idle clock as any send does, or fires once: the wait cannot go on forever.
With ``-T N`` the file is replayed N times: each pass ends as the run would (every session
finished, or quiet for ``idle_exit`` with no work due), what is still open is reset, and the
next pass starts at once from the file's first packet; sessions of later passes get fresh client identities
(the used ones rest in quarantine, as the target's TIME_WAIT does).
With ``dry_run`` packets go to a pcap file and a simulated target answers instead of intercept.

``Intercepts`` (shared with live copy and burn) holds one channel connection per ``-s``
intercept. A lost one ends the run, unless ``-L`` (lonely): then the run goes on and every
``RECONNECT_INTERVAL`` seconds (12, as the original) ``reconnect_due`` tries again, sending the
routes of the live sessions on each connection it re-opens.
"""

from __future__ import annotations

import heapq
import logging
import select
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, cast

from pyreplay.backends.channel_tcp import ChannelClosed, ChannelLink, connect_channel
from pyreplay.backends.emit import Emitter, PcapEmitter, RawIpEmitter
from pyreplay.channel.codec import encode
from pyreplay.channel.errors import ChannelError
from pyreplay.channel.messages import Bye, Hello, Message, Responses
from pyreplay.config import RECONNECT_INTERVAL, CopyConfig, Endpoint
from pyreplay.packet.pcap import CaptureReader, PcapError, open_capture
from pyreplay.packet.segment import ResponseSummary, Segment
from pyreplay.packet.tcpip import parse_packet
from pyreplay.runtime.outbox import SEND_BATCH, Outbox
from pyreplay.runtime.errors import CopyError
from pyreplay.runtime.replay_clock import ReplayClock
from pyreplay.runtime.process import memory_over_limit
from pyreplay.runtime.replay import Replay
from pyreplay.runtime.simtarget import SimulatedTarget
from pyreplay.session.config import SessionConfig
from pyreplay.session.summary import event_lines

log = logging.getLogger("pyreplay.copy")
INTERCEPT_MESSAGES: Final = frozenset({Hello, Responses, Bye})
DRY_RUN_RTT: Final = 0.001
CAPTURED_PER_ITERATION: Final = 256  # then read responses before the next captured packets
CONNECT_TIMEOUT: Final = 5.0
# A retry blocks the loop while it connects; an intercept on the LAN answers in well under this.
RECONNECT_TIMEOUT: Final = 0.5


@dataclass
class CopySummary:
    lines: list[str]
    problems: list[str]
    ok: bool


class Intercepts:
    """The connections to every ``-s`` intercept: announce to all, receive from any.

    Every intercept must answer at start (``CopyError`` otherwise). With ``lonely`` (-L) a lost
    connection is retried by ``reconnect_due``; without, the caller ends when none is left."""

    def __init__(self, endpoints: Sequence[Endpoint], *, lonely: bool = False, clock=time.monotonic,
                 connect: Callable[..., ChannelLink] = connect_channel) -> None:
        self.lonely = lonely
        self._clock = clock
        self._open = connect
        self.connections: list[ChannelLink] = []
        self._endpoint_of: dict[ChannelLink, Endpoint] = {}
        self._retry_at: dict[Endpoint, float] = {}
        self.losses = 0  # connections lost during the run
        self.reconnects = 0
        for endpoint in endpoints:
            try:
                self._connect(endpoint, CONNECT_TIMEOUT)
            except ConnectionError as exc:
                self.close()
                raise CopyError(str(exc)) from exc

    def _connect(self, endpoint: Endpoint, timeout: float) -> ChannelLink:
        host = socket.inet_ntop(socket.AF_INET6 if len(endpoint.addr) == 16 else socket.AF_INET, endpoint.addr)
        conn = self._open(host, endpoint.port, "copy", f"copy@{socket.gethostname()}", timeout=timeout,
                               accepts=INTERCEPT_MESSAGES)
        self.connections.append(conn)
        self._endpoint_of[conn] = endpoint
        return conn

    @property
    def alive(self) -> bool:
        """Whether the run can go on: a connection is open, or -L keeps trying."""
        return bool(self.connections) or self.lonely

    def reconnect_due(self, now: float, routes: Callable[[], list[Message]]) -> int:
        """-L: retry the lost intercepts whose time came; send ``routes()`` on each re-opened
        connection (intercept forgot the routes of the lost one). Returns how many re-opened."""
        if not self._retry_at or min(self._retry_at.values()) > now:
            return 0
        reopened = 0
        for endpoint, at in list(self._retry_at.items()):
            if at > now:
                continue
            try:
                conn = self._connect(endpoint, RECONNECT_TIMEOUT)
            except ConnectionError as exc:
                self._retry_at[endpoint] = now + RECONNECT_INTERVAL
                log.warning("copy: %s; next try in %g s (-L)", exc, RECONNECT_INTERVAL)
                continue
            del self._retry_at[endpoint]
            reopened += 1
            self.reconnects += 1
            messages = routes()
            log.info("copy: reconnected to intercept %s; re-registered %d live sessions", conn.peer, len(messages))
            if messages:
                try:
                    conn.send(b"".join(encode(m) for m in messages))
                except ChannelClosed as exc:
                    self._lost(conn, str(exc))
        return reopened

    def announce_frames(self, frames: bytes) -> None:
        """Send encoded channel frames to every intercept in one write each."""
        for conn in list(self.connections):
            try:
                conn.send(frames)
            except ChannelClosed as exc:
                self._lost(conn, str(exc))

    def receive(self, timeout: float, wake_on: Sequence = ()) -> list[Responses]:
        """The intercepts' responses, waiting up to ``timeout`` for the first; ``wake_on``
        (e.g. the capture) ends the wait too when it becomes readable: one select per call."""
        timeout = max(0.0, timeout)
        if not self.connections:
            if wake_on:
                select.select(wake_on, [], [], timeout)
            else:
                time.sleep(timeout)
            return []
        waiting_out = [c for c in self.connections if c.wants_write]
        readable: list[object]
        readable, writable, _ = select.select([*self.connections, *wake_on], waiting_out, [], timeout)
        out = []
        for conn in writable:
            try:
                conn.flush()
            except ChannelClosed as exc:
                self._lost(conn, str(exc))
        for ready in readable:
            if ready not in self._endpoint_of:
                continue  # one of wake_on, or lost above
            conn = cast(ChannelLink, ready)
            try:
                for message in conn.receive():
                    if isinstance(message, Responses):
                        out.append(message)
                    elif isinstance(message, Bye):
                        raise ChannelClosed(f"intercept {conn.peer} said bye: {message.reason}")
            except (ChannelClosed, ChannelError) as broken:  # not `exc`: one type per name when compiled
                self._lost(conn, str(broken))
        return out

    def _lost(self, conn: ChannelLink, reason: str) -> None:
        if conn in self.connections:
            self.connections.remove(conn)
            conn.close()
            endpoint = self._endpoint_of.pop(conn)
            self.losses += 1
            if self.lonely:
                self._retry_at[endpoint] = self._clock() + RECONNECT_INTERVAL
                log.error("copy: lost intercept %s: %s; reconnecting every %g s (-L)", conn.peer, reason,
                          RECONNECT_INTERVAL)
            else:
                log.error("copy: lost intercept %s: %s", conn.peer, reason)

    def problem(self) -> str | None:
        """What the summary should say about lost connections (None: none was lost)."""
        if not self.losses:
            return None
        retried = f"; reconnected {self.reconnects} time(s) (-L)" if self.lonely else ""
        return (f"lost {self.losses} intercept connection(s) during the run{retried}: sessions that ran "
                "while their intercept was gone got no responses")

    def close(self) -> None:
        for conn in self.connections:
            try:
                conn.flush_blocking(1.0)
            except ChannelClosed:
                pass
            conn.close()
        self.connections = []
        self._endpoint_of.clear()
        self._retry_at.clear()


def _captured(reader: CaptureReader, replay: Replay) -> Iterator[tuple[float, Segment]]:
    for record in reader:
        segment = replay.captured_segment(record.packet)
        if segment is not None:
            yield record.timestamp, segment


class OfflineCopy:
    def __init__(self, config: CopyConfig, *, dry_run_output: str | None = None, idle_exit: float = 3.0,
                 clock=time.monotonic, sleep=time.sleep) -> None:
        """``clock`` and ``sleep`` go together: a test's virtual clock advances when slept on
        (a dry run reads no other time)."""
        if not config.offline_file:
            raise CopyError("offline copy needs a capture file (-i FILE)")
        self.config = config
        self.path: str = config.offline_file
        self.clock = clock
        self._sleep = sleep
        self.idle_exit = idle_exit
        self._stopping = False
        self.memory = MemoryLimit(config.memory_limit_mb)
        self.passes = 0  # passes over the file started (-T)
        self.pass_problem: str | None = None
        self._file_skipped: Counter = Counter()  # capture-file skips of the passes already read
        keep = compile_capture_filter(config)  # a bad -F fails before anything opens
        self.reader: CaptureReader | _NoCapture = self._open_file()
        self._dry_output = None
        self.intercepts: Intercepts | None = None
        self.simulated: SimulatedTarget | None = None
        self._simulated_due: list[tuple[float, int, ResponseSummary]] = []
        self._sim_seq = 0
        try:
            if dry_run_output:
                self._dry_output = open(dry_run_output, "wb")  # noqa: SIM115 - closed in close()
                self.emitter: Emitter = PcapEmitter(self._dry_output)
                self.simulated = SimulatedTarget()
            else:
                self.emitter = RawIpEmitter()
                self.intercepts = Intercepts(config.intercepts, lonely=config.lonely, clock=clock)
        except BaseException:
            self.close()
            raise
        self.outbox = Outbox(self.emitter, self.intercepts, batch=SEND_BATCH,
                             on_sent=self._simulate if self.simulated is not None else None)
        self.replay = Replay(config, self.outbox.packet, self.outbox.notice, keep=keep)
        self.work_horizon = work_horizon(self.replay.session_config)

    def _open_file(self) -> CaptureReader:
        try:
            return open_capture(self.path)
        except (OSError, PcapError) as exc:
            raise CopyError(f"cannot read {self.path}: {exc}") from exc

    def _next_pass(self) -> Iterator[tuple[float, Segment]] | None:
        """The captured segments of the next pass over the file, or None when -T passes are done
        (or the file cannot be read again: ``pass_problem`` says why)."""
        if self.passes >= self.config.repeat:
            return None
        if self.passes:
            self._file_skipped.update(self.reader.skipped)
            self.reader.close()
            try:
                self.reader = self._open_file()
            except CopyError as exc:
                self.reader = _NoCapture()
                self.pass_problem = f"pass {self.passes + 1} of {self.config.repeat} not run: {exc}"
                log.error("copy: %s", self.pass_problem)
                return None
        self.passes += 1
        if self.config.repeat > 1:
            log.info("copy: pass %d of %d over %s", self.passes, self.config.repeat, self.config.offline_file)
        reader = self.reader
        assert isinstance(reader, CaptureReader)  # a _NoCapture only after a failed reopen, above
        return _captured(reader, self.replay)

    def _begin(self, source: Iterator[tuple[float, Segment]]):
        """Start pacing a pass now: (its replay clock, first packet, start time, when that is due)."""
        clock = ReplayClock(self.config.acceleration, self.config.gap_threshold_ms / 1000)
        pending = next(source, None)
        start = self.clock()
        return clock, pending, start, (clock.due(pending[0], start) if pending else 0.0)

    def _simulate(self, packet: bytes, now: float) -> None:
        assert self.simulated is not None  # only a dry run passes this to the outbox
        for summary in self.simulated.receive(parse_packet(packet)):
            self._sim_seq += 1
            heapq.heappush(self._simulated_due, (now + DRY_RUN_RTT, self._sim_seq, summary))

    def _flush(self) -> None:
        """Send what this iteration queued: channel messages first, then packets."""
        self.outbox.flush()

    def stop(self) -> None:
        self._stopping = True

    def run(self) -> CopySummary:
        replay = self.replay
        first = self._next_pass()
        assert first is not None  # the first pass's file was opened in __init__
        source = first
        clock, pending, start, due = self._begin(source)
        next_memory_check = start + 1.0
        try:
            while not self._stopping:
                now = self.clock()
                budget = CAPTURED_PER_ITERATION
                while pending is not None and due <= now and budget:
                    budget -= 1
                    replay.client_segment(pending[1], now)
                    pending = next(source, None)
                    if pending is not None:
                        due = clock.due(pending[0], start)
                self._deliver_simulated(now)
                deadline = replay.next_deadline()
                if deadline is not None and deadline <= now:
                    replay.tick(now)
                    deadline = replay.next_deadline()
                self._flush()
                if pending is None and self._finished(now):
                    following = self._next_pass()
                    if following is None:
                        break
                    source = following
                    # Sessions of the last pass, lingering or still open, would take the new
                    # pass's packets for their own (same keys, same ISNs): end them first.
                    replay.shutdown(now)
                    self._flush()
                    clock, pending, start, due = self._begin(source)
                    continue
                if now >= next_memory_check:
                    next_memory_check = now + 1.0
                    if self.memory.exceeded():
                        break
                wake = min(x for x in (due if pending else None, deadline, now + 0.1,
                                       self._simulated_due[0][0] if self._simulated_due else None) if x is not None)
                timeout = max(0.0, wake - self.clock())
                if self.intercepts is not None:
                    for message in self.intercepts.receive(timeout):
                        t = self.clock()
                        for summary in message.items:
                            replay.response(summary, t)
                    if not self.intercepts.alive:
                        log.error("copy: no intercept left; stopping")
                        break
                    self.intercepts.reconnect_due(self.clock(), replay.registrations)
                elif timeout:
                    self._sleep(timeout)
            replay.shutdown(self.clock())
            self._flush()
        finally:
            self.close()
        return self.summary()

    def _deliver_simulated(self, now: float) -> None:
        while self._simulated_due and self._simulated_due[0][0] <= now:
            _, _, summary = heapq.heappop(self._simulated_due)
            self.replay.response(summary, now)

    def _finished(self, now: float) -> bool:
        """Whether a pass whose capture is exhausted may end at ``now``: no session is active,
        or nothing was sent or received for ``idle_exit``, no simulated response is due and no
        session has work due within ``work_horizon``."""
        replay = self.replay
        if replay.active_sessions == 0:
            return True
        if now - replay.stats.last_activity < self.idle_exit or self._simulated_due:
            return False
        work = replay.next_work_deadline()
        return work is None or work > now + self.work_horizon

    def close(self) -> None:
        if self.intercepts is not None:
            self.intercepts.close()
        if getattr(self, "emitter", None) is not None:
            self.emitter.close()
        if self._dry_output is not None:
            self._dry_output.close()
        self.reader.close()

    def summary(self) -> CopySummary:
        file_skipped = self._file_skipped + Counter(self.reader.skipped)
        skipped = {f"capture file: {reason}": count for reason, count in file_skipped.items()}
        problems = []
        if self.memory.problem:
            problems.append(self.memory.problem)
        if self.pass_problem:
            problems.append(self.pass_problem)
        if self.intercepts is not None:
            problem = self.intercepts.problem()
            if problem:
                problems.append(problem)
        result = replay_summary(self.replay, self.emitter, skipped, problems)
        if self.config.repeat > 1:
            result.lines.insert(0, f"passes over {self.config.offline_file}: {self.passes} of {self.config.repeat}")
        return result


def work_horizon(config: SessionConfig) -> float:
    """How soon a session's work must be due to hold a quiet offline run open: the longest of
    the work timers that count from something already past (a capture hole, the last progress,
    a response), so whichever of them is armed is due within it. A retransmission or window
    probe due later goes to a target silent for that long: the exit gives it up."""
    return max(config.capture_gap_timeout, config.fin_hold_timeout, config.quiet_cap, config.ack_delay)


class _NoCapture:
    """Stands in for a capture file that could not be opened again (nothing to close or count)."""

    skipped: dict[str, int] = {}

    def close(self) -> None:
        pass


class MemoryLimit:
    """copy's ``-m``: ``exceeded()`` checks the peak RSS (and logs once when over); ``problem``
    is the summary line then, else None."""

    def __init__(self, limit_mb: int) -> None:
        self.limit_mb = limit_mb
        self.problem: str | None = None

    def exceeded(self) -> bool:
        rss_mb = memory_over_limit(self.limit_mb)
        if rss_mb is None:
            return False
        log.error("copy: memory %.0f MB exceeds -m %d MB; stopping", rss_mb, self.limit_mb)
        self.problem = f"stopped early: memory {rss_mb:.0f} MB exceeded -m {self.limit_mb} MB"
        return True


def compile_capture_filter(config: CopyConfig) -> Callable[[bytes], bool] | None:
    """The ``-F`` matcher over captured IP packets (libpcap's own), or None without -F.
    ``FilterError`` (a ValueError) when the expression does not compile."""
    if not config.capture_filter:
        return None
    from pyreplay.backends.pcapfilter import offline_filter

    return offline_filter(config.capture_filter)


def replay_summary(replay: Replay, emitter: Emitter, capture_skipped: dict[str, int],
                   extra_problems: Sequence[str] = ()) -> CopySummary:
    """The end-of-run summary of any copy runtime: sessions, requests, responses, skips, the
    session events a healthy run has none of (``session.summary``), errors."""
    c = replay.counters()
    s = replay.stats
    skipped = dict(s.skipped)
    skipped.update(capture_skipped)
    emit_errors = dict(emitter.errors)
    lines = [
        f"sessions: {c['sessions_created']} replayed, outcomes "
        + (", ".join(f"{k} {v}" for k, v in sorted(s.outcomes.items())) or "none"),
        f"requests sent: {c['requests']}, packets sent: {s.packets_sent}, bytes: {c['bytes_sent']}, "
        f"retransmits: {c['retransmits']}",
        f"responses: {s.responses} summaries, connections established: {c['connections']}, "
        f"resets from target: {c['target_resets']}, resets sent: {c['resets_sent']}",
        f"captured packets: {s.captured}, skipped: "
        + (", ".join(f"{k} {v}" for k, v in sorted(skipped.items())) or "none"),
    ]
    lines += event_lines(c)
    if emit_errors:
        lines.append("send errors: " + ", ".join(f"{k} {v}" for k, v in emit_errors.items())
                     + f" (last: {emitter.last_error})")
    problems = replay.diagnosis() + list(extra_problems)
    return CopySummary(lines, problems, ok=not problems and not emit_errors)
