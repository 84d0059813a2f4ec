"""Response programs under BPF_PROG_TEST_RUN: verdicts over fuzzed, truncated and valid frames
(PASS / TC_ACT_UNSPEC everywhere but configured drops of matching responses), and records equal
to what the Python summarizer reads from the same frames."""

from __future__ import annotations

import errno
import ipaddress
import random
import struct

import pytest

from pyreplay.backends.afpacket import strip_ethernet
from pyreplay.backends.bpf_responses import BpfResponseCapture
from pyreplay.packet.ring_summaries import summaries_from_records
from pyreplay.ebpf import abi
from pyreplay.ebpf.prog_test_run import prog_test_run
from pyreplay.ebpf.response_filter import MatchRule, rule_matches
from pyreplay.packet.errors import PacketError
from pyreplay.packet.summary import summarize

from ring_wakeups import wakes

pytestmark = pytest.mark.bpf

XDP_DROP, XDP_PASS = 1, 2
TC_ACT_UNSPEC, TC_ACT_SHOT, TC_ACT_REDIRECT = -1, 2, 7
TARGET = bytes([198, 18, 0, 30])
OTHER = bytes([198, 18, 0, 31])
CLIENT = bytes([198, 19, 0, 7])
OUTSIDE = bytes([203, 0, 113, 9])
RULES = [MatchRule(8080), MatchRule(9090, TARGET)]
POOL = [ipaddress.IPv4Network("198.19.0.0/24")]


def ethernet(ethertype: int, payload: bytes, vlans: int = 0) -> bytes:
    tags = b"".join(struct.pack("!HH", 0x8100, 5) for _ in range(vlans))
    if tags:
        return b"\x02" * 6 + b"\x04" * 6 + tags[:2] + tags[2:] + struct.pack("!H", ethertype) + payload
    return b"\x02" * 6 + b"\x04" * 6 + struct.pack("!H", ethertype) + payload


def tcp_ip(src=TARGET, dst=CLIENT, sport=8080, dport=40000, seq=0xFFFFFF00, ack=12345, flags=0x18,
           window=502, options=b"", payload=b"HTTP/1.1 200 OK\r\n\r\n", ihl=5, total=None, frag=0x4000,
           proto=6) -> bytes:
    doff = 5 + len(options) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, window, 0, 0) + options + payload
    ip_opts = b"\x01" * ((ihl - 5) * 4)
    length = 20 + len(ip_opts) + len(tcp) if total is None else total
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, length, 1, frag, 64, proto, 0, src, dst) + ip_opts + tcp


SYNACK_OPTS = bytes([2, 4, 0x05, 0xB4, 4, 2, 8, 10]) + struct.pack("!II", 111, 222) + bytes([1, 3, 3, 7])
TS_OPTS = bytes([1, 1, 8, 10]) + struct.pack("!II", 0xFFFFFFFF, 7)


def valid_frames() -> list[bytes]:
    packets = [
        tcp_ip(), tcp_ip(flags=0x12, options=SYNACK_OPTS, payload=b""), tcp_ip(options=TS_OPTS),
        tcp_ip(payload=b"x" * 1400, options=TS_OPTS), tcp_ip(ihl=15), tcp_ip(sport=9090),
        tcp_ip(src=OTHER, sport=9090), tcp_ip(src=OTHER), tcp_ip(sport=80), tcp_ip(dst=OUTSIDE),
        tcp_ip(total=0), tcp_ip(total=20 + 20 + 5), tcp_ip(total=30), tcp_ip(frag=0x2000),
        tcp_ip(frag=0x0010), tcp_ip(proto=17),
        tcp_ip(options=bytes([8, 10, 0, 0]) + bytes(8)),  # TS with bad length in the middle: stop
        tcp_ip(options=bytes([1] * 36) + bytes([2, 4, 1, 0])),  # 36 NOPs then MSS
        tcp_ip(options=bytes([3, 3, 14, 0])), tcp_ip(options=bytes([2, 4, 1, 0, 0, 0, 3, 3])),
        tcp_ip(options=bytes([4, 2, 0, 0]) + TS_OPTS[:8]),
    ]
    frames = [ethernet(0x0800, p) for p in packets]
    frames += [ethernet(0x0800, tcp_ip(), vlans=1), ethernet(0x0800, tcp_ip(), vlans=2),
               ethernet(0x86DD, bytes(60)), ethernet(0x0806, bytes(28))]
    return frames


def fuzz_frames(seed: int = 4) -> list[bytes]:
    rng = random.Random(seed)
    whole = valid_frames()
    frames = list(whole)
    for frame in whole[:6]:
        frames += [frame[:cut] for cut in range(14, len(frame)) if cut < 110 or cut % 97 == 0]
    for _ in range(300):
        frames.append(rng.randbytes(rng.randint(14, 1600)))
    for _ in range(400):  # plausible headers with random fields reach the deeper checks
        base = bytearray(rng.choice(whole[:4]))
        for _ in range(rng.randint(1, 6)):
            base[rng.randrange(14, min(len(base), 80))] = rng.randrange(256)
        frames.append(bytes(base[: rng.randint(14, len(base))]))
    return frames


def reference(frame: bytes, pool: bool):
    """What the program should do, from the Python summarizer: the summary if it matches, else None."""
    packet = strip_ethernet(memoryview(frame))
    if packet is None or len(frame) - len(packet) > 14 + 8:
        return None
    try:
        summary = summarize(bytes(packet))
    except PacketError:
        return None
    if not rule_matches(RULES, summary.src, summary.sport):
        return None
    if pool and not any(ipaddress.IPv4Address(summary.dst) in n for n in POOL):
        return None
    return summary


def signed(retval: int) -> int:
    return retval - (1 << 32) if retval >= 1 << 31 else retval


def run_all(capture: BpfResponseCapture, frames):
    """Verdicts (None: the kernel's skb test runner refused the frame, as it refuses IPv4 frames
    shorter than an IP header; such frames never reach a tc program) and summaries."""
    verdicts = []
    records = []
    for frame in frames:
        try:
            verdicts.append(signed(prog_test_run(capture.prog_fd, frame).retval))
        except OSError as exc:
            if exc.errno != errno.EINVAL or capture.hook == "xdp":
                raise
            verdicts.append(None)
        records += capture._ring.drain(1000)
    return verdicts, summaries_from_records(records)


@pytest.mark.parametrize("hook, drop, matched_verdict, other_verdict", [
    ("xdp", False, XDP_PASS, XDP_PASS),
    ("xdp", True, XDP_DROP, XDP_PASS),
    ("tc-ingress", False, TC_ACT_UNSPEC, TC_ACT_UNSPEC),
    ("tc-ingress", True, TC_ACT_SHOT, TC_ACT_UNSPEC),
    ("tc-egress", False, TC_ACT_REDIRECT, TC_ACT_UNSPEC),
])
def test_verdicts_and_records_match_the_python_summarizer(hook, drop, matched_verdict, other_verdict):
    pool = hook == "tc-egress"
    with BpfResponseCapture((), RULES, hook=hook, drop=drop, pool=POOL if pool else ()) as capture:
        verdicts, summaries = run_all(capture, fuzz_frames())
        counters = capture.counters()
    refused = [i for i, v in enumerate(verdicts) if v is None]
    assert all(len(fuzz_frames()[i]) < 14 + 20 for i in refused)
    frames = [f for f, v in zip(fuzz_frames(), verdicts) if v is not None]
    verdicts = [v for v in verdicts if v is not None]
    expected = [reference(f, pool) for f in frames]
    want = [matched_verdict if e is not None else other_verdict for e in expected]
    mismatches = [(i, frames[i].hex(), verdicts[i], want[i]) for i in range(len(frames)) if verdicts[i] != want[i]]
    assert not mismatches, mismatches[:3]
    wanted_summaries = [e for e in expected if e is not None]
    assert len(wanted_summaries) > 100  # the fuzz really reaches the matching path
    assert summaries == [_without_raw(s) for s in wanted_summaries]
    assert counters["seen"] == len(frames)
    assert counters["matched"] == counters["submitted"] == len(wanted_summaries)
    assert counters["lost_ring_full"] == 0
    assert counters["dropped"] == (len(wanted_summaries) if (drop or hook == "tc-egress") else 0)


def _without_raw(summary):
    return summary.replace(options=summary.options.replace(raw=b""))


def test_exact_fields_of_a_syn_ack_record():
    frame = ethernet(0x0800, tcp_ip(flags=0x12, options=SYNACK_OPTS, payload=b"", window=64240))
    with BpfResponseCapture((), RULES, hook="xdp") as capture:
        assert prog_test_run(capture.prog_fd, frame).retval == XDP_PASS
        records = capture._ring.drain(10)
    from pyreplay.ebpf import abi

    (record,) = records
    r = abi.decode_response(record)
    assert (r.family, r.tcp_flags, r.saddr, r.daddr, r.sport, r.dport) == (4, 0x12, TARGET, CLIENT, 8080, 40000)
    assert (r.seq, r.ack, r.window, r.payload_len) == (0xFFFFFF00, 12345, 64240, 0)
    assert (r.opt_bits, r.mss, r.wscale, r.tsval, r.tsecr) == (15, 1460, 7, 111, 222)
    assert r.tstamp_ns > 0


def test_total_length_zero_uses_the_frame_length_like_gro_super_frames():
    frame = ethernet(0x0800, tcp_ip(total=0, payload=b"y" * 2000))
    with BpfResponseCapture((), RULES, hook="tc-egress", pool=POOL) as capture:
        assert prog_test_run(capture.prog_fd, frame).retval == TC_ACT_REDIRECT
        (summary,) = summaries_from_records(capture._ring.drain(10))
    assert summary.payload_len == 2000


def test_pool_and_rules_are_both_required_on_egress():
    with BpfResponseCapture((), [MatchRule(8080)], hook="tc-egress", pool=POOL) as capture:
        assert signed(prog_test_run(capture.prog_fd, ethernet(0x0800, tcp_ip(dst=OUTSIDE))).retval) == TC_ACT_UNSPEC
        assert signed(prog_test_run(capture.prog_fd, ethernet(0x0800, tcp_ip(sport=8081))).retval) == TC_ACT_UNSPEC
        assert prog_test_run(capture.prog_fd, ethernet(0x0800, tcp_ip())).retval == TC_ACT_REDIRECT
        assert len(capture._ring.drain(10)) == 1


@pytest.mark.parametrize("hook", ["xdp", "tc-ingress", "tc-egress"])
def test_pure_acks_wait_silently_until_another_summary_or_too_many_in_a_row(hook):
    """The target's pure ACKs go to copy with its next summary: they do not wake intercept,
    the next other summary does (the ring alone would not: it holds unread records then), and
    so does the PR_SILENT_MAX+1st in a row (an upload the target only acks). A zero window, a
    FIN, a SYN-ACK or an RST wakes it at once. Nothing is lost or reordered."""
    pure_ack = tcp_ip(flags=0x10, payload=b"")
    data = tcp_ip(seq=0xFFFFFF00)
    with BpfResponseCapture((), RULES, hook=hook, pool=POOL if hook == "tc-egress" else ()) as capture:
        consumer = capture._ring
        send = lambda packet: lambda: prog_test_run(capture.prog_fd, ethernet(0x0800, packet))  # noqa: E731
        assert wakes(consumer, send(pure_ack), send(data)) == [False, True]
        assert [(s.flags, s.payload_len) for s in summaries_from_records(consumer.drain(10))] == [(0x10, 0), (0x18, 19)]
        in_a_row = [send(tcp_ip(flags=0x10, payload=b"", ack=k)) for k in range(abi.PR_SILENT_MAX + 1)]
        assert wakes(consumer, *in_a_row) == [False] * abi.PR_SILENT_MAX + [True]
        assert [s.ack for s in summaries_from_records(consumer.drain(100))] == list(range(abi.PR_SILENT_MAX + 1))
        for packet in (tcp_ip(flags=0x10, payload=b"", window=0), tcp_ip(flags=0x11, payload=b""),
                       tcp_ip(flags=0x12, payload=b""), tcp_ip(flags=0x14, payload=b"")):
            assert wakes(consumer, send(packet)) == [True], packet.hex()
            assert len(consumer.drain(10)) == 1
