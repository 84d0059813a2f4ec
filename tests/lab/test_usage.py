"""reap: a finished process's CPU and exit code; a process outliving its timeout is killed."""

import subprocess
import sys

from pyreplay.lab.usage import reap


def test_reap_reports_cpu_and_exit_code():
    proc = subprocess.Popen([sys.executable, "-c", "sum(range(3_000_000)); raise SystemExit(3)"])
    reaped = reap(proc, timeout=30)
    assert reaped.returncode == 3 == proc.returncode
    assert reaped.cpu > 0 and reaped.maxrss_mb > 1


def test_reap_kills_a_process_past_its_timeout():
    proc = subprocess.Popen(["sleep", "30"])
    reaped = reap(proc, timeout=0.2)
    assert reaped.returncode == -9
