"""Run inside the lab's online namespace: register a fake client with intercept, send a raw SYN
from it to the target, and print (as JSON) the response summaries intercept forwards."""

import json
import select
import socket
import sys
import time

from pyreplay.backends.channel_tcp import connect_channel
from pyreplay.backends.emit import RawIpEmitter
from pyreplay.channel.messages import Register, Responses
from pyreplay.packet.segment import SYN, Segment
from pyreplay.packet.tcpip import build_packet

intercept_host, client_ip, client_port, target_ip, target_port = sys.argv[1:6]
garbage_first = len(sys.argv) > 6 and sys.argv[6] == "garbage"
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
deadline = time.monotonic() + 3
while time.monotonic() < deadline and not summaries:
    select.select([conn], [], [], 0.2)
    for message in conn.receive():
        if isinstance(message, Responses):
            summaries += [{"src": socket.inet_ntoa(s.src), "dst": socket.inet_ntoa(s.dst), "sport": s.sport,
                           "dport": s.dport, "ack": s.ack, "flags": s.flags} for s in message.items]
print(json.dumps(summaries))
