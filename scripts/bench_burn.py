"""burn benchmark: new sessions/s, requests/s, CPU and memory of ``pyreplay burn`` in the lab.

Writes a synthetic capture of ``--sessions`` short HTTP/1.1 sessions (SYN, handshake ACK, one
GET with a unique path, FIN; 10 ms apart), builds a lab (target HTTP server, AF_PACKET
intercept on the assistant) and runs, in the online namespace:

1. ``throughput``: ``burn -u USERS -i 1000000 -a 1000`` (start rate and think times unbounded):
   sessions/s and requests/s from burn's JSON report, CPU-seconds per 10k requests from
   ``os.wait4`` (``ip netns exec`` execs in place, so the pid is burn's own), and the target's
   request log count (every request must arrive);
2. ``concurrency``: ``burn -u 10000 --comet --duration D``: 10k connections open at once;
   peak RSS, minus the peak RSS of the same run with 100 users = RSS per 10k concurrent sessions;
3. ``engine``: the throughput run as a dry run (``--write /dev/null``: simulated target,
   virtual time, no network): the CPU cost of burn itself, without the target's limits.
CPU per 10k requests leaves out the fixed start-up (a ``-u 1`` dry run: interpreter, imports,
loading the capture), reported separately.

``--target-server nginx`` answers with nginx (one worker) instead of the lab's Python server,
which tops out near 4k requests/s on this VM: burn's own limit then shows.

Run as root from the repository: ``.venv/bin/python scripts/bench_burn.py [--markdown docs/benchmarks.md]``
(``--markdown`` appends a section). Every wait is bounded; the lab is always torn down.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyreplay.lab.nginx import start_nginx  # noqa: E402
from pyreplay.lab.requestlog import read_log  # noqa: E402
from pyreplay.lab.services import ONLINE_PORT, TARGET_PORT, start_http_server  # noqa: E402
from pyreplay.lab.topology import HOST_ADDRESSES, lab  # noqa: E402
from pyreplay.lab.usage import reap  # noqa: E402
from pyreplay.packet.pcap import PcapWriter  # noqa: E402
from pyreplay.packet.segment import ACK, FIN, PSH, SYN, Segment, TcpOptions  # noqa: E402
from pyreplay.packet.tcpip import build_packet  # noqa: E402

PY = sys.executable
TRANSFER = f"{ONLINE_PORT}-{HOST_ADDRESSES['target']}:{TARGET_PORT}"
C_ORIGINAL = "tcpburn (C): 19,960 short sessions in 1.39 s (~14k req/s) for 0.68 CPU-s"


@dataclass(frozen=True)
class Usage:
    cpu: float
    maxrss_mb: float
    wall: float
    returncode: int


def synthetic_capture(path: Path, sessions: int) -> None:
    client, online = socket.inet_aton("198.18.0.10"), socket.inet_aton(HOST_ADDRESSES["online"])
    with open(path, "wb") as fh:
        writer = PcapWriter(fh)
        for i in range(sessions):
            t = 1_700_000_000 + i * 0.01
            port, seq, sack = 10_000 + i % 50_000, 1_000_000 + i * 7919, 5_000_000

            def pkt(flags, payload=b"", options=TcpOptions()):
                return build_packet(Segment(client, online, port, ONLINE_PORT, seq, sack if flags & ACK else 0,
                                            flags, 64240, options, payload))

            request = f"GET /bench/{i} HTTP/1.1\r\nHost: {HOST_ADDRESSES['online']}\r\n\r\n".encode()
            writer.write(t, pkt(SYN, options=TcpOptions(mss=1460)))
            seq += 1
            sack += 1
            writer.write(t + 0.0002, pkt(ACK))
            writer.write(t + 0.0003, pkt(ACK | PSH, request))
            seq += len(request)
            sack += 100
            writer.write(t + 0.002, pkt(FIN | ACK))


def run_burn(the_lab, args: list[str], timeout: float) -> tuple[Usage, str]:
    argv = [PY, "-m", "pyreplay.cli", "burn", "-x", TRANSFER, "-s", HOST_ADDRESSES["assistant"],
            "-c", the_lab.client_pool, *args]
    started = time.monotonic()
    proc = the_lab.spawn("online", argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    reaped = reap(proc, timeout)
    out = proc.stdout.read()
    proc.stdout.close()
    return Usage(reaped.cpu, reaped.maxrss_mb, time.monotonic() - started, reaped.returncode), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=5000)
    ap.add_argument("--users", type=int, default=20000)
    ap.add_argument("--concurrent", type=int, default=10000)
    ap.add_argument("--hold", type=float, default=8.0, help="seconds the comet run holds its connections")
    ap.add_argument("--target-server", choices=("python", "nginx"), default="python",
                    help="the target: the lab's Python server (default) or nginx")
    ap.add_argument("--markdown", type=Path, help="append the results as a section to this file")
    opts = ap.parse_args()
    results: dict[str, dict] = {}
    with lab() as the_lab:
        pcap = the_lab.workdir / "bench.pcap"
        synthetic_capture(pcap, opts.sessions)
        if opts.target_server == "nginx":
            # keep-alive on: the --comet run holds its connections open (the captured clients close)
            nginx = start_nginx(the_lab, "target", TARGET_PORT, keepalive=True)
            target_requests = lambda: len(nginx.requests())  # noqa: E731
        else:
            target = start_http_server(the_lab, "target", TARGET_PORT)
            target_requests = lambda: len(read_log(target.log_path))  # noqa: E731
        log = the_lab.workdir / "intercept.log"
        intercept = the_lab.spawn("assistant", [PY, "-m", "pyreplay.cli", "intercept", "-i", "lab0", "-F",
                                                f"tcp and src port {TARGET_PORT}", "-l", str(log)])
        deadline = time.monotonic() + 15
        while "capturing on" not in (log.read_text() if log.exists() else ""):
            if intercept.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"intercept did not start: {log.read_text() if log.exists() else ''}")
            time.sleep(0.05)
        method = re.search(r"capturing on \S+ \(([^)]*)\)", log.read_text())
        opts.intercept_method = method.group(1) if method else "?"

        def one(name: str, args: list[str], timeout: float = 300) -> dict:
            report = the_lab.workdir / f"{name}.json"
            usage, out = run_burn(the_lab, ["-f", str(pcap), "--report", str(report), *args], timeout)
            doc = json.loads(report.read_text()) if report.exists() else {}
            print(f"{name}: rc {usage.returncode} cpu {usage.cpu:.2f}s rss {usage.maxrss_mb:.0f}MB "
                  f"wall {usage.wall:.2f}s\n{out}", flush=True)
            return {"usage": usage, "report": doc}

        before = target_requests()
        results["throughput"] = one("throughput", ["-u", str(opts.users), "-i", "1000000", "-a", "1000"])
        time.sleep(1.0)
        results["throughput"]["target_requests"] = target_requests() - before
        time.sleep(2.0)
        results["small"] = one("small", ["-u", "100", "--comet", "--duration", str(opts.hold), "-i", "1000000"])
        results["concurrency"] = one("concurrency", ["-u", str(opts.concurrent), "--comet", "--duration",
                                                     str(opts.hold), "-i", "1000000", "-a", "1000"])
        results["engine"] = one("engine", ["-u", str(opts.users), "-i", "1000000", "-a", "1000",
                                           "--write", "/dev/null"])
        results["startup"] = one("startup", ["-u", "1", "--write", "/dev/null"])
        intercept.terminate()
        intercept.wait(10)
    text = render(results, opts)
    print(text)
    if opts.markdown:
        with open(opts.markdown, "a", encoding="utf-8") as fh:
            fh.write("\n" + text)
    return 0


def render(results: dict, opts) -> str:
    t, c, s, e = (results[k] for k in ("throughput", "concurrency", "small", "engine"))
    fixed = results["startup"]["usage"].cpu  # interpreter start, imports, loading the capture
    tr, cr = t["report"], c["report"]
    elapsed = tr.get("elapsed_s") or float("nan")
    finished = tr.get("users", {}).get("finished", 0)
    requests = tr.get("requests", 0)
    cpu10k = (t["usage"].cpu - fixed) / requests * 10_000 if requests else float("nan")
    engine_req = e["report"].get("requests", 0)
    engine_cpu10k = (e["usage"].cpu - fixed) / engine_req * 10_000 if engine_req else float("nan")
    open_conns = cr.get("outcomes", {}).get("open_at_end", 0)
    rss_per_10k = ((c["usage"].maxrss_mb - s["usage"].maxrss_mb) / open_conns * 10_000) if open_conns else None
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    target_flag = "" if opts.target_server == "python" else f" --target-server {opts.target_server}"
    target_name = "Python h11" if opts.target_server == "python" else "nginx (one worker)"
    return "\n".join([
        f"## burn (TCPBurn){'' if opts.target_server == 'python' else ', nginx target'} — {now}",
        "",
        f"`sudo .venv/bin/python scripts/bench_burn.py{target_flag} --markdown docs/benchmarks.md` "
        f"({opts.users:,} users over a {opts.sessions:,}-session synthetic capture of short HTTP GETs; "
        f"lab: {target_name} target server, {opts.intercept_method} intercept on the assistant; {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()})",
        "",
        "| measure | value |",
        "|---|---|",
        f"| sessions replayed (outcomes) | {finished:,} in {elapsed:.2f} s ({json.dumps(tr.get('outcomes', {}))}) |",
        f"| sustained new sessions/s | {finished / elapsed:,.0f} |",
        f"| requests/s (sent; answered {tr.get('responses', 0):,}; target log {t.get('target_requests', 0):,}) "
        f"| {requests / elapsed:,.0f} |",
        f"| CPU-s per 10k requests (burn process, user+sys, without the fixed start-up) | {cpu10k:.2f} "
        f"(total {t['usage'].cpu:.2f} CPU-s incl. {fixed:.2f} CPU-s start-up and loading; wall {t['usage'].wall:.2f} s) |",
        f"| request latency p50/p90/p99 ms | {tr.get('latency_ms', {}).get('p50')}/"
        f"{tr.get('latency_ms', {}).get('p90')}/{tr.get('latency_ms', {}).get('p99')} |",
        f"| peak RSS, {open_conns:,} connections open at once (--comet) | {c['usage'].maxrss_mb:.0f} MB "
        f"(100 users: {s['usage'].maxrss_mb:.0f} MB) → "
        + (f"{rss_per_10k:.0f} MB per 10k concurrent sessions |" if rss_per_10k is not None
           else "no connection stayed open: not measured |"),
        f"| engine only (dry run, simulated target, virtual time) | {engine_cpu10k:.2f} CPU-s per 10k requests "
        f"({engine_req:,} requests, {e['usage'].cpu:.2f} CPU-s) |",
        "",
        f"Reference: {C_ORIGINAL}, i.e. 0.34 CPU-s per 10k requests.",
        "",
    ])


if __name__ == "__main__":
    sys.exit(main())
