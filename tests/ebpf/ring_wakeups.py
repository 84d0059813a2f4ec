"""A thread asleep on a ring consumer, to tell which ring records wake their reader."""

from __future__ import annotations

import threading
import time

from pyreplay.ebpf.ringbuf import RingConsumer


def sleeping_reader(consumer: RingConsumer, timeout: float = 10.0) -> threading.Thread:
    """A thread asleep in ``consumer.wait(timeout)``; its ``woke`` event is set when poll()
    returns. (poll() looks at the ring once more when its time is up, so only the time tells a
    wake-up from a record that arrived silently.) Join it before it is started again."""
    woke = threading.Event()

    def wait() -> None:
        consumer.wait(timeout)
        woke.set()

    reader = threading.Thread(target=wait)
    reader.woke = woke
    reader.start()
    time.sleep(0.2)  # asleep in poll() by now
    return reader


def wakes(consumer: RingConsumer, *writes) -> list[bool]:
    """For a reader asleep on an empty ring: after each of ``writes`` (each writes records into
    the ring), whether it was awake by then. Its own timeout comes 0.8 s after the first write
    at the earliest; each check waits 0.3 s."""
    assert consumer.pending_bytes() == 0, "poll() returns at once on a ring holding records"
    reader = sleeping_reader(consumer, timeout=1.0 + 0.3 * len(writes))
    seen = []
    try:
        for write in writes:
            write()
            seen.append(reader.woke.wait(0.3))
    finally:
        reader.join(len(writes) + 5)
    return seen
