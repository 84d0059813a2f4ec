"""intercept: capture the target's responses, summarize them, send each to the copy process
that registered its client.

The loop: poll (response sources, listener, channel connections) → for each response summary
(from the kernel's BPF ring, or summarized here from AF_PACKET; ``runtime.response_sources``
picks the method) → route → batch per connection; for each channel message, register/unregister;
→ flush batches whose deadline came → re-arm one timeout. It runs until ``stop()`` (SIGINT or
SIGTERM in the CLI), then says Bye to every peer and returns its statistics.

A peer that sends garbage, a wrong version or an oversized frame is closed with the reason
logged; every other peer keeps being served.

Flags of the original that shape this loop: ``-n`` the most summaries per channel frame, ``-s``
the most early SYN/RST responses held for a Register, ``-t`` how long an unused route lives,
``-D`` response destinations rewritten (seen -> registered address) before routing.
"""

from __future__ import annotations

import logging
import select
import socket
import time
from dataclasses import dataclass, field
from typing import Final

from pyreplay.backends.cbpf import compile_filter
from pyreplay.backends.channel_tcp import ChannelClosed, ChannelConnection, ChannelListener
from pyreplay.channel.batcher import ResponseBatcher
from pyreplay.channel.errors import ChannelError
from pyreplay.channel.messages import CHANNEL_VERSION, Bye, Hello, Register, Unregister
from pyreplay.channel.router import DEFAULT_DELAY_CAPACITY, DEFAULT_IDLE_TIMEOUT, ConnId, Router
from pyreplay.config import InterceptConfig
from pyreplay.rewrite import ResponseDestinations
from pyreplay.runtime.response_sources import open_response_sources

log = logging.getLogger("pyreplay.intercept")
PEER_MESSAGES: Final = frozenset({Hello, Register, Unregister, Bye})
# The longest wait. It bounds how late a summary the BPF ring took without waking us is sent
# (a pure ACK waits for the next summary; a race can leave it for this timeout:
# bpf/include/pyreplay_response.h), so keep it well under copy's shortest retransmission timeout.
IDLE_WAIT: Final = 0.05


@dataclass
class InterceptStats:
    captured: int = 0
    not_tcp: int = 0
    routed: int = 0
    unrouted: int = 0
    peers_accepted: int = 0
    peers_rejected: dict[str, int] = field(default_factory=dict)
    kernel_drops: int = 0

    def line(self, router: Router) -> str:
        r = router.stats()
        return (f"captured {self.captured}, routed {r.routed}, unrouted {r.unrouted}, "
                f"delayed {r.delayed} (delivered {r.delayed_delivered}, expired {r.delayed_expired}), "
                f"routes {r.routes}, registrations {r.registrations}, peers {self.peers_accepted}, "
                f"kernel drops {self.kernel_drops}")


class _Peer:
    __slots__ = ("conn", "batcher", "watching_write")

    def __init__(self, conn: ChannelConnection, batcher: ResponseBatcher) -> None:
        self.conn = conn
        self.batcher = batcher
        self.watching_write = False  # what epoll is told, so it changes only when needed


def new_router(config: InterceptConfig) -> Router:
    """The routing table with ``-t`` and ``-s``; the router's defaults where not given."""
    return Router(
        idle_timeout=DEFAULT_IDLE_TIMEOUT if config.route_timeout is None else config.route_timeout,
        delay_capacity=DEFAULT_DELAY_CAPACITY if config.delay_capacity is None else config.delay_capacity)


def new_batcher(config: InterceptConfig) -> ResponseBatcher:
    """One peer's response batcher with ``-n``; the batcher's default where not given."""
    return ResponseBatcher() if config.combine is None else ResponseBatcher(max_items=config.combine)


class Intercept:
    def __init__(self, config: InterceptConfig, *, clock=time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.router = new_router(config)
        self.rewrite_destination = ResponseDestinations(config.dockered)
        self.stats = InterceptStats()
        # epoll itself, not ``selectors``: at low rates its Python wrapper cost about as much
        # as the rest of a wake-up's work (cProfile)
        self.poller = select.epoll()
        self._ready_handler: dict[int, object] = {}  # fd -> the listener, a capture or a _Peer
        self.peers: dict[ConnId, _Peer] = {}
        self._stopping = False
        if config.filter:
            compile_filter(config.filter)  # a bad -F is the user's error: say so before anything opens
        bind = socket.inet_ntop(socket.AF_INET, config.bind) if config.bind else "0.0.0.0"
        self.listener = ChannelListener(bind, config.port)
        self.captures = []
        try:
            self.captures = open_response_sources(config)
        except BaseException:
            self.close()
            raise
        self._watch(self.listener.fileno(), self.listener)
        for capture in self.captures:
            self._watch(capture.fileno(), capture)
        log.info("intercept: channel on %s:%d, capturing on %s with filter %r", bind, self.listener.port,
                 ",".join(f"{c.ifname} ({c.method})" for c in self.captures), config.filter)

    def stop(self) -> None:
        self._stopping = True

    def run(self, *, report_every: float = 0.0) -> InterceptStats:
        next_report = self.clock() + report_every if report_every else None
        try:
            while not self._stopping:
                self.step(timeout=self._timeout())
                if next_report is not None and self.clock() >= next_report:
                    self._refresh_capture_stats()
                    log.info("intercept: %s", self.stats.line(self.router))
                    next_report += report_every
        finally:
            self._refresh_capture_stats()
            self.close()
        log.info("intercept: exit: %s", self.stats.line(self.router))
        return self.stats

    def _timeout(self) -> float:
        deadlines = [d for p in self.peers.values() if (d := p.batcher.next_deadline()) is not None]
        if not deadlines:
            return IDLE_WAIT
        return max(0.0, min(deadlines) - self.clock())

    def _watch(self, fd: int, handler: object) -> None:
        self.poller.register(fd, select.EPOLLIN)
        self._ready_handler[fd] = handler

    def step(self, timeout: float) -> None:
        for fd, events in self.poller.poll(timeout):
            handler = self._ready_handler.get(fd)
            if isinstance(handler, _Peer):
                self._on_peer(handler, events)
            elif handler is self.listener:
                self._accept()
            elif handler is not None:
                self._on_capture(handler)
        for capture in self.captures:
            # summaries a BPF ring took without waking us (pure ACKs: they wait for the next
            # one, bpf/include/pyreplay_response.h); epoll does not report them on a timeout
            if capture.pending():
                self._on_capture(capture)
        now = self.clock()
        for peer in list(self.peers.values()):
            frame = peer.batcher.flush_due(now)
            if frame is not None:
                self._send(peer, frame)

    def _accept(self) -> None:
        while (conn := self.listener.accept(PEER_MESSAGES)) is not None:
            peer = _Peer(conn, new_batcher(self.config))
            self.peers[conn.fileno()] = peer
            self._watch(conn.fileno(), peer)
            self.stats.peers_accepted += 1
            conn.send_message(Hello(CHANNEL_VERSION, "intercept", socket.gethostname()))
            log.info("intercept: peer %s connected", conn.peer)

    def _on_capture(self, capture) -> None:
        """``capture`` is a response source (``runtime.response_sources``): summaries in, routed."""
        now = self.clock()
        route = self.router.route
        summaries = capture.drain()
        self.stats.captured += len(summaries)
        if self.rewrite_destination:
            summaries = [self.rewrite_destination(summary) for summary in summaries]
        for summary in summaries:
            for conn_id, item in route(summary, now):
                self._deliver(conn_id, item, now)

    def _refresh_capture_stats(self) -> None:
        """Read loss counters when they are reported, not per drain (each read is a syscall);
        the kernel keeps counting in between."""
        self.stats.not_tcp = sum(c.not_tcp for c in self.captures)
        self.stats.kernel_drops += sum(c.kernel_drops() for c in self.captures)

    def _deliver(self, conn_id: ConnId, summary, now: float) -> None:
        peer = self.peers.get(conn_id)
        if peer is None:
            return
        frame = peer.batcher.add(summary, now)
        if frame is not None:
            self._send(peer, frame)

    def _on_peer(self, peer: _Peer, events: int) -> None:
        try:
            if events & select.EPOLLOUT:
                peer.conn.flush()
            if events & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                now = self.clock()
                for message in peer.conn.receive():
                    self._on_message(peer, message, now)
            self._update_interest(peer)
        except ChannelError as exc:
            self._drop(peer, f"protocol error: {exc}", "protocol")
        except ChannelClosed as closed:  # not `exc`: one type per name when compiled
            self._drop(peer, str(closed), None)

    def _on_message(self, peer: _Peer, message, now: float) -> None:
        conn_id = peer.conn.fileno()
        if isinstance(message, Register):
            for _, item in self.router.register(*message.key, conn_id, now):
                self._deliver(conn_id, item, now)
        elif isinstance(message, Unregister):
            self.router.unregister(*message.key, conn_id, now)
        elif isinstance(message, Bye):
            raise ChannelClosed(f"{peer.conn.peer} said bye: {message.reason}")
        elif isinstance(message, Hello):
            log.info("intercept: peer %s is %s %r", peer.conn.peer, message.role, message.name)

    def _send(self, peer: _Peer, frame: bytes) -> None:
        try:
            peer.conn.send(frame)
            self._update_interest(peer)
        except ChannelClosed as exc:
            self._drop(peer, str(exc), None)

    def _update_interest(self, peer: _Peer) -> None:
        want_write = peer.conn.wants_write
        if want_write == peer.watching_write or peer.conn.fileno() < 0:
            return
        peer.watching_write = want_write
        self.poller.modify(peer.conn.fileno(), select.EPOLLIN | (select.EPOLLOUT if want_write else 0))

    def _drop(self, peer: _Peer, reason: str, kind: str | None) -> None:
        conn_id = peer.conn.fileno()
        if self.peers.pop(conn_id, None) is None:
            return
        if kind:
            self.stats.peers_rejected[kind] = self.stats.peers_rejected.get(kind, 0) + 1
            log.warning("intercept: closing %s: %s", peer.conn.peer, reason)
        else:
            log.info("intercept: %s", reason)
        self.router.drop_connection(conn_id)
        self.poller.unregister(conn_id)
        del self._ready_handler[conn_id]
        peer.conn.close()

    def close(self) -> None:
        for peer in list(self.peers.values()):
            try:
                frame = peer.batcher.flush(self.clock())
                if frame:
                    peer.conn.send(frame)
                peer.conn.send_message(Bye("intercept shutting down"))
                peer.conn.flush_blocking(0.5)
            except (ChannelClosed, OSError):
                pass
            peer.conn.close()
        self.peers.clear()
        for capture in self.captures:
            capture.close()
        self.listener.close()
        self.poller.close()
