"""Choose and open copy's live capture: XDP, tc (tcx ingress) or AF_PACKET.

Contract:
- ``open_live_capture(method, interfaces, transfers, xdp_mode=...)`` returns a ``LiveCapture``
  (``description``, ``interfaces``, ``selectables()``, ``drain(limit) -> list[bytes]`` of L3
  packets, ``losses() -> {stage: count}``, ``close()``; a context manager) and the one log line
  saying which method was chosen and why.
- ``method`` ``"xdp"``, ``"tc"`` or ``"afpacket"`` forces that method: if it cannot work here,
  ``CaptureUnavailable`` says why (the CLI exits 1). ``None`` tries XDP, then tc, then AF_PACKET,
  and the log line names the reasons the better methods were passed over.
- ``interfaces`` empty means every interface except ``lo`` (as the original captures).
- AF_PACKET uses a classic BPF filter ``tcp and dst port P...`` (one socket per interface);
  its losses are the kernel's socket drops.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Protocol

from pyreplay.backends.afpacket import AfPacketCapture, CaptureError
from pyreplay.backends.bpf_capture import DEFAULT_RING_BYTES, BpfCapture, CaptureSetupError, ipv4_targets

METHODS = ("xdp", "tc", "afpacket")


class LiveCapture(Protocol):
    """What copy's live loop uses of a capture (``AfPacketSource``, ``BpfCapture``)."""

    description: str
    interfaces: tuple[str, ...]

    def selectables(self) -> list: ...

    def drain(self, limit: int = 4096) -> list[bytes]: ...

    def losses(self) -> dict[str, int]: ...

    def close(self) -> None: ...


class CaptureUnavailable(RuntimeError):
    """The forced capture method (or every method) cannot work here; one line says why."""


def all_interfaces() -> tuple[str, ...]:
    return tuple(name for _, name in socket.if_nameindex() if name != "lo")


def afpacket_filter(transfers: Sequence) -> str:
    terms = []
    for t in transfers:
        if t.online_addr is None:
            terms.append(f"dst port {t.online_port}")
        else:
            family = socket.AF_INET if len(t.online_addr) == 4 else socket.AF_INET6
            terms.append(f"(dst host {socket.inet_ntop(family, t.online_addr)} and dst port {t.online_port})")
    return "tcp and (" + " or ".join(dict.fromkeys(terms)) + ")"


class AfPacketSource:
    def __init__(self, interfaces: Sequence[str], filter_expression: str) -> None:
        self.description = "AF_PACKET"
        self.interfaces = tuple(interfaces)
        self.captures: list[AfPacketCapture] = []
        self._drops = 0
        try:
            for name in self.interfaces:
                self.captures.append(AfPacketCapture(name, filter_expression))
        except BaseException:
            self.close()
            raise

    def selectables(self) -> list:
        return list(self.captures)

    def drain(self, limit: int = 4096) -> list[bytes]:
        out: list[bytes] = []
        for capture in self.captures:
            out += capture.drain(limit - len(out))
            if len(out) >= limit:
                break
        return out

    def losses(self) -> dict[str, int]:
        for capture in self.captures:
            self._drops += capture.kernel_drops()  # PACKET_STATISTICS resets on read
        return {"kernel drops": self._drops,
                "truncated": sum(c.truncated for c in self.captures)}

    def close(self) -> None:
        for capture in self.captures:
            capture.close()
        self.captures = []

    def __enter__(self) -> "AfPacketSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open(method: str, interfaces: Sequence[str], transfers: Sequence, xdp_mode: str,
          ring_bytes: int) -> LiveCapture:
    if method == "afpacket":
        try:
            return AfPacketSource(interfaces, afpacket_filter(transfers))
        except CaptureError as exc:
            raise CaptureUnavailable(str(exc)) from exc
    try:
        return BpfCapture(method, interfaces, ipv4_targets(transfers), xdp_mode=xdp_mode, ring_bytes=ring_bytes)
    except CaptureSetupError as exc:
        raise CaptureUnavailable(str(exc)) from exc


def open_live_capture(method: str | None, interfaces: Sequence[str], transfers: Sequence, *,
                      xdp_mode: str = "generic", ring_bytes: int = DEFAULT_RING_BYTES) -> tuple[LiveCapture, str]:
    """(capture, log line). Forced: that method or CaptureUnavailable. Auto: XDP, tc, AF_PACKET.

    ``ring_bytes`` sizes the BPF methods' ring buffer (copy -B); AF_PACKET has its own buffer.
    """
    interfaces = tuple(interfaces) or all_interfaces()
    where = ", ".join(interfaces)
    if method is not None:
        if method not in METHODS:
            raise ValueError(f"capture method must be one of {METHODS}, not {method!r}")
        capture = _open(method, interfaces, transfers, xdp_mode, ring_bytes)
        return capture, f"copy: capturing with {capture.description} on {where} (forced)"
    passed_over = []
    for candidate in METHODS:
        try:
            capture = _open(candidate, interfaces, transfers, xdp_mode, ring_bytes)
        except CaptureUnavailable as exc:
            passed_over.append(f"{candidate}: {exc}")
            continue
        why = "the best method available" if not passed_over else "passed over " + "; ".join(passed_over)
        return capture, f"copy: capturing with {capture.description} on {where} ({why})"
    raise CaptureUnavailable("no capture method works here: " + "; ".join(passed_over))
