"""The command line: TCPCopy's flags, one-line errors with exit code 2, a dry run end to end;
command lines of tcpcopy and tcpburn run unchanged, flags with nothing to act on say so."""

import ipaddress
import subprocess
import sys

import pytest

from pyreplay.packet.pcap import PcapWriter, open_capture
from pyreplay.packet.segment import ACK, FIN, PSH, SYN, Segment, TcpOptions
from pyreplay.packet.tcpip import build_packet, parse_packet


def cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "pyreplay.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_version_and_help():
    assert cli("--version").stdout.startswith("pyreplay, version 0.1.0 (per-packet core: ")
    out = cli("copy", "--help").stdout
    for flag in ("-x", "-c", "-n", "-f", "-r", "-O", "-W", "-t", "-k", "-M", "-D", "-s", "-p", "-i", "-a", "-I",
                 "-l", "-d", "-P", "-m", "-H", "-T", "-g", "-L", "-F", "-C", "-R", "-U", "-B", "-S", "-o", "-v"):
        assert f"{flag}, --" in out, flag


@pytest.mark.parametrize("command, flags", [
    ("copy", ()),
    ("intercept", ("-i", "-F", "-p", "-b", "-l", "-d", "-P", "-n", "-s", "-D", "-t", "-x", "-q", "-c", "-v")),
    ("burn", ("-x", "-f", "-s", "-p", "-u", "-c", "-i", "-a", "-A", "-t", "-T", "-M", "-S", "-C", "-m", "-e", "-l",
              "-P", "-d", "-o", "-v")),
])
def test_every_subcommand_has_h_and_v_like_the_originals(command, flags):
    assert cli(command, "-v").stdout.startswith("pyreplay, version")
    out = cli(command, "-h").stdout
    assert out.startswith("Usage: ")
    for flag in flags:
        assert f"{flag}, --" in out, flag


@pytest.mark.parametrize("args, fragment", [
    (("copy", "-x", "80-10.0.0.2", "-s", "10.0.0.3", "-i", "f"), "-x '80-10.0.0.2'"),
    (("copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-c", "10.1.1.*", "-i", "f"), "use x instead of *"),
    (("copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-r", "250", "-i", "f"), "-r"),
    (("copy", "-x", "80-10.0.0.2:8080", "-i", "f"), "-s"),
    (("copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "--xdp", "eth9", "--tc", "eth9"), "choose one of"),
    (("copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-i", "f", "--afpacket", "eth9"), "live capture"),
    (("intercept", "-p", "70000"), "-p"),
    (("intercept", "-F", "tcp and srcc port 80", "-i", "lo"), "bad filter"),
    (("copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-C", "12", "-i", "f"), "-C '12'"),
    (("copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-U", "64", "-i", "f"), "-U '64'"),
    (("copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-R", "soon", "-i", "f"), "-R 'soon'"),
    (("copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-T", "0", "-i", "f"), "-T '0'"),
    (("copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-H", "127.0.0.1", "-i", "f"), "-H '127.0.0.1'"),
    (("copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-o", "a,b", "-i", "f"), "-o 'a,b'"),
    (("burn", "-L"), "No such option '-L' (see 'pyreplay burn -h')"),  # tcpburn refused it too
    (("copy", "-x"), "Option '-x' requires an argument"),
    (("burn", "--no-syn", "maybe"), "'maybe' is not one of 'fake', 'skip'"),
    (("intercept", "-n", "2000"), "-n '2000'"),
    (("intercept", "-s", "0"), "-s '0'"),
    (("intercept", "-t", "0"), "-t '0'"),
    (("intercept", "-D", "172.17.0.2"), "-D '172.17.0.2'"),
    (("intercept", "-x", "not-an-ip"), "-x 'not-an-ip'"),
    (("burn", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-f", "a.pcap", "-u", "1", "-c", "10.2.0.1",
      "-A", "0"), "-A '0'"),
    (("burn", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-f", "a.pcap", "-u", "1", "-c", "10.2.0.1",
      "-T", "-1"), "-T '-1'"),
    (("burn", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-f", "a.pcap", "-u", "1", "-c", "10.2.0.1",
      "-C", "17"), "-C '17'"),
])
def test_bad_values_are_one_line_and_exit_2(args, fragment):
    done = cli(*args)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], done.stderr


def test_intercept_help_shows_the_defaults_the_runtime_uses():
    from pyreplay.channel.batcher import DEFAULT_MAX_ITEMS
    from pyreplay.channel.delay import DEFAULT_DELAY_CAPACITY
    from pyreplay.channel.router import DEFAULT_IDLE_TIMEOUT

    out = " ".join(cli("intercept", "-h").stdout.split())
    for flag, default in (("--combine", DEFAULT_MAX_ITEMS), ("--delay-capacity", DEFAULT_DELAY_CAPACITY),
                          ("--route-timeout", int(DEFAULT_IDLE_TIMEOUT))):
        assert f"[default: {default}]" in out.split(flag, 1)[1].split(" -", 1)[0], flag


def test_input_naming_interfaces_of_this_host_means_live_capture(tmp_path, monkeypatch):
    from pyreplay.cli import input_interfaces

    monkeypatch.chdir(tmp_path)
    assert input_interfaces("lo") == "lo"  # every namespace has lo
    assert input_interfaces("any") == ""
    assert input_interfaces("lo,pyreplay-none0") is None and input_interfaces("pyreplay-none0") is None
    assert input_interfaces(None) is None and input_interfaces("") is None
    (tmp_path / "lo").write_bytes(b"")
    assert input_interfaces("lo") is None  # an existing file is a capture file


@pytest.mark.netns
def test_tcpcopy_pcap_capture_command_line_captures_live_on_the_named_interface():
    """tcpcopy (--pcap-capture build) -x ... -s ... -i lo: in a namespace of the test's own, with no
    intercept to reach, copy takes the live path (it connects to intercept before capturing)."""
    done = subprocess.run(["unshare", "-n", sys.executable, "-m", "pyreplay.cli", "copy", "-x", "80-10.0.0.2:8080",
                           "-s", "127.0.0.1", "-i", "lo"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "cannot reach intercept at 127.0.0.1:36524" in done.stderr and "cannot read" not in done.stderr
    both = cli("copy", "-x", "80-10.0.0.2:8080", "-s", "10.0.0.3", "-i", "lo", "--xdp", "lo")
    assert both.returncode == 2 and "name the capture interfaces once" in both.stderr


def test_unreadable_capture_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"this is not a capture file at all")
    done = cli("copy", "-x", "80-10.0.0.2:8080", "-c", "10.9.0.x", "-i", str(bad), "--write", str(tmp_path / "o"))
    assert done.returncode == 1 and "cannot read" in done.stderr


def conversation(sport):
    client, online = ipaddress.ip_address("192.0.2.7").packed, ipaddress.ip_address("192.0.2.80").packed
    body = f"GET /{sport} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    return [Segment(client, online, sport, 80, 100, 0, SYN, 65535, TcpOptions(mss=1460)),
            Segment(client, online, sport, 80, 101, 9001, ACK, 502),
            Segment(client, online, sport, 80, 101, 9001, ACK | PSH, 502, payload=body),
            Segment(client, online, sport, 80, 101 + len(body), 9301, FIN | ACK, 502)]


def test_tcpcopy_command_line_dry_run_writes_the_replay(tmp_path):
    capture = tmp_path / "online.pcap"
    with open(capture, "wb") as f:
        writer = PcapWriter(f)
        t = 1000.0
        for sport in (40001, 40002):
            for seg in conversation(sport):
                writer.write(t, build_packet(seg))
                t += 0.01
    out = tmp_path / "out.pcap"
    done = cli("copy", "-x", "80-198.18.0.30:8080", "-c", "198.19.0.x", "-n2", "-i", str(capture), "-a", "100",
               "--write", str(out), "--idle-exit", "0.5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "outcomes complete 4" in done.stdout
    with open_capture(out) as reader:
        sent = [parse_packet(r.packet) for r in reader]
    bodies = sorted(s.payload for s in sent if s.payload)
    assert bodies == sorted([b"GET /40001 HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /40002 HTTP/1.1\r\nHost: x\r\n\r\n"] * 2)
    assert {ipaddress.ip_address(s.src) in ipaddress.ip_network("198.19.0.0/24") for s in sent} == {True}


def write_capture(path, sessions):
    with open(path, "wb") as f:
        writer = PcapWriter(f)
        for t0, sport in sessions:
            for k, seg in enumerate(conversation(sport)):
                writer.write(1000.0 + t0 + k * 0.01, build_packet(seg))


def test_the_tcpcopy_command_line_of_an_operator_script_runs_unchanged(tmp_path):
    """tcpcopy -x 80-10.0.0.2:8080 -s 10.0.0.3 -c 10.1.2.x -n 2 -f 1 -U 2 -C 4 -L -R 5 -i f.pcap -T 2 -a 10,
    addresses of the lab's range, as a dry run."""
    capture, out = tmp_path / "f.pcap", tmp_path / "out.pcap"
    write_capture(capture, [(0.0, 40001), (0.05, 40002)])
    done = cli("copy", "-x", "80-198.18.0.30:8080", "-s", "198.18.0.40", "-c", "198.19.2.x", "-n", "2", "-f", "1",
               "-U", "2", "-C", "4", "-L", "-R", "5", "-i", str(capture), "-T", "2", "-a", "10",
               "--write", str(out), "--idle-exit", "0.5")
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("pyreplay: warning: ")]
    assert [w.split(":")[2].strip() for w in warnings] == ["-C 4", "-R 5", "-U 2"], done.stderr
    assert all("accepted for compatibility, no effect" in w for w in warnings)
    assert "outcomes complete 8" in done.stdout  # 2 sessions x -n 2 x -T 2
    with open_capture(out) as reader:
        syns = [s for s in (parse_packet(r.packet) for r in reader) if s.flags & SYN]
    assert len({(s.src, s.sport) for s in syns}) == 8
    assert all(s.sport % 32 == 1 for s in syns)  # -f 1: share 1 of 32 of the port space


def burn_syn_times(tmp_path, *flags):
    capture, out = tmp_path / "b.pcap", tmp_path / f"out{len(flags)}.pcap"
    write_capture(capture, [(0.0, 40001), (0.5, 40002), (0.8, 40003)])
    done = cli("burn", "-x", "80-198.18.0.30:8080", "-f", str(capture), "-u", "3", "-c", "198.19.0.1",
               "--write", str(out), *flags)
    assert done.returncode == 0, done.stdout + done.stderr
    with open_capture(out) as reader:
        times = sorted(r.timestamp for r in reader if parse_packet(r.packet).flags & SYN)
    return [round(t - times[0], 4) for t in times], done


def test_burn_topology_keeps_the_captured_start_spacing(tmp_path):
    assert burn_syn_times(tmp_path)[0] == [0.0, 0.001, 0.002]  # -i 1024: about 1 ms apart
    assert burn_syn_times(tmp_path, "-T", "6")[0] == [0.0, 0.5, 0.8]
    assert burn_syn_times(tmp_path, "-T", "6", "-a", "2")[0] == [0.0, 0.25, 0.4]


def test_burn_ignitions_per_ms_caps_the_start_rate(tmp_path):
    assert burn_syn_times(tmp_path, "-i", "100000")[0] == [0.0, 0.0, 0.0]
    times, done = burn_syn_times(tmp_path, "-i", "100000", "-A", "1")
    assert times == [0.0, 0.001, 0.002]
    assert "pyreplay: warning: -A 1 caps the start rate at 1000 connections per second, below -i 100000" in done.stderr


def test_tcpburn_compatibility_flags_are_accepted_with_one_line_each(tmp_path):
    _, done = burn_syn_times(tmp_path, "-S", "1460", "-C", "2", "-o", "eth1")
    warnings = [line for line in done.stderr.splitlines() if line.startswith("pyreplay: warning: ")]
    assert [w.split(":")[2].strip() for w in warnings] == ["-S 1460", "-C 2", "-o eth1"]


def test_burn_daemon_writes_its_pid_file_runs_in_the_background_and_removes_it(tmp_path):
    import os
    import time

    capture, out, pid_file = tmp_path / "b.pcap", tmp_path / "out.pcap", tmp_path / "burn.pid"
    write_capture(capture, [(0.0, 40001)])
    done = cli("burn", "-x", "80-198.18.0.30:8080", "-f", str(capture), "-u", "50", "-c", "198.19.0.1",
               "--write", str(out), "--loop", "40", "-d", "-P", str(pid_file))
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr  # the parent returns at once
    deadline = time.monotonic() + 30
    pid = None
    while time.monotonic() < deadline:
        if pid is None and pid_file.exists() and pid_file.read_text().strip():
            pid = int(pid_file.read_text())
        if pid is not None and not pid_file.exists():
            break
        time.sleep(0.02)
    else:
        if pid is not None:
            os.kill(pid, 15)  # the daemon this test started
        pytest.fail("the daemon did not finish in 30 s")
    with open_capture(out) as reader:
        syns = [s for s in (parse_packet(r.packet) for r in reader) if s.flags & SYN]
    assert len(syns) == 50 * 40


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_the_fast_exit_still_runs_exit_handlers_and_flushes_what_was_written():
    done = run_python("import atexit, sys\n"
                      "from pyreplay.cli import fast_exit\n"
                      "atexit.register(lambda: print(' handler ran'))\n"
                      "sys.stdout.write('summary without newline')\n"
                      "sys.stderr.write('warning without newline')\n"
                      "fast_exit(3)\n"
                      "print('not reached')")
    assert (done.returncode, done.stdout, done.stderr) == (3, "summary without newline handler ran\n",
                                                           "warning without newline")


@pytest.mark.parametrize("code, status, stderr", [(None, 0, ""), (0, 0, ""), (2, 2, ""), ("bad input", 1, "bad input\n")])
def test_the_fast_exit_takes_a_status_as_sys_exit_does(code, status, stderr):
    done = run_python(f"from pyreplay.cli import fast_exit; fast_exit({code!r})")
    assert (done.returncode, done.stderr) == (status, stderr)


@pytest.mark.parametrize("args, status", [(["--version"], 0), (["copy", "-x", "nonsense"], 2)])
def test_the_command_skips_the_interpreter_s_teardown_and_keeps_main_s_status_and_output(tmp_path, args, status):
    """``entry`` (the installed command, ``python -m pyreplay.cli``): main's output and exit
    status, and no finalization (an object left for it is never finalized)."""
    script = tmp_path / "entry.py"
    script.write_text("import sys\n"
                      "from pyreplay.cli import entry\n"
                      "class LeftForTeardown:\n"
                      "    def __del__(self): print('finalized', file=sys.stderr)\n"
                      "kept = LeftForTeardown()\n"
                      "sys.argv = ['pyreplay', *sys.argv[1:]]\n"
                      "entry()\n")
    control = run_python("import sys\n"
                         "class LeftForTeardown:\n"
                         "    def __del__(self): print('finalized', file=sys.stderr)\n"
                         "kept = LeftForTeardown()\n")
    assert control.stderr == "finalized\n"  # the check below can see a teardown
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == status, done.stderr
    assert "finalized" not in done.stderr
    assert (done.stdout + done.stderr).startswith("pyreplay")
