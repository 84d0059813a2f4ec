"""Outbox: notices before packets, one channel write per flush, and held Unregisters."""

from __future__ import annotations

from pyreplay.channel.codec import decode_body, encode_route
from pyreplay.runtime.outbox import HELD_UNREGISTERS_MAX, Outbox

CLIENT, TARGET = (b"\x0a\x09\x00\x01", 40000), (b"\x0a\x00\x00\x02", 8080)


class Recorder:
    """Stands in for the emitter and for Intercepts; logs what would go out, in order."""

    def __init__(self) -> None:
        self.log: list = []

    def send(self, packet: bytes, now: float) -> None:
        self.log.append(("packet", packet))

    def announce_frames(self, frames: bytes) -> None:
        names = []
        while frames:
            end = 4 + int.from_bytes(frames[:4], "big")
            names.append(type(decode_body(frames[4:end])).__name__)
            frames = frames[end:]
        self.log.append(("write", names))


def register(port: int = 40000) -> tuple[bytes, bool]:
    return encode_route(True, (CLIENT[0], port), TARGET), True


def unregister(port: int = 40000) -> tuple[bytes, bool]:
    return encode_route(False, (CLIENT[0], port), TARGET), False


def test_notices_go_first_in_one_write_then_the_packets():
    out = Recorder()
    outbox = Outbox(out, out)
    outbox.packet(b"syn", 1.0)
    outbox.notice(*register())
    outbox.notice(*unregister(40001))
    outbox.flush()
    assert out.log == [("write", ["Register", "Unregister"]), ("packet", b"syn")]


def test_unregisters_go_at_once_unless_held():
    out = Recorder()
    outbox = Outbox(out, out)
    outbox.notice(*unregister())
    outbox.flush()
    assert out.log == [("write", ["Unregister"])]


def test_held_unregisters_wait_for_the_next_register_and_go_before_it():
    out = Recorder()
    outbox = Outbox(out, out, hold_unregisters=True)
    outbox.notice(*unregister(40001))
    outbox.packet(b"last ack", 1.0)
    outbox.flush()
    outbox.notice(*unregister(40002))
    outbox.flush()
    assert out.log == [("packet", b"last ack")] and outbox.held == 2
    outbox.notice(*register(40003))
    outbox.flush()
    assert out.log[-1] == ("write", ["Unregister", "Unregister", "Register"]) and outbox.held == 0
    outbox.notice(*unregister(40003))
    outbox.flush()
    outbox.release_unregisters()
    assert out.log[-1] == ("write", ["Unregister"]) and outbox.held == 0
    outbox.release_unregisters()  # nothing held: no empty write
    assert len(out.log) == 3


def test_held_unregisters_are_bounded():
    out = Recorder()
    outbox = Outbox(out, out, hold_unregisters=True)
    for port in range(HELD_UNREGISTERS_MAX):
        outbox.notice(*unregister(1000 + port))
    outbox.flush()
    assert out.log == [("write", ["Unregister"] * HELD_UNREGISTERS_MAX)] and outbox.held == 0
