"""Where rewritten packets go: a raw IP socket, a pcap file (dry run), or memory (tests).

Every emitter takes complete IP packets (checksums already correct) with ``send(packet, now)``
and counts what it could not send by reason instead of raising: a send refused by the local
firewall (EPERM, e.g. conntrack dropping INVALID on OUTPUT) must not end the replay of every
other session. ``errors`` maps a reason to its count; ``last_error`` keeps the newest text for
the summary.
"""

from __future__ import annotations

import errno
import socket
from typing import BinaryIO, Protocol


class Emitter(Protocol):
    sent: int
    errors: dict[str, int]
    last_error: str

    def send(self, packet: bytes, now: float) -> bool: ...

    def close(self) -> None: ...


class _Counting:
    def __init__(self) -> None:
        self.sent = 0
        self.errors: dict[str, int] = {}
        self.last_error = ""

    def _count_error(self, reason: str, detail: str) -> None:
        self.errors[reason] = self.errors.get(reason, 0) + 1
        self.last_error = detail


class RawIpEmitter(_Counting):
    """IPPROTO_RAW socket: the kernel routes the packet and fills only the IP checksum."""

    def __init__(self) -> None:
        super().__init__()
        try:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        except PermissionError as exc:
            raise PermissionError("sending raw packets needs root or CAP_NET_RAW") from exc
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 * 1024 * 1024)
        self._addresses: dict[bytes, tuple[str, int]] = {}  # packed destination -> sendto address

    def send(self, packet: bytes, now: float) -> bool:
        packed = packet[16:20]
        address = self._addresses.get(packed)
        if address is None:
            if len(self._addresses) > 4096:
                self._addresses.clear()
            address = self._addresses[packed] = (socket.inet_ntop(socket.AF_INET, packed), 0)
        dst = address[0]
        for _ in range(64):
            try:
                self._sock.sendto(packet, address)
                self.sent += 1
                return True
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as exc:
                reason = errno.errorcode.get(exc.errno or 0, "OSERROR")
                hint = " (a local firewall rule, e.g. conntrack INVALID on OUTPUT?)" if exc.errno == errno.EPERM else ""
                self._count_error(reason, f"send to {dst}: {exc.strerror}{hint}")
                return False
        self._count_error("EAGAIN", f"send to {dst}: socket buffer full")
        return False

    def close(self) -> None:
        self._sock.close()


class PcapEmitter(_Counting):
    """Dry run: record what would be sent, with the replay's timestamps."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        from pyreplay.packet.pcap import PcapWriter

        self._writer = PcapWriter(stream)
        self._stream = stream

    def send(self, packet: bytes, now: float) -> bool:
        self._writer.write(now, packet)
        self.sent += 1
        return True

    def close(self) -> None:
        self._stream.flush()


class MemoryEmitter(_Counting):
    """Keeps (time, packet) pairs; for tests."""

    def __init__(self) -> None:
        super().__init__()
        self.packets: list[tuple[float, bytes]] = []

    def send(self, packet: bytes, now: float) -> bool:
        self.packets.append((now, packet))
        self.sent += 1
        return True

    def close(self) -> None:
        pass
