"""A lab set up for replay: online and target servers, intercept on the assistant, recording on
the online server, and ``pyreplay copy`` runs in the online namespace (demo, tests, benchmarks).

Everything runs as child processes of the lab, so the lab's teardown ends them.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pyreplay.lab.netns import LabError
from pyreplay.lab.requestlog import RequestRecord
from pyreplay.lab.services import HttpServer, ONLINE_PORT, TARGET_PORT, start_http_server
from pyreplay.lab.topology import HOST_ADDRESSES, Lab

PY = sys.executable
TRANSFER = f"{ONLINE_PORT}-{HOST_ADDRESSES['target']}:{TARGET_PORT}"


@dataclass
class ReplayLab:
    lab: Lab
    online: HttpServer
    target: HttpServer

    def start_intercept(self, port: int = 36524, filter_: str = f"tcp and src port {TARGET_PORT}", *,
                        role: str = "assistant", capture: tuple[str, ...] = ("-i", "lab0")) -> subprocess.Popen:
        """intercept in ``role``'s namespace; ``capture`` are its capture flags (``--xdp lab0``...)."""
        log = self.lab.workdir / f"intercept-{port}.log"
        # the log is appended to by every intercept on this port: only this one's lines count
        start = log.stat().st_size if log.exists() else 0
        proc = self.lab.spawn(role, [PY, "-m", "pyreplay.cli", "intercept", *capture, "-F", filter_,
                                     "-p", str(port), "-l", str(log)])

        def own_lines() -> str:
            return log.read_bytes()[start:].decode(errors="replace") if log.exists() else ""

        deadline = time.monotonic() + 10
        while "capturing on" not in own_lines():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise LabError(f"intercept did not start: {own_lines()}")
            time.sleep(0.05)
        return proc

    @contextlib.contextmanager
    def recording(self, name: str):
        pcap = self.lab.workdir / f"{name}.pcap"
        rec = self.lab.spawn("online", [PY, "-m", "pyreplay.lab.record", "--iface", "lab0", "--filter",
                                        f"tcp and dst port {ONLINE_PORT}", "--out", str(pcap)],
                             stdout=subprocess.PIPE, text=True)
        if rec.stdout.readline().strip() != "recording":
            raise LabError("the recorder did not start")
        try:
            yield pcap
        finally:
            time.sleep(0.3)  # let the last ACKs and FINs arrive
            rec.terminate()
            rec.wait(10)

    def copy(self, pcap: Path, *args: str, timeout: float = 120, accelerate: int = 20) -> subprocess.CompletedProcess:
        argv = [PY, "-m", "pyreplay.cli", "copy", "-x", TRANSFER, "-s", HOST_ADDRESSES["assistant"],
                "-c", self.lab.client_pool, "-i", str(pcap), "-a", str(accelerate), "--idle-exit", "2", *args]
        return self.lab.run("online", argv, check=False, timeout=timeout)


def with_prefix(records: list[RequestRecord], prefix: str) -> list[RequestRecord]:
    return [r for r in records if r.target.startswith(prefix + "/")]


def start_servers(the_lab: Lab) -> ReplayLab:
    return ReplayLab(the_lab, start_http_server(the_lab, "online", ONLINE_PORT),
                     start_http_server(the_lab, "target", TARGET_PORT))
