"""Split an oversized segment (GSO/GRO super-frame, jumbo capture) into MTU-sized segments.

``split_to_mtu`` cuts the payload so each IPv4 packet ``build_packet`` makes (20-byte IP header,
TCP header with the segment's options, payload piece) fits ``mtu``, the way TSO would: every
piece keeps the options; sequence numbers advance by the bytes before it (plus one after a SYN),
modulo 2**32; SYN and CWR stay on the first piece, FIN and PSH on the last; the IP id increases
by one per piece. A segment that already fits is returned unchanged as ``[seg]``.
"""

from __future__ import annotations

from pyreplay.packet.segment import CWR, FIN, PSH, SYN, Segment
from pyreplay.packet.seqnum import seq_add
from pyreplay.packet.tcpip import IPV4_HEADER_LENGTH, TCP_HEADER_LENGTH, wire_options

_FIRST_ONLY = SYN | CWR
_LAST_ONLY = FIN | PSH


def split_to_mtu(seg: Segment, mtu: int) -> list[Segment]:
    """``seg`` as one or more segments whose IPv4 packets are at most ``mtu`` bytes.

    Raises ``ValueError`` when the headers alone leave no room for payload in ``mtu``.
    """
    headers = IPV4_HEADER_LENGTH + TCP_HEADER_LENGTH + len(wire_options(seg.options))
    payload = seg.payload
    if headers + len(payload) <= mtu:
        return [seg]
    room = mtu - headers
    if room <= 0:
        raise ValueError(f"MTU {mtu} leaves no room for payload after {headers} header bytes")
    first_payload_seq = seq_add(seg.seq, 1) if seg.flags & SYN else seg.seq
    last_start = (len(payload) - 1) // room * room
    pieces = []
    for index, start in enumerate(range(0, len(payload), room)):
        flags = seg.flags
        if start:
            flags &= ~_FIRST_ONLY
        if start != last_start:
            flags &= ~_LAST_ONLY
        pieces.append(
            Segment(
                src=seg.src,
                dst=seg.dst,
                sport=seg.sport,
                dport=seg.dport,
                seq=seq_add(first_payload_seq, start) if start else seg.seq,
                ack=seg.ack,
                flags=flags,
                window=seg.window,
                options=seg.options,
                payload=payload[start : start + room],
                ip_id=(seg.ip_id + index) & 0xFFFF,
                ttl=seg.ttl,
            )
        )
    return pieces
