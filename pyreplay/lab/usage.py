"""What a finished lab process cost: CPU seconds and peak RSS from ``wait4``'s rusage.

``ip netns exec`` execs in place, so a spawned tool's pid is the tool's own and its rusage is
the tool's. ``reap(proc, timeout)`` waits for the process (killing it once ``timeout`` has
passed), sets ``proc.returncode`` and returns its ``Reaped`` cost. ``cpu_so_far(pid)`` is the
user+sys CPU-s a running process has used (0.0 once it is gone), for servers that outlive a
measurement.
"""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import time
from dataclasses import dataclass


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
