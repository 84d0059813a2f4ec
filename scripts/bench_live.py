"""Live copy benchmark: offered HTTP load at increasing rates while ``pyreplay copy`` captures
live on the online host (XDP by default) and intercept runs on the assistant.

For each mode (keep-alive over C connections; one request per connection) and each offered
rate, in one lab: start intercept (assistant) and ``copy --METHOD lab0`` (online), run the lab
load generator in the client namespace for N requests at that rate, wait for copy to catch up
(until the target's log has not grown for ``--catch-up-quiet`` s, at most ``--catch-up-max`` s
after the load), stop copy with SIGINT (it finishes open sessions for up to 2 s and prints its
summary) and intercept with SIGTERM, and read each tool's rusage with ``os.wait4`` (``ip netns
exec`` execs in place). Reports: achieved online req/s, replay ratio (``requestlog.compare`` of
online and target logs), copy lag, CPU-s of copy and of intercept per 10k requests, capture
ring losses (copy's summary), peak RSS of each.
``--wrk-seconds N`` adds one row per mode driven by wrk (Debian's, installed by setup.sh) for N
seconds as fast as the online server answers, every request with its own URI (a wrk Lua
script), so the ratio matches requests one by one. The Python generator tops out near 1k short
connections/s and the lab's Python online server near 2k: ``--online-server nginx`` runs nginx
on the online host instead (one process, config and access log in the lab's workdir, keep-alive
off in short mode, started and stopped by pid for each row; its log read by
``pyreplay.lab.nginxlog``), so wrk can offer ~10k short connections/s. The target stays the
lab's Python server with its exact log. ``--syscalls`` adds a table of copy's and intercept's
waits (wake-ups), sends and channel reads per request during each row's load (``perf stat``).

Run as root: ``.venv/bin/python scripts/bench_live.py --markdown docs/benchmarks.md`` appends or
replaces only its own section ("## Live copy"); with ``--online-server nginx`` only its own
subsection of it ("### Live copy, nginx online server"). Every wait is bounded; the lab is
always removed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyreplay.lab.nginx import start_nginx  # noqa: E402
from pyreplay.lab.replay_lab import PY, TRANSFER, with_prefix  # noqa: E402
from pyreplay.lab.requestlog import compare  # noqa: E402
from pyreplay.lab.services import ONLINE_PORT, TARGET_PORT, HttpServer, start_http_server  # noqa: E402
from pyreplay.lab.topology import HOST_ADDRESSES, Lab, lab  # noqa: E402
from pyreplay.lab.usage import Reaped, cpu_so_far, perf_attached, reap, syscalls_counted  # noqa: E402
from pyreplay.lab.wrk import numbered_requests_script, parse_summary, wrk_argv  # noqa: E402

SECTION = "## Live copy"
NGINX_SECTION = "### Live copy, nginx online server"


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
    online_cpu_10k: float | None = None  # nginx's own CPU (the Python online server is not measured)
    target_cpu_10k: float = 0.0  # the target server's CPU from the load's start to copy's stop
    copy_sys_share: float = 0.0  # kernel share of the tool's whole CPU (start-up included)
    intercept_sys_share: float = 0.0
    copy_syscalls: dict[str, int] | None = None  # --syscalls: counts during the load (usage.SYSCALLS)
    intercept_syscalls: dict[str, int] | None = None


def sys_share(cost: Reaped) -> float:
    return cost.sys / cost.cpu if cost.cpu > 0 else 0.0


@dataclass
class Bench:
    """The lab with its target server; the online server is the lab's Python server for the
    whole run, or a fresh nginx for each row (``python_online`` is None)."""

    lab: Lab
    target: HttpServer
    python_online: HttpServer | None
    method: str
    catch_up_quiet: float
    catch_up_max: float
    wrk_threads: int = 1
    copy_ring_mb: int = 0  # 0: copy's default ring (16 MiB); else copy -B this many MiB
    perf_dir: Path | None = None  # --perf DIR: perf record copy and intercept during the load
    count_syscalls: bool = False  # --syscalls: perf stat their waits and sends during the load


def engine_build() -> str:
    """Which build of the per-packet core a new copy process runs (``pyreplay.compiled``)."""
    done = subprocess.run([PY, "-c", "import pyreplay.compiled as c; print(c.status())"], capture_output=True,
                          text=True, timeout=30, cwd=Path(__file__).resolve().parent.parent)
    return done.stdout.strip() or "pure Python (pyreplay.compiled not found)"


def start_bench(the_lab: Lab, a: argparse.Namespace) -> Bench:
    target = start_http_server(the_lab, "target", TARGET_PORT)
    online = start_http_server(the_lab, "online", ONLINE_PORT) if a.online_server == "python" else None
    return Bench(the_lab, target, online, a.method, a.catch_up_quiet, a.catch_up_max, a.wrk_threads, a.copy_ring_mb,
                 a.perf.resolve() if a.perf else None, getattr(a, "syscalls", False))


@contextlib.contextmanager
def online_server(bench: Bench, mode: str, tag: str, cost: dict) -> Iterator:
    """The online server for one row; for nginx, its CPU-s lands in ``cost["online_cpu"]``."""
    if bench.python_online is not None:
        yield bench.python_online
        return
    nginx = start_nginx(bench.lab, "online", ONLINE_PORT, keepalive=mode == "keepalive", name=f"nginx-{tag}")
    try:
        yield nginx
    finally:
        cost["online_cpu"] = nginx.stop().cpu


def _start(the_lab: Lab, role: str, argv: list[str], log: Path, ready: str, timeout: float = 20.0) -> subprocess.Popen:
    proc = the_lab.spawn(role, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while ready not in (log.read_text() if log.exists() else ""):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            why = (log.read_text() if log.exists() else "") + proc.communicate(timeout=5)[1]
            raise RuntimeError(f"{argv[3:6]} did not start: {why.strip()[-500:]}")
        time.sleep(0.05)
    return proc


def _stop(proc: subprocess.Popen, sig: int, timeout: float = 30.0) -> tuple[str, Reaped]:
    """Signal, read stdout to EOF, reap with wait4: (stdout, its cost)."""
    proc.send_signal(sig)
    reaped = reap(proc, timeout)
    out = proc.stdout.read()
    return out, reaped


def start_tools(bench: Bench, tag: str) -> tuple[subprocess.Popen, subprocess.Popen]:
    work = bench.lab.workdir
    ilog, clog = work / f"i-{tag}.log", work / f"c-{tag}.log"
    intercept = _start(bench.lab, "assistant", [PY, "-m", "pyreplay.cli", "intercept", "-i", "lab0", "-F",
                                                f"tcp and src port {TARGET_PORT}", "-l", str(ilog)], ilog, "capturing on")
    ring = ["-B", str(bench.copy_ring_mb)] if bench.copy_ring_mb else []
    copy = _start(bench.lab, "online", [PY, "-m", "pyreplay.cli", "copy", "-x", TRANSFER, "-s",
                                        HOST_ADDRESSES["assistant"], "-c", bench.lab.client_pool,
                                        f"--{bench.method}", "lab0", *ring, "-l", str(clog)], clog, "capturing with")
    return intercept, copy


@dataclass(frozen=True, slots=True)
class Load:
    answered: int | None  # None: count the online server's log once copy has caught up
    errors: int
    seconds: float
    ended: float  # time.monotonic() when the load generator returned


def run_wrk(bench: Bench, mode: str, connections: int, seconds: float, prefix: str) -> Load:
    """As fast as the online server answers, for ``seconds``, each request with its own URI; one
    request per connection in "short" mode. The count is the online server's log (wrk's own
    count misses requests cut off at the end of its run); errors are wrk's socket errors and
    non-2xx answers."""
    script = bench.lab.workdir / f"wrk{prefix.replace('/', '-')}.lua"
    script.write_text(numbered_requests_script(prefix))
    argv = wrk_argv(f"http://{HOST_ADDRESSES['online']}:{ONLINE_PORT}{prefix}", connections=connections,
                    seconds=seconds, threads=bench.wrk_threads, close=mode == "short", script=script)
    done = bench.lab.run("client", argv, timeout=seconds + 30, check=False)
    ended = time.monotonic()
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout} {done.stderr}")
    summary = parse_summary(done.stdout)
    return Load(None, summary.errors, summary.seconds, ended)


def run_generator(bench: Bench, mode: str, rate: float, requests: int, concurrency: int, prefix: str) -> Load:
    argv = [PY, "-m", "pyreplay.lab.load", "--host", HOST_ADDRESSES["online"], "--port", str(ONLINE_PORT),
            "--requests", str(requests), "--concurrency", str(concurrency), "--rate", str(rate),
            "--max-seconds", "60", "--path-prefix", prefix] + (["--close"] if mode == "short" else [])
    done = bench.lab.run("client", argv, timeout=90, check=False)
    ended = time.monotonic()
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Load(result["requests_ok"], result["errors"], result["seconds"], ended)


def wait_for_catch_up(log: Path, since: float, quiet_s: float, max_s: float, poll_s: float = 0.25) -> float:
    """Copy may lag behind the load (CPU-bound): wait until the target's log has not grown for
    ``quiet_s`` (at most ``max_s`` after ``since``, the load's end). Returns the lag: how long
    after ``since`` the log last grew (0 when it did not grow after it)."""
    last_growth, size, grew = time.monotonic(), log.stat().st_size, False
    while time.monotonic() - last_growth < quiet_s and time.monotonic() - since < max_s:
        time.sleep(poll_s)
        now_size = log.stat().st_size
        if now_size != size:
            size, last_growth, grew = now_size, time.monotonic(), True
    return max(0.0, last_growth - since) if grew else 0.0


def run_one(bench: Bench, mode: str, rate: float, requests: int, concurrency: int, tag: str,
            base: tuple[float, float] = (0.0, 0.0), wrk_seconds: float = 0.0) -> Row:
    prefix, cost = f"/{tag}", {}
    syscalls: dict[str, dict[str, int]] = {"copy": {}, "intercept": {}}
    with online_server(bench, mode, tag, cost) as online:
        intercept, copy = start_tools(bench, tag)
        target_cpu_before = cpu_so_far(bench.target.process.pid)
        with contextlib.ExitStack() as profiling:
            if bench.perf_dir is not None:
                for name, proc in (("copy", copy), ("intercept", intercept)):
                    profiling.enter_context(perf_attached(proc.pid, bench.perf_dir / f"{name}-{tag}.perf"))
            if bench.count_syscalls:
                for name, proc in (("copy", copy), ("intercept", intercept)):
                    profiling.enter_context(syscalls_counted(proc.pid, syscalls[name]))
            if wrk_seconds:
                load = run_wrk(bench, mode, concurrency, wrk_seconds, prefix)
            else:
                load = run_generator(bench, mode, rate, requests, concurrency, prefix)
            lag = wait_for_catch_up(bench.target.log_path, load.ended, bench.catch_up_quiet, bench.catch_up_max)
        copy_out, copy_cost = _stop(copy, signal.SIGINT)
        _, intercept_cost = _stop(intercept, signal.SIGTERM)
        target_cpu = cpu_so_far(bench.target.process.pid) - target_cpu_before
        online_records = with_prefix(online.requests(), prefix)
    c = compare(online_records, with_prefix(bench.target.requests(), prefix))
    answered = len(online_records) if load.answered is None else load.answered
    losses = re.search(r"losses: (.*)", copy_out)
    per10k = 10_000 / max(1, answered)
    online_cpu = cost.get("online_cpu")
    return Row(mode, rate, answered / max(load.seconds, 1e-9), answered, load.errors,
               c.ratio, c.target_requests, lag, max(0.0, copy_cost.cpu - base[0]) * per10k,
               max(0.0, intercept_cost.cpu - base[1]) * per10k, losses.group(1) if losses else "?",
               copy_cost.maxrss_mb, intercept_cost.maxrss_mb,
               None if online_cpu is None else online_cpu * per10k, target_cpu * per10k,
               sys_share(copy_cost), sys_share(intercept_cost),
               syscalls["copy"] if bench.count_syscalls else None,
               syscalls["intercept"] if bench.count_syscalls else None)


def markdown(rows: list[Row], method: str, requests: int, base: tuple[float, float], server: str,
             command: str, engine: str, ring_mb: int = 0) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    nginx = server == "nginx"
    heading = NGINX_SECTION if nginx else SECTION
    online = ("nginx on the online host (one process, keep-alive off in short mode), the lab's Python "
              "server as the target (the CPU-s/10k of both in the last columns)" if nginx else
              "the lab's Python servers as online and target")
    lines = [f"{heading} (`copy --{method}` + `intercept`) — {now}", "",
             f"Generated by `{command}` ({requests} requests per generator row, wrk rows as many as "
             f"answered, {online}; lab namespaces on this VM, load generator, servers, copy and intercept "
             "sharing its CPUs). CPU is user+sys of each tool "
             f"from `os.wait4`, per 10k requests, after subtracting the cost of an idle start and stop "
             f"(copy {base[0]:.2f} CPU-s, intercept {base[1]:.2f} CPU-s: imports, bcc compile, 2 s drain); "
             "in brackets the kernel's (sys) share of the tool's whole CPU. "
             f"Engine: {engine}."
             + (f" Capture ring: {ring_mb} MiB (copy `-B {ring_mb}`)." if ring_mb else ""), "",
             "| mode | offered req/s | achieved req/s | errors | replay ratio | target got | copy lag s | copy CPU-s/10k | intercept CPU-s/10k | capture losses | copy RSS MB | intercept RSS MB |"
             + (" nginx CPU-s/10k | target CPU-s/10k |" if nginx else ""),
             "|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|---|" if nginx else "")]
    for r in rows:
        offered = "max (wrk)" if r.offered == 0 and r.requests else f"{r.offered:.0f}"
        lines.append(f"| {r.mode} | {offered} | {r.achieved:.0f} | {r.errors} | {r.ratio * 100:.2f} % | "
                     f"{r.target_requests}/{r.requests} | {r.lag_s:.1f} | "
                     f"{r.copy_cpu_10k:.2f} ({r.copy_sys_share:.0%} sys) | "
                     f"{r.intercept_cpu_10k:.2f} ({r.intercept_sys_share:.0%} sys) | {r.ring_losses} | {r.copy_rss_mb:.0f} | "
                     f"{r.intercept_rss_mb:.0f} |" + (f" {r.online_cpu_10k or 0:.2f} | {r.target_cpu_10k:.2f} |" if nginx else ""))
    counted = [r for r in rows if r.copy_syscalls is not None and r.requests]
    if counted:
        lines += ["", "System calls during the load, per request (`--syscalls`: `perf stat` on the syscall "
                  "tracepoints): waits are `select`/`epoll_wait` calls (each a wake-up when it blocks), sends "
                  "are `sendto` (packets to the target and channel writes for copy, channel writes for "
                  "intercept), reads are `recvfrom` (channel reads).", "",
                  "| mode | offered req/s | copy waits | copy sends | copy reads | intercept waits | intercept sends | intercept reads |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in counted:
            offered = "max (wrk)" if r.offered == 0 else f"{r.offered:.0f}"
            c, i = r.copy_syscalls, r.intercept_syscalls or {}

            def per(counts: dict[str, int], *names: str) -> str:
                return f"{sum(counts.get(n, 0) for n in names) / r.requests:.2f}"
            lines.append(f"| {r.mode} | {offered} | {per(c, 'pselect6', 'epoll_wait')} | {per(c, 'sendto')} | "
                         f"{per(c, 'recvfrom')} | {per(i, 'pselect6', 'epoll_wait')} | {per(i, 'sendto')} | "
                         f"{per(i, 'recvfrom')} |")
    return "\n".join(lines) + "\n"


def _heading_at(text: str, heading: str) -> int:
    found = re.search(f"^{re.escape(heading)}", text, re.MULTILINE)
    return -1 if found is None else found.start()


def _block_end(text: str, start: int, stop_at: str) -> int:
    """Where the block whose heading is at ``start`` ends: the next line matching ``stop_at``
    after its heading line, or the end of the text."""
    heading_end = text.find("\n", start)
    if heading_end < 0:
        return len(text)
    found = re.compile(stop_at, re.MULTILINE).search(text, heading_end + 1)
    return len(text) if found is None else found.start()


def write_section(path: Path, text: str, heading: str = SECTION) -> None:
    """Replace this run's own block (from its heading to the next ``##``/``###`` heading for the
    section, to the next heading of any level for the nginx subsection), or add it: the
    section at the end, the subsection at the end of the section."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    start = _heading_at(old, heading)
    if start >= 0:
        end = _block_end(old, start, r"^#{2,3} ")
        new = old[:start] + text + ("" if end >= len(old) else "\n" + old[end:].lstrip("\n"))
    elif heading == NGINX_SECTION and _heading_at(old, SECTION) >= 0:
        end = _block_end(old, _heading_at(old, SECTION), r"^## ")
        new = old[:end].rstrip("\n") + "\n\n" + text + ("" if end >= len(old) else "\n" + old[end:])
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", choices=["xdp", "tc", "afpacket"], default="xdp")
    p.add_argument("--online-server", choices=["python", "nginx"], default="python",
                   help="the online host's server: the lab's Python server (~2k short conn/s) or nginx")
    p.add_argument("--rates", default="250,500,1000,2000", help="offered req/s, comma separated ('' for none)")
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--modes", default="keepalive,short")
    p.add_argument("--wrk-seconds", type=float, default=0.0,
                   help="also run each mode once with wrk as fast as the online server answers, for N s")
    p.add_argument("--wrk-connections", type=int, default=32)
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--catch-up-quiet", type=float, default=3.0,
                   help="after the load, wait until the target's log has not grown for N s")
    p.add_argument("--catch-up-max", type=float, default=120.0, help="... but at most N s")
    p.add_argument("--copy-ring-mb", type=int, default=0,
                   help="copy -B: its capture ring in MiB, a power of two (0: copy's default, 16 MiB)")
    p.add_argument("--perf", type=Path, help="perf record copy and intercept during each row's load into "
                   "DIR/{copy,intercept}-ROW.perf (their CPU figures then include perf's sampling)")
    p.add_argument("--syscalls", action="store_true",
                   help="count copy's and intercept's waits, sends and reads during each row's load (perf stat)")
    p.add_argument("--markdown", type=Path)
    a = p.parse_args()
    if a.perf:
        a.perf.mkdir(parents=True, exist_ok=True)
    rates = [float(x) for x in a.rates.split(",") if x.strip()]
    command = "scripts/bench_live.py " + shlex.join(sys.argv[1:])
    rows, engine = [], engine_build()
    with lab() as the_lab:
        bench = start_bench(the_lab, a)
        idle = run_one(bench, "keepalive", 0, 0, 1, "idle")  # start-up + stop cost, no load
        base = (idle.copy_cpu_10k / 10_000, idle.intercept_cpu_10k / 10_000)
        print(json.dumps({"startup_cpu_copy": base[0], "startup_cpu_intercept": base[1]}), flush=True)
        for mode in a.modes.split(","):
            for k, rate in enumerate(rates):
                rows.append(run_one(bench, mode, rate, a.requests, a.concurrency, f"{mode}-{k}", base))
                print(json.dumps(rows[-1].__dict__), flush=True)
            if a.wrk_seconds:
                rows.append(run_one(bench, mode, 0, 0, a.wrk_connections, f"{mode}-wrk", base, a.wrk_seconds))
                print(json.dumps(rows[-1].__dict__), flush=True)
    if engine_build() != engine:
        engine = f"{engine} at the start, {engine_build()} at the end"
    text = markdown(rows, a.method, a.requests, base, a.online_server, command, engine, a.copy_ring_mb)
    print(text)
    if a.markdown:
        write_section(a.markdown, text, NGINX_SECTION if a.online_server == "nginx" else SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
