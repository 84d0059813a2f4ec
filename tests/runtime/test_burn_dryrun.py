"""pyreplay burn from the command line without a network: a dry run (--write) against the
simulated target writes the replay to a pcap; bad values are one line and exit 2; a capture
with no usable session is a clear error and exit 1."""

import io
import json
import subprocess
import sys
from collections import Counter

import pytest

from pyreplay.packet.pcap import open_capture
from pyreplay.packet.segment import SYN
from pyreplay.packet.tcpip import parse_packet
from pyreplay.runtime.burn import write_progress
from tests.burn.captures import merged, pcap_bytes, session

X = "80-10.0.0.30:8080"


def cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "pyreplay.cli", "burn", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def capture(tmp_path):
    path = tmp_path / "in.pcap"
    path.write_bytes(pcap_bytes(merged(
        *[session(4000 + i, [b"GET /%d HTTP/1.1\r\n\r\n" % i], t0=i * 0.01) for i in range(4)],
        session(5000, [b"GET /nosyn HTTP/1.1\r\n\r\n"], syn=False, t0=0.5))))
    return path


def test_dry_run_writes_every_user_from_its_own_identity_and_a_json_report(capture, tmp_path):
    out, report = tmp_path / "out.pcap", tmp_path / "report.json"
    done = cli("-f", str(capture), "-x", X, "-u", "100", "-c", "10.9.0.1,10.9.0.2", "--write", str(out),
               "--report", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    with open_capture(out) as reader:
        segments = [parse_packet(r.packet) for r in reader]
    syns = Counter((s.src, s.sport) for s in segments if s.flags & SYN)
    assert len(syns) == 100 and set(syns.values()) == {1}
    doc = json.loads(report.read_text())
    assert doc["users"]["finished"] == 100 and doc["requests"] == 100 == doc["responses"]
    assert doc["capture"]["sessions"] == 5 and doc["capture"]["without_syn"] == 1
    assert set(doc["latency_ms"]) >= {"p50", "p90", "p99", "max"}
    assert "users: 100 of 100 started" in done.stdout


def test_no_syn_skip_replays_only_sessions_with_their_handshake(capture, tmp_path):
    done = cli("-f", str(capture), "-x", X, "-u", "8", "-c", "10.9.0.1", "--no-syn", "skip",
               "--write", str(tmp_path / "o.pcap"))
    assert done.returncode == 0, done.stderr
    assert "capture: 4 sessions (0 without SYN)" in done.stdout


@pytest.mark.parametrize("args, fragment", [
    (("-u", "0"), "-u"),
    (("-u", "10", "-i", "0"), "-i"),
    (("-u", "10", "-a", "x"), "-a"),
    (("-u", "10", "-F", "port ((("), "--filter"),
    (("-u", "9999999"), "needs at least"),
])
def test_bad_values_are_one_line_and_exit_2(capture, tmp_path, args, fragment):
    done = cli("-f", str(capture), "-x", X, "-c", "10.9.0.1", "--write", str(tmp_path / "o.pcap"), *args)
    assert done.returncode == 2, done.stderr
    assert fragment in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_capture_with_no_usable_session_is_a_clear_error(capture, tmp_path):
    done = cli("-f", str(capture), "-x", "81-10.0.0.30:8080", "-u", "5", "-c", "10.9.0.1",
               "--write", str(tmp_path / "o.pcap"))
    assert done.returncode == 1
    assert "no usable session" in done.stderr and "check -x" in done.stderr
    missing = cli("-f", str(tmp_path / "nope.pcap"), "-x", X, "-u", "5", "-c", "10.9.0.1",
                  "--write", str(tmp_path / "o.pcap"))
    assert missing.returncode in (1, 2) and len(missing.stderr.strip().splitlines()) == 1


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_rewrites_one_line_on_a_terminal_and_prints_lines_otherwise():
    tty, plain = _Tty(), io.StringIO()
    for out in (tty, plain):
        write_progress(out, "burn 1.0s users 1/2 started", final=False)
        write_progress(out, "burn 2.0s users 2/2 started", final=True)
    assert tty.getvalue().count("\n") == 1 and tty.getvalue().startswith("\r")
    assert tty.getvalue().split("\r")[-1].endswith("2/2 started\n")
    assert plain.getvalue() == "burn 1.0s users 1/2 started\nburn 2.0s users 2/2 started\n"


def test_dry_run_ends_with_a_progress_line_on_stderr(capture, tmp_path):
    done = cli("-f", str(capture), "-x", X, "-u", "10", "-c", "10.9.0.1", "--write", str(tmp_path / "o.pcap"))
    assert done.returncode == 0
    assert "users 10/10 started 0 active 10 finished" in done.stderr


def test_dry_run_of_a_capture_with_a_hole_reports_the_resyncs_in_its_lines_and_json(tmp_path):
    requests = [b"GET /h/%d HTTP/1.1\r\n\r\n" % k for k in range(3)]
    records = session(4000, requests, response=30)  # see test_scheduler's capture-hole test
    records.remove(next(r for r in records if requests[1] in r[1]))  # the capture lost it
    capture, out, report = tmp_path / "hole.pcap", tmp_path / "out.pcap", tmp_path / "report.json"
    capture.write_bytes(pcap_bytes(records))
    done = cli("-f", str(capture), "-x", X, "-u", "4", "-c", "10.9.0.1", "--write", str(out), "--report", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    skipped = 4 * len(requests[1])
    assert f"capture holes resynced past: 4, client bytes skipped: {skipped}" in done.stdout
    assert "connections established: 8, " in done.stdout
    doc = json.loads(report.read_text())
    assert doc["outcomes"] == {"complete": 4}
    assert doc["sessions"]["capture_gap_resyncs"] == 4 and doc["sessions"]["capture_gap_bytes_skipped"] == skipped
    with open_capture(out) as reader:
        payloads = [parse_packet(r.packet).payload for r in reader]
    assert sorted(p for p in payloads if p) == sorted([requests[0], requests[2]] * 4)
