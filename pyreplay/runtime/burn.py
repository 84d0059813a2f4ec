"""burn (TCPBurn): load the capture files once, then replay their sessions as many users
against the target through intercept; live progress; exits by itself when done.

The loop: ``Scheduler.tick(now)`` → execute its commands (Register/Unregister queued for the
intercepts, ``Send`` built into IP packets, split to ``-M``, queued) → flush (channel messages
first, so intercept knows a client before its SYN-ACK, then packets) → wait on the intercept
connections until the scheduler's next deadline (at most ``MAX_WAIT``) → feed the responses.
With ``dry_run_output`` packets go to a pcap file and a simulated target answers in virtual
time (no network, no clock: the run takes as long as computing it).
Progress: a ``\\r``-updated line on a terminal, a plain line every ``plain_every`` seconds
otherwise; the end-of-run report as lines, and as JSON with ``report_file``.
"""

from __future__ import annotations

import heapq
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, TextIO

from pyreplay.backends.emit import Emitter, PcapEmitter, RawIpEmitter
from pyreplay.channel.codec import encode_route
from pyreplay.burn import BurnPlan, BurnReport, IdentityPool, Scheduler, SessionIndex
from pyreplay.burn.report import GOOD_OUTCOMES
from pyreplay.config import TIME_WAIT_SECONDS, BurnConfig
from pyreplay.packet.pcap import PcapError, open_capture
from pyreplay.packet.segment import ResponseSummary
from pyreplay.packet.segmentation import split_to_mtu
from pyreplay.packet.tcpip import build_packet, parse_packet
from pyreplay.runtime.copy import Intercepts
from pyreplay.runtime.errors import BurnError
from pyreplay.runtime.simtarget import SimulatedTarget
from pyreplay.session.commands import Command, Register, Send, Unregister
from pyreplay.session.config import SessionConfig

log = logging.getLogger("pyreplay.burn")
MAX_WAIT: Final = 0.05  # s: the longest wait for responses before the scheduler runs again
SEND_BATCH: Final = 256
DRY_RUN_RTT: Final = 0.001
KEEP_OPEN: Final = 10_000_000.0  # s: burn ends idle connections itself, never the keep-alive timer


@dataclass(frozen=True, slots=True)
class BurnOptions:
    """burn settings beyond tcpburn's flags (BurnConfig)."""

    filter: str | None = None  # pcap filter over the files
    skip_without_syn: bool = False  # sessions without a captured SYN: skip (else fake handshake)
    report_file: str | None = None
    dry_run_output: str | None = None
    plain_every: float = 5.0
    tty_every: float = 0.25


@dataclass
class BurnSummary:
    lines: list[str]
    report: dict
    ok: bool
    problems: list[str] = field(default_factory=list)


def _records(paths: tuple[str, ...], skipped: dict[str, int]) -> Iterator[tuple[float, bytes]]:
    for path in paths:
        try:
            reader = open_capture(path)
        except (OSError, PcapError) as exc:
            raise BurnError(f"cannot read {path}: {exc}") from exc
        with reader:
            for record in reader:
                yield record.timestamp, record.packet
            for reason, count in reader.skipped.items():
                skipped[f"capture file: {reason}"] = skipped.get(f"capture file: {reason}", 0) + count


def load_index(config: BurnConfig, options: BurnOptions) -> SessionIndex:
    """Read every ``-f`` file once; ``BurnError`` when no session is usable."""
    keep = None
    if options.filter:
        from pyreplay.backends.pcapfilter import offline_filter

        keep = offline_filter(options.filter)  # FilterError (a ValueError) for a bad expression
    file_skips: dict[str, int] = {}
    index = SessionIndex.build(_records(config.files, file_skips), config.transfers, comet=config.comet,
                               skip_without_syn=options.skip_without_syn, keep=keep)
    index.skipped.update(file_skips)
    if not len(index):
        why = ", ".join(f"{k} {v}" for k, v in sorted(index.skipped.items())) or "the files hold no packets"
        raise BurnError(f"no usable session in {','.join(config.files)} ({index.packets} packets read; {why}): "
                        "check -x matches the captured destination address:port")
    return index


def session_config_for(config: BurnConfig) -> SessionConfig:
    return SessionConfig(mtu=config.mtu, session_timeout=config.session_timeout, keepalive_timeout=KEEP_OPEN)


class Burn:
    def __init__(self, config: BurnConfig, options: BurnOptions = BurnOptions(), *, clock=time.monotonic,
                 progress: TextIO | None = None, quarantine: float = TIME_WAIT_SECONDS) -> None:
        self.config = config
        self.options = options
        self.clock = clock
        self.progress_out = progress
        self._stopping = False
        self.index = load_index(config, options)
        self.report = BurnReport(users=config.users)
        self.identities = IdentityPool(config.client_pool, config.layout, config.port_seed, quarantine)
        self.plan = BurnPlan(users=config.users, rate=config.start_rate, acceleration=config.acceleration,
                             comet=config.comet, loops=config.loops, duration=config.duration,
                             topology_window=config.topology_window)
        self._outbox: list[bytes] = []
        self._notices: list[bytes] = []  # Register/Unregister frames for intercept
        self._dry_output = None
        self.intercepts: Intercepts | None = None
        try:
            if options.dry_run_output:
                self._dry_output = open(options.dry_run_output, "wb")  # noqa: SIM115 - closed in close()
                self.emitter: Emitter = PcapEmitter(self._dry_output)
            else:
                self.emitter = RawIpEmitter()
                self.intercepts = Intercepts(config.intercepts)
        except BaseException:
            self.close()
            raise

    def stop(self) -> None:
        self._stopping = True

    # ---- executing commands ----------------------------------------------------------------
    def _execute(self, commands: list[Command], now: float) -> None:
        mtu = self.config.mtu
        for command in commands:
            if type(command) is Send:
                seg = command.segment
                if len(seg.payload) + 60 <= mtu:
                    self._outbox.append(build_packet(seg))
                else:
                    self._outbox.extend(build_packet(piece) for piece in split_to_mtu(seg, mtu))
            elif type(command) is Register:
                self._notices.append(encode_route(True, command.client, command.target))
            elif type(command) is Unregister:
                self._notices.append(encode_route(False, command.client, command.target))

    def _flush(self, now: float) -> list[bytes]:
        if self._notices:
            if self.intercepts is not None:
                self.intercepts.announce_frames(b"".join(self._notices))
            self._notices.clear()
        sent = self._outbox
        if sent:
            send = self.emitter.send
            for packet in sent:
                send(packet, now)
            self.report.packets_sent += len(sent)
            self._outbox = []
        return sent

    # ---- the loops -------------------------------------------------------------------------
    def run(self) -> BurnSummary:
        try:
            if self.intercepts is None:
                elapsed = self._run_simulated()
            else:
                elapsed = self._run_live()
        finally:
            self.close()
        return self.summary(elapsed)

    def _run_live(self) -> float:
        start = self.clock()
        sched = Scheduler(self.index, self.identities, session_config_for(self.config), self.plan,
                          self.report, start)
        intercepts = self.intercepts
        assert intercepts is not None
        next_progress = start
        while not self._stopping:
            now = self.clock()
            self._execute(sched.tick(now), now)
            self._flush(now)
            if sched.done:
                break
            if now >= next_progress:
                next_progress = now + self._show_progress(now - start)
            deadline = sched.next_deadline()
            timeout = MAX_WAIT if deadline is None else min(MAX_WAIT, max(0.0, deadline - self.clock()))
            for message in intercepts.receive(timeout):
                t = self.clock()
                for summary in message.items:
                    self._execute(sched.response(summary, t), t)
                    if len(self._outbox) >= SEND_BATCH:
                        self._flush(t)
            if not intercepts.connections:
                log.error("burn: no intercept left; stopping")
                self.report.error("intercept connection lost")
                break
        end = self.clock()
        self._execute(sched.shutdown(end), end)
        self._flush(end)
        self._show_progress(end - start, final=True)
        return end - start

    def _run_simulated(self, rtt: float = DRY_RUN_RTT, max_steps: int = 50_000_000) -> float:
        """Dry run in virtual time against ``SimulatedTarget``; returns virtual seconds."""
        target = SimulatedTarget()
        start = now = 0.0
        sched = Scheduler(self.index, self.identities, session_config_for(self.config), self.plan,
                          self.report, start)
        due: list[tuple[float, int, ResponseSummary]] = []
        order = 0
        for _ in range(max_steps):
            if self._stopping or sched.done:
                break
            while due and due[0][0] <= now:
                _, _, summary = heapq.heappop(due)
                self._execute(sched.response(summary, now), now)
            self._execute(sched.tick(now), now)
            for packet in self._flush(now):
                for summary in target.receive(parse_packet(packet)):
                    order += 1
                    heapq.heappush(due, (now + rtt, order, summary))
            if sched.done:
                break
            candidates = [x for x in (sched.next_deadline(), due[0][0] if due else None) if x is not None]
            if not candidates:
                break
            now = max(now, min(candidates))
        self._execute(sched.shutdown(now), now)
        self._flush(now)
        self._show_progress(now - start, final=True)
        return now - start

    # ---- output ----------------------------------------------------------------------------
    def _show_progress(self, elapsed: float, final: bool = False) -> float:
        if self.progress_out is None:
            return 3600.0
        tty = write_progress(self.progress_out, self.report.progress(elapsed), final)
        return self.options.tty_every if tty else self.options.plain_every

    def close(self) -> None:
        if self.intercepts is not None:
            self.intercepts.close()
        if getattr(self, "emitter", None) is not None:
            self.emitter.close()
        if self._dry_output is not None:
            self._dry_output.close()

    def summary(self, elapsed: float) -> BurnSummary:
        report = self.report
        report.error("send errors", sum(self.emitter.errors.values()))
        doc = report.as_dict(elapsed)
        idx = self.index
        doc["capture"] = {"sessions": len(idx), "without_syn": idx.without_syn, "packets": idx.packets,
                          "payload_bytes": idx.payload_bytes, "skipped": dict(sorted(idx.skipped.items()))}
        if self.emitter.errors:
            doc["send_errors"] = dict(self.emitter.errors)
        lines = [f"capture: {len(idx)} sessions ({idx.without_syn} without SYN), {idx.payload_bytes} payload "
                 f"bytes from {idx.packets} packets"] + report.lines(elapsed)
        problems = []
        if report.started and not report.responses and report.requests:
            problems.append("no request was answered: check intercept's -F filter matches the target's "
                            "responses and the target routes the -c pool via the intercept host")
        if self.options.report_file:
            with open(self.options.report_file, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2)
                fh.write("\n")
        failed = {k: v for k, v in report.outcomes.items() if k not in GOOD_OUTCOMES
                  and not (k == "shutdown" and (self.config.duration is not None or self._stopping))}
        ok = not problems and not failed and not self.emitter.errors
        return BurnSummary(lines, doc, ok, problems)


def write_progress(out: TextIO, line: str, final: bool = False) -> bool:
    """One progress line: rewritten in place (``\\r``) on a terminal, a plain line otherwise.
    Returns whether ``out`` is a terminal."""
    tty = out.isatty()
    if tty:
        out.write("\r\x1b[K" + line + ("\n" if final else ""))
    else:
        out.write(line + "\n")
    out.flush()
    return tty
