"""reap: a finished process's CPU and exit code; a process outliving its timeout is killed;
cpu_so_far: a running process's CPU; perf_attached: perf record of a running process;
syscalls_counted: perf stat of a running process's waits and sends."""

import subprocess
import sys
import time

from pyreplay.lab.usage import cpu_so_far, parse_perf_stat, perf_attached, reap, syscalls_counted


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


def test_perf_attached_samples_a_running_process(tmp_path):
    """perf record -p for the block's duration; the output holds samples of that process."""
    proc = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 20\nwhile time.time() < end: pass"])
    out = tmp_path / "busy.perf"
    try:
        with perf_attached(proc.pid, out):
            time.sleep(1.0)
    finally:
        proc.kill()
        proc.wait(10)
    script = subprocess.run(["perf", "script", "-i", str(out), "-F", "pid"], capture_output=True, text=True,
                            timeout=60)
    pids = script.stdout.split()
    assert len(pids) > 50 and set(pids) == {str(proc.pid)}


def test_syscalls_counted_counts_a_running_process_s_waits_and_sends():
    """40 selects that time out and 25 UDP sends, made after the counting started."""
    script = ("import select, socket, sys, time\n"
              "sys.stdin.readline()\n"
              "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
              "for _ in range(40): select.select([], [], [], 0.001)\n"
              "for _ in range(25): s.sendto(b'x', ('127.0.0.1', 9))\n"
              "print('done', flush=True)\n"
              "time.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    counts: dict[str, int] = {}
    try:
        with syscalls_counted(proc.pid, counts):
            time.sleep(1.0)  # perf is attached by now
            proc.stdin.write("go\n")
            proc.stdin.flush()
            assert proc.stdout.readline() == "done\n"
    finally:
        proc.kill()
        proc.wait(10)
    assert counts["pselect6"] == 40 and counts["sendto"] == 25
    assert counts["epoll_wait"] == 0


def test_parse_perf_stat_keeps_counted_syscalls_only():
    text = ("# started on ...\n\n12135,,syscalls:sys_enter_pselect6,1352,100.00,,\n"
            "<not counted>,,syscalls:sys_enter_epoll_wait,0,100.00,,\n5,,task-clock,1,100.00,,\n")
    assert parse_perf_stat(text) == {"pselect6": 12135}
