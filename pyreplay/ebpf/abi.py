"""Python mirror of ``bpf/include/pyreplay_abi.h``: record layouts, kinds, flags, counters.

Contract:
- ``PrPacket``, ``PrResponse``, ``PrTargetKey`` are ctypes structures with exactly the C
  layouts (tests/ebpf/test_ebpf_abi.py compiles the header with bcc and compares every size and
  offset). ``PACKET_HEADER`` / ``RESPONSE`` are the same layouts as ``struct.Struct`` for fast
  decoding of ring records; ``decode_packet`` / ``decode_response`` turn a record into a tuple
  without trusting it (short or wrong-kind records raise ``AbiError``).
- Constants carry the C names (``PR_KIND_PACKET`` ...); ``COUNTER_NAMES`` names the per-CPU
  counter slots in index order.
- ``shard_of(addr, port, shards)`` is the C ``pr_client_shard``: which ring (worker) a client
  address/port belongs to. Both directions of a session use the *client's* address and port.
"""

from __future__ import annotations

import ctypes
import struct
import sys
from typing import NamedTuple

PYREPLAY_ABI_VERSION = 1

PR_KIND_PACKET = 1
PR_KIND_RESPONSE = 2

PR_PKT_F_TRUNCATED = 1

PR_MAX_RINGS = 8
PR_CAPTURE_LIMIT = 131072
PR_SILENT_MAX = 8  # pure ACKs in a row a ring takes without waking its reader

PR_OPT_MSS = 1
PR_OPT_WSCALE = 2
PR_OPT_SACK_PERM = 4
PR_OPT_TS = 8

PR_CNT_SEEN = 0
PR_CNT_MATCHED = 1
PR_CNT_SUBMITTED = 2
PR_CNT_LOST_RING_FULL = 3
PR_CNT_TRUNCATED = 4
PR_CNT_DROPPED = 5
PR_CNT_MAX = 8

COUNTER_NAMES = ("seen", "matched", "submitted", "lost_ring_full", "truncated", "dropped")


class AbiError(ValueError):
    """A ring record does not have the layout its kind promises."""


class PrPacket(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_uint16),
        ("flags", ctypes.c_uint16),
        ("ifindex", ctypes.c_uint32),
        ("pkt_len", ctypes.c_uint32),
        ("cap_len", ctypes.c_uint32),
        ("tstamp_ns", ctypes.c_uint64),
    ]


class PrResponse(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_uint16),
        ("family", ctypes.c_uint8),
        ("tcp_flags", ctypes.c_uint8),
        ("ifindex", ctypes.c_uint32),
        ("saddr", ctypes.c_uint8 * 16),
        ("daddr", ctypes.c_uint8 * 16),
        ("sport", ctypes.c_uint16),
        ("dport", ctypes.c_uint16),
        ("seq", ctypes.c_uint32),
        ("ack", ctypes.c_uint32),
        ("window", ctypes.c_uint16),
        ("opt_bits", ctypes.c_uint8),
        ("wscale", ctypes.c_uint8),
        ("mss", ctypes.c_uint16),
        ("pad", ctypes.c_uint16),
        ("payload_len", ctypes.c_uint32),
        ("tsval", ctypes.c_uint32),
        ("tsecr", ctypes.c_uint32),
        ("tstamp_ns", ctypes.c_uint64),
    ]


class PrTargetKey(ctypes.Structure):
    _fields_ = [
        ("addr", ctypes.c_uint8 * 16),
        ("port", ctypes.c_uint16),
        ("family", ctypes.c_uint8),
        ("pad", ctypes.c_uint8),
    ]


# Native byte order ("=") with explicit layouts: identical to the ctypes structures above.
PACKET_HEADER = struct.Struct("=HHIIIQ")
RESPONSE = struct.Struct("=HBBI16s16sHHIIHBBHHIIIQ")
TARGET_KEY = struct.Struct("=16sHBB")
assert PACKET_HEADER.size == ctypes.sizeof(PrPacket)
assert RESPONSE.size == ctypes.sizeof(PrResponse)
assert TARGET_KEY.size == ctypes.sizeof(PrTargetKey)


class PacketRecord(NamedTuple):
    flags: int
    ifindex: int
    pkt_len: int
    cap_len: int
    tstamp_ns: int
    data: bytes  # the captured L3 packet, cap_len bytes


class ResponseRecord(NamedTuple):
    family: int
    tcp_flags: int
    ifindex: int
    saddr: bytes  # 4 or 16 bytes by family
    daddr: bytes
    sport: int
    dport: int
    seq: int
    ack: int
    window: int
    opt_bits: int
    wscale: int
    mss: int
    payload_len: int
    tsval: int
    tsecr: int
    tstamp_ns: int


def record_kind(record: bytes | memoryview) -> int:
    if len(record) < 2:
        raise AbiError(f"ring record of {len(record)} bytes has no kind")
    return int.from_bytes(record[:2], sys.byteorder)


def decode_packet(record: bytes | memoryview) -> PacketRecord:
    if len(record) < PACKET_HEADER.size:
        raise AbiError(f"packet record of {len(record)} bytes is shorter than its header")
    kind, flags, ifindex, pkt_len, cap_len, tstamp = PACKET_HEADER.unpack_from(record)
    if kind != PR_KIND_PACKET:
        raise AbiError(f"record kind {kind} is not a packet")
    end = PACKET_HEADER.size + cap_len
    if end > len(record) or cap_len > pkt_len:
        raise AbiError(f"packet record claims {cap_len} of {pkt_len} bytes but holds "
                       f"{len(record) - PACKET_HEADER.size}")
    return PacketRecord(flags, ifindex, pkt_len, cap_len, tstamp, bytes(record[PACKET_HEADER.size:end]))


def decode_response(record: bytes | memoryview) -> ResponseRecord:
    if len(record) < RESPONSE.size:
        raise AbiError(f"response record of {len(record)} bytes is shorter than {RESPONSE.size}")
    (kind, family, tcp_flags, ifindex, saddr, daddr, sport, dport, seq, ack, window, opt_bits,
     wscale, mss, _pad, payload_len, tsval, tsecr, tstamp) = RESPONSE.unpack_from(record)
    if kind != PR_KIND_RESPONSE:
        raise AbiError(f"record kind {kind} is not a response")
    if family not in (4, 6):
        raise AbiError(f"response record has address family {family}")
    width = 4 if family == 4 else 16
    return ResponseRecord(family, tcp_flags, ifindex, saddr[:width], daddr[:width], sport, dport, seq,
                          ack, window, opt_bits, wscale, mss, payload_len, tsval, tsecr, tstamp)


def target_key(addr: bytes, port: int) -> bytes:
    """Key of ``pr_targets``: ``addr`` of 4 or 16 bytes (all zero: any address), port host order."""
    if len(addr) not in (4, 16):
        raise ValueError(f"address must have 4 or 16 bytes, not {len(addr)}")
    return TARGET_KEY.pack(addr.ljust(16, b"\0"), port, 4 if len(addr) == 4 else 6, 0)


def fmix32(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def shard_of(addr: bytes, port: int, shards: int) -> int:
    """The C ``pr_client_shard``: the address as the program loads it (raw, native order)."""
    if shards <= 1:
        return 0
    raw = int.from_bytes(addr[:4], sys.byteorder)
    return fmix32(raw ^ ((port << 16) & 0xFFFFFFFF)) % shards
