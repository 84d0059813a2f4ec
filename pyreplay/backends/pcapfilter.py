"""Offline pcap filtering (``burn --filter EXPR``): libpcap's own matcher over IP packets read
from capture files, so the expression means exactly what it means to tcpdump.

``offline_filter(expression)`` compiles the expression for raw IP packets (the capture reader
has already removed the link layer) and returns ``keep(packet) -> bool``. ``FilterError`` when
it does not compile or libpcap is missing. ctypes only; nothing is compiled at install time.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

from pyreplay.backends.cbpf import _BpfProgram, _libpcap, compile_program

DLT_RAW = 12  # raw IPv4/IPv6 (libpcap's value on Linux)


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _PktHdr(ctypes.Structure):
    _fields_ = [("ts", _Timeval), ("caplen", ctypes.c_uint32), ("len", ctypes.c_uint32)]


def offline_filter(expression: str) -> Callable[[bytes], bool]:
    lib = _libpcap()
    lib.pcap_offline_filter.argtypes = [ctypes.POINTER(_BpfProgram), ctypes.POINTER(_PktHdr), ctypes.c_char_p]
    lib.pcap_offline_filter.restype = ctypes.c_int
    program = compile_program(expression, DLT_RAW, label="--filter")
    header = _PktHdr()
    match = lib.pcap_offline_filter
    program_ref = ctypes.byref(program)
    header_ref = ctypes.byref(header)

    def keep(packet: bytes) -> bool:
        header.caplen = header.len = len(packet)
        return match(program_ref, header_ref, packet) != 0

    keep.program = program  # keep the compiled program alive as long as the matcher
    return keep
