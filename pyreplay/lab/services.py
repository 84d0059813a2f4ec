"""Start the lab's servers and load inside its namespaces, as child processes the lab owns.

``start_http_server`` returns once the server listens; ``run_load`` runs the bounded load
generator in the client namespace and returns its ``LoadResult``.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pyreplay.lab.load import LoadPlan, LoadResult
from pyreplay.lab.netns import LabError
from pyreplay.lab.requestlog import RequestRecord, read_log
from pyreplay.lab.topology import Lab

ONLINE_PORT = 80
TARGET_PORT = 8080


@dataclass
class HttpServer:
    role: str
    port: int
    log_path: Path
    process: subprocess.Popen

    def requests(self) -> list[RequestRecord]:
        return read_log(self.log_path)


def start_http_server(lab: Lab, role: str, port: int, *, resp_bytes: int = 16,
                      log_name: str | None = None, timeout: float = 10.0,
                      close_after: int = 0, close_with_reset: bool = False) -> HttpServer:
    """``close_after``/``close_with_reset``: the server's ``--close-after``/``--close-with-reset``."""
    log_path = lab.workdir / (log_name or f"{role}-{port}.log")
    log_path.write_text("")
    argv = [sys.executable, "-m", "pyreplay.lab.httpserver", "--port", str(port), "--log", str(log_path),
            "--resp-bytes", str(resp_bytes), "--close-after", str(close_after)]
    if close_with_reset:
        argv.append("--close-with-reset")
    proc = lab.spawn(role, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("listening"):
        proc.kill()
        err = proc.stderr.read() if proc.poll() is not None else "no answer"
        raise LabError(f"HTTP server on {role}:{port} did not start: {err.strip()[-300:]}")
    return HttpServer(role, port, log_path, proc)


def run_load(lab: Lab, plan: LoadPlan) -> LoadResult:
    argv = [sys.executable, "-m", "pyreplay.lab.load", "--host", plan.host, "--port", str(plan.port),
            "--requests", str(plan.requests), "--concurrency", str(plan.concurrency),
            "--pipeline", str(plan.pipeline), "--rate", str(plan.rate), "--body-bytes", str(plan.body_bytes),
            "--resp-bytes", str(plan.resp_bytes), "--max-seconds", str(plan.max_seconds),
            "--path-prefix", plan.path_prefix]
    if not plan.keepalive:
        argv.append("--close")
    done = lab.run("client", argv, timeout=plan.max_seconds + 15, check=False)
    try:
        return LoadResult(**json.loads(done.stdout.strip().splitlines()[-1]))
    except (IndexError, ValueError, TypeError) as exc:
        raise LabError(f"load generator failed: {done.stderr.strip()[-300:]}") from exc


def wait_for_requests(server: HttpServer, count: int, timeout: float = 10.0) -> list[RequestRecord]:
    """Poll the server's log until it holds ``count`` requests or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        records = server.requests()
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.05)
