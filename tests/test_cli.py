"""The command line: TCPCopy's flags, one-line errors with exit code 2, a dry run end to end."""

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
    assert cli("--version").stdout.startswith("pyreplay, version")
    out = cli("copy", "--help").stdout
    for flag in ("-x", "-c", "-n", "-f", "-r", "-O", "-W", "-t", "-k", "-M", "-D", "-s", "-p", "-i", "-a", "-I",
                 "-l", "-d", "-P", "-m"):
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
])
def test_bad_values_are_one_line_and_exit_2(args, fragment):
    done = cli(*args)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], done.stderr


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
