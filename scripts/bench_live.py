"""Live copy benchmark: offered HTTP load at increasing rates while ``pyreplay copy`` captures
live on the online host (XDP by default) and intercept runs on the assistant.

For each mode (keep-alive over C connections; one request per connection) and each offered
rate, in one lab: start intercept (assistant) and ``copy --METHOD lab0`` (online), run the lab
load generator in the client namespace for N requests at that rate, stop copy with SIGINT (it
finishes open sessions for up to 2 s and prints its summary) and intercept with SIGTERM, and
read each tool's rusage with ``os.wait4`` (``ip netns exec`` execs in place). Reports: achieved
online req/s, replay ratio (``requestlog.compare`` of online and target logs), CPU-s of copy and
of intercept per 10k requests, capture ring losses (copy's summary), peak RSS of each.
``--wrk-seconds N`` adds one row per mode driven by wrk (Debian's, installed by setup.sh) for N
seconds as fast as the online server answers: the Python generator tops out near 1k short
connections/s, wrk offers what the lab's online server can take.

Run as root: ``.venv/bin/python scripts/bench_live.py --markdown docs/benchmarks.md`` appends or
replaces only its own section ("## Live copy"). Every wait is bounded; the lab is always removed.
"""

from __future__ import annotations

import argparse
import datetime
import json
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
from pyreplay.lab.usage import reap  # noqa: E402

SECTION = "## Live copy"


@dataclass
class Row:
    mode: str
    offered: float
    achieved: float
    requests: int
    errors: int
    ratio: float  # requests in identical per-connection sequences (requestlog.compare)
    target_requests: int
    lag_s: float  # how long after the load ended the target still received requests
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
    reaped = reap(proc, timeout)
    out = proc.stdout.read()
    return out, reaped.cpu, reaped.maxrss_mb


def _wrk(rl, mode: str, connections: int, seconds: float, prefix: str) -> dict:
    """As fast as the online server answers, for ``seconds``; one request per connection in
    "short" mode. The count is the online server's log (wrk's own count includes requests cut
    off at the end of its run); errors are wrk's socket errors and non-2xx answers."""
    argv = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "5s"]
    if mode == "short":
        argv += ["-H", "Connection: close"]
    argv.append(f"http://{HOST_ADDRESSES['online']}:{ONLINE_PORT}{prefix}/r")
    done = rl.lab.run("client", argv, timeout=seconds + 30, check=False)
    out = done.stdout
    if done.returncode != 0 or "requests in" not in out:
        raise RuntimeError(f"wrk failed ({done.returncode}): {out} {done.stderr}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    seconds_run = float(re.search(r"requests in ([\d.]+)s", out).group(1))
    time.sleep(0.5)  # the server logs a request after answering it
    answered = len(with_prefix(rl.online.requests(), prefix))
    return {"requests_ok": answered, "errors": errors, "seconds": seconds_run}


def run_one(rl, method: str, mode: str, rate: float, requests: int, concurrency: int, tag: str,
            base: tuple[float, float] = (0.0, 0.0), wrk_seconds: float = 0.0) -> Row:
    work = rl.lab.workdir
    ilog, clog = work / f"i-{tag}.log", work / f"c-{tag}.log"
    intercept = _start(rl, "assistant", [PY, "-m", "pyreplay.cli", "intercept", "-i", "lab0", "-F",
                                         "tcp and src port 8080", "-l", str(ilog)], ilog, "capturing on")
    copy = _start(rl, "online", [PY, "-m", "pyreplay.cli", "copy", "-x", TRANSFER, "-s", HOST_ADDRESSES["assistant"],
                                 "-c", rl.lab.client_pool, f"--{method}", "lab0", "-l", str(clog)], clog, "capturing with")
    prefix = f"/{tag}"
    if wrk_seconds:
        load = _wrk(rl, mode, concurrency, wrk_seconds, prefix)
    else:
        argv = [PY, "-m", "pyreplay.lab.load", "--host", HOST_ADDRESSES["online"], "--port", str(ONLINE_PORT),
                "--requests", str(requests), "--concurrency", str(concurrency), "--rate", str(rate),
                "--max-seconds", "60", "--path-prefix", prefix] + (["--close"] if mode == "short" else [])
        done = rl.lab.run("client", argv, timeout=90, check=False)
        load = json.loads(done.stdout.strip().splitlines()[-1])
    # copy may lag behind the load (CPU-bound): wait while the target still gains requests
    load_end = last_progress = time.monotonic()
    seen = len(with_prefix(rl.target.requests(), prefix))
    while seen < load["requests_ok"] and time.monotonic() - last_progress < 5 and time.monotonic() - load_end < 120:
        time.sleep(0.2)
        now_seen = len(with_prefix(rl.target.requests(), prefix))
        if now_seen > seen:
            seen, last_progress = now_seen, time.monotonic()
    lag = max(0.0, last_progress - load_end) if seen else 0.0
    copy_out, copy_cpu, copy_rss = _stop(copy, signal.SIGINT)
    _, icpu, irss = _stop(intercept, signal.SIGTERM)
    c = compare(with_prefix(rl.online.requests(), prefix), with_prefix(rl.target.requests(), prefix))
    losses = re.search(r"losses: (.*)", copy_out)
    per10k = 10_000 / max(1, load["requests_ok"])
    return Row(mode, rate, load["requests_ok"] / max(load["seconds"], 1e-9), load["requests_ok"], load["errors"],
               c.ratio, c.target_requests, lag, max(0.0, copy_cpu - base[0]) * per10k,
               max(0.0, icpu - base[1]) * per10k, losses.group(1) if losses else "?", copy_rss, irss)


def markdown(rows: list[Row], method: str, requests: int, base: tuple[float, float]) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"{SECTION} (`copy --{method}` + `intercept`) — {now}", "",
             f"Generated by `scripts/bench_live.py` ({requests} requests per row, lab namespaces on this VM, "
             "load generator, servers, copy and intercept sharing its CPUs). CPU is user+sys of each tool "
             f"from `os.wait4`, per 10k requests, after subtracting the cost of an idle start and stop "
             f"(copy {base[0]:.2f} CPU-s, intercept {base[1]:.2f} CPU-s: imports, bcc compile, 2 s drain).", "",
             "| mode | offered req/s | achieved req/s | errors | replay ratio | target got | copy lag s | copy CPU-s/10k | intercept CPU-s/10k | capture losses | copy RSS MB | intercept RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        offered = "max (wrk)" if r.offered == 0 and r.requests else f"{r.offered:.0f}"
        lines.append(f"| {r.mode} | {offered} | {r.achieved:.0f} | {r.errors} | {r.ratio * 100:.2f} % | "
                     f"{r.target_requests}/{r.requests} | {r.lag_s:.1f} | "
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
    p.add_argument("--wrk-seconds", type=float, default=0.0,
                   help="also run each mode once with wrk as fast as the online server answers, for N s")
    p.add_argument("--wrk-connections", type=int, default=32)
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
            if a.wrk_seconds:
                row = run_one(rl, a.method, mode, 0, 0, a.wrk_connections, f"{mode}-wrk", base, a.wrk_seconds)
                rows.append(row)
                print(json.dumps(row.__dict__), flush=True)
    text = markdown(rows, a.method, a.requests, base)
    print(text)
    if a.markdown:
        write_section(a.markdown, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
