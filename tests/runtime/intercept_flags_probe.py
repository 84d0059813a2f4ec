"""Run as root in a fresh network namespace (``unshare -n``) with only ``lo``: start intercept
with the flags given on the command line (AF_PACKET on lo, channel port 36999), register a
client with it, send the target's SYN-ACK to ``SEEN:40001`` from 127.0.0.1:8080 with a raw
socket, and print as JSON the summaries intercept forwards, intercept's stderr and its log.
Everything it starts ends with it; the namespace goes when the process does.

usage: intercept_flags_probe.py LOG REGISTERED SEEN [intercept flags...]
"""

import json
import os
import select
import socket
import subprocess
import sys
import time

from pyreplay.backends.channel_tcp import connect_channel
from pyreplay.backends.emit import RawIpEmitter
from pyreplay.channel.messages import Register, Responses
from pyreplay.packet.segment import ACK, SYN, Segment, TcpOptions
from pyreplay.packet.tcpip import build_packet

PORT = 36999
log, registered, seen, *flags = sys.argv[1:]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
intercept = subprocess.Popen([sys.executable, "-m", "pyreplay.cli", "intercept", "--afpacket", "lo",
                              "-F", "tcp and src port 8080", "-p", str(PORT), "-l", log, *flags],
                             stderr=subprocess.PIPE, text=True)
summaries: list[dict] = []
try:
    deadline = time.monotonic() + 20
    while "capturing on" not in (open(log).read() if os.path.exists(log) else ""):
        if intercept.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"intercept did not start: {intercept.stderr.read() if intercept.poll() is not None else ''}")
        time.sleep(0.05)
    conn = connect_channel("127.0.0.1", PORT, "copy", "probe")
    conn.send_message(Register(socket.inet_aton(registered), 40001, socket.inet_aton("127.0.0.1"), 8080))
    conn.flush_blocking()
    time.sleep(0.2)
    syn_ack = Segment(socket.inet_aton("127.0.0.1"), socket.inet_aton(seen), 8080, 40001, 5000, 1001, SYN | ACK,
                      65535, TcpOptions(mss=1460))
    emitter = RawIpEmitter()
    emitter.send(build_packet(syn_ack), 0.0)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not summaries:
        select.select([conn], [], [], 0.2)
        for message in conn.receive():
            if isinstance(message, Responses):
                summaries += [{"dst": socket.inet_ntoa(s.dst), "dport": s.dport, "flags": s.flags, "ack": s.ack}
                              for s in message.items]
    conn.close()
    emitter.close()
finally:
    intercept.terminate()
    _, stderr = intercept.communicate(timeout=10)
print(json.dumps({"summaries": summaries, "stderr": stderr, "log": open(log).read()}))
