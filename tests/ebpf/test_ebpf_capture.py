"""The request capture programs (XDP and tc) through BPF_PROG_TEST_RUN: they pass every frame
(fuzzed, truncated, valid, matching or not) and copy exactly the matching packets, with their
real length, into the ring chosen by the client hash."""

from __future__ import annotations

import errno
import random
import struct

import pytest

from pyreplay.backends.bpf_capture import CaptureProgram
from pyreplay.ebpf import abi
from pyreplay.ebpf.prog_test_run import prog_test_run
from pyreplay.ebpf.ringbuf import RingConsumer

from ring_wakeups import wakes

pytestmark = pytest.mark.bpf
PASS = {"xdp": 2, "tc": 0xFFFFFFFF}  # XDP_PASS; TC_ACT_UNSPEC (-1) as the kernel's u32
ONLINE = bytes([10, 0, 0, 2])
OTHER = bytes([10, 0, 0, 3])
RING_BYTES = 1 << 20


def ipv4_tcp(dst: bytes = ONLINE, dport: int = 80, payload: bytes = b"GET / HTTP/1.1\r\n\r\n", *,
             src: bytes = bytes([10, 1, 0, 5]), sport: int = 40000, ihl: int = 5, options: bytes = b"",
             frag: int = 0x4000, flags: int = 0x18) -> bytes:
    options += b"\0" * (-len(options) % 4)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, (5 + len(options) // 4) << 4, flags, 65535, 0, 0)
    tcp += options + payload
    ip_options = b"\x01" * ((ihl - 5) * 4)
    ip = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(ip_options) + len(tcp), 1, frag, 64, 6, 0, src, dst)
    return ip + ip_options + tcp


def ethernet(l3: bytes, ethertype: int = 0x0800, vlans: int = 0) -> bytes:
    tags = b"".join(struct.pack("!HH", 0x8100, 7) for _ in range(vlans))
    return bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]) + tags + struct.pack("!H", ethertype) + l3


def kernel_refuses_skb(frame: bytes) -> bool:
    ethertype = int.from_bytes(frame[12:14], "big")
    return (ethertype == 0x0800 and len(frame) < 14 + 20) or (ethertype == 0x86DD and len(frame) < 14 + 40)


def fuzz_frames(seed: int = 4) -> list[bytes]:
    rng = random.Random(seed)
    whole = [ethernet(ipv4_tcp()), ethernet(ipv4_tcp(ihl=15, options=b"\x02\x04\x05\xb4")),
             ethernet(ipv4_tcp(payload=b"x" * 1400), vlans=2), ethernet(ipv4_tcp(dport=81)),
             ethernet(bytes(60), 0x86DD), ethernet(bytes(28), 0x0806), ethernet(bytes(50), 0x8100)]
    frames = list(whole)
    for frame in whole:
        frames += [frame[:cut] for cut in range(14, len(frame)) if cut < 120 or cut % 97 == 0]
    for _ in range(400):
        frames.append(rng.randbytes(rng.randint(14, 1600)))
    for _ in range(300):  # plausible headers, random rest: reaches every parse step
        head = ethernet(ipv4_tcp())[:rng.randint(14, 60)]
        frames.append(head + rng.randbytes(rng.randint(0, 100)))
    for _ in range(200):
        frame = bytearray(ethernet(ipv4_tcp(payload=rng.randbytes(rng.randint(0, 300)))))
        for _ in range(3):
            frame[rng.randrange(14, 60)] = rng.randrange(256)  # corrupt ihl, doff, lengths...
        frames.append(bytes(frame))
    return frames


@pytest.fixture(params=["xdp", "tc"])
def program(request):
    prog = CaptureProgram(request.param, [(ONLINE, 80), (None, 8000)], ring_bytes=RING_BYTES)
    consumer = RingConsumer(prog.ring_fds()[0], RING_BYTES)
    try:
        yield prog, consumer
    finally:
        consumer.close()
        prog.close()


def run(prog: CaptureProgram, frame: bytes) -> int:
    return prog_test_run(prog.fd, frame).retval


def test_every_frame_passes_and_is_left_unchanged(program):
    prog, consumer = program
    frames = fuzz_frames()
    refused = 0
    for frame in frames:
        try:
            result = prog_test_run(prog.fd, frame)
        except OSError as exc:
            # The kernel's skb test runner refuses IP frames shorter than an IP header before the
            # program runs (the stack would never hand such a frame to tc either).
            assert prog.hook == "tc" and exc.errno == errno.EINVAL and kernel_refuses_skb(frame), frame.hex()
            refused += 1
            continue
        assert result.retval == PASS[prog.hook], frame.hex()
        assert result.data[:len(frame)] == frame
        consumer.drain()
    counters = prog.counters()
    assert counters["seen"] == len(frames) - refused
    assert refused < len(frames) // 10
    assert counters["matched"] >= 100  # the matching paths were exercised too
    assert counters["submitted"] == counters["matched"]


@pytest.mark.parametrize("vlans", [0, 1, 2])
def test_matching_packets_are_copied_exactly(program, vlans):
    prog, consumer = program
    packets = [ipv4_tcp(), ipv4_tcp(payload=b"y" * 1000, ihl=6), ipv4_tcp(dst=OTHER, dport=8000),
               ipv4_tcp(payload=b"")]
    for packet in packets:
        assert run(prog, ethernet(packet, vlans=vlans)) == PASS[prog.hook]
    records = [abi.decode_packet(r) for r in consumer.drain()]
    assert [r.data for r in records] == packets
    assert [r.pkt_len for r in records] == [len(p) for p in packets]
    assert all(r.cap_len == r.pkt_len and r.flags == 0 and r.tstamp_ns > 0 for r in records)
    assert prog.counters()["submitted"] == len(packets)


def test_non_matching_packets_produce_nothing(program):
    prog, consumer = program
    for packet in (ipv4_tcp(dport=81), ipv4_tcp(dst=OTHER, dport=80), ipv4_tcp(frag=0x0010),
                   ipv4_tcp()[:39], ipv4_tcp()[:20]):
        assert run(prog, ethernet(packet)) == PASS[prog.hook]
    udp = bytearray(ipv4_tcp())
    udp[9] = 17
    assert run(prog, ethernet(bytes(udp))) == PASS[prog.hook]
    assert consumer.drain() == []
    counters = prog.counters()
    assert counters["seen"] == 6 and counters["matched"] == 0


def test_targets_are_a_map_not_a_recompile(program):
    prog, consumer = program
    run(prog, ethernet(ipv4_tcp(dport=9090)))
    prog.set_targets([(None, 9090)])
    run(prog, ethernet(ipv4_tcp(dport=9090)))
    run(prog, ethernet(ipv4_tcp(dport=80)))
    assert [abi.decode_packet(r).data for r in consumer.drain()] == [ipv4_tcp(dport=9090)]


def test_real_length_and_truncation_flag_beyond_the_capture_limit():
    for hook in ("xdp", "tc"):
        prog = CaptureProgram(hook, [(None, 80)], ring_bytes=RING_BYTES, capture_max=256)
        consumer = RingConsumer(prog.ring_fds()[0], RING_BYTES)
        try:
            packet = ipv4_tcp(payload=b"z" * 1000)
            assert run(prog, ethernet(packet)) == PASS[hook]
            (record,) = [abi.decode_packet(r) for r in consumer.drain()]
            assert (record.pkt_len, record.cap_len, record.flags) == (len(packet), 256, abi.PR_PKT_F_TRUNCATED)
            assert record.data == packet[:256]
            assert prog.counters()["truncated"] == 1
        finally:
            consumer.close()
            prog.close()


def test_rings_are_chosen_by_the_client_hash():
    rings = 4
    prog = CaptureProgram("xdp", [(None, 80)], rings=rings, ring_bytes=RING_BYTES)
    consumers = [RingConsumer(fd, RING_BYTES) for fd in prog.ring_fds()]
    try:
        expected = {k: [] for k in range(rings)}
        for host in range(64):
            src, sport = bytes([10, 1, host // 8, host]), 30000 + 7 * host
            packet = ipv4_tcp(src=src, sport=sport)
            run(prog, ethernet(packet))
            expected[abi.shard_of(src, sport, rings)].append(packet)
        got = {k: [abi.decode_packet(r).data for r in c.drain()] for k, c in enumerate(consumers)}
        assert got == expected
        assert all(len(v) >= 6 for v in got.values())  # a real mix, not one ring
    finally:
        for consumer in consumers:
            consumer.close()
        prog.close()


def test_pure_acks_wait_silently_until_another_packet_or_too_many_in_a_row(program):
    """A pure ACK does not wake a sleeping reader; the next other packet does, although the
    ring then holds unread data (the ring's own rule would not wake it), and so does the
    PR_SILENT_MAX+1st pure ACK in a row. Nothing is lost or reordered."""
    prog, consumer = program
    pure_ack = ipv4_tcp(payload=b"", flags=0x10)
    request = ipv4_tcp(payload=b"GET /next HTTP/1.1\r\n\r\n")
    send = lambda packet: lambda: run(prog, ethernet(packet))  # noqa: E731
    assert wakes(consumer, send(pure_ack), send(request)) == [False, True]
    assert [abi.decode_packet(r).data for r in consumer.drain()] == [pure_ack, request]
    in_a_row = [send(ipv4_tcp(payload=b"", flags=0x10, sport=40000 + k)) for k in range(abi.PR_SILENT_MAX + 1)]
    assert wakes(consumer, *in_a_row) == [False] * abi.PR_SILENT_MAX + [True]
    assert len(consumer.drain()) == abi.PR_SILENT_MAX + 1
    # a SYN, a FIN and an empty segment with RST are not pure ACKs: each wakes the reader
    for flags in (0x02, 0x11, 0x14):
        assert wakes(consumer, send(ipv4_tcp(payload=b"", flags=flags))) == [True], hex(flags)
        assert len(consumer.drain()) == 1


def test_full_ring_is_counted_and_still_passes():
    prog = CaptureProgram("xdp", [(None, 80)], ring_bytes=4096)
    try:
        for _ in range(10):
            assert run(prog, ethernet(ipv4_tcp(payload=b"q" * 900))) == 2
        counters = prog.counters()
        assert counters["matched"] == 10
        assert counters["submitted"] == 4 and counters["lost_ring_full"] == 6
    finally:
        prog.close()
