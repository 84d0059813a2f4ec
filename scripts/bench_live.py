"""Live copy benchmark: offered HTTP load at increasing rates while ``pyreplay copy`` captures
live on the online host (XDP by default) and intercept runs on the assistant.

For each mode (keep-alive over C connections; one request per connection) and each offered
rate, in one lab: start intercept (assistant) and ``copy --METHOD lab0`` (online), run the lab
load generator in the client namespace for N requests at that rate, stop copy with SIGINT (it
finishes open sessions for up to 2 s and prints its summary) and intercept with SIGTERM, and
read each tool's rusage with ``os.wait4`` (``ip netns exec`` execs in place). Reports: achieved
online req/s, replay ratio (``requestlog.compare`` of online and target logs), CPU-s of copy and
of intercept per 10k requests, capture ring losses (copy's summary), peak RSS of each.

Run as root: ``.venv/bin/python scripts/bench_live.py --markdown docs/benchmarks.md`` appends or
replaces only its own section ("## Live copy"). Every wait is bounded; the lab is always removed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyreplay.lab.replay_lab import PY, TRANSFER, start_servers, with_prefix  # noqa: E402
from pyreplay.lab.requestlog import compare  # noqa: E402
from pyreplay.lab.services import ONLINE_PORT  # noqa: E402
from pyreplay.lab.topology import HOST_ADDRESSES, lab  # noqa: E402

SECTION = "## Live copy"


@dataclass
class Row:
    mode: str
    offered: float
    achieved: float
    requests: int
    errors: int
    ratio: float
    copy_cpu_10k: float
    intercept_cpu_10k: float
    ring_losses: str
    copy_rss_mb: float
    intercept_rss_mb: float


def _start(rl, role: str, argv: list[str], log: Path, ready: str, timeout: float = 20.0) -> subprocess.Popen:
    proc = rl.lab.spawn(role, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while ready not in (log.read_text() if log.exists() else ""):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{argv[3:6]} did not start: {log.read_text() if log.exists() else ''}")
        time.sleep(0.05)
    return proc


def _stop(proc: subprocess.Popen, sig: int, timeout: float = 30.0) -> tuple[str, float, float]:
    """Signal, read stdout to EOF, reap with wait4: (stdout, CPU-s, peak RSS MB)."""
    proc.send_signal(sig)
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read()
    return out, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def run_one(rl, method: str, mode: str, rate: float, requests: int, concurrency: int, tag: str,
            base: tuple[float, float] = (0.0, 0.0)) -> Row:
    work = rl.lab.workdir
    ilog, clog = work / f"i-{tag}.log", work / f"c-{tag}.log"
    intercept = _start(rl, "assistant", [PY, "-m", "pyreplay.cli", "intercept", "-i", "lab0", "-F",
                                         "tcp and src port 8080", "-l", str(ilog)], ilog, "capturing on")
    copy = _start(rl, "online", [PY, "-m", "pyreplay.cli", "copy", "-x", TRANSFER, "-s", HOST_ADDRESSES["assistant"],
                                 "-c", rl.lab.client_pool, f"--{method}", "lab0", "-l", str(clog)], clog, "capturing with")
    prefix = f"/{tag}"
    argv = [PY, "-m", "pyreplay.lab.load", "--host", HOST_ADDRESSES["online"], "--port", str(ONLINE_PORT),
            "--requests", str(requests), "--concurrency", str(concurrency), "--rate", str(rate),
            "--max-seconds", "60", "--path-prefix", prefix] + (["--close"] if mode == "short" else [])
    done = rl.lab.run("client", argv, timeout=90, check=False)
    load = json.loads(done.stdout.strip().splitlines()[-1])
    deadline = time.monotonic() + 10
    while len(with_prefix(rl.target.requests(), prefix)) < load["requests_ok"] and time.monotonic() < deadline:
        time.sleep(0.2)
    copy_out, copy_cpu, copy_rss = _stop(copy, signal.SIGINT)
    _, icpu, irss = _stop(intercept, signal.SIGTERM)
    c = compare(with_prefix(rl.online.requests(), prefix), with_prefix(rl.target.requests(), prefix))
    losses = re.search(r"losses: (.*)", copy_out)
    per10k = 10_000 / max(1, load["requests_ok"])
    return Row(mode, rate, load["requests_ok"] / max(load["seconds"], 1e-9), load["requests_ok"], load["errors"],
               c.ratio, max(0.0, copy_cpu - base[0]) * per10k, max(0.0, icpu - base[1]) * per10k,
               losses.group(1) if losses else "?", copy_rss, irss)


def markdown(rows: list[Row], method: str, requests: int, base: tuple[float, float]) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"{SECTION} (`copy --{method}` + `intercept`) — {now}", "",
             f"Generated by `scripts/bench_live.py` ({requests} requests per row, lab namespaces on this VM, "
             "load generator, servers, copy and intercept sharing its CPUs). CPU is user+sys of each tool "
             f"from `os.wait4`, per 10k requests, after subtracting the cost of an idle start and stop "
             f"(copy {base[0]:.2f} CPU-s, intercept {base[1]:.2f} CPU-s: imports, bcc compile, 2 s drain).", "",
             "| mode | offered req/s | achieved req/s | errors | replay ratio | copy CPU-s/10k | intercept CPU-s/10k | capture losses | copy RSS MB | intercept RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.mode} | {r.offered:.0f} | {r.achieved:.0f} | {r.errors} | {r.ratio * 100:.2f} % | "
                     f"{r.copy_cpu_10k:.2f} | {r.intercept_cpu_10k:.2f} | {r.ring_losses} | {r.copy_rss_mb:.0f} | "
                     f"{r.intercept_rss_mb:.0f} |")
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str) -> None:
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    start = old.find(SECTION)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + ("" if end < 0 else old[end:])
    path.write_text(new)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", choices=["xdp", "tc", "afpacket"], default="xdp")
    p.add_argument("--rates", default="250,500,1000,2000", help="offered req/s, comma separated")
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--modes", default="keepalive,short")
    p.add_argument("--markdown", type=Path)
    a = p.parse_args()
    rows = []
    with lab() as the_lab:
        rl = start_servers(the_lab)
        idle = run_one(rl, a.method, "keepalive", 0, 0, 1, "idle")  # start-up + stop cost, no load
        base = (idle.copy_cpu_10k / 10_000, idle.intercept_cpu_10k / 10_000)
        print(json.dumps({"startup_cpu_copy": base[0], "startup_cpu_intercept": base[1]}), flush=True)
        for mode in a.modes.split(","):
            for k, rate in enumerate(float(x) for x in a.rates.split(",")):
                row = run_one(rl, a.method, mode, rate, a.requests, a.concurrency, f"{mode}-{k}", base)
                rows.append(row)
                print(json.dumps(row.__dict__), flush=True)
    text = markdown(rows, a.method, a.requests, base)
    print(text)
    if a.markdown:
        write_section(a.markdown, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
