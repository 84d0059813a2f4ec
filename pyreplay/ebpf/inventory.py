"""What BPF programs are attached to this network namespace's interfaces, and by which means.

Contract:
- ``attachments()`` lists every XDP program (from ``ip -d -j link``), every tcx program
  (``BPF_PROG_QUERY``, kernel >= 6.6) and every netlink clsact filter with a BPF program
  (``tc -j filter show``), as ``Attachment(ifname, ifindex, hook, prog_id, name, via_link)``.
  ``via_link`` is True when a bpf_link holds it (the kernel detaches it when the owning process
  exits); False means netlink attach, which survives its owner.
- ``is_ours(name)``: a program pyreplay loads (prefix ``pyrpl_``, or a name pyreplay's programs
  use). Kernel names are cut to 15 characters.
- ``remove(attachment)`` detaches one netlink attachment (XDP off / tc filter delete), only if
  it is ours and not held by a link; it raises ``ValueError`` otherwise. Used by ``pyreplay cleanup``.
"""

from __future__ import annotations

import ctypes
import json
import socket
import subprocess
from dataclasses import dataclass

from pyreplay.ebpf import syscall

BPF_PROG_GET_FD_BY_ID = 13
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_PROG_QUERY = 16
BPF_LINK_GET_FD_BY_ID = 30
BPF_LINK_GET_NEXT_ID = 31
BPF_LINK_TYPE_XDP = 6
OUR_PREFIX = "pyrpl_"
OUR_NAMES = ("smoke_xdp", "smoke_tcx")
_NAME_LEN = 15
_XDP_MODES = {1: "xdpdrv", 2: "xdpgeneric", 3: "xdpoffload"}


@dataclass(frozen=True)
class Attachment:
    ifname: str
    ifindex: int
    hook: str  # "xdp", "tcx-ingress", "tcx-egress", "tc-ingress", "tc-egress"
    prog_id: int
    name: str
    via_link: bool
    tc_handle: str = ""  # netlink tc filters: "pref handle" to delete exactly this one
    xdp_mode: str = ""  # "xdpgeneric", "xdpdrv", "xdpoffload": how `ip link` removes it


def is_ours(name: str) -> bool:
    return name.startswith(OUR_PREFIX) or any(name == n[:_NAME_LEN] for n in OUR_NAMES)


class _QueryAttr(ctypes.Structure):
    _fields_ = [("target_ifindex", ctypes.c_uint32), ("attach_type", ctypes.c_uint32),
                ("query_flags", ctypes.c_uint32), ("attach_flags", ctypes.c_uint32),
                ("prog_ids", ctypes.c_uint64), ("count", ctypes.c_uint32), ("_pad", ctypes.c_uint32),
                ("prog_attach_flags", ctypes.c_uint64), ("link_ids", ctypes.c_uint64),
                ("link_attach_flags", ctypes.c_uint64), ("revision", ctypes.c_uint64)]


class _IdAttr(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32), ("next_id", ctypes.c_uint32), ("open_flags", ctypes.c_uint32)]


class _InfoAttr(ctypes.Structure):
    _fields_ = [("bpf_fd", ctypes.c_uint32), ("info_len", ctypes.c_uint32), ("info", ctypes.c_uint64)]


def tcx_programs(ifindex: int, direction: str) -> list[tuple[int, int]]:
    """(prog_id, link_id or 0) of the tcx programs on an interface; [] on kernels without tcx."""
    attach_type = syscall.BPF_TCX_EGRESS if direction == "egress" else syscall.BPF_TCX_INGRESS
    prog_ids = (ctypes.c_uint32 * 64)()
    link_ids = (ctypes.c_uint32 * 64)()
    attr = _QueryAttr(target_ifindex=ifindex, attach_type=attach_type, prog_ids=ctypes.addressof(prog_ids),
                      count=64, link_ids=ctypes.addressof(link_ids))
    try:
        syscall.bpf(BPF_PROG_QUERY, attr)
    except OSError:
        return []
    return [(prog_ids[i], link_ids[i]) for i in range(min(attr.count, 64))]


def program_name(prog_id: int) -> str:
    try:
        fd = syscall.bpf(BPF_PROG_GET_FD_BY_ID, _IdAttr(id=prog_id))
    except OSError:
        return ""
    try:
        info = ctypes.create_string_buffer(256)
        syscall.bpf(BPF_OBJ_GET_INFO_BY_FD, _InfoAttr(bpf_fd=fd, info_len=256, info=ctypes.addressof(info)))
        return info.raw[64:80].split(b"\0", 1)[0].decode(errors="replace")
    except OSError:
        return ""
    finally:
        import os

        os.close(fd)


def _xdp_links() -> set[tuple[int, int]]:
    """(ifindex, prog_id) of every XDP program held by a bpf_link, in any namespace.

    Interface indexes are per namespace (every fresh one numbers its first veth 2), so an
    index alone could match another namespace's link; program ids are global.
    """
    import os

    found: set[int] = set()
    next_id = 0
    for _ in range(100_000):
        attr = _IdAttr(id=next_id)
        try:
            syscall.bpf(BPF_LINK_GET_NEXT_ID, attr)
        except OSError:
            break
        next_id = attr.next_id
        try:
            fd = syscall.bpf(BPF_LINK_GET_FD_BY_ID, _IdAttr(id=next_id))
        except OSError:
            continue
        try:
            info = ctypes.create_string_buffer(64)
            syscall.bpf(BPF_OBJ_GET_INFO_BY_FD, _InfoAttr(bpf_fd=fd, info_len=64, info=ctypes.addressof(info)))
            if int.from_bytes(info.raw[0:4], "little") == BPF_LINK_TYPE_XDP:
                found.add((int.from_bytes(info.raw[16:20], "little"), int.from_bytes(info.raw[8:12], "little")))
        except OSError:
            pass
        finally:
            os.close(fd)
    return found


def _json(argv: list[str]):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    if out.returncode != 0 or not out.stdout.strip():
        return []
    return json.loads(out.stdout)


def attachments() -> list[Attachment]:
    found: list[Attachment] = []
    xdp_links = None
    for link in _json(["ip", "-d", "-j", "link", "show"]):
        ifname, ifindex = link.get("ifname", ""), int(link.get("ifindex", 0))
        xdp = link.get("xdp") or {}
        prog = xdp.get("prog") or {}
        progs = [(xdp.get("mode"), prog)] if prog else [(p.get("mode"), p.get("prog", p))
                                                         for p in xdp.get("attached", [])]
        for mode, p in progs:
            if not p.get("id"):
                continue
            if xdp_links is None:
                xdp_links = _xdp_links()
            prog_id = int(p["id"])
            found.append(Attachment(ifname, ifindex, "xdp", prog_id, p.get("name") or program_name(prog_id),
                                    (ifindex, prog_id) in xdp_links, xdp_mode=_XDP_MODES.get(mode, "xdp")))
        for direction in ("ingress", "egress"):
            for prog_id, link_id in tcx_programs(ifindex, direction):
                found.append(Attachment(ifname, ifindex, f"tcx-{direction}", prog_id, program_name(prog_id),
                                        link_id != 0))
            for flt in _json(["tc", "-j", "filter", "show", "dev", ifname, direction]):
                options = flt.get("options") or {}
                prog_id = options.get("prog", {}).get("id") if isinstance(options.get("prog"), dict) else None
                if flt.get("kind") != "bpf" or not prog_id:
                    continue
                handle = f"{flt.get('pref', '')} {options.get('handle', '')}".strip()
                found.append(Attachment(ifname, ifindex, f"tc-{direction}", int(prog_id),
                                        program_name(int(prog_id)), False, handle))
    return found


def remove(attachment: Attachment) -> None:
    if not is_ours(attachment.name):
        raise ValueError(f"{attachment.name!r} on {attachment.ifname} is not a pyreplay program")
    if attachment.via_link:
        raise ValueError(f"{attachment.name} on {attachment.ifname} is held by a bpf_link of a running process; "
                         "it goes away when that process exits")
    if attachment.hook == "xdp":
        if program_name(attachment.prog_id) != attachment.name:
            raise ValueError(f"the XDP program on {attachment.ifname} changed; not removing it")
        subprocess.run(["ip", "link", "set", "dev", attachment.ifname, attachment.xdp_mode or "xdp", "off"], check=True,
                       capture_output=True, timeout=10)
        return
    direction = attachment.hook.split("-", 1)[1]
    pref, _, handle = attachment.tc_handle.partition(" ")
    argv = ["tc", "filter", "del", "dev", attachment.ifname, direction]
    if pref:
        argv += ["pref", pref]
    if handle:
        argv += ["handle", handle, "bpf"]
    subprocess.run(argv, check=True, capture_output=True, timeout=10)


def ifname_of(ifindex: int) -> str:
    try:
        return socket.if_indextoname(ifindex)
    except OSError:
        return f"ifindex {ifindex}"
