"""Thin wrappers over iproute2 for network namespaces: create, delete, run commands inside.

Every call goes through ``ip`` (iproute2) so what the lab does can be replayed by hand from the
log. Failures raise ``LabError`` with the command and its stderr.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence


class LabError(RuntimeError):
    """The lab could not be built, queried or removed."""


def _run(argv: Sequence[str], *, check: bool = True, timeout: float = 20.0) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]} not found: install iproute2") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timed out after {timeout}s: {' '.join(argv)}") from exc
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(argv)}: {done.stderr.strip() or done.stdout.strip()}")
    return done


def ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    """Run ``ip [-n NETNS] ARGS...`` and return its stdout."""
    argv = ["ip"] + (["-n", netns] if netns else []) + list(args)
    return _run(argv, check=check).stdout


def list_namespaces() -> list[str]:
    out = _run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def add_namespace(name: str) -> None:
    ip("netns", "add", name)


def delete_namespace(name: str) -> None:
    """Delete a namespace; its interfaces (and veth peers elsewhere) go with it."""
    if name in list_namespaces():
        ip("netns", "del", name, check=False)


def netns_argv(netns: str, argv: Sequence[str]) -> list[str]:
    """The argv that runs ``argv`` inside ``netns`` (``ip netns exec`` execs in place, so the
    child's pid is the program's own pid)."""
    return ["ip", "netns", "exec", netns, *argv]


def run_in(netns: str, argv: Sequence[str], *, check: bool = True, timeout: float = 20.0) -> subprocess.CompletedProcess:
    return _run(netns_argv(netns, argv), check=check, timeout=timeout)


def set_sysctls(netns: str, values: dict[str, str | int]) -> None:
    """Write sysctls inside a namespace in one process (new namespaces inherit some host values,
    so the lab sets every value it depends on explicitly)."""
    script = "".join(
        f"echo {value} > /proc/sys/{key.replace('.', '/')}\n" for key, value in values.items()
    )
    run_in(netns, ["sh", "-ec", script])


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces): run as root or with sudo")
    if shutil.which("ip") is None:
        raise LabError("the 'ip' command is missing: install iproute2 (scripts/setup.sh does)")


CLONE_NEWNET = 0x40000000


@contextlib.contextmanager
def inside(netns: str) -> Iterator[None]:
    """Move the calling thread into a named namespace, and always back to where it was.

    Sockets and BPF attachments made inside stay bound to that namespace after we leave it.
    """
    libc = ctypes.CDLL(None, use_errno=True)

    def setns(fd: int) -> None:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise LabError(f"setns into {netns}: {os.strerror(err)}")

    with open("/proc/self/ns/net") as home, open(f"/run/netns/{netns}") as target:
        setns(target.fileno())
        try:
            yield
        finally:
            setns(home.fileno())
