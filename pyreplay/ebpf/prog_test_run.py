"""Run a loaded BPF program on a packet in the kernel, without any interface (BPF_PROG_TEST_RUN).

Contract: ``prog_test_run(prog_fd, packet, repeat=1)`` runs the program on ``packet`` and returns
``RunResult(retval, duration_ns, data)`` where ``data`` is the packet as the program left it.
The kernel refuses XDP input shorter than an Ethernet header (14 bytes) with EINVAL; that and
any other refusal raise ``OSError``. Used to prove that capture programs always pass.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from pyreplay.ebpf import syscall

_DATA_OUT_SLACK = 256  # XDP may grow the head; room so the kernel's copy-out never fails (ENOSPC)


@dataclass(frozen=True)
class RunResult:
    retval: int
    duration_ns: int
    data: bytes


class _ProgTestRunAttr(ctypes.Structure):
    _fields_ = [
        ("prog_fd", ctypes.c_uint32),
        ("retval", ctypes.c_uint32),
        ("data_size_in", ctypes.c_uint32),
        ("data_size_out", ctypes.c_uint32),
        ("data_in", ctypes.c_uint64),
        ("data_out", ctypes.c_uint64),
        ("repeat", ctypes.c_uint32),
        ("duration", ctypes.c_uint32),
        ("ctx_size_in", ctypes.c_uint32),
        ("ctx_size_out", ctypes.c_uint32),
        ("ctx_in", ctypes.c_uint64),
        ("ctx_out", ctypes.c_uint64),
        ("flags", ctypes.c_uint32),
        ("cpu", ctypes.c_uint32),
        ("batch_size", ctypes.c_uint32),
        ("_padding", ctypes.c_uint32),
    ]


def prog_test_run(prog_fd: int, packet: bytes, repeat: int = 1) -> RunResult:
    data_in = ctypes.create_string_buffer(bytes(packet), len(packet))
    data_out = ctypes.create_string_buffer(len(packet) + _DATA_OUT_SLACK)
    attr = _ProgTestRunAttr(
        prog_fd=prog_fd,
        data_size_in=len(packet),
        data_size_out=ctypes.sizeof(data_out),
        data_in=ctypes.addressof(data_in),
        data_out=ctypes.addressof(data_out),
        repeat=repeat,
    )
    syscall.bpf(syscall.BPF_PROG_TEST_RUN, attr)
    return RunResult(retval=attr.retval, duration_ns=attr.duration, data=data_out.raw[: attr.data_size_out])
