"""The smoke program passes every frame: BPF_PROG_TEST_RUN over valid, truncated and random bytes."""

from __future__ import annotations

import errno
import random
import struct

import pytest

from ebpf_netns import smoke_count
from pyreplay.ebpf.prog_test_run import prog_test_run

XDP_PASS = 2
ETH_HLEN = 14

pytestmark = pytest.mark.bpf


def ethernet(ethertype: int, payload: bytes) -> bytes:
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + struct.pack("!H", ethertype) + payload


def ipv4_tcp(payload: bytes = b"GET / HTTP/1.1\r\n\r\n", ihl: int = 5) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 5 << 4, 0x18, 65535, 0, 0) + payload
    options = b"\x01" * ((ihl - 5) * 4)
    ip = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(options) + len(tcp), 1, 0x4000, 64, 6, 0,
                     bytes([10, 199, 0, 2]), bytes([10, 199, 0, 1]))
    return ethernet(0x0800, ip + options + tcp)


def fuzz_frames(seed: int = 20240601) -> list[bytes]:
    rng = random.Random(seed)
    whole = [ipv4_tcp(), ipv4_tcp(ihl=15), ipv4_tcp(b"x" * 1400), ethernet(0x86DD, bytes(60)),
             ethernet(0x0806, bytes(28)), ethernet(0x8100, bytes(50))]
    frames = list(whole)
    for frame in whole:
        frames += [frame[:cut] for cut in range(ETH_HLEN, len(frame)) if cut < 80 or cut % 97 == 0]
    for _ in range(600):
        frames.append(rng.randbytes(rng.randint(ETH_HLEN, 1600)))
    for _ in range(300):  # random bytes behind a plausible IPv4 ethertype reach the IP checks
        frames.append(ethernet(0x0800, rng.randbytes(rng.randint(0, 120))))
    return frames


def test_every_fuzzed_and_truncated_frame_passes(smoke):
    compiled, function = smoke
    frames = fuzz_frames()
    verdicts = {prog_test_run(function.fd, frame).retval for frame in frames}
    assert verdicts == {XDP_PASS}
    assert smoke_count(compiled, 0) == len(frames)


def test_frame_is_left_unchanged(smoke):
    _, function = smoke
    frame = ipv4_tcp()
    assert prog_test_run(function.fd, frame).data == frame


def test_ipv4_slot_counts_only_whole_ipv4_headers(smoke):
    compiled, function = smoke
    frame = ipv4_tcp()
    for _ in range(3):
        prog_test_run(function.fd, frame)
    prog_test_run(function.fd, frame[:ETH_HLEN + 19])
    prog_test_run(function.fd, ethernet(0x86DD, bytes(60)))
    assert smoke_count(compiled, 0) == 5
    assert smoke_count(compiled, 1) == 3


def test_repeat_runs_in_the_kernel(smoke):
    compiled, function = smoke
    result = prog_test_run(function.fd, ipv4_tcp(), repeat=1000)
    assert result.retval == XDP_PASS
    assert smoke_count(compiled, 0) == 1000


def test_kernel_refuses_frames_shorter_than_ethernet(smoke):
    # XDP never sees such frames; the kernel's test runner rejects them before the program runs.
    _, function = smoke
    with pytest.raises(OSError) as refused:
        prog_test_run(function.fd, bytes(ETH_HLEN - 1))
    assert refused.value.errno == errno.EINVAL
