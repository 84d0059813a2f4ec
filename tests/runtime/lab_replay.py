"""Helpers for end-to-end replay tests: a lab with servers and intercept, recording, copy runs."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

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

    def start_intercept(self, port: int = 36524, filter_: str = f"tcp and src port {TARGET_PORT}") -> subprocess.Popen:
        log = self.lab.workdir / f"intercept-{port}.log"
        proc = self.lab.spawn("assistant", [PY, "-m", "pyreplay.cli", "intercept", "-i", "lab0", "-F", filter_,
                                            "-p", str(port), "-l", str(log)])
        deadline = time.monotonic() + 10
        while "capturing on" not in (log.read_text() if log.exists() else ""):
            assert proc.poll() is None, "intercept exited at start"
            assert time.monotonic() < deadline, "intercept did not start"
            time.sleep(0.05)
        return proc

    @contextlib.contextmanager
    def recording(self, name: str):
        pcap = self.lab.workdir / f"{name}.pcap"
        rec = self.lab.spawn("online", [PY, "-m", "pyreplay.lab.record", "--iface", "lab0", "--filter",
                                        f"tcp and dst port {ONLINE_PORT}", "--out", str(pcap)],
                             stdout=subprocess.PIPE, text=True)
        assert rec.stdout.readline().strip() == "recording"
        try:
            yield pcap
        finally:
            time.sleep(0.3)  # let the last ACKs and FINs arrive
            rec.terminate()
            rec.wait(10)

    def copy(self, pcap: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        argv = [PY, "-m", "pyreplay.cli", "copy", "-x", TRANSFER, "-s", HOST_ADDRESSES["assistant"],
                "-c", self.lab.client_pool, "-i", str(pcap), "-a", "20", "--idle-exit", "2", *args]
        return self.lab.run("online", argv, check=False, timeout=timeout)


def with_prefix(records: list[RequestRecord], prefix: str) -> list[RequestRecord]:
    return [r for r in records if r.target.startswith(prefix + "/")]


def start_servers(the_lab: Lab) -> ReplayLab:
    return ReplayLab(the_lab, start_http_server(the_lab, "online", ONLINE_PORT),
                     start_http_server(the_lab, "target", TARGET_PORT))
