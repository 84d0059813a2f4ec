"""Classic BPF socket filters from pcap filter expressions (``-F 'tcp and src port 8080'``).

libpcap compiles the expression (its grammar is what users of tcpdump, TCPCopy and intercept
already write); we attach the result to an AF_PACKET socket with SO_ATTACH_FILTER, so the
kernel drops what does not match before it is copied to us. libpcap is loaded with ctypes
(Debian ``libpcap0.8``); nothing is compiled at install time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import socket
import struct
from functools import lru_cache

LINKTYPE_ETHERNET = 1
SNAPLEN = 262144
SO_ATTACH_FILTER = 26
PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF


class FilterError(ValueError):
    """The filter expression does not compile, or libpcap is missing."""


class _BpfInsn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_BpfInsn))]


@lru_cache(maxsize=1)
def _libpcap() -> ctypes.CDLL:
    name = ctypes.util.find_library("pcap") or "libpcap.so.0.8"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise FilterError("libpcap is not installed (Debian package libpcap0.8): cannot compile -F filters") from exc
    lib.pcap_open_dead.restype = ctypes.c_void_p
    lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.pcap_compile.argtypes = [ctypes.c_void_p, ctypes.POINTER(_BpfProgram), ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32]
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_geterr.argtypes = [ctypes.c_void_p]
    lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    return lib


def compile_program(expression: str, linktype: int = LINKTYPE_ETHERNET, *, label: str = "filter") -> _BpfProgram:
    """libpcap's compiled program for ``expression``; free it with ``free_program``."""
    lib = _libpcap()
    handle = lib.pcap_open_dead(linktype, SNAPLEN)
    if not handle:
        raise FilterError("libpcap could not open a dead handle")
    program = _BpfProgram()
    try:
        if lib.pcap_compile(handle, ctypes.byref(program), expression.encode(), 1, PCAP_NETMASK_UNKNOWN) != 0:
            reason = lib.pcap_geterr(handle).decode(errors="replace")
            raise FilterError(f"bad {label} {expression!r}: {reason}")
        return program
    finally:
        lib.pcap_close(handle)


def free_program(program: _BpfProgram) -> None:
    _libpcap().pcap_freecode(ctypes.byref(program))


def compile_filter(expression: str, linktype: int = LINKTYPE_ETHERNET) -> list[tuple[int, int, int, int]]:
    """Compile a pcap filter expression to classic BPF instructions (code, jt, jf, k)."""
    program = compile_program(expression, linktype)
    try:
        return [(i.code, i.jt, i.jf, i.k) for i in program.bf_insns[: program.bf_len]]
    finally:
        free_program(program)


def attach_filter(sock: socket.socket, instructions: list[tuple[int, int, int, int]]) -> None:
    """Attach classic BPF to a socket (the kernel filters before copying packets to us)."""
    blob = b"".join(struct.pack("HBBI", *insn) for insn in instructions)
    buffer = ctypes.create_string_buffer(blob)
    fprog = struct.pack("HL", len(instructions), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
