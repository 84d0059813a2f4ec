"""The replay engine shared by copy's capture paths: captured packets and response summaries
in, packets to the target and channel messages out.

``Replay`` is the part of ``pyreplay copy`` that does not care where packets come from (pcap
file, AF_PACKET, BPF ring) or how they leave (raw socket, pcap file): it filters captured
packets by ``-F`` (the injected ``keep`` predicate) and ``-x``, sends loopback clients from
``-H``, samples ``-r`` (ramped by ``-g`` from the first captured packet's ``now``), keeps one
``SessionTable`` per ``-n`` copy, allocates collision-free client identities (``-c``, ``-f``),
executes the session commands through the injected ``emit(packet, now)`` and
``announce(frame, registers)`` callables (a Register or Unregister frame for intercept, and
whether it registers), and
keeps the statistics the summary prints. ``registrations()`` lists the routes of the sessions
alive now (for an intercept connection re-opened under ``-L``). It holds no sockets and reads
no clock: every call takes ``now``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pyreplay.channel.codec import encode_route
from pyreplay.channel.messages import Message
from pyreplay.channel.messages import Register as RegisterMessage
from pyreplay.config import CopyConfig, TIME_WAIT_SECONDS
from pyreplay.packet.errors import PacketError
from pyreplay.packet.segment import SYN, ResponseSummary, Segment
from pyreplay.packet.segmentation import split_to_mtu
from pyreplay.packet.tcpip import build_packet, parse_packet, usual_tcp_dport
from pyreplay.rewrite import (
    ClientAllocator,
    ClientKey,
    PoolExhausted,
    TransferMap,
    gradual_percent,
    loopback_replacement,
    sample_session,
)
from pyreplay.session.commands import Command, Finished, Register, Send, Unregister
from pyreplay.session.config import SessionConfig
from pyreplay.session.session import Session
from pyreplay.session.table import SessionTable
from pyreplay.session.tally import tally

Emit = Callable[[bytes, float], object]
Announce = Callable[[bytes, bool], object]
Keep = Callable[[bytes], bool]
POOL_EXHAUSTED = "client pool exhausted"  # the skip reason of a session no client identity was free for


def session_config_for(config: CopyConfig) -> SessionConfig:
    return SessionConfig(
        mss_for_fake_syn=config.mss, mtu=config.mtu, no_wait=config.no_response_wait,
        only_with_syn=config.only_full_sessions, session_timeout=config.session_timeout,
        keepalive_timeout=config.keepalive_timeout,
    )


@dataclass
class ReplayStats:
    captured: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> packets not replayed (see tally)
    packets_sent: int = 0
    responses: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    last_activity: float = 0.0


class Replay:
    def __init__(self, config: CopyConfig, emit: Emit, announce: Announce, *,
                 keep: Keep | None = None, quarantine: float = TIME_WAIT_SECONDS) -> None:
        """``keep(packet)`` is the compiled ``-F`` filter (None: no -F)."""
        self.config = config
        self._emit = emit
        self._announce = announce
        self._keep = keep
        self._loopback_source = config.loopback_source
        self._first_captured_at: float | None = None  # the -g ramp starts here
        self._registered: set[tuple[bytes, int, bytes, int]] = set()
        self.transfers = TransferMap(config.transfers)
        self._online_ports = self.transfers.online_ports
        self.allocator = ClientAllocator(config.client_pool, port_slice=config.port_slice, quarantine=quarantine)
        self.session_config = session_config_for(config)
        self.tables = [SessionTable(self._factory(k), linger=self.session_config.linger)
                       for k in range(config.copies)]
        self.stats = ReplayStats()
        self._now = 0.0
        self._mtu = config.mtu

    # ---- inputs --------------------------------------------------------------------------
    def captured_segment(self, packet: bytes) -> Segment | None:
        """Parse and filter a captured packet; None (and a counted reason) if not replayed."""
        self.stats.captured += 1
        if self._keep is not None and not self._keep(packet):
            tally(self.stats.skipped, "not matching -F")
            return None
        dport = usual_tcp_dport(packet)
        if dport >= 0 and dport not in self._online_ports:
            # e.g. the online server's responses in a two-way capture: not worth a parse
            tally(self.stats.skipped, "not matching -x")
            return None
        try:
            segment = parse_packet(packet)
        except PacketError as exc:
            tally(self.stats.skipped, f"unparsable: {str(exc).split(':')[0]}")
            return None
        transfer = self.transfers.match(segment.dst, segment.dport)
        if transfer is None:
            tally(self.stats.skipped, "not matching -x")
            return None
        if self._loopback_source is not None:
            source = loopback_replacement(segment.src, transfer.target_addr, self._loopback_source)
            if source is not None:
                segment = segment.replace(src=source)
        return segment

    def client_segment(self, segment: Segment, now: float) -> None:
        self._now = now
        if self._first_captured_at is None:
            self._first_captured_at = now
        for index, table in enumerate(self.tables):
            self._execute(table.handle_client(segment, now=now), index, now)

    def response(self, summary: ResponseSummary, now: float) -> None:
        self._now = now
        self.stats.responses += 1
        self.stats.last_activity = now
        if len(self.tables) == 1:
            index = 0  # the table routes it, lingering sessions included
        else:
            owner = self.allocator.owner(summary.dst, summary.dport)  # live identities only
            if owner is None:
                tally(self.stats.skipped, "response for no session of ours")
                return
            index = owner.copy
        self._execute(self.tables[index].handle_response(summary, now=now), index, now)

    def tick(self, now: float) -> None:
        self._now = now
        for index, table in enumerate(self.tables):
            self._execute(table.handle_tick(now), index, now)

    def shutdown(self, now: float) -> None:
        self._now = now
        for index, table in enumerate(self.tables):
            self._execute(table.shutdown(now), index, now)

    # ---- state ---------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        if len(self.tables) == 1:  # called once per loop: no list without -n
            return self.tables[0].next_deadline()
        deadlines = [d for t in self.tables if (d := t.next_deadline()) is not None]
        return min(deadlines, default=None)

    def next_work_deadline(self) -> float | None:
        """When the earliest session timer that moves the replay on is due (a send, or the next
        request let go); None when what is armed only gives sessions up. Scans every session."""
        deadlines = [d for t in self.tables if (d := t.next_work_deadline()) is not None]
        return min(deadlines, default=None)

    @property
    def active_sessions(self) -> int:
        created = sum(t.counters.get("sessions_created", 0) for t in self.tables)
        return created - sum(self.stats.outcomes.values())

    def registrations(self) -> list[Message]:
        """A Register for every route a live session holds, in no particular order."""
        return [RegisterMessage(*key) for key in self._registered]

    def counters(self) -> Counter:
        """Table and session counters of every copy, summed, live sessions included."""
        total: Counter = Counter()
        for table in self.tables:
            total.update(table.counters)
            total.update(table.session_counters())
        return total

    # ---- sessions ------------------------------------------------------------------------
    def _factory(self, copy_index: int):
        def make(segment: Segment, generation: int = 0) -> Session | None:
            percent = self.config.sample_percent
            if self.config.gradual and self._first_captured_at is not None:
                percent = gradual_percent(self._now - self._first_captured_at, percent)
            if percent < 100 and not sample_session(segment.src, segment.sport, percent):
                tally(self.stats.skipped, "sampled out (-g)" if percent < self.config.sample_percent
                                   else "sampled out (-r)")
                return None
            if self.config.only_full_sessions and not segment.flags & SYN:
                tally(self.stats.skipped, "no SYN captured (-O)")
                return None
            transfer = self.transfers.match(segment.dst, segment.dport)
            assert transfer is not None  # captured_segment let only -x matches through
            key = ClientKey(segment.src, segment.sport, copy_index, segment.dst, segment.dport, generation)
            try:
                identity = self.allocator.allocate(key, self._now)
            except PoolExhausted:
                tally(self.stats.skipped, POOL_EXHAUSTED)
                return None
            return Session(self.session_config, identity, (transfer.target_addr, transfer.target_port))
        return make

    def _execute(self, commands: list[Command], copy_index: int, now: float) -> None:
        for command in commands:
            if isinstance(command, Send):
                segment = command.segment
                if len(segment.payload) + 60 <= self._mtu:
                    self.stats.last_activity = now
                    self._emit(build_packet(segment), now)
                    self.stats.packets_sent += 1
                else:
                    self._send(segment, now)
            elif isinstance(command, Register):
                self._registered.add((*command.client, *command.target))
                self._announce(encode_route(True, command.client, command.target), True)
            elif isinstance(command, Unregister):
                self._registered.discard((*command.client, *command.target))
                self._announce(encode_route(False, command.client, command.target), False)
            elif isinstance(command, Finished):
                tally(self.stats.outcomes, command.outcome.value)
                if command.client is not None:
                    key = self.allocator.owner(*command.client)
                    if key is not None:
                        self.allocator.release(key, now)
            else:
                raise TypeError(f"not a session command: {command!r}")

    def _send(self, segment: Segment, now: float) -> None:
        """A segment that may not fit the MTU (GRO/GSO frames): split, then send each piece."""
        self.stats.last_activity = now
        for piece in split_to_mtu(segment, self._mtu):
            self._emit(build_packet(piece), now)
            self.stats.packets_sent += 1

    # ---- summary -------------------------------------------------------------------------
    def diagnosis(self) -> list[str]:
        """Plain-words reasons when the replay did not work (empty when it did)."""
        c = self.counters()
        problems = []
        created = c["sessions_created"]
        if self.stats.captured and not created:
            problems.append("no session was replayed: check -x matches the captured destination "
                            "address:port (skipped packets are listed above)")
        if created and c["syns_sent"] and not c["connections"]:
            if self.stats.responses == 0:
                problems.append(
                    "the target never answered through intercept: check that intercept's -F filter "
                    "matches the target's responses (e.g. 'tcp and src port <target port>'), that it "
                    "captures on the interface those responses arrive on, and that the target routes "
                    "the client pool (-c) via the intercept host")
            else:
                problems.append("responses arrived but no connection was established: the target "
                                "may be refusing connections (see resets)")
        elif created and c["connections"] * 5 < created * 4:
            problems.append(f"only {c['connections']} of {created} sessions connected: the target's "
                            "listen queue, SYN cookies or routing may be dropping handshakes")
        return problems
