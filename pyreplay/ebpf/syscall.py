"""The raw ``bpf(2)`` system call through ctypes, for the few commands bcc 0.26 does not offer.

Contract: ``bpf(cmd, attr)`` runs the command with a ctypes structure as its attribute block
and returns the non-negative result, or raises ``OSError`` with the kernel's errno. The syscall
number comes from a per-architecture table (``BPF_SYSCALL_NUMBERS``); an unknown architecture
raises ``OSError(ENOSYS)``. Command and attach-type numbers are the uapi values.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform

BPF_SYSCALL_NUMBERS = {
    "x86_64": 321,
    "i386": 357,
    "i686": 357,
    "aarch64": 280,
    "riscv64": 280,
    "loongarch64": 280,
    "armv7l": 386,
    "s390x": 351,
    "ppc64le": 361,
    "ppc64": 361,
}

BPF_PROG_TEST_RUN = 10
BPF_LINK_CREATE = 28
BPF_LINK_DETACH = 34

BPF_XDP = 37
BPF_TCX_INGRESS = 46
BPF_TCX_EGRESS = 47

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def syscall_number(machine: str | None = None) -> int:
    machine = machine or platform.machine()
    try:
        return BPF_SYSCALL_NUMBERS[machine]
    except KeyError:
        raise OSError(errno.ENOSYS, f"pyreplay does not know the bpf() syscall number on {machine}") from None


def bpf(cmd: int, attr: ctypes.Structure) -> int:
    result = _libc.syscall(
        ctypes.c_long(syscall_number()),
        ctypes.c_int(cmd),
        ctypes.c_void_p(ctypes.addressof(attr)),
        ctypes.c_uint(ctypes.sizeof(attr)),
    )
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result
