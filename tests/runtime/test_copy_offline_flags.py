"""copy's flags from tcpcopy that act, without a network: ``-g`` ramps sampling with the time
since the first captured packet (explicit ``now``), ``-H`` sends loopback clients from a real
address, ``-F`` narrows what is replayed, ``-T`` replays the file N times (dry run against the
simulated target), ``-L`` keeps copy going and reconnects lost intercepts every 12 s (fake
channel connections, explicit clock)."""

from __future__ import annotations

import ipaddress
import subprocess
import sys

import pytest

from pyreplay.backends.channel_tcp import ChannelClosed
from pyreplay.backends.pcapfilter import offline_filter
from pyreplay.channel.codec import FrameDecoder, decode_body, encode
from pyreplay.channel.messages import CHANNEL_VERSION, Hello, Register
from pyreplay.config import RECONNECT_INTERVAL, CopyConfig
from pyreplay.packet.pcap import PcapWriter, open_capture
from pyreplay.packet.segment import ACK, FIN, PSH, SYN, Segment, TcpOptions
from pyreplay.packet.tcpip import build_packet, parse_packet
from pyreplay.rewrite import gradual_percent, sample_session
from pyreplay.runtime.copy import Intercepts
from pyreplay.runtime.replay import Replay


def ip(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


CLIENT = ip("192.0.2.7")
ONLINE = ip("192.0.2.80")
X = "80-198.18.0.30:8080"


def config(**options) -> CopyConfig:
    base = {"transfers": X, "intercepts": "198.18.0.40"}
    base.update(options)
    return CopyConfig.from_options(**base)


def conversation(sport: int, client: bytes = CLIENT, body: bytes | None = None) -> list[Segment]:
    body = body or f"GET /{sport} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    return [Segment(client, ONLINE, sport, 80, 100, 0, SYN, 65535, TcpOptions(mss=1460)),
            Segment(client, ONLINE, sport, 80, 101, 9001, ACK, 502),
            Segment(client, ONLINE, sport, 80, 101, 9001, ACK | PSH, 502, payload=body),
            Segment(client, ONLINE, sport, 80, 101 + len(body), 9301, FIN | ACK, 502)]


class Recorder:
    """A Replay whose packets and notices are kept, fed captured packets at explicit times."""

    def __init__(self, cfg: CopyConfig, **kwargs) -> None:
        self.sent: list[Segment] = []
        self.announced: list = []
        self.replay = Replay(cfg, lambda packet, now: self.sent.append(parse_packet(packet)),
                             lambda frame, registers: self.announced.append(decode_body(frame[4:])), **kwargs)

    def capture(self, segment: Segment, now: float) -> None:
        parsed = self.replay.captured_segment(build_packet(segment))
        if parsed is not None:
            self.replay.client_segment(parsed, now)

    def syns(self) -> list[Segment]:
        return [s for s in self.sent if s.flags & SYN]


# --- -g ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("percent", [100, 30])
def test_gradual_replays_each_session_by_the_percentage_of_its_second_since_the_first(percent):
    r = Recorder(config(gradual=True, sample_percent=str(percent), client_pool="198.19.0.0/20"))
    expected = []
    first = 5000.0  # any clock: the ramp counts from the first captured packet
    for i in range(2400):
        elapsed, port = i * 0.05, 10000 + i  # 120 s of new sessions
        r.capture(conversation(port)[0], first + elapsed)
        if sample_session(CLIENT, port, gradual_percent(elapsed, percent)):
            expected.append(port)
    created = sorted(m.client_port for m in r.announced if isinstance(m, Register))
    assert created == expected
    early = [p for p in created if p < 10000 + 200]  # the first 10 s: 1..10 %
    assert len(early) <= 0.12 * 200
    late = [p for p in range(10000 + 2000, 10000 + 2400)]  # after 100 s: the full -r
    kept_late = sum(sample_session(CLIENT, p, percent) for p in late)
    assert sum(1 for p in created if p >= 12000) == kept_late
    assert r.replay.stats.skipped.get("sampled out (-g)", 0) > 0


def test_without_gradual_every_session_is_replayed_from_the_first_second():
    r = Recorder(config(client_pool="198.19.0.0/24"))
    for port in range(10000, 10100):
        r.capture(conversation(port)[0], 0.0)
    assert len(r.syns()) == 100


# --- -H ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client, options, source", [
    ("127.0.0.1", {"loopback_source": "198.19.0.77"}, "198.19.0.77"),
    ("127.0.0.5", {"loopback_source": "198.19.0.77"}, "198.19.0.77"),
    ("192.0.2.7", {"loopback_source": "198.19.0.77"}, "192.0.2.7"),  # not from loopback: kept
    ("127.0.0.1", {}, "127.0.0.1"),  # without -H nothing changes
    ("127.0.0.1", {"loopback_source": "198.19.0.77", "transfers": "80-127.0.0.1:8080"}, "127.0.0.1"),
])
def test_loopback_source_replaces_the_client_address_of_whole_sessions(client, options, source):
    r = Recorder(config(**options))
    for seg in conversation(40001, client=ip(client)):
        r.capture(seg, 0.0)
    assert r.sent and {s.src for s in r.sent} == {ip(source)}
    assert r.announced[0].client_addr == ip(source)  # intercept routes by what is sent


# --- -F ------------------------------------------------------------------------------------------


def test_capture_filter_replays_only_what_it_matches_too():
    r = Recorder(config(), keep=offline_filter("tcp and src port 40001"))
    for port in (40001, 40002):
        for seg in conversation(port):
            r.capture(seg, 0.0)
    assert [s.sport for s in r.syns()] == [40001]
    assert r.replay.stats.skipped.get("not matching -F", 0) == 4


# --- dry runs from the command line: -T, -H, -F ----------------------------------------------------


def cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "pyreplay.cli", "copy", *args], capture_output=True, text=True,
                          timeout=timeout)


def write_capture(path, sessions):
    with open(path, "wb") as f:
        writer = PcapWriter(f)
        t = 1000.0
        for segments in sessions:
            for seg in segments:
                writer.write(t, build_packet(seg))
                t += 0.01


def replayed(path):
    with open_capture(path) as reader:
        return [parse_packet(r.packet) for r in reader]


def test_repeat_replays_the_whole_file_that_many_times_from_fresh_identities(tmp_path):
    capture, out = tmp_path / "online.pcap", tmp_path / "out.pcap"
    write_capture(capture, [conversation(40001), conversation(40002)])
    done = cli("-x", X, "-c", "198.19.0.x", "-i", str(capture), "-a", "100", "-T", "3", "--write", str(out),
               "--idle-exit", "0.5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"passes over {capture}: 3 of 3" in done.stdout
    assert "outcomes complete 6" in done.stdout
    sent = replayed(out)
    syns = [s for s in sent if s.flags & SYN]
    assert len(syns) == 6 and len({(s.src, s.sport) for s in syns}) == 6  # TIME_WAIT on the target: never reused
    bodies = sorted(s.payload for s in sent if s.payload)
    assert bodies == sorted([b"GET /40001 HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /40002 HTTP/1.1\r\nHost: x\r\n\r\n"] * 3)
    once = cli("-x", X, "-c", "198.19.0.x", "-i", str(capture), "-a", "100", "--write", str(out),
               "--idle-exit", "0.5")
    assert once.returncode == 0 and "passes over" not in once.stdout
    assert len([s for s in replayed(out) if s.flags & SYN]) == 2


def test_loopback_source_from_the_command_line(tmp_path):
    capture, out = tmp_path / "lo.pcap", tmp_path / "out.pcap"
    write_capture(capture, [conversation(40001, client=ip("127.0.0.1"))])
    done = cli("-x", X, "-H", "198.19.0.77", "-i", str(capture), "-a", "100", "--write", str(out),
               "--idle-exit", "0.5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert {s.src for s in replayed(out)} == {ip("198.19.0.77")}


def test_capture_filter_from_the_command_line_and_a_bad_one(tmp_path):
    capture, out = tmp_path / "two.pcap", tmp_path / "out.pcap"
    write_capture(capture, [conversation(40001), conversation(40002)])
    done = cli("-x", X, "-F", "src port 40002", "-i", str(capture), "-a", "100", "--write", str(out),
               "--idle-exit", "0.5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert {s.sport for s in replayed(out)} == {40002}
    assert "not matching -F 4" in done.stdout
    bad = cli("-x", X, "-F", "src prot 40002", "-i", str(capture), "--write", str(out))
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert bad.returncode == 2 and len(lines) == 1 and "src prot 40002" in lines[0], bad.stderr


# --- -L ------------------------------------------------------------------------------------------


class FakeConnection:
    def __init__(self, peer: str) -> None:
        self.peer = peer
        self.frames = bytearray()
        self.broken = False
        self.closed = False
        self.wants_write = False

    def send(self, frame: bytes) -> None:
        if self.broken:
            raise ChannelClosed(f"{self.peer} closed the connection")
        self.frames += frame

    def flush_blocking(self, timeout: float = 2.0) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class FakeChannel:
    """Stands in for ``connect_channel``: hands out FakeConnections, or refuses when told."""

    def __init__(self) -> None:
        self.opened: list[FakeConnection] = []
        self.attempts = 0
        self.refuse = False

    def __call__(self, host, port, role, name, timeout=5.0, accepts=None):
        self.attempts += 1
        if self.refuse:
            raise ConnectionError(f"cannot reach intercept at {host}:{port}: Connection refused")
        conn = FakeConnection(f"{host}:{port}")
        self.opened.append(conn)
        return conn


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


ROUTE = Register(ip("198.19.0.5"), 40001, ip("198.18.0.30"), 8080)


def test_lonely_copy_reconnects_every_interval_and_re_registers_live_sessions():
    channel = FakeChannel()
    clock = Clock(100.0)
    intercepts = Intercepts(config(intercepts="198.18.0.40,198.18.0.41", lonely=True).intercepts, lonely=True,
                            clock=clock, connect=channel)
    first, second = channel.opened
    first.broken = second.broken = True
    intercepts.announce_frames(encode(ROUTE))  # both writes fail: both intercepts are lost
    assert intercepts.connections == [] and first.closed and second.closed
    assert intercepts.alive  # -L: the run goes on

    routes = lambda: [ROUTE]  # noqa: E731
    assert intercepts.reconnect_due(100.0 + RECONNECT_INTERVAL - 0.001, routes) == 0
    assert channel.attempts == 2  # nothing tried before the interval
    channel.refuse = True
    assert intercepts.reconnect_due(100.0 + RECONNECT_INTERVAL, routes) == 0
    assert channel.attempts == 4  # both tried once, both refused: next try one interval later
    channel.refuse = False
    assert intercepts.reconnect_due(100.0 + 2 * RECONNECT_INTERVAL - 0.001, routes) == 0
    assert intercepts.reconnect_due(100.0 + 2 * RECONNECT_INTERVAL, routes) == 2
    assert len(intercepts.connections) == 2
    hello = Hello(CHANNEL_VERSION, "copy", "test")  # the real connect_channel sends it first
    for conn in intercepts.connections:
        assert FrameDecoder().feed(encode(hello) + bytes(conn.frames)) == [hello, ROUTE]
    assert intercepts.reconnect_due(1e6, routes) == 0  # nothing left to retry
    assert intercepts.problem() == ("lost 2 intercept connection(s) during the run; reconnected 2 time(s) (-L): "
                                    "sessions that ran while their intercept was gone got no responses")


def test_without_lonely_a_lost_intercept_ends_the_run_and_is_not_retried():
    channel = FakeChannel()
    intercepts = Intercepts(config().intercepts, clock=Clock(0.0), connect=channel)
    channel.opened[0].broken = True
    intercepts.announce_frames(encode(ROUTE))
    assert not intercepts.alive
    assert intercepts.reconnect_due(1e6, lambda: [ROUTE]) == 0 and channel.attempts == 1
    assert intercepts.problem().startswith("lost 1 intercept connection(s) during the run: ")


def test_replay_lists_the_routes_of_live_sessions_only():
    r = Recorder(config(client_pool="198.19.0.1"))
    r.capture(conversation(40001)[0], 0.0)
    r.capture(conversation(40002)[0], 0.0)
    assert sorted(m.client_port for m in r.replay.registrations()) == [40001, 40002]
    r.replay.shutdown(1.0)  # both end (reset): nothing left to re-register
    assert r.replay.registrations() == []
