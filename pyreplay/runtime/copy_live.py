"""copy, live: capture requests on this host (XDP, tc or AF_PACKET), replay them to the target
paced by intercept's responses, until SIGINT/SIGTERM; then finish open sessions briefly, print
the summary and exit.

The loop: wait on the capture and intercept fds until the next session deadline (at most
``IDLE_WAIT``) → drain at most ``CAPTURED_PER_ITERATION`` captured packets into ``Replay`` →
responses → due ticks → ``Outbox.flush()`` (notices first, then packets; Unregisters wait for a
Register or the once-a-second release, see ``runtime.outbox``). A full batch means more is
waiting, so the next wait is zero. ``stop()`` ends capture; sessions still open get up
to ``drain_seconds`` to finish, then are reset (as the original does at exit). Sessions already
open when capture starts get a faked handshake unless ``-O`` (the session engine does that).
``stats_interval`` > 0 logs one line of sessions, requests, responses and capture losses, and
of the other losses once they happened (``stats_line``).
``-F`` narrows what is replayed to captured packets its pcap filter also matches (tested here,
after capture; the kernel side captures by ``-x``). When every intercept connection is lost the
run ends, unless ``-L``: then it goes on and reconnects every 12 s (see ``Intercepts``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from pyreplay.backends.channel_tcp import ChannelLink, connect_channel
from pyreplay.backends.emit import Emitter, RawIpEmitter
from pyreplay.backends.live_capture import LiveCapture
from pyreplay.config import CopyConfig
from pyreplay.runtime.copy import (
    CAPTURED_PER_ITERATION,
    CopySummary,
    Intercepts,
    MemoryLimit,
    compile_capture_filter,
    replay_summary,
)
from pyreplay.runtime.outbox import Outbox
from pyreplay.runtime.replay import POOL_EXHAUSTED, Replay
from pyreplay.session.summary import event_notes

log = logging.getLogger("pyreplay.copy")
# the longest wait; it also bounds how late a capture record that woke nobody is read
# (a pure ACK, see bpf/include/pyreplay_capture.h)
IDLE_WAIT: Final = 0.05
DRAIN_SECONDS: Final = 2.0


class LiveCopy:
    def __init__(self, config: CopyConfig, open_capture: Callable[[], LiveCapture], *,
                 drain_seconds: float = DRAIN_SECONDS, stats_interval: float = 0.0, clock=time.monotonic,
                 new_emitter: Callable[[], Emitter] = RawIpEmitter,
                 connect: Callable[..., ChannelLink] = connect_channel) -> None:
        """``open_capture()`` returns an open LiveCapture (see backends.live_capture), which
        LiveCopy closes. It is called only once the intercepts answered, so nothing is attached
        to an interface for a copy that cannot run. ``new_emitter`` and ``connect`` (as
        ``connect_channel``) are for tests: packets kept in memory, a stand-in intercept."""
        self.config = config
        self.clock = clock
        self.drain_seconds = drain_seconds
        self.stats_interval = stats_interval
        self._stopping = False
        self.memory = MemoryLimit(config.memory_limit_mb)
        self._losses: dict[str, int] = {}
        keep = compile_capture_filter(config)  # a bad -F fails before anything opens
        opened: list[Emitter | Intercepts] = []
        try:
            emitter = new_emitter()
            opened.append(emitter)
            intercepts = Intercepts(config.intercepts, lonely=config.lonely, clock=clock, connect=connect)
            opened.append(intercepts)
            capture = open_capture()
        except BaseException:
            for thing in opened:
                thing.close()
            raise
        self.emitter: Emitter = emitter
        self.intercepts: Intercepts = intercepts
        self.capture: LiveCapture = capture
        self.outbox = Outbox(emitter, intercepts, hold_unregisters=True)
        self.replay = Replay(config, self.outbox.packet, self.outbox.notice, keep=keep)

    def stop(self) -> None:
        self._stopping = True

    def run(self) -> CopySummary:
        replay = self.replay
        capture = self.capture
        intercepts = self.intercepts
        clock = self.clock
        waitables = capture.selectables()
        next_stats = clock() + self.stats_interval if self.stats_interval > 0 else None
        next_memory_check = clock() + 1.0
        stop_at = None
        try:
            while True:
                now = clock()
                packets = [] if self._stopping else capture.drain(CAPTURED_PER_ITERATION)
                for packet in packets:
                    segment = replay.captured_segment(packet)
                    if segment is not None:
                        replay.client_segment(segment, now)
                deadline = replay.next_deadline()
                if deadline is not None and deadline <= now:
                    replay.tick(now)
                    deadline = replay.next_deadline()
                self.outbox.flush()
                if self._stopping:
                    if stop_at is None:
                        stop_at = now + self.drain_seconds
                        log.info("copy: stopping; %d sessions open", replay.active_sessions)
                    if replay.active_sessions == 0 or now >= stop_at:
                        break
                if next_stats is not None and now >= next_stats:
                    next_stats = now + self.stats_interval
                    log.info("%s", self.stats_line())
                if now >= next_memory_check:
                    next_memory_check = now + 1.0
                    self.outbox.release_unregisters()
                    if self.memory.exceeded():
                        break
                if len(packets) >= CAPTURED_PER_ITERATION:
                    timeout = 0.0
                else:
                    wake = now + IDLE_WAIT
                    if deadline is not None:
                        wake = min(wake, deadline)
                    if stop_at is not None:
                        wake = min(wake, stop_at)
                    timeout = max(0.0, wake - clock())
                try:
                    messages = intercepts.receive(timeout, waitables)
                except InterruptedError:
                    messages = []
                for message in messages:
                    t = clock()
                    for summary in message.items:
                        replay.response(summary, t)
                if not intercepts.alive:
                    log.error("copy: no intercept left; stopping")
                    break
                intercepts.reconnect_due(clock(), replay.registrations)
            replay.shutdown(clock())
            self.outbox.flush()
            self.outbox.release_unregisters()
        finally:
            self.close()
        return self.summary()

    def stats_line(self) -> str:
        """Sessions, requests, responses, captured packets and capture losses so far; then,
        once they happened, the other losses: capture holes resynced past, reconnects, send
        errors, lost intercept connections, sessions no client identity was free for."""
        replay = self.replay
        c = replay.counters()
        losses = self.capture.losses()
        line = (f"copy: sessions {replay.active_sessions} open / {c['sessions_created']} replayed, "
                f"requests {c['requests']}, responses {replay.stats.responses}, "
                f"captured {replay.stats.captured}, capture losses: "
                + ", ".join(f"{stage} {count}" for stage, count in losses.items()))
        notes = event_notes(c)
        send_errors = sum(self.emitter.errors.values())
        if send_errors:
            notes.append(f"send errors {send_errors}")
        if self.intercepts.losses:
            notes.append(f"intercept connections lost {self.intercepts.losses}")
        exhausted = replay.stats.skipped.get(POOL_EXHAUSTED, 0)
        if exhausted:
            notes.append(f"sessions not replayed for an exhausted client pool {exhausted}")
        return line + ("; " + ", ".join(notes) if notes else "")

    def close(self) -> None:
        self._losses = self.capture.losses()
        self.capture.close()
        self.intercepts.close()
        self.emitter.close()

    def summary(self) -> CopySummary:
        extra = []
        problem = self.intercepts.problem()
        if problem:
            extra.append(problem)
        if self.memory.problem:
            extra.append(self.memory.problem)
        result = replay_summary(self.replay, self.emitter, {}, extra)
        losses = self._losses
        result.lines.append(f"capture: {self.capture.description} on {', '.join(self.capture.interfaces)}; "
                            "losses: " + (", ".join(f"{stage} {count}" for stage, count in losses.items()) or "none"))
        return result
