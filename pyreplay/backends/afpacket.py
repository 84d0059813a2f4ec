"""AF_PACKET capture: the fallback without BPF, and intercept's capture of routed responses.

``AfPacketCapture(ifname, filter_expression)`` opens a non-blocking packet socket on one
interface with a kernel-side classic BPF filter (compiled by libpcap), ignoring the host's own
outgoing packets unless asked. ``drain()`` returns every waiting packet as L3 bytes (Ethernet
and VLAN headers stripped), up to a batch limit. ``kernel_drops()`` reads PACKET_STATISTICS, so
losses are reported, never silent. Frames are read into a 256 KiB buffer: GRO hands up merged
segments far larger than the MTU.
"""

from __future__ import annotations

import socket
import struct

from pyreplay.backends.cbpf import attach_filter, compile_filter

ETH_P_ALL = 0x0003
PACKET_STATISTICS = 6
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
SOL_PACKET = 263
FRAME_BUFFER = 256 * 1024
_VLAN_TYPES = (0x8100, 0x88A8, 0x9100)


class CaptureError(OSError):
    """The capture socket could not be opened or configured."""


def strip_ethernet(frame: memoryview) -> memoryview | None:
    """The IP packet inside an Ethernet frame (any number of VLAN tags), or None if not IP."""
    offset = 12
    while len(frame) >= offset + 2:
        ethertype = (frame[offset] << 8) | frame[offset + 1]
        if ethertype in _VLAN_TYPES:
            offset += 4
            continue
        if ethertype in (0x0800, 0x86DD):
            return frame[offset + 2:]
        return None
    return None


class AfPacketCapture:
    def __init__(self, ifname: str, filter_expression: str | None = None, *, include_outgoing: bool = False,
                 rcvbuf: int = 32 * 1024 * 1024) -> None:
        self.ifname = ifname
        try:
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except PermissionError as exc:
            raise CaptureError(f"capturing on {ifname} needs root or CAP_NET_RAW") from exc
        try:
            if filter_expression:
                attach_filter(self._sock, compile_filter(filter_expression))
            if not include_outgoing:
                self._sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self._sock.bind((ifname, 0))
        except OSError as exc:
            self._sock.close()
            raise CaptureError(f"cannot capture on {ifname}: {exc.strerror or exc}") from exc
        self._sock.setblocking(False)
        self._buffer = bytearray(FRAME_BUFFER)
        self.truncated = 0
        self.not_ip = 0

    def fileno(self) -> int:
        return self._sock.fileno()

    def drain(self, limit: int = 4096) -> list[bytes]:
        packets = []
        view = memoryview(self._buffer)
        recv_into = self._sock.recvfrom_into
        for _ in range(limit):
            try:
                size, address = recv_into(self._buffer, FRAME_BUFFER, socket.MSG_TRUNC)
            except (BlockingIOError, InterruptedError):
                break
            if address[2] == PACKET_OUTGOING:
                continue
            if size > FRAME_BUFFER:
                self.truncated += 1
                continue
            packet = strip_ethernet(view[:size])
            if packet is None:
                self.not_ip += 1
                continue
            packets.append(bytes(packet))
        return packets

    def kernel_drops(self) -> int:
        """Packets the kernel dropped for this socket since the last call (buffer full)."""
        _packets, drops = struct.unpack("II", self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        return drops

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> AfPacketCapture:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
