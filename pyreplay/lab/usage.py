"""What a finished lab process cost: CPU seconds and peak RSS from ``wait4``'s rusage.

``ip netns exec`` execs in place, so a spawned tool's pid is the tool's own and its rusage is
the tool's. ``reap(proc, timeout)`` waits for the process (killing it once ``timeout`` has
passed), sets ``proc.returncode`` and returns its ``Reaped`` cost. ``cpu_so_far(pid)`` is the
user+sys CPU-s a running process has used (0.0 once it is gone), for servers that outlive a
measurement. ``perf_attached(pid, out)`` samples a running process with ``perf record``
(DWARF call stacks, so compiled code and the kernel show) until the block ends, for profiling a
benchmark row without changing how the tool is started. ``syscalls_counted(pid, into)`` counts
the ``SYSCALLS`` a running process makes until the block ends (``perf stat`` on the syscall
tracepoints; counts, not samples, so the process pays almost nothing for it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Reaped:
    cpu: float  # user + sys seconds
    sys: float
    maxrss_mb: float
    returncode: int


def reap(proc: subprocess.Popen, timeout: float) -> Reaped:
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.01)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Reaped(usage.ru_utime + usage.ru_stime, usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


def cpu_so_far(pid: int) -> float:
    """utime + stime (fields 14 and 15 of /proc/PID/stat) in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def perf_record_argv(out: Path, frequency: int = 1000) -> list[str]:
    """``perf record`` sampling CPU time with DWARF call stacks into ``out``; append ``-p PID``
    or a command to run under it."""
    return ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(frequency), "--call-graph", "dwarf,16384",
            "-o", str(out)]


@contextlib.contextmanager
def _perf_running(argv: list[str]) -> Iterator[None]:
    """A perf command for the duration of the block, stopped with SIGINT (it then writes out)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def perf_attached(pid: int, out: Path, frequency: int = 1000):
    """``perf record -p pid`` into ``out`` for the duration of the block (a context manager)."""
    return _perf_running([*perf_record_argv(out, frequency), "-p", str(pid)])


# waits (a wake-up each when they block), packets and channel writes, channel reads
SYSCALLS = ("pselect6", "epoll_wait", "sendto", "recvfrom")


@contextlib.contextmanager
def syscalls_counted(pid: int, into: dict[str, int]) -> Iterator[None]:
    """Count the ``SYSCALLS`` ``pid`` makes during the block into ``into`` (name -> count)."""
    with tempfile.NamedTemporaryFile("r", prefix="perf-stat-", suffix=".csv") as out:
        events = ",".join(f"syscalls:sys_enter_{name}" for name in SYSCALLS)
        try:
            with _perf_running(["perf", "stat", "-x", ",", "-e", events, "-p", str(pid), "-o", out.name]):
                yield
        finally:
            into.update(parse_perf_stat(out.read()))


def parse_perf_stat(text: str) -> dict[str, int]:
    """``perf stat -x ,`` output -> {syscall name: count}; events perf could not count are left out."""
    counts = {}
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[0].isdigit() and fields[2].startswith("syscalls:sys_enter_"):
            counts[fields[2].removeprefix("syscalls:sys_enter_")] = int(fields[0])
    return counts
