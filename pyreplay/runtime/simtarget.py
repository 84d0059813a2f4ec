"""A stand-in target for dry runs (``copy --write out.pcap``): answers what copy sends as a
well-behaved server would, so the recorded pcap shows the whole replay, not just SYNs.

Per connection it completes the handshake (MSS 1460, no window scaling or timestamps), ACKs
every in-order byte (a duplicate ACK otherwise), answers each segment carrying PSH with a
``response_bytes`` response, and answers FIN with FIN. Pure: segments in, summaries out.
"""

from __future__ import annotations

from pyreplay.packet.segment import ACK, FIN, PSH, RST, SYN, ResponseSummary, Segment, TcpOptions
from pyreplay.packet.seqnum import seq_add

_SYNACK_OPTIONS = TcpOptions(mss=1460)


class SimulatedTarget:
    def __init__(self, response_bytes: int = 100, isn: int = 1_000_000) -> None:
        self.response_bytes = response_bytes
        self.isn = isn
        self._connections: dict[tuple, list[int]] = {}  # key -> [rcv_nxt, snd_nxt]

    def receive(self, seg: Segment) -> list[ResponseSummary]:
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        if seg.flags & RST:
            self._connections.pop(key, None)
            return []
        if seg.flags & SYN:
            self._connections[key] = [seq_add(seg.seq, 1), seq_add(self.isn, 1)]
            return [self._reply(seg, self.isn, seq_add(seg.seq, 1), SYN | ACK, 0, _SYNACK_OPTIONS)]
        state = self._connections.get(key)
        if state is None:
            return []
        rcv_nxt, snd_nxt = state
        if seg.seq == rcv_nxt:
            rcv_nxt = seq_add(rcv_nxt, len(seg.payload) + (1 if seg.flags & FIN else 0))
        out = []
        if seg.flags & FIN:
            out.append(self._reply(seg, snd_nxt, rcv_nxt, FIN | ACK, 0))
            snd_nxt = seq_add(snd_nxt, 1)
        elif seg.payload and seg.flags & PSH:
            out.append(self._reply(seg, snd_nxt, rcv_nxt, ACK | PSH, self.response_bytes))
            snd_nxt = seq_add(snd_nxt, self.response_bytes)
        elif seg.payload:
            out.append(self._reply(seg, snd_nxt, rcv_nxt, ACK, 0))
        state[0], state[1] = rcv_nxt, snd_nxt
        return out

    @staticmethod
    def _reply(seg: Segment, seq: int, ack: int, flags: int, length: int,
               options: TcpOptions | None = None) -> ResponseSummary:
        return ResponseSummary(seg.dst, seg.src, seg.dport, seg.sport, seq, ack, flags, 65535, length,
                               options or TcpOptions())
