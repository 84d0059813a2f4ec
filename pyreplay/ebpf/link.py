"""Attach BPF programs through kernel-owned links (``BPF_LINK_CREATE``), detach on exit.

Contract:
- ``attach_xdp(prog_fd, interface, mode)`` (kernel >= 5.9) and ``attach_tcx(prog_fd, interface,
  direction)`` (kernel >= 6.6) return a ``BpfLink``; use it as a context manager: leaving the
  block, ``close()`` or garbage collection detaches the program (``BPF_LINK_DETACH``, then the fd
  is closed). ``interface`` is an ifindex or a name in the caller's network namespace.
- The kernel detaches a link by itself when its last fd closes, so a SIGKILL or OOM kill of the
  owner leaves nothing behind. An XDP link refuses to replace another XDP program (EBUSY); tcx
  links chain after programs already there rather than replace them.
- Failures raise ``AttachError`` (an ``OSError`` with the kernel's errno) whose text says what
  happened and what to do.
- Link fds are O_CLOEXEC (the kernel creates them so): ``exec`` drops them, ``fork`` does not.
  A forked child holding a copy keeps the program attached after the parent dies, so every
  child forked with ``os.fork`` (also ``multiprocessing``'s fork start method) closes its copies
  automatically (``os.register_at_fork``); ``close_inherited_links()`` does the same explicitly,
  for code that forks in other ways. It closes the child's copies without detaching the parent's
  link.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import weakref

from pyreplay.ebpf import syscall

XDP_MODE_FLAGS = {"generic": 1 << 1, "native": 1 << 2}
TCX_ATTACH_TYPES = {"ingress": syscall.BPF_TCX_INGRESS, "egress": syscall.BPF_TCX_EGRESS}

_open_links: "weakref.WeakSet[BpfLink]" = weakref.WeakSet()


class AttachError(OSError):
    """The kernel refused to attach; ``errno`` is its error, ``str()`` a plain explanation."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class _LinkCreateAttr(ctypes.Structure):
    _fields_ = [
        ("prog_fd", ctypes.c_uint32),
        ("target_ifindex", ctypes.c_uint32),
        ("attach_type", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("tcx_relative_fd", ctypes.c_uint32),
        ("_padding", ctypes.c_uint32),
        ("tcx_expected_revision", ctypes.c_uint64),
        ("_unused", ctypes.c_uint8 * 32),
    ]


class _LinkDetachAttr(ctypes.Structure):
    _fields_ = [("link_fd", ctypes.c_uint32)]


class BpfLink:
    """One attached program, held by a link fd this process owns."""

    def __init__(self, fd: int, *, hook: str, ifindex: int, ifname: str) -> None:
        self._fd = fd
        self.hook = hook
        self.ifindex = ifindex
        self.ifname = ifname
        _open_links.add(self)

    @property
    def fd(self) -> int:
        if self._fd < 0:
            raise ValueError(f"the {self.hook} link on {self.ifname} is closed")
        return self._fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self) -> None:
        """Detach the program (also for forked copies of the fd) and close the fd."""
        if self._fd < 0:
            return
        fd, self._fd = self._fd, -1
        _open_links.discard(self)
        try:
            syscall.bpf(syscall.BPF_LINK_DETACH, _LinkDetachAttr(link_fd=fd))
        except OSError:
            pass  # already detached (e.g. the interface went away); closing is what counts
        finally:
            os.close(fd)

    def _forget_in_child(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self) -> "BpfLink":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            try:
                self.close()
            except Exception:
                pass  # interpreter shutdown; the kernel detaches when the process's fds close

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self._fd}"
        return f"<BpfLink {self.hook} on {self.ifname} (ifindex {self.ifindex}) {state}>"


def attach_xdp(prog_fd: int, interface: int | str, mode: str = "generic") -> BpfLink:
    if mode not in XDP_MODE_FLAGS:
        raise ValueError(f"XDP mode must be one of {sorted(XDP_MODE_FLAGS)}, not {mode!r}")
    return _create_link(prog_fd, interface, syscall.BPF_XDP, XDP_MODE_FLAGS[mode], f"XDP ({mode})")


def attach_tcx(prog_fd: int, interface: int | str, direction: str = "ingress") -> BpfLink:
    if direction not in TCX_ATTACH_TYPES:
        raise ValueError(f"tcx direction must be one of {sorted(TCX_ATTACH_TYPES)}, not {direction!r}")
    return _create_link(prog_fd, interface, TCX_ATTACH_TYPES[direction], 0, f"tcx {direction}")


def close_inherited_links() -> None:
    """In a forked child: close every link fd copied from the parent, leaving its links attached."""
    for link in list(_open_links):
        link._forget_in_child()
    _open_links.clear()


os.register_at_fork(after_in_child=close_inherited_links)


def _create_link(prog_fd: int, interface: int | str, attach_type: int, flags: int, hook: str) -> BpfLink:
    ifindex, ifname = _resolve_interface(interface)
    attr = _LinkCreateAttr(prog_fd=prog_fd, target_ifindex=ifindex, attach_type=attach_type, flags=flags)
    try:
        fd = syscall.bpf(syscall.BPF_LINK_CREATE, attr)
    except OSError as exc:
        raise AttachError(exc.errno, _explain(exc.errno, hook, ifname)) from None
    return BpfLink(fd, hook=hook, ifindex=ifindex, ifname=ifname)


def _resolve_interface(interface: int | str) -> tuple[int, str]:
    if isinstance(interface, str):
        try:
            return socket.if_nametoindex(interface), interface
        except OSError:
            raise AttachError(errno.ENODEV, f"no interface named {interface} in this network namespace") from None
    try:
        return interface, socket.if_indextoname(interface)
    except OSError:
        return interface, f"ifindex {interface}"


def _explain(code: int, hook: str, ifname: str) -> str:
    kind = hook.split()[0]
    if code == errno.EBUSY:
        return f"another {kind} program is already attached to {ifname}; pyreplay will not replace it"
    if code == errno.EEXIST:
        return (f"an {kind} program in another mode is already attached to {ifname}; "
                "pyreplay will not replace it")
    if code in (errno.EPERM, errno.EACCES):
        return f"not allowed to attach {hook} to {ifname}: run as root (CAP_NET_ADMIN and CAP_BPF)"
    if code == errno.ENODEV:
        return f"no interface {ifname} in this network namespace"
    if code in (errno.EOPNOTSUPP, errno.ENOTSUP) and "native" in hook:
        return f"the driver of {ifname} has no native XDP support; use mode='generic'"
    if code in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        needed = "5.9" if kind == "XDP" else "6.6"
        return (f"the kernel ({os.uname().release}) refused a {hook} link on {ifname} "
                f"({os.strerror(code)}): {kind} links need kernel >= {needed} and a program of the "
                "matching type; on an older kernel only netlink attach remains, which survives a "
                "crash, so pyreplay does not fall back to it by itself")
    if code == errno.ENOSYS:
        return f"this kernel has no bpf() system call, so {hook} cannot be attached to {ifname}"
    return f"attaching {hook} to {ifname} failed: {os.strerror(code)}"
