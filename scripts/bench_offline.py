"""Offline replay benchmark: CPU, memory and fidelity of ``copy -i`` and ``intercept``.

Builds a lab, runs the lab HTTP servers (online :80, target :8080), records two pcaps on the
online host while the lab's load generator runs in the client namespace:

- ``short``: N requests, one per connection (``--close``);
- ``keepalive``: N requests over C keep-alive connections;

then, for each pcap and each run, starts intercept in the assistant namespace and
``pyreplay copy -i PCAP -a ACCEL`` in the online namespace, waits for copy to exit, stops
intercept with SIGTERM, and reads each tool's rusage with ``os.wait4`` (``ip netns exec`` execs
in place, so the pid is the tool's own). It reports CPU-seconds (user+sys), peak RSS, wall time,
requests replayed per second and the replay ratio (``requestlog.compare`` of the online and
target logs), the median of ``--runs`` runs, against the budget (5x the C originals: 0.6 CPU-s
copy and 0.35 CPU-s intercept per 5,000 short sessions). ``--markdown FILE`` writes the report.

Run as root from the repository: ``.venv/bin/python scripts/bench_offline.py --markdown docs/benchmarks.md``.
Every wait is bounded; the lab is always torn down.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyreplay.lab.load import LoadPlan  # noqa: E402
from pyreplay.lab.requestlog import compare, read_log  # noqa: E402
from pyreplay.lab.services import ONLINE_PORT, TARGET_PORT, run_load, start_http_server  # noqa: E402
from pyreplay.lab.topology import HOST_ADDRESSES, Lab, lab  # noqa: E402
from pyreplay.lab.usage import perf_record_argv, reap  # noqa: E402
from pyreplay.packet.pcap import PcapWriter  # noqa: E402

PY = sys.executable
TRANSFER = f"{ONLINE_PORT}-{HOST_ADDRESSES['target']}:{TARGET_PORT}"
C_COPY_CPU_PER_5K = 0.12  # offline tcpcopy, 5,001 short sessions, -a 10
C_INTERCEPT_CPU_PER_5K = 0.07
BUDGET_FACTOR = 5
GENERATED_END = "<!-- end of the section bench_offline.py writes; notes below are kept -->"


@dataclass(frozen=True)
class Usage:
    cpu: float  # user + sys seconds
    sys: float
    maxrss_mb: float
    wall: float


@dataclass(frozen=True)
class RunResult:
    copy: Usage
    intercept: Usage
    online_requests: int
    target_requests: int
    missing: int
    unexpected: int
    copy_output: str

    @property
    def ratio(self) -> float:
        return 1.0 if not self.online_requests else (self.online_requests - self.missing) / self.online_requests


PROFILE_DIR: Path | None = None
PERF_DIR: Path | None = None  # --perf DIR: perf record with DWARF call stacks (sees compiled code)
INTERCEPT_AFPACKET = False  # --intercept-afpacket: force AF_PACKET instead of intercept's own choice


def tool(profile: Path) -> list[str]:
    """The argv prefix that runs pyreplay, under cProfile (``--profile DIR``) or perf (``--perf DIR``)."""
    if PERF_DIR is not None:
        return [*perf_record_argv(PERF_DIR / profile.with_suffix(".perf").name), PY, "-m", "pyreplay.cli"]
    if PROFILE_DIR is None:
        return [PY, "-m", "pyreplay.cli"]
    return [PY, "-m", "cProfile", "-o", str(PROFILE_DIR / profile.name), "-m", "pyreplay.cli"]


def wait_usage(proc: subprocess.Popen, started: float, timeout: float) -> Usage:
    """Reap ``proc`` with its rusage, killing it if it outlives ``timeout``."""
    reaped = reap(proc, timeout)
    return Usage(reaped.cpu, reaped.sys, reaped.maxrss_mb, time.monotonic() - started)


def record(the_lab: Lab, name: str, plan: LoadPlan) -> Path:
    pcap = the_lab.workdir / f"{name}.pcap"
    rec = the_lab.spawn("online", [PY, "-m", "pyreplay.lab.record", "--iface", "lab0", "--filter",
                                   f"tcp and dst port {ONLINE_PORT}", "--out", str(pcap), "--max-seconds", "120"],
                        stdout=subprocess.PIPE, text=True)
    if rec.stdout.readline().strip() != "recording":
        raise RuntimeError("recorder did not start")
    try:
        result = run_load(the_lab, plan)
    finally:
        time.sleep(0.5)  # the last ACKs and FINs
        rec.terminate()
        rec.wait(10)
    summary = rec.stdout.read().strip()
    if result.requests_ok != plan.requests:
        raise RuntimeError(f"load for {name} failed: {result}")
    print(f"recorded {name}: {plan.requests} requests over {result.connections} connections in "
          f"{result.seconds:.1f}s; {summary}", flush=True)
    return pcap


def start_intercept(the_lab: Lab, log: Path) -> tuple[subprocess.Popen, float]:
    log.unlink(missing_ok=True)
    started = time.monotonic()
    capture = ["--afpacket", "lab0"] if INTERCEPT_AFPACKET else ["-i", "lab0"]
    proc = the_lab.spawn("assistant", [*tool(log.with_suffix(".prof")), "intercept", *capture, "-F",
                                       f"tcp and src port {TARGET_PORT}", "-l", str(log)])
    deadline = time.monotonic() + 15
    while "capturing on" not in (log.read_text() if log.exists() else ""):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("intercept did not start")
        time.sleep(0.02)
    return proc, started


def replay_once(the_lab: Lab, pcap: Path, prefix: str, online_log: Path, target_log: Path,
                accel: int, run: int, copy_timeout: float) -> RunResult:
    already = len(read_log(target_log))
    intercept, i_started = start_intercept(the_lab, the_lab.workdir / f"intercept-{prefix}-{run}.log")
    out = the_lab.workdir / f"copy-{prefix}-{run}.out"
    with open(out, "w") as sink:
        c_started = time.monotonic()
        copy = the_lab.spawn("online", [*tool(out.with_suffix(".prof")), "copy", "-i", str(pcap), "-a", str(accel),
                                        "-x", TRANSFER, "-s", HOST_ADDRESSES["assistant"], "-c", the_lab.client_pool,
                                        "--idle-exit", "2"], stdout=sink, stderr=subprocess.STDOUT)
        copy_usage = wait_usage(copy, c_started, copy_timeout)
    intercept.send_signal(signal.SIGTERM)
    intercept_usage = wait_usage(intercept, i_started, 10)
    online = [r for r in read_log(online_log) if r.target.startswith(f"/{prefix}/")]
    deadline = time.monotonic() + 5
    while True:  # the target logs a request just after answering it
        target = [r for r in read_log(target_log)[already:] if r.target.startswith(f"/{prefix}/")]
        if len(target) >= len(online) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    c = compare(online, target)
    return RunResult(copy_usage, intercept_usage, c.online_requests, c.target_requests, c.missing,
                     c.unexpected, out.read_text())


def fixed_costs(the_lab: Lab) -> tuple[Usage, Usage]:
    """CPU of each tool doing no work: intercept started and stopped, copy of an empty pcap."""
    empty = the_lab.workdir / "empty.pcap"
    with open(empty, "wb") as f:
        PcapWriter(f)
    intercept, i_started = start_intercept(the_lab, the_lab.workdir / "intercept-idle.log")
    copy = the_lab.spawn("online", [*tool(empty.with_suffix(".prof")), "copy", "-i", str(empty), "-x", TRANSFER,
                                    "-s", HOST_ADDRESSES["assistant"], "--idle-exit", "0"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    copy_usage = wait_usage(copy, time.monotonic(), 30)
    intercept.send_signal(signal.SIGTERM)
    return copy_usage, wait_usage(intercept, i_started, 10)


def median_usage(usages: list[Usage]) -> Usage:
    return Usage(statistics.median(u.cpu for u in usages), statistics.median(u.sys for u in usages),
                 statistics.median(u.maxrss_mb for u in usages),
                 statistics.median(u.wall for u in usages))


def row(name: str, results: list[RunResult]) -> dict:
    copy = median_usage([r.copy for r in results])
    intercept = median_usage([r.intercept for r in results])
    requests = results[0].online_requests
    per_5k = 5000 / requests if requests else 0.0
    return {
        "pcap": name, "runs": len(results), "requests": requests,
        "replayed": statistics.median(r.online_requests - r.missing for r in results),
        "ratio": min(r.ratio for r in results),
        "unexpected": max(r.unexpected for r in results),
        "copy_cpu": copy.cpu, "copy_sys": copy.sys, "intercept_sys": intercept.sys, "copy_cpu_5k": copy.cpu * per_5k, "copy_rss": copy.maxrss_mb, "copy_wall": copy.wall,
        "req_per_s": requests / copy.wall if copy.wall else 0.0,
        "intercept_cpu": intercept.cpu, "intercept_cpu_5k": intercept.cpu * per_5k,
        "intercept_rss": intercept.maxrss_mb,
        "copy_cpu_runs": [round(r.copy.cpu, 3) for r in results],
        "intercept_cpu_runs": [round(r.intercept.cpu, 3) for r in results],
    }


def table(rows: list[dict]) -> list[str]:
    lines = [
        "| pcap | requests | replayed | ratio | copy CPU-s (sys) | copy CPU-s/5k | copy RSS MB | copy wall s | req/s "
        "| intercept CPU-s (sys) | intercept CPU-s/5k | intercept RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['pcap']} | {r['requests']} | {r['replayed']:.0f} | {r['ratio'] * 100:.2f}% | {r['copy_cpu']:.2f} ({r['copy_sys']:.2f}) "
            f"| {r['copy_cpu_5k']:.2f} | {r['copy_rss']:.0f} | {r['copy_wall']:.2f} | {r['req_per_s']:.0f} "
            f"| {r['intercept_cpu']:.2f} ({r['intercept_sys']:.2f}) | {r['intercept_cpu_5k']:.2f} | {r['intercept_rss']:.0f} |")
    return lines


def verdict(rows: list[dict]) -> list[str]:
    copy_budget = C_COPY_CPU_PER_5K * BUDGET_FACTOR
    intercept_budget = C_INTERCEPT_CPU_PER_5K * BUDGET_FACTOR
    lines = []
    for r in rows:
        full = r["ratio"] == 1.0 and r["unexpected"] == 0
        lines.append(f"- {r['pcap']}: replayed {r['ratio'] * 100:.2f}% ({'met' if full else 'NOT met'}: 100%)")
        if r["pcap"] == "short":
            lines.append(f"- {r['pcap']}: copy {r['copy_cpu_5k']:.2f} CPU-s per 5k sessions vs budget {copy_budget:.2f} "
                         f"({r['copy_cpu_5k'] / C_COPY_CPU_PER_5K:.1f}x tcpcopy's {C_COPY_CPU_PER_5K}): "
                         f"{'met' if r['copy_cpu_5k'] <= copy_budget else 'NOT met'}")
            lines.append(f"- {r['pcap']}: intercept {r['intercept_cpu_5k']:.2f} CPU-s per 5k sessions vs budget "
                         f"{intercept_budget:.2f} ({r['intercept_cpu_5k'] / C_INTERCEPT_CPU_PER_5K:.1f}x intercept's "
                         f"{C_INTERCEPT_CPU_PER_5K}): {'met' if r['intercept_cpu_5k'] <= intercept_budget else 'NOT met'}")
    return lines


def machine_facts() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    return [f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- machine: nproc {os.cpu_count()}, {cpu}, kernel {platform.release()}, Python {platform.python_version()}"]


def write_markdown(path: Path, command: str, rows: list[dict], runs: int, fixed: str) -> None:
    text = "\n".join([
        "# Benchmarks",
        "",
        "## Offline replay (`copy -i` + `intercept`)",
        "",
        "Produced by:",
        "",
        "```",
        command,
        "```",
        "",
        *machine_facts(),
        f"- {runs} run(s) per pcap; the table shows medians (CPU per run in the JSON below). CPU is user+sys "
        "seconds of the tool's own process from `wait4` rusage; intercept runs from just before copy starts "
        "until SIGTERM after copy exits. The short pcap's sessions are one request per connection, the "
        "keep-alive pcap's many requests per connection. Wall time includes copy's idle exit.",
        "- budget: 100% replayed, and CPU within 5x of the C originals (offline tcpcopy 0.12 CPU-s and intercept "
        "0.07 CPU-s for 5,001 short sessions at `-a 10`), i.e. 0.6 CPU-s copy and 0.35 CPU-s intercept per 5k.",
        "",
        *table(rows),
        "",
        *verdict(rows),
        "- " + fixed,
        "",
        "```json",
        json.dumps(rows, indent=1),
        "```",
        "",
        GENERATED_END,
    ])
    kept = ""
    if path.exists() and GENERATED_END in path.read_text():
        kept = path.read_text().split(GENERATED_END, 1)[1]  # hand-written notes below the marker
    path.write_text(text + (kept or "\n"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--short", type=int, default=5000, help="short sessions (one request each)")
    p.add_argument("--keepalive", type=int, default=5000, help="keep-alive requests")
    p.add_argument("--keepalive-connections", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=20, help="load concurrency for the short pcap")
    p.add_argument("--accel", type=int, default=1000, help="copy -a")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--copy-timeout", type=float, default=60.0)
    p.add_argument("--markdown", type=Path, help="write the report here (e.g. docs/benchmarks.md)")
    p.add_argument("--profile", type=Path, help="run copy and intercept under cProfile, writing DIR/*.prof")
    p.add_argument("--keep-pcaps", type=Path, help="copy the recorded pcaps to DIR (for offline profiling)")
    p.add_argument("--perf", type=Path, help="run copy and intercept under `perf record` (DWARF stacks), "
                   "writing DIR/*.perf; CPU figures then include perf's own")
    p.add_argument("--intercept-afpacket", action="store_true",
                   help="run intercept with --afpacket (default: the capture method intercept chooses)")
    a = p.parse_args(argv)
    global PROFILE_DIR, PERF_DIR, INTERCEPT_AFPACKET
    INTERCEPT_AFPACKET = a.intercept_afpacket
    if a.perf:
        a.perf.mkdir(parents=True, exist_ok=True)
        PERF_DIR = a.perf.resolve()
    if a.profile:
        a.profile.mkdir(parents=True, exist_ok=True)
        PROFILE_DIR = a.profile.resolve()
    command = " ".join(["scripts/bench_offline.py", *(argv if argv is not None else sys.argv[1:])])
    if a.short < 1 or a.keepalive < a.keepalive_connections or a.runs < 1:
        p.error("--short >= 1, --keepalive >= --keepalive-connections, --runs >= 1")
    # Measure the tools as installed: with bytecode caches (setup.sh writes them too), not
    # compiling every module at each start as happens where PYTHONDONTWRITEBYTECODE is set.
    root = Path(__file__).resolve().parent.parent
    subprocess.run([PY, "-m", "compileall", "-q", "-j", "0", str(root / "pyreplay"),
                    *map(str, Path(sys.prefix).glob("lib/python3*/site-packages"))],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    rows = []
    with lab() as the_lab:
        online = start_http_server(the_lab, "online", ONLINE_PORT)
        target = start_http_server(the_lab, "target", TARGET_PORT)
        host = HOST_ADDRESSES["online"]
        plans = {
            "short": LoadPlan(host, ONLINE_PORT, a.short, a.concurrency, keepalive=False, path_prefix="/short",
                              max_seconds=90),
            "keepalive": LoadPlan(host, ONLINE_PORT, a.keepalive, a.keepalive_connections, keepalive=True,
                                  path_prefix="/keepalive", max_seconds=90),
        }
        idle_copy, idle_intercept = fixed_costs(the_lab)
        fixed = (f"fixed cost (start-up and exit, no traffic): copy {idle_copy.cpu:.2f} CPU-s, "
                 f"intercept {idle_intercept.cpu:.2f} CPU-s (included in the numbers above)")
        print(fixed, flush=True)
        pcaps = {name: record(the_lab, name, plan) for name, plan in plans.items()}
        if a.keep_pcaps:
            a.keep_pcaps.mkdir(parents=True, exist_ok=True)
            for pcap in pcaps.values():
                shutil.copy(pcap, a.keep_pcaps / pcap.name)
        for name, pcap in pcaps.items():
            results = []
            for run in range(a.runs):
                result = replay_once(the_lab, pcap, name, online.log_path, target.log_path, a.accel, run,
                                     a.copy_timeout)
                results.append(result)
                print(f"{name} run {run + 1}: copy {result.copy.cpu:.2f} CPU-s (sys {result.copy.sys:.2f}) {result.copy.wall:.2f}s wall "
                      f"{result.copy.maxrss_mb:.0f} MB; intercept {result.intercept.cpu:.2f} CPU-s (sys {result.intercept.sys:.2f}) "
                      f"{result.intercept.maxrss_mb:.0f} MB; replayed {result.online_requests - result.missing}"
                      f"/{result.online_requests} (unexpected {result.unexpected})", flush=True)
                if result.ratio < 1.0 or result.unexpected:
                    print(result.copy_output.rstrip(), flush=True)
            rows.append(row(name, results))
    print("\n".join(["", *table(rows), "", *verdict(rows), "- " + fixed]))
    if a.markdown:
        write_markdown(a.markdown, command, rows, a.runs, fixed)
        print(f"wrote {a.markdown}")
    self_usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"benchmark driver: {self_usage.ru_utime + self_usage.ru_stime:.1f} CPU-s")
    ok = all(r["ratio"] == 1.0 and r["unexpected"] == 0 for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
