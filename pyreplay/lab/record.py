"""Record a lab interface's traffic to a pcap file (raw IP link type), until SIGTERM/SIGINT.

``python -m pyreplay.lab.record --iface lab0 --filter 'tcp and dst port 80' --out FILE`` runs
inside a lab namespace; it prints ``recording`` once the socket is open (so the caller can
start traffic) and, when stopped, one JSON line with the packet count and kernel drops.
The capture sees what the interface received: GRO may merge segments into frames beyond the
MTU, exactly what a real capture on a busy host hands the replay.
"""

from __future__ import annotations

import argparse
import json
import select
import signal
import sys
import time

from pyreplay.backends.afpacket import AfPacketCapture
from pyreplay.packet.pcap import PcapWriter


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iface", required=True)
    p.add_argument("--filter", default=None)
    p.add_argument("--out", required=True)
    p.add_argument("--max-seconds", type=float, default=300.0)
    a = p.parse_args(argv)
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    count = drops = 0
    deadline = time.monotonic() + a.max_seconds
    with AfPacketCapture(a.iface, a.filter) as capture, open(a.out, "wb") as out:
        writer = PcapWriter(out)
        print("recording", flush=True)
        while not stopping and time.monotonic() < deadline:
            select.select([capture], [], [], 0.1)
            for packet in capture.drain():
                writer.write(time.time(), packet)
                count += 1
            drops += capture.kernel_drops()
        for packet in capture.drain():
            writer.write(time.time(), packet)
            count += 1
    print(json.dumps({"packets": count, "kernel_drops": drops}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
