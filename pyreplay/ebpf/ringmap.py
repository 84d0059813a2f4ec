"""A ring buffer map's set-up, for ``ebpf.ringbuf``: its size asked from the kernel and its pages
mapped and unmapped, through ctypes.

Kept apart from the consumer, which is compiled with mypyc (``pyreplay.compiled``): mypyc cannot
build ctypes structures, nor a class deriving from ``OSError``.

Contract: ``ring_size(map_fd)`` is the data size (max_entries) of a BPF_MAP_TYPE_RINGBUF map and
raises ``RingError`` for a map of another type; ``map_pages(length, prot, fd, offset)`` maps a
shared range of the map and returns its address, ``RingError`` with the errno if the kernel
refuses; ``unmap_pages(address, length)`` undoes it.
"""

from __future__ import annotations

import ctypes
import mmap
import os

from pyreplay.ebpf import syscall


class RingError(OSError):
    """The map cannot be mapped as a ring buffer."""


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_MAP_FAILED = ctypes.c_void_p(-1).value
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_MAP_TYPE_RINGBUF = 27


class _MapInfo(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32), ("id", ctypes.c_uint32), ("key_size", ctypes.c_uint32),
                ("value_size", ctypes.c_uint32), ("max_entries", ctypes.c_uint32),
                ("map_flags", ctypes.c_uint32), ("name", ctypes.c_char * 16), ("_rest", ctypes.c_uint8 * 64)]


class _InfoAttr(ctypes.Structure):
    _fields_ = [("bpf_fd", ctypes.c_uint32), ("info_len", ctypes.c_uint32), ("info", ctypes.c_uint64)]


def ring_size(map_fd: int) -> int:
    """The data size of a ring buffer map (its max_entries), asked from the kernel."""
    info = _MapInfo()
    attr = _InfoAttr(bpf_fd=map_fd, info_len=ctypes.sizeof(info), info=ctypes.addressof(info))
    syscall.bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
    if info.type != BPF_MAP_TYPE_RINGBUF:
        raise RingError(0, f"map fd {map_fd} is a map of type {info.type}, not a ring buffer")
    return info.max_entries


def map_pages(length: int, prot: int, fd: int, offset: int) -> int:
    address = _libc.mmap(None, length, prot, mmap.MAP_SHARED, fd, offset)
    if address is None or address == _MAP_FAILED:
        code = ctypes.get_errno()
        raise RingError(code, f"cannot mmap ring buffer map fd {fd}: {os.strerror(code)}")
    return address


def unmap_pages(address: int, length: int) -> None:
    _libc.munmap(address, length)
