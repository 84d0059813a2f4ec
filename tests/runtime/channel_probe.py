"""Run inside the lab's online namespace: register a fake client with intercept, send a raw SYN
from it to the target, and print (as JSON) the response summaries intercept forwards.

``partial`` (6th argument): then complete the handshake with an ACK carrying the first line of a
request (``PARTIAL``) and no more, so the target's ACK of it is the last packet it sends; each
summary says how long after that segment it arrived (``after``)."""

import json
import select
import socket
import sys
import time

from pyreplay.backends.channel_tcp import connect_channel
from pyreplay.backends.emit import RawIpEmitter
from pyreplay.channel.messages import Register, Responses
from pyreplay.packet.segment import ACK, PSH, SYN, Segment
from pyreplay.packet.tcpip import build_packet

intercept_host, client_ip, client_port, target_ip, target_port = sys.argv[1:6]
garbage_first = len(sys.argv) > 6 and sys.argv[6] == "garbage"
partial = len(sys.argv) > 6 and sys.argv[6] == "partial"
PARTIAL = b"GET /half HTTP/1.1\r\n"
client = socket.inet_aton(client_ip)
target = socket.inet_aton(target_ip)

if garbage_first:
    bad = socket.create_connection((intercept_host, 36524), timeout=5)
    bad.sendall(b"\x00\x00\x00\x0e" + b"\x00" * 14)  # a C tcpcopy's first 14 bytes, framed
conn = connect_channel(intercept_host, 36524, "copy", "probe")
conn.send_message(Register(client, int(client_port), target, int(target_port)))
conn.flush_blocking()
time.sleep(0.2)
syn = Segment(src=client, dst=target, sport=int(client_port), dport=int(target_port), seq=1000, ack=0,
              flags=SYN, window=65535)
emitter = RawIpEmitter()
emitter.send(build_packet(syn), 0.0)
summaries = []
sent_at = None


def collect(until, stop) -> None:
    while time.monotonic() < until and not stop():
        select.select([conn], [], [], 0.05)
        for message in conn.receive():
            if isinstance(message, Responses):
                now = time.monotonic()
                summaries.extend(
                    {"src": socket.inet_ntoa(s.src), "dst": socket.inet_ntoa(s.dst), "sport": s.sport,
                     "dport": s.dport, "seq": s.seq, "ack": s.ack, "flags": s.flags,
                     "payload_len": s.payload_len, "after": None if sent_at is None else now - sent_at}
                    for s in message.items)


collect(time.monotonic() + 3, lambda: bool(summaries))
if partial and summaries:
    syn_ack = summaries[0]
    sent_at = time.monotonic()
    emitter.send(build_packet(syn.replace(seq=1001, ack=(syn_ack["seq"] + 1) % 2**32, flags=ACK | PSH,
                                          payload=PARTIAL)), 0.0)
    acked = lambda: any(s["ack"] == 1001 + len(PARTIAL) for s in summaries)  # noqa: E731
    collect(sent_at + 3, acked)
print(json.dumps(summaries))
