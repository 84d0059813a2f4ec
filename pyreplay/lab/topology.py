"""The standard TCPCopy deployment on one machine, built from network namespaces.

```
 client ──┐                        (fake client pool 198.19.0.0/24 routed via assistant)
 online ──┤ bridge "lab-br" in its own "switch" namespace; segment 198.18.0.0/24
 target ──┤
 assistant┘
```

Each lab has a unique name; its namespaces are ``<name>-<role>``, so two labs (two test runs)
never collide, and as every lab has its own switch namespace they can even reuse the same
addresses. ``Lab.up()`` builds it, ``Lab.down()`` removes everything it built (namespaces, and
with them every veth, bridge and route; processes it started, by pid). ``lab()`` is the context
manager the tests and the demo use: it always tears down, also on failure or Ctrl-C.

Every namespace sets ip_forward and rp_filter explicitly (new namespaces inherit host
``conf/all`` and ``conf/default``); the target routes the fake client pool via the assistant,
the assistant does not forward, bridge netfilter is off in the switch, and listen backlogs are
large enough for bursts (lab pitfalls 3-9).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pyreplay.lab import netns
from pyreplay.lab.netns import LabError

ROLES = ("client", "online", "target", "assistant")
SEGMENT = ipaddress.ip_network("198.18.0.0/24")
HOST_ADDRESSES = {"client": "198.18.0.10", "online": "198.18.0.20", "target": "198.18.0.30", "assistant": "198.18.0.40"}
FAKE_CLIENT_POOL = ipaddress.ip_network("198.19.0.0/24")
LAB_IFACE = "lab0"
BRIDGE = "lab-br"
NAME_PREFIX = "prl"
STATE_DIR = Path(os.environ.get("PYREPLAY_LAB_STATE", "/run/pyreplay/labs"))
BACKLOG = 16384


@dataclass(frozen=True, slots=True)
class Host:
    role: str
    netns: str
    iface: str
    addr: str


@dataclass(frozen=True, slots=True)
class LabSpec:
    """What to build. ``route_pool_via_assistant=False`` is the route-free variant (intercept on
    the target itself); ``offload=False`` turns veth checksum/segmentation offloads off so
    captured packets carry full checksums and wire-sized segments."""

    route_pool_via_assistant: bool = True
    offload: bool = True
    client_pool: str = str(FAKE_CLIENT_POOL)


@dataclass
class Lab:
    name: str
    spec: LabSpec = field(default_factory=LabSpec)
    workdir: Path | None = None
    processes: list[tuple[int, int]] = field(default_factory=list)  # (pid, start time)

    # ---- naming -------------------------------------------------------------------------
    @property
    def switch_netns(self) -> str:
        return f"{self.name}-switch"

    def host(self, role: str) -> Host:
        if role not in ROLES:
            raise LabError(f"unknown lab host {role!r}; hosts are {', '.join(ROLES)}")
        return Host(role, f"{self.name}-{role}", LAB_IFACE, HOST_ADDRESSES[role])

    @property
    def hosts(self) -> list[Host]:
        return [self.host(role) for role in ROLES]

    @property
    def namespaces(self) -> list[str]:
        return [self.switch_netns] + [h.netns for h in self.hosts]

    @property
    def client_pool(self) -> str:
        return self.spec.client_pool

    # ---- building -----------------------------------------------------------------------
    def up(self) -> Lab:
        netns.require_root()
        if self.workdir is None:
            self.workdir = Path(f"/tmp/pyreplay-lab-{self.name}")
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._save_state()
            self._build()
        except BaseException:
            self.down()
            raise
        return self

    def _build(self) -> None:
        sw = self.switch_netns
        netns.add_namespace(sw)
        netns.set_sysctls(sw, {"net.ipv4.ip_forward": 0, "net.ipv6.conf.all.disable_ipv6": 1})
        netns.ip("link", "add", BRIDGE, "type", "bridge", netns=sw)
        with contextlib.suppress(LabError):  # only present when br_netfilter is built in/loaded
            netns.set_sysctls(sw, {"net.bridge.bridge-nf-call-iptables": 0,
                                   "net.bridge.bridge-nf-call-ip6tables": 0,
                                   "net.bridge.bridge-nf-call-arptables": 0})
        netns.ip("link", "set", BRIDGE, "up", netns=sw)
        netns.ip("link", "set", "lo", "up", netns=sw)
        prefix_len = SEGMENT.prefixlen
        for h in self.hosts:
            netns.add_namespace(h.netns)
            port = f"p-{h.role}"[:15]
            netns.ip("link", "add", port, "type", "veth", "peer", "name", h.iface, "netns", h.netns, netns=sw)
            netns.ip("link", "set", port, "master", BRIDGE, "up", netns=sw)
            netns.set_sysctls(h.netns, {
                "net.ipv4.ip_forward": 0,
                "net.ipv4.conf.all.rp_filter": 0,
                "net.ipv4.conf.default.rp_filter": 0,
                "net.ipv6.conf.all.disable_ipv6": 1,
                "net.ipv6.conf.default.disable_ipv6": 1,
                "net.core.somaxconn": BACKLOG,
                "net.ipv4.tcp_max_syn_backlog": BACKLOG,
                "net.ipv4.ip_local_port_range": "10000 60999",
            })
            netns.ip("link", "set", "lo", "up", netns=h.netns)
            netns.ip("addr", "add", f"{h.addr}/{prefix_len}", "dev", h.iface, netns=h.netns)
            netns.ip("link", "set", h.iface, "up", netns=h.netns)
            netns.set_sysctls(h.netns, {f"net.ipv4.conf.{h.iface}.rp_filter": 0})
            if not self.spec.offload:
                netns.run_in(h.netns, ["ethtool", "-K", h.iface, "tx", "off", "rx", "off", "tso", "off",
                                       "gso", "off", "gro", "off"])
        if self.spec.route_pool_via_assistant:
            netns.ip("route", "add", self.client_pool, "via", HOST_ADDRESSES["assistant"],
                     netns=self.host("target").netns)
        self._wait_links_up()

    def _wait_links_up(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        for h in self.hosts:
            while "LOWER_UP" not in netns.ip("-o", "link", "show", h.iface, netns=h.netns):
                if time.monotonic() > deadline:
                    raise LabError(f"{h.netns}/{h.iface} did not come up within {timeout}s")
                time.sleep(0.02)

    # ---- processes ----------------------------------------------------------------------
    def spawn(self, role: str, argv: Sequence[str], *, stdout=None, stderr=None, **kwargs) -> subprocess.Popen:
        """Start ``argv`` inside a host's namespace; the lab ends it (by pid) on ``down``."""
        proc = subprocess.Popen(netns.netns_argv(self.host(role).netns, argv), stdout=stdout,
                                stderr=stderr, **kwargs)
        self.processes.append((proc.pid, _start_time(proc.pid)))
        self._save_state()
        return proc

    def run(self, role: str, argv: Sequence[str], *, timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess:
        return netns.run_in(self.host(role).netns, argv, check=check, timeout=timeout)

    def _own_pids(self) -> list[int]:
        """Our processes still running; a pid reused by someone else (start time differs) is not ours."""
        return [pid for pid, started in self.processes if _start_time(pid) == started and _pid_running(pid)]

    def _stop_processes(self, grace: float = 3.0) -> None:
        alive = [pid for pid in self._own_pids() if _signal(pid, signal.SIGTERM)]
        deadline = time.monotonic() + grace
        while alive and time.monotonic() < deadline:
            alive = [pid for pid in alive if _pid_running(pid)]
            time.sleep(0.05)
        for pid in alive:
            _signal(pid, signal.SIGKILL)
        for pid, _ in self.processes:
            _reap(pid)
        self.processes.clear()

    # ---- teardown -----------------------------------------------------------------------
    def down(self) -> None:
        """Remove everything this lab built; safe to call twice and after a partial ``up``."""
        self._stop_processes()
        existing = set(netns.list_namespaces())
        for name in self.namespaces:
            if name in existing:
                netns.delete_namespace(name)
        self._state_file().unlink(missing_ok=True)

    # ---- state shared between `pyreplay lab up` and `pyreplay lab down` -------------------
    def _state_file(self) -> Path:
        return STATE_DIR / f"{self.name}.json"

    def _save_state(self) -> None:
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        self._state_file().write_text(json.dumps({
            "name": self.name, "spec": asdict(self.spec),
            "workdir": str(self.workdir) if self.workdir else None,
            "processes": self.processes,
        }))

    @classmethod
    def load(cls, name: str) -> Lab:
        path = STATE_DIR / f"{name}.json"
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise LabError(f"no lab named {name!r} (known: {', '.join(known_labs()) or 'none'})") from None
        return cls(data["name"], LabSpec(**data["spec"]),
                   Path(data["workdir"]) if data["workdir"] else None,
                   [tuple(p) for p in data["processes"]])

    def status(self) -> dict:
        present = set(netns.list_namespaces())
        return {
            "name": self.name,
            "up": all(n in present for n in self.namespaces),
            "hosts": {h.role: {"netns": h.netns, "iface": h.iface, "addr": h.addr} for h in self.hosts},
            "segment": str(SEGMENT),
            "client_pool": self.client_pool,
            "client_pool_route": "via assistant" if self.spec.route_pool_via_assistant else "none (route-free)",
            "workdir": str(self.workdir) if self.workdir else None,
            "processes": self._own_pids(),
        }


def new_name() -> str:
    return f"{NAME_PREFIX}{secrets.token_hex(3)}"


def known_labs() -> list[str]:
    if not STATE_DIR.is_dir():
        return []
    return sorted(p.stem for p in STATE_DIR.glob("*.json"))


def leftover_namespaces() -> list[str]:
    """Namespaces that look like ours (name prefix) whatever their state file says."""
    return [n for n in netns.list_namespaces() if n.startswith(NAME_PREFIX) and "-" in n]


@contextlib.contextmanager
def lab(spec: LabSpec | None = None, *, name: str | None = None, workdir: Path | None = None) -> Iterator[Lab]:
    """Build a lab, yield it, always tear it down (failure, Ctrl-C and SIGTERM included when
    the caller turns SIGTERM into an exception, as the CLI does)."""
    the_lab = Lab(name or new_name(), spec or LabSpec(), workdir)
    the_lab.up()
    try:
        yield the_lab
    finally:
        the_lab.down()


def _signal(pid: int, sig: int) -> bool:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def _pid_running(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass  # not our child (state loaded by another process): fall back to /proc
    return Path(f"/proc/{pid}").exists() and not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return False


def _start_time(pid: int) -> int:
    """Process start time in clock ticks since boot (field 22 of /proc/PID/stat), 0 if gone."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (FileNotFoundError, IndexError, ValueError):
        return 0


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
