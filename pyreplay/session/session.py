"""One replayed client connection: captured client packets in, segments for the target out.

Contract: ``Session(config, client, target)`` is sans-IO. ``handle(event, now=...)`` returns the
commands to execute in order; ``next_deadline()`` says when to deliver the next ``Tick``. The
client's sequence space is kept end to end (captured ISN, or first payload seq - 1 for a faked
SYN), so the target's ACK numbers are client-space numbers; only our ACK numbers are rewritten
into the target's space. Odd captured or target traffic is counted in ``counters`` and dropped;
only misuse (unknown event types, impossible transitions) raises.

Pacing: a captured payload whose client ACK differs from the previous payload's starts a new
request, which waits until the previous response is complete; continuation and pipelined
segments (same ACK) go at once. A response is complete when the target has sent as many bytes
as the captured client acknowledged of the online response (the next request's or FIN's ACK
minus the current request's; see ``_completion_wait``), else after the quiet period
``config.py`` documents. Only a completion something waits for (a captured request, FIN, RST,
capture hole) has a timer; any other is decided at the session's next event, with the same
outcome (``_completion_deadline``).

Target closes: when the target closes (FIN) or resets the connection with client data left
to send, or with a request it did not answer, the session goes on on a new connection with a
faked handshake, from the first byte of the first request the target did not answer
(``_unanswered_from``): the stream retains a request's bytes from when it is sent until it is
answered (``_settle_requests``), so that request and the ones after it reach the target whole.

Capture holes: a hole in the captured client stream that has not filled for
``capture_gap_timeout`` is lost (the capture dropped the packet). Once everything before it went
out and its request was answered (or the target stayed silent on it for that long too), the
session resets the target connection and goes on, on a new connection with a faked handshake,
from the first captured request boundary after the hole (``CapturedStream.resume``); the bytes
in between are skipped. No boundary before the captured FIN/RST: outcome ``capture_gap``.
"""

from __future__ import annotations

from typing import Final

from pyreplay.packet.segment import (
    ACK, FIN, NO_OPTIONS, PSH, RST, SYN, ResponseSummary, Segment, TcpOptions,
)
from pyreplay.packet.seqnum import seq_add, seq_diff, seq_ge, seq_gt, seq_le, seq_lt

from .commands import Command, Endpoint, Finished, Outcome, Register, Send, Unregister
from .config import SessionConfig
from .events import ClientSegment, Shutdown, Superseded, TargetResponse, Tick
from .retransmit import InFlight, RtoEstimator, SendQueue
from .state import CONNECTED, Phase, Trigger, advance
from .stream import CapturedStream, Chunk
from .tally import tally
from .tcpopts import mss_only, timestamp_only, with_timestamp

_DEFAULT_TARGET_MSS: Final = 536
_FAKE_WINDOW: Final = 65535
_SENDING_PHASES: Final = (Phase.ESTABLISHED, Phase.AWAITING_GREETING, Phase.AWAITING_RESPONSE)
_NEW: Final = Phase.NEW
_CLOSED: Final = Phase.CLOSED
_SYN_SENT: Final = Phase.SYN_SENT
_ESTABLISHED: Final = Phase.ESTABLISHED
_AWAITING_RESPONSE: Final = Phase.AWAITING_RESPONSE
_CLOSE_WAIT: Final = Phase.CLOSE_WAIT
_FIN_WAIT: Final = Phase.FIN_WAIT
_WAITING_PHASES: Final = frozenset({Phase.AWAITING_RESPONSE, Phase.AWAITING_GREETING, Phase.LAST_ACK})
_NOT_PURE_ACK: Final = SYN | FIN | RST
_INF: Final = float("inf")
# When several deadlines are due at one tick, fire them in this order (ends first).
_TIMER_ORDER: Final = (
    "handshake",
    "capture_gap",
    "capture_resync",
    "session_timeout",
    "keepalive",
    "linger",
    "fin_hold",
    "retransmit",
    "persist",
    "delayed_ack",
    "response_quiet",
)
_TIMER_RANK: Final = {name: rank for rank, name in enumerate(_TIMER_ORDER)}
# The timers that move the replay on: each sends (an ACK, a retransmission, a probe, the held
# FIN, a resync's RST and SYN) or lets the next request go. The others (handshake,
# session_timeout, keepalive, linger) only give a connection up.
_WORK_TIMERS: Final = frozenset({
    "capture_gap", "capture_resync", "fin_hold", "retransmit", "persist", "delayed_ack", "response_quiet",
})


class Session:
    def __init__(self, config: SessionConfig, client: Endpoint, target: Endpoint) -> None:
        self.config = config
        self.client = client
        self.target = target
        self.phase = Phase.NEW
        self.outcome: Outcome | None = None
        self.counters: dict[str, int] = {}  # read with .get(name, 0): see tally
        self._out: list[Command] = []
        self._registered = False
        # captured client side
        self._stream: CapturedStream | None = None
        self.captured_isn: int | None = None
        self.captured_start: int | None = None  # captured ISN, or the faked SYN's seq
        self._handshake_ack: Segment | None = None
        self._handshake_client_ack: int | None = None
        self._client_window = _FAKE_WINDOW
        self._client_fin_template: Segment | None = None
        self._client_reset = False
        self._ip_id = 0
        # the target connection
        self._fake_handshake = False
        self._syn: Segment | None = None
        self._syn_sent_at = 0.0
        self._syn_retransmitted = False
        self._handshake_started_at = 0.0
        self._snd_una = 0
        self._snd_nxt = 0
        self._rcv_nxt = 0
        self._ack_sent: int | None = None
        self._wscale = 0
        self._peer_window = 0
        self._target_mss = _DEFAULT_TARGET_MSS
        self._ts_on = False
        self._ts_recent = 0
        self._ts_last_sent: int | None = None
        self._target_fin_seq: int | None = None
        self._fin_sent = False
        self._sendq = SendQueue()
        self._rto = RtoEstimator(config.rto_initial, config.rto_min, config.rto_max)
        self._backoff = 0
        self._retries = 0
        self._recover: int | None = None
        self._dupacks = 0
        self._reconnects = 0
        # Resending after a target close: the first byte of each request sent on this connection
        # and not settled yet (answered; with no_wait: acked whole). The stream retains their
        # bytes from the first on. ``_rewound_to``: where the last rewind restarted.
        # lists, not deques: a deque costs 760 bytes even empty, and these hold a request or two
        self._unsettled_requests: list[int] = []
        self._rewound_to: int | None = None
        # pacing
        self._requests_on_connection = 0
        self._request_ack: int | None = None
        self._target_data_seen = False
        self._response_bytes = 0
        self._last_response_at = 0.0
        # The last request went out later than ack_delay after the response before it, so a
        # delayed ACK would have gone alone, at a wake-up of its own: ACK responses at once.
        self._ack_promptly = False
        self._window_blocked = False
        # timers (absolute times) and activity marks
        self._rto_at: float | None = None
        self._delack_at: float | None = None
        self._persist_at: float | None = None
        self._persist_backoff = 0
        self._gap_since: float | None = None
        self._hole_lost = False  # the hole at stream.next_seq outlived capture_gap_timeout
        self._phase_since = 0.0
        self._last_progress_at = 0.0
        self._last_activity_at = 0.0

    # ------------------------------------------------------------------ public API

    def handle(
        self, event: ClientSegment | TargetResponse | Tick | Shutdown | Superseded, *, now: float
    ) -> list[Command]:
        out: list[Command] = []
        self._out = out
        if self.phase is _CLOSED:
            self._after_close(event)
            return out
        client_data = False
        if self.phase is _AWAITING_RESPONSE:
            # the completion no timer was armed for (``_completion_awaited``), as of now
            self._complete_response_if_done(now)
        if isinstance(event, TargetResponse):
            self._on_target(event.summary, now)
        elif isinstance(event, ClientSegment):
            self._on_client(event.segment, now)
            client_data = bool(event.segment.payload)
        elif isinstance(event, Tick):
            self._on_tick(now)
        elif isinstance(event, Shutdown):
            self._abort(Outcome.SHUTDOWN, "tool exiting")
        elif isinstance(event, Superseded):
            self._abort(Outcome.SUPERSEDED, "a new connection reused the client address")
        else:
            raise TypeError(f"not a session event: {event!r}")
        if self.phase is not _CLOSED:
            self._pump(now)
            if client_data:  # only client data adds bytes
                self._enforce_memory_bound()
        return out

    def absorb_pure_ack(self, seg: Segment, now: float) -> bool:
        """Take a captured pure ACK cheaply, without commands; False: use ``handle`` instead.

        A pure ACK only counts, refreshes the activity time and the client window for the ACKs
        we generate; it cannot make anything sendable or move a deadline earlier (the activity
        time only moves the keep-alive deadline later, and early ticks are harmless), so the
        caller need not reschedule. The one that may be the handshake ACK (a template, and the
        ACK number greeting detection compares) and anything in phase NEW take the full path.
        """
        if seg.payload or seg.flags & _NOT_PURE_ACK or not seg.flags & ACK:
            return False
        phase = self.phase
        if phase is _CLOSED:
            tally(self.counters, "client_after_close")
            return True
        if phase is _NEW or (self._handshake_client_ack is None and self.captured_isn is not None):
            return False
        self._last_activity_at = now
        if not self._fake_handshake:
            self._client_window = seg.window
        tally(self.counters, "client_pure_ack")
        return True

    def next_deadline(self) -> float | None:
        """The earliest of ``_deadlines()``, computed without building it (runs per event)."""
        phase = self.phase
        if phase is _SYN_SENT:
            at = self._handshake_started_at + self.config.handshake_timeout
            rto = self._rto_at
            return at if rto is None or at < rto else rto
        if phase not in CONNECTED:
            return None
        c = self.config
        sendq = self._sendq
        best = _INF
        if self._rto_at is not None and sendq:
            best = self._rto_at
        if self._delack_at is not None and self._delack_at < best:
            best = self._delack_at
        if self._persist_at is not None and self._persist_at < best:
            best = self._persist_at
        if phase is _AWAITING_RESPONSE and self._response_bytes > 0 and self._snd_una == self._snd_nxt:
            at = self._completion_deadline()
            if at < best:
                best = at
        stream = self._stream
        assert stream is not None  # set from the first client packet on
        if self._gap_since is not None and not self._hole_lost and stream.has_gap:
            at = self._gap_since + c.capture_gap_timeout
            if at < best:
                best = at
        if self._hole_lost and self._resync_waits_for_silence():
            at = self._last_progress_at + c.capture_gap_timeout
            if at < best:
                best = at
        if sendq or phase in _WAITING_PHASES or stream._pending:
            at = self._last_progress_at + c.session_timeout
            if at < best:
                best = at
        elif phase is _ESTABLISHED:
            at = self._last_activity_at + c.keepalive_timeout
            if at < best:
                best = at
        if phase is _AWAITING_RESPONSE and self._response_bytes == 0 and self._fin_ready():
            at = self._last_progress_at + c.fin_hold_timeout
            if at < best:
                best = at
        if phase is _CLOSE_WAIT or (phase is _FIN_WAIT and not sendq):
            at = self._phase_since + c.linger
            if at < best:
                best = at
        return None if best == _INF else best

    def next_work_deadline(self) -> float | None:
        """The earliest deadline of a timer that moves the replay on (``_WORK_TIMERS``), None
        when only give-up timers (handshake, session and keep-alive timeouts, linger) are armed.

        For deciding whether a run may end now; it builds ``_deadlines()``, so it is not meant
        for the per-event path."""
        return min((at for name, at in self._deadlines().items() if name in _WORK_TIMERS), default=None)

    @property
    def finished(self) -> bool:
        return self.phase is _CLOSED

    @property
    def captured_end(self) -> int | None:
        """Client seq just past the captured contiguous stream (for port-reuse decisions)."""
        return None if self._stream is None else self._stream.next_seq

    # ------------------------------------------------------------------ client side

    def _on_client(self, seg: Segment, now: float) -> None:
        self._last_activity_at = now
        if seg.flags & SYN:
            if self.phase is Phase.NEW:
                self._start_from_syn(seg, now)
            elif seg.seq == self.captured_isn:
                tally(self.counters, "client_syn_retransmission")
            else:
                tally(self.counters, "client_syn_other_isn")
            return
        if self.phase is Phase.NEW:
            if not seg.payload or seg.flags & RST:
                tally(self.counters, "client_without_session")
                return
            if self.config.only_with_syn:
                self._finish(Outcome.SKIPPED, "no SYN captured and only_with_syn is set")
                return
            self._start_without_syn(seg, now)
        stream = self._stream
        assert stream is not None
        if seg.flags & ACK and not self._fake_handshake:
            self._client_window = seg.window
        if seg.flags & RST:
            tally(self.counters, "client_resets")
            self._client_reset = True
            return
        if seg.payload:
            grew = stream.add(seg, self.counters)
            if grew:
                self._hole_lost = False  # it filled after all
                self._gap_since = now if stream.has_gap else None
            elif stream.has_gap and self._gap_since is None:
                self._gap_since = now
        elif not seg.flags & FIN:
            self._note_pure_ack(seg)
        if seg.flags & FIN:
            stream.note_fin(seq_add(seg.seq, len(seg.payload)), self.counters)
            if stream.fin_seq is not None and self._client_fin_template is None:
                self._client_fin_template = seg
            if self._gap_since is None and stream.has_gap:  # the FIN says bytes are missing
                self._gap_since = now

    def _note_pure_ack(self, seg: Segment) -> None:
        stream = self._stream
        assert stream is not None
        is_handshake_ack = (
            self.captured_isn is not None
            and self._handshake_client_ack is None
            and seg.flags & ACK
            and stream.next_seq == seq_add(self.captured_isn, 1)
        )
        if is_handshake_ack:
            self._handshake_ack = seg
            self._handshake_client_ack = seg.ack
        else:
            tally(self.counters, "client_pure_ack")

    def _start_from_syn(self, seg: Segment, now: float) -> None:
        self.captured_isn = self.captured_start = seg.seq
        self._client_window = seg.window
        self._ip_id = seg.ip_id
        self._stream = CapturedStream(seq_add(seg.seq, 1), self.config.max_buffered_bytes)
        syn = self._addressed(
            seq=seg.seq,
            ack=0,
            flags=seg.flags & ~(ACK | FIN | RST | PSH),
            window=seg.window,
            options=seg.options,
            ip_id=seg.ip_id,
            ttl=seg.ttl,
        )
        self._connect(syn, fake=False, now=now)

    def _start_without_syn(self, seg: Segment, now: float) -> None:
        tally(self.counters, "fake_syn")
        self.captured_start = seq_add(seg.seq, -1)
        self._stream = CapturedStream(seg.seq, self.config.max_buffered_bytes)
        self._connect(self._fake_syn(seq_add(seg.seq, -1), seg.ip_id), fake=True, now=now)

    # ------------------------------------------------------------------ target side

    def _on_target(self, s: ResponseSummary, now: float) -> None:
        if self.phase is Phase.NEW:
            tally(self.counters, "target_before_syn")
            return
        self._last_progress_at = self._last_activity_at = now
        if self._ts_on and s.options.timestamp is not None:
            self._ts_recent = s.options.timestamp[0]
        if s.flags & RST:
            self._on_target_reset(s, now)
            return
        if self.phase is Phase.SYN_SENT:
            self._on_handshake_reply(s, now)
            return
        if s.flags & SYN:
            tally(self.counters, "target_synack_retransmission")
            self._send_ack()
            return
        if not s.flags & ACK:
            tally(self.counters, "target_without_ack")
            return
        if seq_gt(s.ack, self._snd_nxt):
            tally(self.counters, "target_ack_of_unsent")
            return
        self._on_ack(s, now)
        if s.payload_len:
            self._on_target_data(s, now)
        if s.flags & FIN:
            self._on_target_fin(s, now)

    def _on_handshake_reply(self, s: ResponseSummary, now: float) -> None:
        assert self._syn is not None
        expected_ack = seq_add(self._syn.seq, 1)
        if s.flags & SYN and s.flags & ACK and s.ack == expected_ack:
            self._accept_synack(s, now)
            return
        # An ACK for some older connection on this 4-tuple: reset it, then offer our SYN again.
        tally(self.counters, "target_stale_connection")
        if s.flags & ACK:
            self._emit(self._addressed(seq=s.ack, ack=0, flags=RST, window=0))
            tally(self.counters, "resets_sent")
        self._send_syn(now, retransmission=True)

    def _accept_synack(self, s: ResponseSummary, now: float) -> None:
        assert self._syn is not None
        offered = self._syn.options
        self._rcv_nxt = seq_add(s.seq, 1)
        self._ack_sent = None
        target_wscale, target_timestamp = s.options.wscale, s.options.timestamp
        self._wscale = min(target_wscale, 14) if offered.wscale is not None and target_wscale is not None else 0
        self._peer_window = s.window  # never scaled in a SYN-ACK
        self._target_mss = s.options.mss or _DEFAULT_TARGET_MSS
        self._ts_on = offered.timestamp is not None and target_timestamp is not None
        if offered.timestamp is not None and target_timestamp is not None:
            self._ts_recent = target_timestamp[0]
            self._ts_last_sent = offered.timestamp[0]
        if not self._syn_retransmitted:
            self._rto.sample(now - self._syn_sent_at)
        self._rto_at = None
        self._backoff = self._retries = 0
        tally(self.counters, "connections")
        self._to(Trigger.SYN_ACK, now)
        template = None if self._fake_handshake else self._handshake_ack
        if template is None:
            tally(self.counters, "handshake_ack_generated")
        self._emit(self._segment(seq=self._snd_nxt, flags=ACK, template=template))

    def _on_ack(self, s: ResponseSummary, now: float) -> None:
        window = s.window << self._wscale
        if seq_gt(s.ack, self._snd_una):
            sent_at = self._sendq.acknowledge(s.ack)
            if sent_at is not None:
                self._rto.sample(now - sent_at)
            self._snd_una = s.ack
            if self._unsettled_requests and self.config.no_wait:
                self._settle_acked_requests()
            self._backoff = self._retries = self._dupacks = 0
            self._rto_at = now + self._rto.timeout() if self._sendq else None
            if self._recover is not None and seq_lt(s.ack, self._recover):
                self._retransmit_first()  # partial ACK during recovery: next hole, now
            else:
                self._recover = None
        elif s.ack == self._snd_una:
            is_duplicate = (
                self._sendq and not s.payload_len and not s.flags & FIN
                and window == self._peer_window
            )
            if is_duplicate:
                self._dupacks += 1
                if self._dupacks == self.config.dupack_threshold and self._recover is None:
                    tally(self.counters, "fast_retransmits")
                    self._recover = self._snd_nxt
                    self._retransmit_first()
        else:
            tally(self.counters, "target_old_ack")
            return
        # Any in-order ACK may update the window, also when ack == snd.nxt (the original
        # ignored those and could stall forever behind a zero window).
        self._peer_window = window
        if window > 0:
            self._persist_at = None
            self._persist_backoff = 0

    def _on_target_data(self, s: ResponseSummary, now: float) -> None:
        end = seq_add(s.seq, s.payload_len)
        if not seq_gt(end, self._rcv_nxt):
            tally(self.counters, "target_retransmission")
            self._send_ack()
            return
        if seq_gt(s.seq, self._rcv_nxt):
            # The target sent the bytes in between (intercept lost their summary); ACKing
            # past them is truthful for the target and avoids a stall.
            tally(self.counters, "target_summary_gap")
        new_bytes = seq_diff(end, self._rcv_nxt)
        self._rcv_nxt = end
        self._target_data_seen = True
        self._response_bytes += new_bytes
        self._last_response_at = now
        tally(self.counters, "response_bytes", new_bytes)
        if self.phase is Phase.AWAITING_GREETING:
            self._to(Trigger.GREETING, now)
        unacked = seq_diff(self._rcv_nxt, self._ack_sent) if self._ack_sent is not None else 0
        if unacked >= 2 * self._target_mss:
            self._send_ack()
        elif self._delack_at is None:
            # at once: still after every summary handed over with this one (the next tick)
            self._delack_at = now if self._ack_promptly else now + self.config.ack_delay

    def _on_target_fin(self, s: ResponseSummary, now: float) -> None:
        fin_seq = seq_add(s.seq, s.payload_len)
        if self._target_fin_seq is not None:
            tally(self.counters, "target_fin_retransmission")
            self._send_ack()
            return
        self._target_fin_seq = fin_seq
        if seq_ge(seq_add(fin_seq, 1), self._rcv_nxt):
            self._rcv_nxt = seq_add(fin_seq, 1)
        self._send_ack()
        if self.phase is Phase.AWAITING_RESPONSE:
            tally(self.counters, "responses")
        if self.phase in _SENDING_PHASES or self.phase is Phase.FIN_WAIT:
            self._to(Trigger.TARGET_FIN, now)

    def _on_target_reset(self, s: ResponseSummary, now: float) -> None:
        if self.phase is Phase.SYN_SENT:
            assert self._syn is not None
            if not (s.flags & ACK and s.ack == seq_add(self._syn.seq, 1)):
                # Not an answer to our SYN (RFC 9293 3.10.7.3): the target resetting a segment
                # of the connection just closed, e.g. a request that crossed its FIN.
                tally(self.counters, "target_stale_reset")
                return
            tally(self.counters, "target_resets")
            self._finish(Outcome.REFUSED, "target answered the SYN with RST")
            return
        tally(self.counters, "target_resets")
        stream = self._stream
        assert stream is not None
        if self.phase in (Phase.FIN_WAIT, Phase.LAST_ACK) and self._snd_una == self._snd_nxt:
            self._finish(Outcome.COMPLETE, "target reset after the client's FIN was acked")
        elif self._hole_lost and not stream.has_pending:
            if not self._resync(now, send_rst=False):  # no boundary yet: wait on a new connection
                self._reconnect("target reset while skipping a capture hole", send_rst=False, now=now)
        elif stream.has_pending or stream.has_gap:
            self._reconnect("target reset with client data left", send_rst=False, now=now)
        elif self._resend_from() is not None:
            self._reconnect("target reset before answering a request", send_rst=False, now=now)
        else:
            self._finish(Outcome.TARGET_RESET, "target reset the connection")

    # ------------------------------------------------------------------ sending

    def _pump(self, now: float) -> None:
        if self.phase not in CONNECTED:
            return
        stream = self._stream
        assert stream is not None
        if self.phase is Phase.CLOSE_WAIT and (stream.has_pending or self._resend_from() is not None):
            self._reconnect("target closed with client data left", send_rst=True, now=now)
            return
        self._complete_response_if_done(now)
        self._send_data(now)
        if self._hole_lost and self._at_lost_hole(now):
            self._resync(now, send_rst=True)
            if self.phase not in CONNECTED:
                return
        if self._client_reset and self.phase is not Phase.AWAITING_RESPONSE:
            if not (stream.has_pending or stream.has_gap or stream.skipping):
                self._emit(self._reset_segment())
                self._finish(Outcome.CLIENT_RESET, "client reset the connection")
                return
        self._send_client_fin_if_ready(now)
        if self.phase is Phase.LAST_ACK and self._snd_una == self._snd_nxt:
            self._finish(Outcome.COMPLETE, "both sides closed")
            return
        self._arm_persist(now)

    def _send_data(self, now: float) -> None:
        stream = self._stream
        assert stream is not None
        self._window_blocked = False
        while self.phase in _SENDING_PHASES and (chunk := stream.peek()) is not None:
            new_request = self._requests_on_connection == 0 or chunk.client_ack != self._request_ack
            if new_request:
                if self.phase is Phase.AWAITING_GREETING:
                    return
                if self._requests_on_connection == 0 and self._needs_greeting(chunk):
                    self._to(Trigger.WAIT_GREETING, now)
                    return
                if self.phase is Phase.AWAITING_RESPONSE and not self.config.no_wait:
                    return
            usable = seq_diff(seq_add(self._snd_una, self._peer_window), self._snd_nxt)
            if usable <= 0:
                self._window_blocked = True
                tally(self.counters, "window_stalls")
                return
            if new_request:
                self._unsettled_requests.append(chunk.seq)
            piece = stream.take(usable, bool(self._unsettled_requests))
            if new_request:
                if self._target_data_seen:
                    self._ack_promptly = now - self._last_response_at > self.config.ack_delay
                self._to(Trigger.REQUEST, now)
                self._requests_on_connection += 1
                tally(self.counters, "requests")
                self._response_bytes = 0
            self._request_ack = piece.client_ack
            self._send_piece(piece, now)

    def _needs_greeting(self, chunk: Chunk) -> bool:
        return (
            not self._fake_handshake
            and not self._target_data_seen
            and self._handshake_client_ack is not None
            and chunk.client_ack is not None
            and chunk.client_ack != self._handshake_client_ack
        )

    def _send_piece(self, piece: Chunk, now: float) -> None:
        flags = ACK | (piece.template.flags & PSH)
        self._emit(
            self._segment(seq=piece.seq, flags=flags, payload=piece.payload, template=piece.template)
        )
        self._sendq.push(InFlight(piece.seq, piece.payload, False, piece.template, now))
        self._snd_nxt = piece.end
        self._last_progress_at = now
        tally(self.counters, "bytes_sent", len(piece.payload))
        if self._rto_at is None:
            self._rto_at = now + self._rto.timeout(self._backoff)

    def _fin_ready(self) -> bool:
        stream = self._stream
        assert stream is not None
        return (
            not self._fin_sent
            and stream.fin_reached
            and self._snd_nxt == stream.fin_seq
            and self._snd_una == self._snd_nxt
        )

    def _fin_held_for_silent_response(self) -> bool:
        return (
            self.phase is Phase.AWAITING_RESPONSE and self._response_bytes == 0 and self._fin_ready()
        )

    def _send_client_fin_if_ready(self, now: float, *, release_hold: bool = False) -> None:
        allowed: tuple[Phase, ...] = (Phase.ESTABLISHED, Phase.CLOSE_WAIT)
        if release_hold:
            allowed += (Phase.AWAITING_RESPONSE,)
        if self.phase not in allowed or not self._fin_ready():
            return
        self._emit(
            self._segment(seq=self._snd_nxt, flags=FIN | ACK, template=self._client_fin_template)
        )
        self._sendq.push(InFlight(self._snd_nxt, b"", True, self._client_fin_template, now))
        self._snd_nxt = seq_add(self._snd_nxt, 1)
        self._fin_sent = True
        self._rto_at = now + self._rto.timeout(self._backoff)
        self._to(Trigger.CLIENT_FIN, now)

    def _arm_persist(self, now: float) -> None:
        if self._window_blocked and not self._sendq:
            if self._persist_at is None:
                self._persist_at = now + self._rto.timeout(self._persist_backoff)
        else:
            self._persist_at = None
            self._persist_backoff = 0

    def _retransmit_first(self) -> None:
        entry = self._sendq.first()
        if entry is None:
            return
        flags = ACK | (FIN if entry.fin else 0)
        if entry.payload and entry.template is not None:
            flags |= entry.template.flags & PSH
        self._emit(
            self._segment(seq=entry.seq, flags=flags, payload=entry.payload, template=entry.template)
        )
        entry.retransmitted = True
        tally(self.counters, "retransmits")

    def _send_ack(self) -> None:
        self._emit(self._segment(seq=self._snd_nxt, flags=ACK))

    def _reset_segment(self) -> Segment:
        tally(self.counters, "resets_sent")
        if self.phase is Phase.SYN_SENT:
            return self._addressed(seq=self._snd_nxt, ack=0, flags=RST, window=0)
        return self._segment(seq=self._snd_nxt, flags=RST | ACK)

    # ------------------------------------------------------------------ connection set-up

    def _connect(self, syn: Segment, *, fake: bool, now: float) -> None:
        self._fake_handshake = fake
        self._syn = syn
        self._snd_una = self._snd_nxt = seq_add(syn.seq, 1)
        self._rcv_nxt = 0
        self._ack_sent = None
        self._wscale = 0
        self._peer_window = 0
        self._ts_on = False
        self._ts_last_sent = None
        self._target_fin_seq = None
        self._requests_on_connection = 0
        self._request_ack = None
        self._target_data_seen = False
        self._response_bytes = 0
        self._recover = None
        self._dupacks = self._backoff = self._retries = 0
        self._delack_at = self._persist_at = None
        self._unsettled_requests.clear()
        self._handshake_started_at = self._last_progress_at = now
        self._to(Trigger.SEND_SYN if self.phase is Phase.NEW else Trigger.RECONNECT, now)
        self._out.append(Register(self.client, self.target))
        self._registered = True
        self._send_syn(now, retransmission=False)

    def _send_syn(self, now: float, *, retransmission: bool) -> None:
        assert self._syn is not None
        if retransmission:
            self._syn_retransmitted = True
            self._backoff += 1
            tally(self.counters, "syn_retransmits")
        else:
            self._syn_retransmitted = False
            tally(self.counters, "syns_sent")
        self._syn_sent_at = now
        self._emit(self._syn)
        self._rto_at = now + self._rto.timeout(self._backoff)

    def _reconnect(self, reason: str, *, send_rst: bool, now: float, resync: bool = False) -> None:
        """Continue on a new connection (faked SYN).

        It starts at the first byte of the first request the target did not answer
        (``_unanswered_from``): that request and every one sent after it go again, whole, as
        captured (counted in ``requests_resent_after_reconnect`` and bytes). With every request
        answered, or a resend refused (see ``_unanswered_from``), it starts at the stream's
        next unsent byte. ``resync``: past a lost capture hole, from the stream's new head,
        nothing resent; not counted against ``max_reconnects`` (that bounds a target that keeps
        closing; holes are bounded by the capture).
        """
        if not resync:
            if self._reconnects >= self.config.max_reconnects:
                self._abort(Outcome.RECONNECT_LIMIT, f"{reason}; reconnect limit reached")
                return
            self._reconnects += 1
            tally(self.counters, "reconnects")
        resend_from = None if resync else self._unanswered_from()
        if resend_from is not None and resend_from == self._rewound_to:
            tally(self.counters, "requests_not_resent_twice", len(self._unsettled_requests))
            resend_from = None
        if send_rst:
            self._emit(self._reset_segment())
        tally(self.counters, "bytes_unacked_at_reconnect", self._sendq.clear())
        stream = self._stream
        assert stream is not None
        if resend_from is not None:
            tally(self.counters, "requests_resent_after_reconnect", len(self._unsettled_requests))
            tally(self.counters, "bytes_resent_after_reconnect", stream.rewind())
            self._rewound_to = resend_from
        else:
            stream.release_all()
        head = stream.peek()
        ip_id = head.template.ip_id if head is not None else (self._ip_id + 3) & 0xFFFF
        if resend_from is not None:
            start = resend_from
        elif resync and head is not None:
            start = head.seq
        else:
            start = self._snd_nxt
        syn = self._fake_syn(seq_add(start, -1), ip_id)
        self._connect(syn, fake=True, now=now)

    # ------------------------------------------------------------------ resending after a close

    def _unanswered_from(self) -> int | None:
        """The first byte of the first request sent on this connection that the target did not
        answer (None: it answered every one), for a reconnect after it closed or reset.

        Waiting for responses, one request is outstanding at most, answered as
        ``_last_request_answered`` says. With ``no_wait`` the session cannot tell: a request
        the target acked whole counts as answered, so only the requests it did not receive
        whole are resent. Nothing is resent on the capture-hole path (``_hole_lost``, or
        skipping: the request before a lost hole may be the one the hole cut), nor once the
        client's FIN went out (a half-closed request the target reset is lost).
        """
        unsettled = self._unsettled_requests
        if not unsettled or self._hole_lost or self._fin_sent:
            return None
        stream = self._stream
        assert stream is not None
        if stream.skipping:
            return None
        if self.config.no_wait or not self._last_request_answered():
            return unsettled[0]
        return None

    def _resend_from(self) -> int | None:
        """``_unanswered_from``, unless the last reconnect resent from there already: the
        target closed again before answering it, and resending it once more would make no
        progress (a target that closes after fewer requests than were pipelined with it)."""
        start = self._unanswered_from()
        return None if start is None or start == self._rewound_to else start

    def _last_request_answered(self) -> bool:
        """Whether the target answered the request it was sent last, judged once it closed or
        reset the connection. It did if it received all of the request (acked it, and no
        byte of it is left unsent), sent at least one response byte, and either closed with
        a FIN (servers close after a response, not inside one) or, when it reset, sent at
        least the online response's length (less before an RST is a response cut, or an
        answer to only the first of pipelined requests; before the client's FIN, one byte
        less: its ACK may count the online server's FIN). The online length not captured yet
        (the client's next packet is still to come): any byte."""
        if self._sendq or self._response_bytes == 0 or self._request_continues():
            return False
        if self._target_fin_seq is not None:
            return True
        online = self._online_response_length()
        if online is None:
            return True
        stream = self._stream
        assert stream is not None
        server_fin = 1 if stream.peek() is None else 0
        return self._response_bytes + server_fin >= online

    def _request_continues(self) -> bool:
        """The next captured bytes belong to the request sent last (same client ACK)."""
        stream = self._stream
        assert stream is not None
        head = stream.peek()
        return head is not None and head.client_ack == self._request_ack

    def _settle_requests(self) -> None:
        """Every request sent was answered: nothing is held for a resend any longer."""
        if self._unsettled_requests:
            self._unsettled_requests.clear()
            stream = self._stream
            assert stream is not None
            stream.release_all()

    def _settle_acked_requests(self) -> None:
        """``no_wait``: let go of the requests the target acked whole (see ``_unanswered_from``)."""
        unsettled = self._unsettled_requests
        una = self._snd_una
        while len(unsettled) > 1 and seq_le(unsettled[1], una):
            del unsettled[0]
        if una == self._snd_nxt and not self._request_continues():
            self._settle_requests()
        else:
            stream = self._stream
            assert stream is not None
            stream.release_before(unsettled[0])

    # ------------------------------------------------------------------ capture holes

    def _at_lost_hole(self, now: float) -> bool:
        """The replay reached the lost hole: nothing before it is left to send or to answer."""
        stream = self._stream
        assert stream is not None
        phase = self.phase
        if stream.has_pending or phase not in CONNECTED:
            return False
        if phase is _CLOSE_WAIT:  # the target closed: nothing more will come on this connection
            return True
        if self._sendq:
            return False
        if phase is _ESTABLISHED:
            return True
        return self._unanswered_before_hole() and now >= self._last_progress_at + self.config.capture_gap_timeout

    def _unanswered_before_hole(self) -> bool:
        """Lost hole reached, but the request before it has no answer yet: a complete request
        on a slow target, or (usually) one the hole cut, which the target will never answer.
        It gets ``capture_gap_timeout`` of target silence before the connection is given up."""
        stream = self._stream
        return (
            self._hole_lost
            and (self.phase is _AWAITING_RESPONSE or self.phase is Phase.AWAITING_GREETING)
            and self._response_bytes == 0
            and not self._sendq
            and stream is not None and not stream._pending
        )

    def _resync_waits_for_silence(self) -> bool:
        """The "capture_resync" deadline is armed: silence awaited, no resync tried yet (once
        tried, the next captured packet tries again; no timer is needed)."""
        stream = self._stream
        return self._unanswered_before_hole() and stream is not None and not stream.skipping

    def _resync(self, now: float, *, send_rst: bool) -> bool:
        """Past the lost hole: skip to the next request boundary and reconnect from it.

        Returns False when no boundary was captured yet (the stream keeps skipping what arrives
        until one does); ends the session (``capture_gap``) when the client's FIN or RST came
        first, so no fragment of a request reaches the target.

        The old connection is reset, not closed with FIN: an RST makes the target drop at once
        whatever part of a cut request it holds, while a FIN would tell it the request ended
        there (some servers act on an EOF-terminated message) and make us wait for its close.
        """
        stream = self._stream
        assert stream is not None
        if not stream.skipping:
            reference = stream.last_ack if stream.last_ack is not None else self._handshake_client_ack
            stream.give_up_hole(reference, self._continuation_ack(reference))
        skipped = stream.resume()
        if skipped is None:
            if stream.fin_seq is not None or self._client_reset:
                reason = (f"captured stream never filled the hole at seq {stream.skipped_from} and "
                          "no request boundary came after it before the client closed")
                if send_rst:
                    self._abort(Outcome.CAPTURE_GAP, reason)
                else:  # the target reset the connection already
                    self._finish(Outcome.CAPTURE_GAP, reason)
                return True
            return False
        self._hole_lost = False
        tally(self.counters, "capture_gap_resyncs")
        tally(self.counters, "capture_gap_bytes_skipped", skipped)
        self._gap_since = now if stream.has_gap else None
        self._reconnect("resync past a capture hole", send_rst=send_rst, now=now, resync=True)
        return True

    def _continuation_ack(self, reference: int | None) -> int | None:
        """The client ACK of the request after the last one before the hole, if the target
        answered that one completely (its length stands for the online response's, as in
        ``_response_sized_by_capture``); None when unknown."""
        if (
            reference is None
            or self._request_ack != reference
            or self._response_bytes == 0
            or not (self.phase is _ESTABLISHED or self.phase is _CLOSE_WAIT)
        ):
            return None
        return seq_add(reference, self._response_bytes)

    def _fake_syn(self, seq: int, captured_ip_id: int) -> Segment:
        return self._addressed(
            seq=seq,
            ack=0,
            flags=SYN,
            window=_FAKE_WINDOW,
            options=mss_only(self.config.mss_for_fake_syn),
            ip_id=(captured_ip_id - 2) & 0xFFFF,
        )

    # ------------------------------------------------------------------ building segments

    def _addressed(self, *, seq: int, ack: int, flags: int, window: int, options: TcpOptions = NO_OPTIONS,
                   ip_id: int = 0, ttl: int = 64) -> Segment:
        """A segment from our client to the target without payload (typed keywords: the
        compiled call stays native, where ``**fields`` built a dict and went through Python's)."""
        return self._built(seq, ack, flags, window, options, b"", ip_id, ttl)

    def _built(self, seq: int, ack: int, flags: int, window: int, options, payload: bytes,
               ip_id: int, ttl: int) -> Segment:
        """``_addressed`` positionally, for the per-packet path."""
        client, target = self.client, self.target
        return Segment(client[0], target[0], client[1], target[1], seq, ack, flags, window,
                           options, payload, ip_id, ttl)

    def _segment(
        self, *, seq: int, flags: int, payload: bytes = b"", template: Segment | None = None
    ) -> Segment:
        if template is not None:
            self._ip_id = ip_id = template.ip_id
            ttl = template.ttl
        else:
            self._ip_id = ip_id = (self._ip_id + 1) & 0xFFFF
            ttl = 64
        if self._fake_handshake:
            window = _FAKE_WINDOW  # captured windows are scaled by a shift the target never saw
        else:
            window = template.window if template is not None else self._client_window
        return self._built(seq, self._rcv_nxt if flags & ACK else 0, flags, window,
                           self._options(template), payload, ip_id, ttl)

    def _options(self, template: Segment | None):
        captured = template.options if template is not None else NO_OPTIONS
        if not self._ts_on:
            return captured
        tsval = self._ts_last_sent or 0
        if captured.timestamp is not None and (
            self._ts_last_sent is None or seq_ge(captured.timestamp[0], self._ts_last_sent)
        ):
            tsval = captured.timestamp[0]
        self._ts_last_sent = tsval
        if captured == NO_OPTIONS:
            return timestamp_only(tsval, self._ts_recent)
        return with_timestamp(captured, tsval, self._ts_recent)

    def _emit(self, segment: Segment) -> None:
        self._out.append(Send(segment))
        tally(self.counters, "segments_sent")
        if segment.flags & ACK and not segment.flags & SYN:
            self._ack_sent = segment.ack
            if segment.ack == self._rcv_nxt:
                self._delack_at = None

    # ------------------------------------------------------------------ timers

    def _quiet_period(self) -> float:
        c = self.config
        srtt = self._rto.srtt or 0.0
        return min(c.quiet_cap, max(c.quiet_floor, c.quiet_rtt_factor * srtt + c.ack_delay))

    def _waiting_on_target(self) -> bool:
        stream = self._stream
        return bool(
            self._sendq
            or self.phase in (Phase.AWAITING_RESPONSE, Phase.AWAITING_GREETING, Phase.LAST_ACK)
            or (stream is not None and stream.has_pending)
        )

    def _deadlines(self) -> dict[str, float]:
        c = self.config
        d: dict[str, float] = {}
        if self.phase is Phase.SYN_SENT:
            d["handshake"] = self._handshake_started_at + c.handshake_timeout
            if self._rto_at is not None:
                d["retransmit"] = self._rto_at
            return d
        if self.phase not in CONNECTED:
            return d
        stream = self._stream
        assert stream is not None
        if self._rto_at is not None and self._sendq:
            d["retransmit"] = self._rto_at
        if self._delack_at is not None:
            d["delayed_ack"] = self._delack_at
        if self._persist_at is not None:
            d["persist"] = self._persist_at
        if self._response_complete_pending():
            # not awaited: a stand-in for the keep-alive timeout, not work (next_work_deadline)
            d["response_quiet" if self._completion_awaited() else "keepalive"] = self._completion_deadline()
        if stream.has_gap and self._gap_since is not None and not self._hole_lost:
            d["capture_gap"] = self._gap_since + c.capture_gap_timeout
        if self._resync_waits_for_silence():
            d["capture_resync"] = self._last_progress_at + c.capture_gap_timeout
        if self._waiting_on_target():
            d["session_timeout"] = self._last_progress_at + c.session_timeout
        elif self.phase is Phase.ESTABLISHED:
            d["keepalive"] = self._last_activity_at + c.keepalive_timeout
        if self._fin_held_for_silent_response():
            d["fin_hold"] = self._last_progress_at + c.fin_hold_timeout
        if self.phase is Phase.CLOSE_WAIT or (self.phase is Phase.FIN_WAIT and not self._sendq):
            d["linger"] = self._phase_since + c.linger
        return d

    def _response_complete_pending(self) -> bool:
        return (
            self.phase is Phase.AWAITING_RESPONSE
            and self._response_bytes > 0
            and self._snd_una == self._snd_nxt
        )

    def _completion_deadline(self) -> float:
        """When the ``response_quiet`` timer fires: once the response counts as complete if
        anything waits for that (``_completion_awaited``). If nothing does, the completion is
        decided at the session's next event instead (``handle`` completes first, as of the
        event's time: the same outcome), which saves a wake-up per request when requests are
        farther apart than the quiet period; the timer then only stands for the keep-alive
        timeout a complete response would have armed (named so in ``_deadlines``), and fires no
        earlier than the completion, so that it finds the response complete."""
        at = self._last_response_at + self._completion_wait(self._response_sized_by_capture())
        if self._completion_awaited():
            return at
        idle_at = self._last_activity_at + self.config.keepalive_timeout
        return idle_at if idle_at > at else at

    def _completion_awaited(self) -> bool:
        """Whether anything waits for the current response to complete: a captured request,
        the client's FIN or RST, a capture hole to resync past."""
        stream = self._stream
        assert stream is not None
        return bool(
            self.config.time_every_completion
            or stream.has_pending or stream.fin_seq is not None or stream.has_gap or stream.skipping
            or self._client_reset or self._hole_lost
        )

    def _complete_response_if_done(self, now: float) -> None:
        if self._response_complete_pending():
            sized = self._response_sized_by_capture()
            if now >= self._last_response_at + self._completion_wait(sized):
                tally(self.counters, "responses")
                if sized is not None:
                    tally(self.counters, "responses_sized_by_capture")
                self._to(Trigger.RESPONSE_DONE, now)
                self._settle_requests()

    def _completion_wait(self, sized: str | None) -> float:
        """How long after its last byte a response counts as complete.

        Sized by the capture and followed by the client's FIN: at once. Followed by another
        request: after ``sized_response_grace``, so a FIN the target sends right after its
        response (a server that closes) arrives before a request is put on a closing connection.
        Not sized: the quiet period.
        """
        if sized == "fin":
            return 0.0
        if sized == "request":
            return self.config.sized_response_grace
        return self._quiet_period()

    def _response_sized_by_capture(self) -> str | None:
        """"request"/"fin" if the target sent exactly as many bytes as the online server did
        (``_online_response_length``). A response of another length (a changed target, a
        server FIN counted in the ACK) is left to the quiet period.
        """
        if self._online_response_length() != self._response_bytes:
            return None
        stream = self._stream
        assert stream is not None
        return "request" if stream.peek() is not None else "fin"

    def _online_response_length(self) -> int | None:
        """How many bytes the online server answered the current request with (None: not known
        yet): the captured client's next request (or its FIN) acknowledges the whole online
        response, so its ACK minus the current request's ACK."""
        request_ack = self._request_ack
        if request_ack is None:
            return None
        stream = self._stream
        assert stream is not None
        chunk = stream.peek()
        if chunk is not None:
            next_ack = chunk.client_ack
            if next_ack is None or next_ack == request_ack:
                return None
        elif stream.fin_reached and self._client_fin_template is not None \
                and self._client_fin_template.flags & ACK:
            next_ack = self._client_fin_template.ack
        else:
            return None
        return seq_diff(next_ack, request_ack)

    def _on_tick(self, now: float) -> None:
        due = [(at, _TIMER_RANK[name], name) for name, at in self._deadlines().items() if at <= now]
        if len(due) == 1:  # the usual tick: one timer, just computed
            self._fire(due[0][2], now)
            return
        due.sort()
        for _, _, name in due:
            if self.phase is Phase.CLOSED:
                return
            at = self._deadlines().get(name)
            if at is not None and at <= now:
                self._fire(name, now)

    def _fire(self, name: str, now: float) -> None:
        if name == "handshake":
            syns = 1 + self.counters.get("syn_retransmits", 0)
            self._finish(Outcome.HANDSHAKE_FAILED, f"no SYN-ACK within the handshake timeout ({syns} SYNs)")
        elif name == "capture_gap":
            # The hole is lost; the replay resyncs past it once it gets there (_pump).
            tally(self.counters, "capture_gaps")
            self._hole_lost = True
            self._gap_since = None
        elif name == "capture_resync":
            pass  # the silence waited for is over: _pump resyncs
        elif name == "session_timeout":
            self._abort(Outcome.TIMEOUT, "no answer from the target within the session timeout")
        elif name == "keepalive":
            if self._hole_lost:
                self._abort(Outcome.CAPTURE_GAP, "no request boundary came after a capture hole "
                            "within the keep-alive timeout")
            else:
                self._abort(Outcome.IDLE, "idle for the keep-alive timeout")
        elif name == "linger":
            why = "client did not close" if self.phase is Phase.CLOSE_WAIT else "target did not close"
            self._abort(Outcome.COMPLETE, f"{why} within the linger time")
        elif name == "fin_hold":
            tally(self.counters, "fin_released_without_response")
            self._send_client_fin_if_ready(now, release_hold=True)
        elif name == "retransmit":
            self._on_retransmit_timeout(now)
        elif name == "persist":
            tally(self.counters, "window_probes")
            self._emit(self._segment(seq=seq_add(self._snd_una, -1), flags=ACK))
            self._persist_backoff += 1
            self._persist_at = now + self._rto.timeout(self._persist_backoff)
        elif name == "delayed_ack":
            self._send_ack()
            self._delack_at = None
        elif name == "response_quiet":
            self._complete_response_if_done(now)

    def _on_retransmit_timeout(self, now: float) -> None:
        if self.phase is Phase.SYN_SENT:
            self._send_syn(now, retransmission=True)
            return
        self._retries += 1
        if self._retries > self.config.max_retransmits:
            self._abort(Outcome.RETRANSMIT_FAILED, f"target did not ack after {self._retries - 1} retransmissions")
            return
        self._backoff += 1
        tally(self.counters, "timeout_retransmits")
        self._recover = self._snd_nxt
        self._dupacks = 0
        self._retransmit_first()
        self._rto_at = now + self._rto.timeout(self._backoff)

    # ------------------------------------------------------------------ ending

    def _enforce_memory_bound(self) -> None:
        stream = self._stream
        if stream is None:
            return
        buffered = stream.buffered_bytes
        limit = self.config.max_buffered_bytes
        if self._unsettled_requests and stream.retained_bytes + buffered > limit:
            # too much to hold for a resend as well: these requests cannot be resent
            tally(self.counters, "requests_too_large_to_resend", len(self._unsettled_requests))
            self._settle_requests()
        if buffered + self._sendq.buffered_bytes > limit:
            tally(self.counters, "overflow")
            self._abort(Outcome.OVERFLOW, "buffered client bytes exceed max_buffered_bytes")

    def _abort(self, outcome: Outcome, reason: str) -> None:
        if self.phase is Phase.SYN_SENT or self.phase in CONNECTED:
            self._emit(self._reset_segment())
        self._finish(outcome, reason)

    def _finish(self, outcome: Outcome, reason: str) -> None:
        self.phase = advance(self.phase, Trigger.FINISH)
        self.outcome = outcome
        self._rto_at = self._delack_at = self._persist_at = None
        if self._registered:
            self._out.append(Unregister(self.client, self.target))
        self._out.append(Finished(outcome, reason, self.client, self.target))

    def _after_close(self, event: object) -> None:
        if isinstance(event, ClientSegment):
            tally(self.counters, "client_after_close")
        elif isinstance(event, TargetResponse):
            s = event.summary
            tally(self.counters, "target_after_close")
            if s.flags & RST or not (s.payload_len or s.flags & (FIN | SYN)):
                return
            if self.outcome is Outcome.COMPLETE and s.flags & FIN and self._target_fin_seq is not None:
                self._send_ack()  # our last ACK was lost
            elif s.flags & ACK:
                tally(self.counters, "resets_sent")
                self._emit(self._addressed(seq=s.ack, ack=0, flags=RST, window=0))
        elif not isinstance(event, (Tick, Shutdown, Superseded)):
            raise TypeError(f"not a session event: {event!r}")

    def _to(self, trigger: Trigger, now: float) -> None:
        self.phase = advance(self.phase, trigger)
        self._phase_since = now
