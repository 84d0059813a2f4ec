"""The mmap batch consumer of a BPF ring buffer, against a real one-page ring filled through
BPF_PROG_TEST_RUN: exact payloads in order, discards skipped, wrap-around past the end of the
ring, a full ring refusing records until drained, and the consumer position really published."""

from __future__ import annotations

import random
import select
from pathlib import Path

import pytest

from pyreplay.ebpf.prog_test_run import prog_test_run
from pyreplay.ebpf.ringbuf import RingConsumer, ring_size

pytestmark = pytest.mark.bpf
PROGRAM = Path(__file__).parent / "bpf" / "ring_probe.bpf.c"
RING = 4096


@pytest.fixture
def probe():
    from pyreplay.ebpf import loader

    compiled = loader.compile_program(PROGRAM)
    try:
        function = compiled.load_func(b"ring_probe", compiled.XDP)
        ring = compiled[b"probe_ring"]
        consumer = RingConsumer(ring.map_fd, RING)
        try:
            yield compiled, function.fd, consumer
        finally:
            consumer.close()
    finally:
        compiled.cleanup()


def output(fd: int, payload: bytes) -> None:
    frame = b"O" + payload
    frame += b"\0" * max(0, 14 - len(frame))  # test_run wants at least an Ethernet header
    assert prog_test_run(fd, frame).retval == 2


def fails(compiled) -> int:
    return compiled[b"probe_fails"][0].value


def test_ring_size_is_read_from_the_kernel(probe):
    compiled, _, _ = probe
    assert ring_size(compiled[b"probe_ring"].map_fd) == RING


def test_records_come_back_exact_and_in_order(probe):
    compiled, fd, consumer = probe
    payloads = [bytes([i]) * (13 + i) for i in range(10)]
    for payload in payloads:
        output(fd, payload)
    assert consumer.drain() == payloads
    assert consumer.drain() == []
    assert consumer.pending_bytes() == 0
    assert fails(compiled) == 0


def test_discarded_records_are_skipped(probe):
    compiled, fd, consumer = probe
    for command, fill in (("R", 1), ("D", 2), ("R", 3), ("D", 4)):
        assert prog_test_run(fd, command.encode() + bytes([fill]) + bytes(12)).retval == 2
    assert consumer.drain() == [bytes([1]) * 64, bytes([3]) * 64]
    assert consumer.discarded == 2
    assert consumer.pending_bytes() == 0


def test_max_records_leaves_the_rest_for_the_next_drain(probe):
    _, fd, consumer = probe
    for i in range(5):
        output(fd, bytes([i]) * 20)
    assert consumer.drain(2) == [bytes([0]) * 20, bytes([1]) * 20]
    assert consumer.drain(10) == [bytes([i]) * 20 for i in range(2, 5)]


def test_wrap_around_many_times_with_records_crossing_the_end(probe):
    compiled, fd, consumer = probe
    rng = random.Random(7)
    sent = received = 0
    crossed = 0
    for round_ in range(300):
        batch = [rng.randbytes(rng.randint(14, 1000)) for _ in range(rng.randint(1, 3))]
        for payload in batch:
            start = (consumer._producer_pos.value & (RING - 1))
            if start + 8 + len(payload) > RING:
                crossed += 1
            output(fd, payload)
        got = []
        consumer.consume(lambda view: got.append(bytes(view)))
        assert got == batch, f"round {round_}"
        sent += len(batch)
        received += len(got)
    assert fails(compiled) == 0
    assert sent == received and crossed >= 10
    assert consumer._producer_pos.value > 40 * RING  # really went round the ring


def test_full_ring_refuses_until_drained(probe):
    compiled, fd, consumer = probe
    accepted = []
    for i in range(8):
        output(fd, bytes([i]) * 1000)
    assert fails(compiled) == 4  # 1008-byte records: four fit in 4096 bytes
    got = consumer.drain()
    assert got == [bytes([i]) * 1000 for i in range(4)]
    output(fd, b"after" * 100)
    assert consumer.drain() == [b"after" * 100]
    assert fails(compiled) == 4
    del accepted


def test_fileno_becomes_readable_when_records_arrive(probe):
    _, fd, consumer = probe
    assert select.select([consumer], [], [], 0)[0] == []
    output(fd, b"wake me up please")
    assert select.select([consumer], [], [], 1.0)[0] == [consumer]
    assert consumer.wait(0.5)
    assert consumer.drain() == [b"wake me up please"]


def test_closed_consumer_refuses_to_drain(probe):
    _, _, consumer = probe
    consumer.close()
    consumer.close()
    with pytest.raises(ValueError, match="closed"):
        consumer.drain()
