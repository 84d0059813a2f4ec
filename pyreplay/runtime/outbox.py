"""What one iteration of a copy loop sends: channel notices first, then packets, in batches.

``Outbox(emitter, intercepts, batch=SEND_BATCH, on_sent=None, hold_unregisters=False)``:
``packet(bytes, now)`` queues a packet for the target (and flushes once ``batch`` are queued,
so no packet waits long); ``notice(frame, registers)`` queues a Register (``registers``) or
Unregister frame for intercept;
``flush()`` sends the queued notices to every intercept in one write each (so intercept knows a
client before its SYN-ACK can arrive), then the queued packets through the emitter, calling
``on_sent(packet, now)`` after each (the dry run's simulated target listens there).

``hold_unregisters``: notices that are all Unregisters stay queued until a Register comes (they
go first, in order), ``HELD_UNREGISTERS_MAX`` are queued, or ``release_unregisters()`` (live
copy calls it every second). Nothing needs an Unregister soon: intercept only forgets a route
(and a client identity is not reused for 60 s), while each channel write is a wake-up of
intercept; a short session's own Unregister was one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from pyreplay.backends.emit import Emitter

SEND_BATCH: Final = 64
HELD_UNREGISTERS_MAX: Final = 256


class Outbox:
    def __init__(self, emitter: Emitter, intercepts, *, batch: int = SEND_BATCH,
                 on_sent: Callable[[bytes, float], object] | None = None,
                 hold_unregisters: bool = False) -> None:
        self.emitter = emitter
        self.intercepts = intercepts  # an Intercepts (announce_frames), or None
        self.batch = batch
        self.on_sent = on_sent
        self.hold_unregisters = hold_unregisters
        self._packets: list[tuple[bytes, float]] = []
        self._notices: list[bytes] = []  # channel frames
        self._registers = 0  # Registers among the queued notices

    def packet(self, packet: bytes, now: float) -> None:
        self._packets.append((packet, now))
        if len(self._packets) >= self.batch:
            self.flush()

    def notice(self, frame: bytes, registers: bool) -> None:
        self._notices.append(frame)
        if registers:
            self._registers += 1

    @property
    def held(self) -> int:
        """Notices queued and not sent yet (Unregisters held, between flushes)."""
        return len(self._notices)

    def release_unregisters(self) -> None:
        if self._notices:
            self._send_notices()

    def flush(self) -> None:
        notices = self._notices
        if notices and (self._registers or not self.hold_unregisters or len(notices) >= HELD_UNREGISTERS_MAX):
            self._send_notices()
        if self._packets:
            send = self.emitter.send
            on_sent = self.on_sent
            for packet, now in self._packets:
                send(packet, now)
                if on_sent is not None:
                    on_sent(packet, now)
            self._packets.clear()

    def _send_notices(self) -> None:
        if self.intercepts is not None:
            self.intercepts.announce_frames(b"".join(self._notices))
        self._notices.clear()
        self._registers = 0
