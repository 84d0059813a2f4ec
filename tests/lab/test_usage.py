"""reap: a finished process's CPU and exit code; a process outliving its timeout is killed;
cpu_so_far: a running process's CPU."""

import subprocess
import sys
import time

from pyreplay.lab.usage import cpu_so_far, reap


def test_reap_reports_cpu_and_exit_code():
    proc = subprocess.Popen([sys.executable, "-c", "sum(range(3_000_000)); raise SystemExit(3)"])
    reaped = reap(proc, timeout=30)
    assert reaped.returncode == 3 == proc.returncode
    assert reaped.cpu > 0 and reaped.maxrss_mb > 1


def test_reap_kills_a_process_past_its_timeout():
    proc = subprocess.Popen(["sleep", "30"])
    reaped = reap(proc, timeout=0.2)
    assert reaped.returncode == -9


def test_cpu_so_far_of_a_running_process_and_of_none():
    proc = subprocess.Popen([sys.executable, "-c", "sum(range(30_000_000)); import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 30
        while cpu_so_far(proc.pid) == 0.0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert cpu_so_far(proc.pid) > 0
    finally:
        reap(proc, timeout=0)
    assert cpu_so_far(proc.pid) == 0.0
