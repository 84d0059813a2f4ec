"""The Python mirror of bpf/include/pyreplay_abi.h matches what bcc compiles; the parse helpers
load through the verifier and read options, VLAN tags and IPv6 correctly."""

from __future__ import annotations

import ctypes
import re
import struct

import pytest

from pyreplay.ebpf import abi
from pyreplay.ebpf.paths import bpf_source_dir
from pyreplay.ebpf.prog_test_run import prog_test_run
from pathlib import Path

PROGRAM = Path(__file__).parent / "bpf" / "abi_layout.bpf.c"
MIRRORS = {b"abi_packet": abi.PrPacket, b"abi_response": abi.PrResponse,
           b"abi_target_key": abi.PrTargetKey}


@pytest.fixture(scope="module")
def compiled():
    from pyreplay.ebpf import loader

    program = loader.compile_program(PROGRAM)
    try:
        yield program
    finally:
        program.cleanup()


def layout(struct_type) -> list[tuple[str, int, int]]:
    return [(name, getattr(struct_type, name).offset, getattr(struct_type, name).size)
            for name, *_ in struct_type._fields_]


@pytest.mark.bpf
@pytest.mark.parametrize("table", sorted(MIRRORS))
def test_mirror_layout_equals_compiled_layout(compiled, table):
    leaf = compiled[table].Leaf
    mirror = MIRRORS[table]
    assert ctypes.sizeof(leaf) == ctypes.sizeof(mirror)
    assert layout(leaf) == layout(mirror)


def test_struct_formats_equal_ctypes_layouts():
    assert abi.PACKET_HEADER.size == ctypes.sizeof(abi.PrPacket) == 24
    assert abi.RESPONSE.size == ctypes.sizeof(abi.PrResponse) == 80
    record = abi.PrResponse(kind=2, family=4, tcp_flags=0x12, ifindex=7, sport=8080, dport=40000, seq=1,
                            ack=2, window=3, opt_bits=15, wscale=7, mss=1460, payload_len=99, tsval=5,
                            tsecr=6, tstamp_ns=123456789)
    record.saddr[:4] = [10, 0, 0, 2]
    record.daddr[:4] = [10, 1, 0, 9]
    decoded = abi.decode_response(bytes(record))
    assert decoded.saddr == bytes([10, 0, 0, 2]) and decoded.daddr == bytes([10, 1, 0, 9])
    assert (decoded.sport, decoded.dport, decoded.mss, decoded.tstamp_ns) == (8080, 40000, 1460, 123456789)


def test_header_constants_equal_mirror():
    text = (bpf_source_dir() / "include" / "pyreplay_abi.h").read_text()
    defines = dict(re.findall(r"^#define (P\w+) (\d+)", text, re.M))
    assert defines, "no constants found in pyreplay_abi.h"
    for name, value in defines.items():
        assert getattr(abi, name) == int(value), name
    assert len(abi.COUNTER_NAMES) == abi.PR_CNT_DROPPED + 1 <= abi.PR_CNT_MAX


def test_decoders_refuse_malformed_records():
    with pytest.raises(abi.AbiError):
        abi.decode_packet(b"\x01\x00")
    with pytest.raises(abi.AbiError):
        abi.decode_packet(abi.PACKET_HEADER.pack(1, 0, 1, 100, 100, 0) + b"short")
    with pytest.raises(abi.AbiError):
        abi.decode_packet(abi.PACKET_HEADER.pack(2, 0, 1, 0, 0, 0))
    with pytest.raises(abi.AbiError):
        abi.decode_response(bytes(79))
    good = abi.decode_packet(abi.PACKET_HEADER.pack(1, 0, 3, 9, 4, 5) + b"abcdEXTRA")
    assert good.data == b"abcd" and good.pkt_len == 9


def test_shard_of_mirrors_fmix32_and_spreads_clients():
    assert abi.fmix32(0) == 0
    assert abi.fmix32(1) == 0x514E28B7  # murmur3 fmix32 reference value
    counts = [0, 0]
    for host in range(256):
        counts[abi.shard_of(bytes([10, 0, 1, host]), 40000 + host, 2)] += 1
    assert min(counts) > 96


# ---- parse helpers through the verifier -------------------------------------------------------

def tcp_header(options: bytes) -> bytes:
    options += b"\0" * (-len(options) % 4)
    return struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, (5 + len(options) // 4) << 4, 0x02, 65535, 0, 0) + options


def frame(l3: bytes, ethertype: int = 0x0800, vlans: int = 0) -> bytes:
    tags = b"".join(struct.pack("!HH", 0x8100, 5) for _ in range(vlans))
    return bytes(12) + tags + struct.pack("!H", ethertype) + l3


def ipv4(tcp: bytes) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, bytes(4), bytes(4)) + tcp


def ipv6(tcp: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, bytes(16), bytes(16)) + tcp


SYN_OPTIONS = (b"\x02\x04\x05\xb4" + b"\x04\x02" + b"\x08\x0a" + struct.pack("!II", 0x11223344, 0x55667788)
               + b"\x01" + b"\x03\x03\x07")


def run_parse(compiled, packet: bytes):
    zero = ctypes.c_int(0)
    compiled[b"abi_tcp_opts"][zero] = compiled[b"abi_tcp_opts"].Leaf()
    compiled[b"abi_offsets"][zero] = ctypes.c_uint32(0)
    assert prog_test_run(compiled.load_func(b"abi_layout", compiled.XDP).fd, packet).retval == 2
    return compiled[b"abi_tcp_opts"][zero], compiled[b"abi_offsets"][zero].value


@pytest.mark.bpf
@pytest.mark.parametrize("family,vlans", [(4, 0), (4, 1), (4, 2), (6, 0)])
def test_parse_helpers_read_syn_options(compiled, family, vlans):
    tcp = tcp_header(SYN_OPTIONS) + b"payload"
    l3 = ipv4(tcp) if family == 4 else ipv6(tcp)
    packet = frame(l3, 0x0800 if family == 4 else 0x86DD, vlans)
    opts, offset = run_parse(compiled, packet)
    assert opts.bits == abi.PR_OPT_MSS | abi.PR_OPT_WSCALE | abi.PR_OPT_SACK_PERM | abi.PR_OPT_TS
    assert (opts.mss, opts.wscale, opts.tsval, opts.tsecr) == (1460, 7, 0x11223344, 0x55667788)
    assert packet[offset:] == b"payload"


@pytest.mark.bpf
def test_parse_helpers_stop_at_malformed_or_truncated_options(compiled):
    opts, _ = run_parse(compiled, frame(ipv4(tcp_header(b"\x02\x04\x05\xb4\x08\x01"))))  # TS len 1: stop
    assert opts.bits == abi.PR_OPT_MSS
    opts, offset = run_parse(compiled, frame(ipv4(tcp_header(SYN_OPTIONS)))[:-4])  # header cut short
    assert opts.bits == 0 and offset == 0
    opts, _ = run_parse(compiled, frame(ipv4(tcp_header(b"\x01" * 12 + b"\x02\x04\x01\x00"))))
    assert opts.bits == abi.PR_OPT_MSS and opts.mss == 256  # 12 NOPs then MSS: within the bound
    opts, offset = run_parse(compiled, frame(ipv4(tcp_header(b"\x01" * 36 + b"\x02\x04\x01\x00"))))
    assert opts.bits == 0 and offset == 14 + 20 + 60  # beyond the bound: options ignored, header kept
