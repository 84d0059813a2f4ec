"""Bounded HTTP load for the lab's client namespace.

``python -m pyreplay.lab.load --host H --port P --requests N --concurrency C`` sends exactly N
requests (fewer only if ``--max-seconds`` runs out, which it reports) from C concurrent
workers, either keep-alive (a worker reuses its connection, optionally pipelining K requests
per write) or one request per connection (``--close``), optionally paced to ``--rate``
requests/s overall, with POST bodies of ``--body-bytes`` when asked. Every request has a unique
path, so request logs can be matched. It prints one JSON summary line and exits non-zero when
any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass


@dataclass
class LoadResult:
    requests_ok: int = 0
    errors: int = 0
    connections: int = 0
    seconds: float = 0.0
    timed_out: bool = False
    first_error: str = ""


@dataclass(frozen=True, slots=True)
class LoadPlan:
    host: str
    port: int
    requests: int
    concurrency: int = 1
    keepalive: bool = True
    pipeline: int = 1
    rate: float = 0.0
    body_bytes: int = 0
    resp_bytes: int = -1
    max_seconds: float = 60.0
    path_prefix: str = "/load"


def request_body(index: int, size: int) -> bytes:
    """Deterministic, distinct body per request (so hashes in the logs tell requests apart)."""
    if size <= 0:
        return b""
    seed = hashlib.sha256(index.to_bytes(8, "big")).digest()
    return (seed * (size // len(seed) + 1))[:size]


def build_request(plan: LoadPlan, index: int, close: bool) -> bytes:
    query = f"?resp={plan.resp_bytes}" if plan.resp_bytes >= 0 else ""
    body = request_body(index, plan.body_bytes)
    method = "POST" if body else "GET"
    head = [f"{method} {plan.path_prefix}/{index}{query} HTTP/1.1", f"Host: {plan.host}"]
    if body:
        head.append(f"Content-Length: {len(body)}")
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    length = 0
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


class LoadRun:
    def __init__(self, plan: LoadPlan) -> None:
        self.plan = plan
        self.result = LoadResult()
        self.next_index = 0
        self.start = 0.0

    def _take(self, n: int) -> list[int]:
        taken = list(range(self.next_index, min(self.next_index + n, self.plan.requests)))
        self.next_index += len(taken)
        return taken

    async def _pace(self, index: int) -> None:
        if self.plan.rate > 0:
            due = self.start + index / self.plan.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    def _fail(self, count: int, exc: BaseException) -> None:
        self.result.errors += count
        if not self.result.first_error:
            self.result.first_error = f"{type(exc).__name__}: {exc}"

    async def worker(self) -> None:
        plan = self.plan
        reader = writer = None
        while True:
            batch = self._take(plan.pipeline if plan.keepalive else 1)
            if not batch:
                break
            await self._pace(batch[0])
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(plan.host, plan.port)
                    self.result.connections += 1
                writer.write(b"".join(build_request(plan, i, not plan.keepalive) for i in batch))
                await writer.drain()
                for _ in batch:
                    status = await read_response(reader)
                    if status != 200:
                        raise ConnectionError(f"HTTP status {status}")
                    self.result.requests_ok += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                self._fail(len(batch), exc)
                writer = _close(writer)
                continue
            if not plan.keepalive:
                writer = _close(writer)
        _close(writer)

    async def run(self) -> LoadResult:
        self.start = time.monotonic()
        workers = [asyncio.create_task(self.worker()) for _ in range(self.plan.concurrency)]
        done, pending = await asyncio.wait(workers, timeout=self.plan.max_seconds)
        if pending:
            self.result.timed_out = True
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                self._fail(0, task.exception())
        self.result.seconds = round(time.monotonic() - self.start, 4)
        return self.result


def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.close()
    return None


def run_load(plan: LoadPlan) -> LoadResult:
    return asyncio.run(LoadRun(plan).run())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--requests", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--close", action="store_true", help="one request per connection")
    p.add_argument("--pipeline", type=int, default=1, help="requests per write on keep-alive")
    p.add_argument("--rate", type=float, default=0.0, help="overall requests/s (0 = as fast as possible)")
    p.add_argument("--body-bytes", type=int, default=0, help="POST body size (0 = GET)")
    p.add_argument("--resp-bytes", type=int, default=-1, help="ask the server for this response size")
    p.add_argument("--max-seconds", type=float, default=60.0)
    p.add_argument("--path-prefix", default="/load")
    a = p.parse_args(argv)
    if a.requests < 0 or a.concurrency < 1 or a.pipeline < 1 or a.max_seconds <= 0:
        p.error("--requests >= 0, --concurrency >= 1, --pipeline >= 1 and --max-seconds > 0")
    plan = LoadPlan(a.host, a.port, a.requests, a.concurrency, not a.close, a.pipeline, a.rate,
                    a.body_bytes, a.resp_bytes, a.max_seconds, a.path_prefix)
    result = run_load(plan)
    print(json.dumps(asdict(result)), flush=True)
    return 0 if result.errors == 0 and not result.timed_out else 1


if __name__ == "__main__":
    sys.exit(main())
