"""Synthetic captured HTTP-like client sessions for burn's unit tests: (timestamp, IP packet)
records as a capture file would give them, including the server's packets (burn must ignore
them) and a pure ACK per response."""

from __future__ import annotations

import io
import socket

from pyreplay.packet.pcap import PcapWriter
from pyreplay.packet.segment import ACK, FIN, PSH, RST, SYN, Segment, TcpOptions
from pyreplay.packet.tcpip import build_packet

ONLINE = socket.inet_aton("10.0.0.20")
CLIENT = socket.inet_aton("10.0.0.10")


def session(port: int, requests: list[bytes], *, t0: float = 0.0, think: float = 0.1, isn: int = 1000,
            syn: bool = True, close: str = "fin", online_port: int = 80, server_isn: int = 5000,
            response: int = 50) -> list[tuple[float, bytes]]:
    """One client connection: SYN, handshake ACK, requests ``think`` s apart, then FIN/RST/none."""
    out = []
    t = t0
    seq, sack = isn, server_isn

    def client(flags, payload=b"", options=TcpOptions()):
        return build_packet(Segment(CLIENT, ONLINE, port, online_port, seq, sack if flags & ACK else 0, flags,
                                    64000, options, payload))

    def server(flags, length=0):
        return build_packet(Segment(ONLINE, CLIENT, online_port, port, sack, seq, flags, 64000,
                                    payload=b"r" * length))

    if syn:
        out.append((t, client(SYN, options=TcpOptions(mss=1460))))
        seq += 1
        out.append((t + 0.001, server(SYN | ACK)))
        sack += 1
        out.append((t + 0.002, client(ACK)))
        t += 0.003
    else:
        seq += 1
        sack += 1
    for request in requests:
        out.append((t, client(ACK | PSH, request)))
        seq += len(request)
        out.append((t + 0.002, server(ACK | PSH, response)))
        sack += response
        out.append((t + 0.003, client(ACK)))
        t += think
    if close == "fin":
        out.append((t, client(FIN | ACK)))
    elif close == "rst":
        out.append((t, client(RST | ACK)))
    return out


def client_packet(port: int, seq: int, ack: int, payload: bytes = b"", *, flags: int = ACK | PSH,
                  online_port: int = 80) -> bytes:
    """One captured client packet of a ``session(port, ...)`` (e.g. a retransmission or a stray one)."""
    return build_packet(Segment(CLIENT, ONLINE, port, online_port, seq, ack, flags, 64000, TcpOptions(), payload))


def merged(*sessions: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    return sorted((r for s in sessions for r in s), key=lambda r: r[0])


def pcap_bytes(records: list[tuple[float, bytes]]) -> bytes:
    buf = io.BytesIO()
    writer = PcapWriter(buf)
    for t, packet in records:
        writer.write(1_700_000_000 + t, packet)
    return buf.getvalue()
