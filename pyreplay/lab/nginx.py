"""nginx as a lab server (the online host of the live benchmark): faster than the lab's Python
server, so a load generator can offer ~10k short connections/s.

Contract:
- ``nginx_config(...)`` is the whole configuration text: one process (``daemon off``,
  ``master_process off``), listening on ``port`` with the lab's backlog, answering every request
  ``200`` with a small fixed body, keep-alive on or off (``keepalive_timeout 0``), the access
  log in ``nginxlog.LOG_FORMAT``, and every path nginx would otherwise take from its build
  (pid, lock, error log, temp dirs) inside ``root``.
- ``start_nginx(lab, role, port, ...)`` writes that config into a fresh directory under the
  lab's workdir (nothing outside it), starts nginx in the role's namespace as a process the lab
  owns (so the lab's teardown ends it by pid) and returns once the port listens (bounded).
  ``LabError`` says why when nginx is missing or does not start.
- ``NginxServer.requests()`` reads its log as ``RequestRecord``s; ``stop()`` ends it by pid
  (SIGTERM, then SIGKILL after ``timeout``) and returns its CPU and peak RSS (``Reaped``).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pyreplay.lab.netns import LabError
from pyreplay.lab.nginxlog import FORMAT_NAME, LOG_FORMAT, read_nginx_records
from pyreplay.lab.requestlog import RequestRecord
from pyreplay.lab.topology import BACKLOG, Lab
from pyreplay.lab.usage import Reaped, reap

DEFAULT_BODY = "r" * 16  # the size the lab's Python server answers by default
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


@dataclass
class NginxServer:
    role: str
    port: int
    root: Path
    log_path: Path
    process: subprocess.Popen

    def requests(self) -> list[RequestRecord]:
        return read_nginx_records(self.log_path)

    def stop(self, timeout: float = 10.0) -> Reaped:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return reap(self.process, timeout)


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found is None:
        raise LabError("nginx is not installed (apt-get install nginx; scripts/setup.sh installs it)")
    return found


def nginx_config(*, root: Path, port: int, log_path: Path, keepalive: bool, body: str = DEFAULT_BODY) -> str:
    if not body.isalnum():
        raise ValueError("the response body must be letters and digits (it is quoted in the config)")
    temp_paths = "\n".join(f"    {name}_temp_path {root / name};" for name in TEMP_DIRS)
    return f"""\
daemon off;
master_process off;
pid {root / 'nginx.pid'};
lock_file {root / 'nginx.lock'};
error_log {root / 'error.log'} warn;
worker_rlimit_nofile 16384;
events {{
    worker_connections 8192;
    multi_accept on;
}}
http {{
    log_format {FORMAT_NAME} '{LOG_FORMAT}';
    access_log {log_path} {FORMAT_NAME};
{temp_paths}
    keepalive_timeout {'75s' if keepalive else '0'};
    keepalive_requests 1000000;
    server {{
        listen {port} backlog={BACKLOG};
        default_type application/octet-stream;
        location / {{
            return 200 '{body}';
        }}
    }}
}}
"""


def start_nginx(lab: Lab, role: str, port: int, *, keepalive: bool = True, name: str = "nginx",
                body: str = DEFAULT_BODY, timeout: float = 10.0) -> NginxServer:
    root = lab.workdir / f"{name}-{role}-{port}"
    root.mkdir(parents=True, exist_ok=False)
    log_path = root / "access.log"
    log_path.write_text("")
    conf = root / "nginx.conf"
    conf.write_text(nginx_config(root=root, port=port, log_path=log_path, keepalive=keepalive, body=body))
    proc = lab.spawn(role, [nginx_binary(), "-p", str(root), "-e", str(root / "error.log"), "-c", str(conf)],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    server = NginxServer(role, port, root, log_path, proc)
    _wait_listening(lab, server, timeout)
    return server


def _wait_listening(lab: Lab, server: NginxServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _listens(lab, server.role, server.port):
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop(1.0)
            error_log = server.root / "error.log"
            why = (error_log.read_text() if error_log.exists() else "") + (server.process.stderr.read() or "")
            raise LabError(f"nginx on {server.role}:{server.port} did not start: {why.strip()[-300:] or 'no answer'}")
        time.sleep(0.05)


def _listens(lab: Lab, role: str, port: int) -> bool:
    done = lab.run(role, ["ss", "-Hltn", f"sport = :{port}"], timeout=5, check=False)
    return bool(done.stdout.strip())
