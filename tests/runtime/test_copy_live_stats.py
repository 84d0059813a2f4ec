"""Live copy's periodic stats line, without a network: a fake capture and intercept connection,
packets kept in memory and answered by the simulated target, explicit times. A healthy replay's
line says sessions, requests, responses and capture losses only; a capture hole resynced past
shows while its session is still open, and so do send errors, lost intercept connections and
sessions no client identity was free for."""

from __future__ import annotations

import ipaddress

import pytest

from pyreplay.backends.emit import MemoryEmitter
from pyreplay.config import CopyConfig
from pyreplay.packet.segment import ACK, PSH, SYN, Segment, TcpOptions
from pyreplay.packet.tcpip import build_packet, parse_packet
from pyreplay.runtime import copy_live
from pyreplay.runtime.replay import POOL_EXHAUSTED
from pyreplay.runtime.simtarget import SimulatedTarget

CLIENT = ipaddress.ip_address("192.0.2.7").packed
ONLINE = ipaddress.ip_address("192.0.2.80").packed
R1 = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
R2 = b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"  # lost by the capture
R3 = b"GET /3 HTTP/1.1\r\nHost: x\r\n\r\n"
HEALTHY = "capture losses: ring full 0, truncated 0"


class FakeCapture:
    description = "fake capture"
    interfaces = ["lab0"]

    def losses(self) -> dict[str, int]:
        return {"ring full": 0, "truncated": 0}

    def selectables(self) -> list:
        return []

    def drain(self, limit: int) -> list[bytes]:
        return []

    def close(self) -> None:
        pass


class FakeConnection:
    peer = "198.18.0.40:36524"
    wants_write = False

    def send(self, frame: bytes) -> None:
        pass

    def flush_blocking(self, timeout: float = 2.0) -> None:
        pass

    def close(self) -> None:
        pass


class Driver:
    """Feeds captured segments to a LiveCopy's replay at explicit times and answers what it
    sends with the simulated target at once, running the session deadlines in between."""

    def __init__(self, live: copy_live.LiveCopy) -> None:
        self.live = live
        self.target = SimulatedTarget()
        self._answered = 0

    def capture(self, segment: Segment, at: float) -> None:
        self.until(at)
        parsed = self.live.replay.captured_segment(build_packet(segment))
        self.live.replay.client_segment(parsed, at)
        self._exchange(at)

    def until(self, at: float) -> None:
        replay = self.live.replay
        while (deadline := replay.next_deadline()) is not None and deadline <= at:
            replay.tick(deadline)
            self._exchange(deadline)

    def _exchange(self, now: float) -> None:
        live = self.live
        live.outbox.flush()
        packets = live.emitter.packets
        while self._answered < len(packets):
            _, packet = packets[self._answered]
            self._answered += 1
            for summary in self.target.receive(parse_packet(packet)):
                live.replay.response(summary, now)
            live.outbox.flush()

    def sent_payloads(self) -> list[bytes]:
        return [p for p in (parse_packet(packet).payload for _, packet in self.live.emitter.packets) if p]


@pytest.fixture
def live():
    config = CopyConfig.from_options(transfers="80-198.18.0.30:8080", intercepts="198.18.0.40")
    runtime = copy_live.LiveCopy(config, FakeCapture, stats_interval=5.0, new_emitter=MemoryEmitter,
                                 connect=lambda *args, **kwargs: FakeConnection())
    yield runtime
    runtime.close()


def client(seq: int, ack: int, flags: int, payload: bytes = b"") -> Segment:
    options = TcpOptions(mss=1460) if flags & SYN else TcpOptions()
    return Segment(CLIENT, ONLINE, 40001, 80, seq, ack, flags, 65535, options, payload)


def test_healthy_line_says_no_more_than_sessions_requests_responses_and_capture_losses(live):
    drive = Driver(live)
    drive.capture(client(100, 0, SYN), 0.0)
    drive.capture(client(101, 9001, PSH | ACK, R1), 0.01)
    drive.until(1.0)
    line = live.stats_line()
    assert line.startswith("copy: sessions 1 open / 1 replayed, requests 1, responses ")
    assert line.endswith(HEALTHY), line


def test_capture_hole_resynced_past_shows_while_its_session_is_open(live):
    drive = Driver(live)
    drive.capture(client(100, 0, SYN), 0.0)
    drive.capture(client(101, 9001, PSH | ACK, R1), 0.01)
    o3 = 101 + len(R1) + len(R2)
    drive.capture(client(o3, 9201, PSH | ACK, R3), 0.5)  # R2 never captured
    assert live.stats_line().endswith(HEALTHY)
    drive.until(0.5 + live.replay.session_config.capture_gap_timeout + 0.1)
    assert drive.sent_payloads() == [R1, R3]  # resynced, on a new connection
    assert live.replay.active_sessions == 1
    line = live.stats_line()
    assert line.endswith(f"{HEALTHY}; capture holes resynced 1 ({len(R2)} bytes skipped)"), line
    assert "requests 2," in line  # the open session's requests count before it ends


def test_send_errors_lost_intercepts_and_an_exhausted_client_pool_show_once_they_happen(live):
    live.emitter._count_error("EPERM", "sendto: Operation not permitted")
    live.emitter._count_error("EPERM", "sendto: Operation not permitted")
    live.intercepts.losses = 1
    live.replay.stats.skipped[POOL_EXHAUSTED] = 3
    assert live.stats_line().endswith(
        f"{HEALTHY}; send errors 2, intercept connections lost 1, "
        "sessions not replayed for an exhausted client pool 3")


def test_a_capture_that_cannot_open_leaves_the_emitter_and_intercept_connections_closed():
    opened: list[object] = []

    class Tracked:
        closed = False

        def close(self) -> None:
            self.closed = True

    class TrackedEmitter(Tracked):  # MemoryEmitter is compiled: no interpreted subclass of it
        sent = 0
        errors: dict[str, int] = {}
        last_error = ""

        def __init__(self) -> None:
            opened.append(self)

    class TrackedConnection(Tracked, FakeConnection):
        def __init__(self) -> None:
            opened.append(self)

    def no_capture():
        raise OSError("no capture here")

    config = CopyConfig.from_options(transfers="80-198.18.0.30:8080", intercepts="198.18.0.40,198.18.0.41")
    with pytest.raises(OSError, match="no capture here"):
        copy_live.LiveCopy(config, no_capture, new_emitter=TrackedEmitter,
                           connect=lambda *args, **kwargs: TrackedConnection())
    assert len(opened) == 3 and all(thing.closed for thing in opened)
