"""The session index of ``pyreplay burn``: captured client sessions, loaded once, shared by users.

Contract: ``SessionIndex.build(records, transfers, ...)`` takes ``(timestamp, ip_packet)`` pairs
(all files, in order) and keeps only client packets to a ``-x`` online address:port. Sessions
are keyed by the captured (client addr, port, online addr, port); a SYN with a new ISN on a key
starts a new session (port reuse), a repeated SYN is a retransmission and dropped. Per session
it stores each useful client segment once (SYN, the handshake ACK, payload segments, FIN, RST;
other pure ACKs carry nothing the session engine replays) with its capture offset from the
session's first packet, so memory is proportional to the captured payload, never to the number
of users. ``--comet`` drops client RSTs and FIN flags at load. Sessions without a captured SYN
are kept (the engine fakes the handshake) or skipped by policy, counted either way; sessions
with no payload at all are skipped. Sessions keep capture order. Odd packets are counted in
``skipped``, never raised. Pure: no file or clock access (the caller reads the files).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pyreplay.config import Transfer
from pyreplay.packet.errors import PacketError
from pyreplay.packet.segment import ACK, FIN, RST, SYN, Segment
from pyreplay.packet.tcpip import parse_packet
from pyreplay.rewrite import TransferMap

Endpoint = tuple[bytes, int]
Key = tuple[bytes, int, bytes, int]


@dataclass(frozen=True, slots=True)
class CapturedSession:
    """One captured client connection: its segments (as captured) and their capture offsets."""

    key: Key
    target: Endpoint
    segments: tuple[Segment, ...]
    offsets: tuple[float, ...]  # seconds since the session's first stored packet, ascending
    has_syn: bool
    payload_bytes: int
    requests: int  # payload runs with a new client ACK: the requests the engine will pace
    has_fin: bool  # the capture closes the connection (client FIN or RST kept)
    start: float = 0.0  # capture timestamp of its first stored packet (burn -T chains on it)


@dataclass
class _Building:
    key: Key
    target: Endpoint
    start: float
    isn: int | None
    segments: list[Segment] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)
    handshake_ack_seen: bool = False
    last_ack: int | None = None
    requests: int = 0
    payload_bytes: int = 0


class SessionIndex:
    """All sessions of all files, in capture order; see the module docstring."""

    def __init__(self, sessions: list[CapturedSession], skipped: Counter, packets: int) -> None:
        self.sessions = sessions
        self.skipped = skipped  # reason -> packets or sessions not replayed
        self.packets = packets  # packets read

    def __len__(self) -> int:
        return len(self.sessions)

    def __getitem__(self, i: int) -> CapturedSession:
        return self.sessions[i]

    @property
    def without_syn(self) -> int:
        return sum(1 for s in self.sessions if not s.has_syn)

    @property
    def payload_bytes(self) -> int:
        return sum(s.payload_bytes for s in self.sessions)

    @classmethod
    def build(
        cls,
        records: Iterable[tuple[float, bytes]],
        transfers: Iterable[Transfer],
        *,
        comet: bool = False,
        skip_without_syn: bool = False,
        keep: Callable[[bytes], bool] | None = None,
    ) -> SessionIndex:
        tmap = TransferMap(tuple(transfers))
        skipped: Counter = Counter()
        open_: dict[Key, _Building] = {}
        done: list[_Building] = []
        packets = 0
        for timestamp, packet in records:
            packets += 1
            if keep is not None and not keep(packet):
                skipped["packets: not matching --filter"] += 1
                continue
            try:
                seg = parse_packet(packet)
            except PacketError as exc:
                skipped[f"packets: unparsable ({str(exc).split(':')[0]})"] += 1
                continue
            transfer = tmap.match(seg.dst, seg.dport)
            if transfer is None:
                skipped["packets: not to a -x address:port"] += 1
                continue
            key = (seg.src, seg.sport, seg.dst, seg.dport)
            building = open_.get(key)
            if seg.flags & SYN:
                if building is not None and building.isn == seg.seq:
                    skipped["packets: SYN retransmission"] += 1
                    continue
                if building is not None:
                    done.append(open_.pop(key))
                building = open_[key] = _Building(key, (transfer.target_addr, transfer.target_port),
                                                  timestamp, seg.seq)
                _store(building, _synonly(seg), timestamp)
                continue
            if building is None:
                if not seg.payload:
                    skipped["packets: no session (no SYN or payload seen yet)"] += 1
                    continue
                building = open_[key] = _Building(key, (transfer.target_addr, transfer.target_port),
                                                  timestamp, None)
            _add(building, seg, timestamp, comet, skipped)
        done.extend(open_.values())
        done.sort(key=lambda b: b.start)
        sessions = []
        for b in done:
            if not b.payload_bytes:
                skipped["sessions: no payload (nothing to replay)"] += 1
                continue
            if b.isn is None:
                if skip_without_syn:
                    skipped["sessions: no SYN captured (skipped by --no-syn skip)"] += 1
                    continue
            sessions.append(CapturedSession(b.key, b.target, tuple(b.segments), tuple(b.offsets),
                                            b.isn is not None, b.payload_bytes, b.requests,
                                            any(s.flags & (FIN | RST) for s in b.segments), b.start))
        faked = sum(1 for s in sessions if not s.has_syn)
        if faked:
            skipped["sessions: no SYN captured (handshake faked)"] = faked
        return cls(sessions, +skipped, packets)


def _synonly(seg: Segment) -> Segment:
    return seg.replace(flags=seg.flags & ~(FIN | RST), payload=b"")


def _store(b: _Building, seg: Segment, timestamp: float) -> None:
    b.segments.append(seg)
    b.offsets.append(max(0.0, timestamp - b.start))


def _add(b: _Building, seg: Segment, timestamp: float, comet: bool, skipped: Counter) -> None:
    flags = seg.flags
    if comet and flags & (FIN | RST):
        if flags & RST or not seg.payload:
            skipped["packets: client FIN/RST not replayed (--comet)"] += 1
            return
        seg = seg.replace(flags=flags & ~FIN)
        flags = seg.flags
    if seg.payload:
        ack = seg.ack if flags & ACK else None
        if b.last_ack is None or ack != b.last_ack or not b.requests:
            b.requests += 1
        b.last_ack = ack
        b.payload_bytes += len(seg.payload)
    elif not flags & (FIN | RST):
        if b.isn is None or b.handshake_ack_seen or b.payload_bytes:
            skipped["packets: pure ACK (not needed to replay)"] += 1
            return
        b.handshake_ack_seen = True
    _store(b, seg, timestamp)
