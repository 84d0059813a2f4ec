"""What one iteration of a copy loop sends: channel notices first, then packets, in batches.

``Outbox(emitter, intercepts, batch=SEND_BATCH, on_sent=None)``: ``packet(bytes, now)`` queues a
packet for the target (and flushes once ``batch`` are queued, so no packet waits long);
``notice(message)`` queues a Register/Unregister for intercept; ``flush()`` sends the queued
notices to every intercept in one write each (so intercept knows a client before its SYN-ACK
can arrive), then the queued packets through the emitter, calling ``on_sent(packet, now)``
after each (the dry run's simulated target listens there).
"""

from __future__ import annotations

from collections.abc import Callable

from pyreplay.backends.emit import Emitter
from pyreplay.channel.messages import Message

SEND_BATCH = 64


class Outbox:
    def __init__(self, emitter: Emitter, intercepts, *, batch: int = SEND_BATCH,
                 on_sent: Callable[[bytes, float], object] | None = None) -> None:
        self.emitter = emitter
        self.intercepts = intercepts  # an Intercepts (announce_many), or None
        self.batch = batch
        self.on_sent = on_sent
        self._packets: list[tuple[bytes, float]] = []
        self._notices: list[Message] = []

    def packet(self, packet: bytes, now: float) -> None:
        self._packets.append((packet, now))
        if len(self._packets) >= self.batch:
            self.flush()

    def notice(self, message: Message) -> None:
        self._notices.append(message)

    def flush(self) -> None:
        if self._notices:
            if self.intercepts is not None:
                self.intercepts.announce_many(self._notices)
            self._notices.clear()
        if self._packets:
            send = self.emitter.send
            on_sent = self.on_sent
            for packet, now in self._packets:
                send(packet, now)
                if on_sent is not None:
                    on_sent(packet, now)
            self._packets.clear()
