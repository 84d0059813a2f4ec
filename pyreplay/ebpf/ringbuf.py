"""Batch consumer of a BPF ring buffer map (BPF_MAP_TYPE_RINGBUF), through our own mmap.

Contract:
- ``RingConsumer(map_fd, size_bytes=None)`` maps the ring of a loaded map (``size_bytes`` is
  the ring's data size, a power-of-two number of pages; ``None`` asks the kernel). The consumer
  page is mapped read-write, the producer page and the data area (which the kernel maps twice
  in a row, so a record crossing the end reads contiguously) read-only.
- ``drain(max_records)`` returns copies of up to ``max_records`` committed record payloads, in
  ring order, and publishes the new consumer position. ``consume(callback, max_records)`` is the
  zero-copy variant: ``callback(memoryview)`` per record; the view is valid only during the call.
  Both stop at the first record still being written (busy bit), skip discarded records
  (discard bit) and return/count what they took. After publishing the consumer position they
  look at the producer position again (as libbpf does), so no record is left behind without a
  wake-up to come. Never blocks.
- ``fileno()`` is the map fd: poll/select/epoll report it readable when the kernel woke
  consumers (adaptive notification: a wake-up when the producer finds the consumer caught up).
  ``wait(timeout)`` is poll on it. ``pending_bytes()`` is how far behind the consumer is.
- ``close()`` unmaps; the map fd stays the caller's (bcc's table owns it).

Positions are read and the consumer position is written with single 8-byte loads/stores
(ctypes ``c_uint64`` at the mapped address). ``struct.pack_into`` must never be used for the
store: it zero-fills before writing, and a kernel seeing consumer_pos == 0 reports the ring
full (measured: spurious drops). Loads rely on the x86/arm64 C ABI: an aligned 8-byte ctypes
load is one instruction; the producer publishes with release semantics.
"""

from __future__ import annotations

import ctypes
import mmap
import select
from collections.abc import Callable
from typing import Any, Final

from pyreplay.ebpf.ringmap import RingError, map_pages, ring_size, unmap_pages

__all__ = ["RingConsumer", "RingError", "ring_size"]

BPF_RINGBUF_BUSY_BIT: Final = 1 << 31
BPF_RINGBUF_DISCARD_BIT: Final = 1 << 30
BPF_RINGBUF_HDR_SZ: Final = 8
_LEN_MASK: Final = ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT) & 0xFFFFFFFF
_PAGE: Final = mmap.PAGESIZE

class RingConsumer:
    def __init__(self, map_fd: int, size_bytes: int | None = None) -> None:
        size = ring_size(map_fd) if size_bytes is None else size_bytes
        if size <= 0 or size % _PAGE or size & (size - 1):
            raise ValueError(f"ring size must be a power-of-two number of pages, not {size}")
        self._fd = map_fd
        self.size = size
        self._mask = size - 1
        self._consumer_addr = map_pages(_PAGE, mmap.PROT_READ | mmap.PROT_WRITE, map_fd, 0)
        try:
            self._producer_len = _PAGE + 2 * size
            self._producer_addr = map_pages(self._producer_len, mmap.PROT_READ, map_fd, _PAGE)
        except BaseException:
            unmap_pages(self._consumer_addr, _PAGE)
            raise
        # None once closed: the mapping is gone, and a stale view or position would read it
        # (typed Any: mypyc cannot refer to ctypes' classes, which typeshed places in _ctypes)
        self._consumer_pos: Any = ctypes.c_uint64.from_address(self._consumer_addr)
        self._producer_pos: Any = ctypes.c_uint64.from_address(self._producer_addr)
        data = (ctypes.c_char * (2 * size)).from_address(self._producer_addr + _PAGE)
        self._data: memoryview | None = memoryview(data).cast("B")
        self._words: memoryview | None = self._data.cast("I")  # record headers are 8-aligned: one 4-byte load each
        self._poll = select.poll()
        self._poll.register(map_fd, select.POLLIN)
        self.records = 0
        self.discarded = 0

    def fileno(self) -> int:
        return self._fd

    def pending_bytes(self) -> int:
        if self._producer_pos is None or self._consumer_pos is None:
            raise ValueError("ring consumer is closed")
        return self._producer_pos.value - self._consumer_pos.value

    def wait(self, timeout: float | None) -> bool:
        """Poll the map fd; True when woken (records may be ready), False on timeout."""
        return bool(self._poll.poll(None if timeout is None else max(0, int(timeout * 1000))))

    def drain(self, max_records: int = 1 << 30) -> list[bytes]:
        out: list[bytes] = []
        self._walk(out.append, max_records, copy=True)
        return out

    def consume(self, callback: Callable[[memoryview], object], max_records: int = 1 << 30) -> int:
        return self._walk(callback, max_records, copy=False)

    def _walk(self, sink, max_records: int, *, copy: bool) -> int:
        consumer_pos = self._consumer_pos
        producer_pos = self._producer_pos
        words = self._words
        data = self._data
        if data is None or words is None or consumer_pos is None or producer_pos is None:
            raise ValueError("ring consumer is closed")
        consumer = consumer_pos.value
        mask = self._mask
        taken = 0
        discarded = 0
        while taken < max_records:
            producer = producer_pos.value
            if consumer >= producer:
                break
            busy = False
            while consumer < producer and taken < max_records:
                offset = consumer & mask
                header = words[offset >> 2]
                if header & BPF_RINGBUF_BUSY_BIT:
                    busy = True
                    break
                length = header & _LEN_MASK
                if header & BPF_RINGBUF_DISCARD_BIT:
                    discarded += 1
                else:
                    start = offset + BPF_RINGBUF_HDR_SZ
                    view = data[start:start + length]
                    sink(bytes(view) if copy else view)
                    taken += 1
                consumer += (length + BPF_RINGBUF_HDR_SZ + 7) & ~7
            # Publish, then look again: a record committed before this store saw an old consumer
            # position and woke nobody (wake-ups only go to a consumer that has caught up).
            consumer_pos.value = consumer  # one 8-byte store (never struct.pack_into)
            if busy:
                break  # its commit will wake us: the consumer position now equals its position
        self.records += taken
        self.discarded += discarded
        return taken

    def close(self) -> None:
        if self._data is None or self._words is None:
            return
        self._words.release()
        self._data.release()
        self._data = None
        self._words = None
        self._consumer_pos = self._producer_pos = None
        unmap_pages(self._producer_addr, self._producer_len)
        unmap_pages(self._consumer_addr, _PAGE)
        try:
            self._poll.unregister(self._fd)
        except (KeyError, ValueError, OSError):
            pass

    def __enter__(self) -> "RingConsumer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
