"""The lab's HTTP/1.1 server: answers every request and logs it exactly, one JSON line each.

Run as ``python -m pyreplay.lab.httpserver --port 80 --log FILE`` inside a lab namespace (the
online server and the target). Each log line is a ``RequestRecord`` (see ``requestlog``): time,
client ip:port, a connection serial, the request's index on its connection, method, target
(path and query), body length and SHA-256 of the body. Lines are flushed as they are written,
so a test can read the log while the server runs.

Parsing is h11's (keep-alive, pipelining, chunked bodies, ``Connection: close``). The response
body is ``resp_bytes`` long, or ``?resp=N`` bytes for that request, so tests can ask for
multi-segment responses.

``--close-after N`` makes a server that ends keep-alive connections: after answering N requests
on a connection it closes it, unanswered and unlogged, as soon as more data comes (or at once
when pipelined requests are already read): a keep-alive timeout racing with the next request,
or nginx's ``keepalive_requests`` with requests pipelined behind the Nth. It closes with a FIN,
or with ``--close-with-reset`` an RST (what a kernel sends when the application closes with
data unread). EOF first is an ordinary close.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import signal
import socket
import struct
import sys
import time
from urllib.parse import parse_qs, urlsplit

import h11

MAX_RESPONSE = 16 * 1024 * 1024


class RequestLogger:
    def __init__(self, path: str) -> None:
        self._file = open(path, "a", buffering=1, encoding="ascii")  # noqa: SIM115 - lives as long as the server

    def log(self, record: dict) -> None:
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._file.close()


def response_size(target: str, default: int) -> int:
    query = parse_qs(urlsplit(target).query)
    try:
        return max(0, min(MAX_RESPONSE, int(query["resp"][0])))
    except (KeyError, ValueError, IndexError):
        return default


class Server:
    def __init__(self, logger: RequestLogger, resp_bytes: int, close_after: int = 0,
                 close_with_reset: bool = False) -> None:
        self.logger = logger
        self.resp_bytes = resp_bytes
        self.close_after = close_after  # 0: never
        self.close_with_reset = close_with_reset
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn_id = self.connections
        peer = writer.get_extra_info("peername") or ("?", 0)
        conn = h11.Connection(h11.SERVER)
        index = 0
        try:
            while True:
                request, body = await self._read_request(conn, reader)
                if request is None:
                    break
                target = request.target.decode("latin-1")
                self.logger.log({
                    "t": round(time.time(), 6), "client": f"{peer[0]}:{peer[1]}", "conn": conn_id,
                    "idx": index, "method": request.method.decode("latin-1"), "target": target,
                    "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
                })
                index += 1
                size = response_size(target, self.resp_bytes)
                headers = [("Content-Length", str(size)), ("Content-Type", "application/octet-stream")]
                data = conn.send(h11.Response(status_code=200, headers=headers))
                data += conn.send(h11.Data(data=b"r" * size)) if size else b""
                data += conn.send(h11.EndOfMessage())
                writer.write(data)
                await writer.drain()
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    break
                conn.start_next_cycle()
                if self.close_after and index >= self.close_after:
                    await self._close_when_more_comes(conn, reader, writer)
                    break
        except (h11.RemoteProtocolError, h11.LocalProtocolError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _close_when_more_comes(self, conn: h11.Connection, reader: asyncio.StreamReader,
                                     writer: asyncio.StreamWriter) -> None:
        """``close_after`` answered: wait for more data (none if some is read already), then
        leave the ``finally`` to close; with ``close_with_reset`` the close sends an RST."""
        event = conn.next_event()  # a request already read (pipelined), or NEED_DATA
        if isinstance(event, h11.ConnectionClosed):
            return
        if event is h11.NEED_DATA and not await reader.read(65536):
            return  # the client closed first
        if self.close_with_reset:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    @staticmethod
    async def _read_request(conn: h11.Connection, reader: asyncio.StreamReader):
        request = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                chunk = await reader.read(65536)
                conn.receive_data(chunk)
                if not chunk and request is None and conn.their_state is h11.IDLE:
                    return None, b""
                continue
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return request, bytes(body)
            elif isinstance(event, h11.ConnectionClosed):
                return None, b""


async def serve(host: str, port: int, log_path: str, resp_bytes: int, backlog: int,
                close_after: int = 0, close_with_reset: bool = False) -> None:
    logger = RequestLogger(log_path)
    server = Server(logger, resp_bytes, close_after, close_with_reset)
    srv = await asyncio.start_server(server.handle, host, port, backlog=backlog, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on {host}:{port}", flush=True)
    async with srv:
        await stop.wait()
    logger.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--log", required=True, help="request log file (JSON lines)")
    parser.add_argument("--resp-bytes", type=int, default=16, help="default response body size")
    parser.add_argument("--backlog", type=int, default=16384)
    parser.add_argument("--close-after", type=int, default=0, metavar="N",
                        help="close a keep-alive connection, unanswered, when data comes after N answers (0: never)")
    parser.add_argument("--close-with-reset", action="store_true",
                        help="--close-after closes with an RST instead of a FIN")
    args = parser.parse_args(argv)
    if args.close_after < 0:
        parser.error("--close-after must be >= 0")
    try:
        asyncio.run(serve(args.host, args.port, args.log, args.resp_bytes, args.backlog,
                          args.close_after, args.close_with_reset))
    except OSError as exc:
        print(f"httpserver: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
