"""The channel over TCP: non-blocking connections that carry ``pyreplay.channel`` frames.

``ChannelConnection`` owns one socket, a ``FrameDecoder`` and an output buffer: ``receive()``
returns decoded messages (raising ``ChannelClosed`` on EOF and ``ChannelError`` on garbage),
``send(frame)`` queues and writes what the socket takes, ``flush()`` writes more when the
selector says writable. ``ChannelListener`` accepts copy/burn connections for intercept;
``connect_channel`` opens one from copy/burn and sends our Hello. ``ChannelLink`` is what copy
and burn use of a connection (tests hand them stand-ins through their ``connect`` argument).
"""

from __future__ import annotations

import socket
from typing import Final, Protocol

from pyreplay.backends.errors import ChannelClosed
from pyreplay.channel.codec import FrameDecoder, encode
from pyreplay.channel.messages import CHANNEL_VERSION, Hello, Message

MAX_OUTPUT: Final = 64 * 1024 * 1024
RECV_SIZE: Final = 262144


class ChannelLink(Protocol):
    peer: str

    @property
    def wants_write(self) -> bool: ...

    def fileno(self) -> int: ...

    def receive(self) -> list[Message]: ...

    def send(self, frame: bytes) -> None: ...

    def flush(self) -> None: ...

    def flush_blocking(self, timeout: float = 2.0) -> None: ...

    def close(self) -> None: ...


class ChannelConnection:
    def __init__(self, sock: socket.socket, peer: str, *, accepts: frozenset[type] | None = None) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.peer = peer
        self.decoder = FrameDecoder(accepts=accepts)
        self._out = bytearray()
        self.bytes_in = 0
        self.bytes_out = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    @property
    def wants_write(self) -> bool:
        return bool(self._out)

    def receive(self, limit: int = 1 << 20) -> list[Message]:
        """The messages that arrived, reading until the socket is drained or ``limit`` bytes.

        A read shorter than asked for means the socket had no more: stop there rather than
        pay one more ``recv`` for its EAGAIN (the caller's select reports what comes next)."""
        messages: list[Message] = []
        received = 0
        while received < limit:
            try:
                data = self.sock.recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                raise ChannelClosed(f"{self.peer}: {exc.strerror or exc}") from exc
            if not data:
                raise ChannelClosed(f"{self.peer} closed the connection")
            received += len(data)
            self.bytes_in += len(data)
            messages.extend(self.decoder.feed(data))
            if len(data) < RECV_SIZE:
                break
        return messages

    def send(self, frame: bytes) -> None:
        self._out += frame
        self.flush()
        if len(self._out) > MAX_OUTPUT:
            raise ChannelClosed(f"{self.peer} is not reading: {len(self._out)} bytes queued")

    def send_message(self, message: Message) -> None:
        self.send(encode(message))

    def flush(self) -> None:
        while self._out:
            try:
                sent = self.sock.send(self._out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                raise ChannelClosed(f"{self.peer}: {exc.strerror or exc}") from exc
            self.bytes_out += sent
            del self._out[:sent]

    def flush_blocking(self, timeout: float = 2.0) -> None:
        """Best effort before closing: wait up to ``timeout`` for the queue to drain."""
        import select

        while self._out:
            _, writable, _ = select.select([], [self.sock], [], timeout)
            if not writable:
                return
            self.flush()

    def close(self) -> None:
        self.sock.close()


class ChannelListener:
    def __init__(self, bind: str, port: int, backlog: int = 128) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((bind, port))
        except OSError as exc:
            self.sock.close()
            raise OSError(f"cannot listen on {bind}:{port}: {exc.strerror}") from exc
        self.sock.listen(backlog)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def fileno(self) -> int:
        return self.sock.fileno()

    def accept(self, accepts: frozenset[type] | None = None) -> ChannelConnection | None:
        try:
            sock, address = self.sock.accept()
        except (BlockingIOError, InterruptedError):
            return None
        return ChannelConnection(sock, f"{address[0]}:{address[1]}", accepts=accepts)

    def close(self) -> None:
        self.sock.close()


def connect_channel(host: str, port: int, role: str, name: str, timeout: float = 5.0,
                    accepts: frozenset[type] | None = None) -> ChannelConnection:
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ConnectionError(f"cannot reach intercept at {host}:{port}: {exc.strerror or exc}") from exc
    conn = ChannelConnection(sock, f"{host}:{port}", accepts=accepts)
    conn.send_message(Hello(CHANNEL_VERSION, role, name))
    return conn
