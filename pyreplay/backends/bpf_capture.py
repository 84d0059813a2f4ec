"""Request capture through BPF (XDP or tcx ingress) into ring buffers, drained in batches.

Contract:
- ``CaptureProgram(hook, targets, ...)`` compiles and loads ``bpf/capture_xdp.bpf.c``
  (``hook="xdp"``) or ``bpf/capture_tc.bpf.c`` (``hook="tc"``) with ``-D`` flags (rings, ring
  pages, capture limit, CPUs) and fills the ``pr_targets`` map with ``targets``: (address bytes
  or None for any address, port). It attaches nothing; ``fd`` is the program for
  BPF_PROG_TEST_RUN or a link. ``counters()`` sums the per-CPU counters by name.
- ``BpfCapture(hook, interfaces, targets, xdp_mode=...)`` is a ``CaptureProgram`` attached to
  every interface through kernel-owned links (XDP generic or native, or tcx ingress), with one
  ``RingConsumer`` per ring. It is a context manager: ``close()`` detaches and unloads, and a
  SIGKILL detaches too (the kernel closes the link fds). It refuses to attach over another
  program (``AttachError``, EBUSY) and leaves nothing attached when any interface fails.
  ``drain(limit)`` returns captured L3 packets (copies); records cut at the capture limit are
  not returned (counted in ``truncated_records``: a cut request would corrupt the replay).
  ``fileno()`` is ring 0's fd (readable when records wait), but a pure ACK wakes nobody (it
  waits for the next packet, bpf/include/pyreplay_capture.h): drain after every wait.
  ``losses()`` is loss by stage.
- ``CaptureSetupError`` says in one line why a method cannot work here (compile, load, attach).
"""

from __future__ import annotations

import ctypes
import logging
import mmap
from collections.abc import Iterable, Sequence
from typing import Final

from pyreplay.backends.errors import CaptureSetupError
from pyreplay.ebpf import abi

log = logging.getLogger("pyreplay.capture")

PROGRAMS: Final = {"xdp": ("capture_xdp", b"pr_capture_xdp"), "tc": ("capture_tc", b"pr_capture_tc")}
DEFAULT_RING_BYTES: Final = 16 * 1024 * 1024
DEFAULT_CAPTURE_MAX: Final = abi.PR_CAPTURE_LIMIT
_TRUNCATED: Final = abi.PR_PKT_F_TRUNCATED
_HEADER: Final = abi.PACKET_HEADER.size


def possible_cpus() -> int:
    """Number of possible CPUs (ids may go up to this), from /sys like libbpf."""
    try:
        text = open("/sys/devices/system/cpu/possible").read().strip()
    except OSError:
        import os

        return os.cpu_count() or 1
    highest = 0
    for part in text.split(","):
        highest = max(highest, int(part.split("-")[-1]))
    return highest + 1


def capture_defines(*, rings: int = 1, ring_bytes: int = DEFAULT_RING_BYTES,
                    capture_max: int = DEFAULT_CAPTURE_MAX) -> dict[str, int]:
    pages = ring_bytes // mmap.PAGESIZE
    if ring_bytes % mmap.PAGESIZE or pages & (pages - 1):
        raise ValueError(f"ring size must be a power-of-two number of pages, not {ring_bytes} bytes")
    if not 1 <= rings <= abi.PR_MAX_RINGS:
        raise ValueError(f"rings must be between 1 and {abi.PR_MAX_RINGS}, not {rings}")
    return {"PR_RINGS": rings, "PR_RING_PAGES": pages, "PR_CAPTURE_MAX": capture_max,
            "PR_NR_CPUS": possible_cpus()}


class CaptureProgram:
    def __init__(self, hook: str, targets: Iterable[tuple[bytes | None, int]], *, rings: int = 1,
                 ring_bytes: int = DEFAULT_RING_BYTES, capture_max: int = DEFAULT_CAPTURE_MAX) -> None:
        if hook not in PROGRAMS:
            raise ValueError(f"hook must be one of {sorted(PROGRAMS)}, not {hook!r}")
        from pyreplay.ebpf import loader

        self.hook = hook
        self.rings = rings
        self.ring_bytes = ring_bytes
        self.program, function_name = PROGRAMS[hook]
        self.defines = capture_defines(rings=rings, ring_bytes=ring_bytes, capture_max=capture_max)
        try:
            self.bpf = loader.compile_program(self.program, self.defines)
        except Exception as exc:  # CompileError, HeaderTreeError, bcc import errors
            raise CaptureSetupError(f"cannot compile the {hook} capture program: {exc}".splitlines()[0]) from exc
        try:
            kind = self.bpf.XDP if hook == "xdp" else self.bpf.SCHED_CLS
            self.function = self.bpf.load_func(function_name, kind)
            self.set_targets(targets)
        except Exception as exc:
            self.bpf.cleanup()
            if isinstance(exc, ValueError):
                raise
            raise CaptureSetupError(f"the kernel refused the {hook} capture program: {exc}") from exc

    @property
    def fd(self) -> int:
        return self.function.fd

    def set_targets(self, targets: Iterable[tuple[bytes | None, int]]) -> int:
        table = self.bpf[b"pr_targets"]
        table.clear()
        count = 0
        for addr, port in targets:
            if addr is not None and len(addr) != 4:
                continue  # the capture programs match IPv4 only; IPv6 needs AF_PACKET for now
            key = table.Key.from_buffer_copy(abi.target_key(addr or bytes(4), port))
            table[key] = ctypes.c_uint8(1)
            count += 1
        return count

    def ring_fds(self) -> list[int]:
        return [self.bpf[f"pr_ring{k}".encode()].map_fd for k in range(self.rings)]

    def counters(self) -> dict[str, int]:
        table = self.bpf[b"pr_counters"]
        return {name: table.sum(index).value for index, name in enumerate(abi.COUNTER_NAMES)}

    def close(self) -> None:
        bpf, self.bpf = getattr(self, "bpf", None), None
        if bpf is not None:
            bpf.cleanup()


def ipv4_targets(transfers: Sequence) -> list[tuple[bytes | None, int]]:
    """(online address or None, online port) of every IPv4 ``-x`` transfer."""
    return [(t.online_addr, t.online_port) for t in transfers
            if t.online_addr is None or len(t.online_addr) == 4]


class BpfCapture:
    def __init__(self, hook: str, interfaces: Sequence[str], targets: Iterable[tuple[bytes | None, int]], *,
                 xdp_mode: str = "generic", rings: int = 1, ring_bytes: int = DEFAULT_RING_BYTES,
                 capture_max: int = DEFAULT_CAPTURE_MAX) -> None:
        from pyreplay.ebpf import link
        from pyreplay.ebpf.ringbuf import RingConsumer

        targets = list(targets)
        if not targets:
            raise CaptureSetupError("no IPv4 -x address/port to capture: BPF capture matches IPv4 only")
        if not interfaces:
            raise CaptureSetupError("no interface to capture on")
        self.hook = hook
        self.interfaces = tuple(interfaces)
        self.description = f"XDP ({xdp_mode})" if hook == "xdp" else "tc (tcx ingress)"
        self.links: list = []
        self.consumers: list = []
        self.truncated_records = 0
        self.program = CaptureProgram(hook, targets, rings=rings, ring_bytes=ring_bytes, capture_max=capture_max)
        try:
            for name in self.interfaces:
                if hook == "xdp":
                    self.links.append(link.attach_xdp(self.program.fd, name, xdp_mode))
                else:
                    self.links.append(link.attach_tcx(self.program.fd, name, "ingress"))
            self.consumers = [RingConsumer(fd, ring_bytes) for fd in self.program.ring_fds()]
        except link.AttachError as exc:
            self.close()
            raise CaptureSetupError(str(exc)) from exc
        except BaseException:
            self.close()
            raise

    def fileno(self) -> int:
        return self.consumers[0].fileno()

    def selectables(self) -> list:
        return list(self.consumers)

    def drain(self, limit: int = 4096) -> list[bytes]:
        out: list[bytes] = []
        append = out.append
        truncated = 0

        def take(view: memoryview) -> None:
            nonlocal truncated
            if view[2] & _TRUNCATED:
                truncated += 1
            else:
                append(bytes(view[_HEADER:]))

        for consumer in self.consumers:
            consumer.consume(take, limit - len(out))
            if len(out) >= limit:
                break
        self.truncated_records += truncated
        return out

    def counters(self) -> dict[str, int]:
        return self.program.counters() if self.program.bpf is not None else {}

    def losses(self) -> dict[str, int]:
        c = self.counters()
        return {"ring full": c.get("lost_ring_full", 0), "truncated": self.truncated_records}

    def close(self) -> None:
        for consumer in self.consumers:
            consumer.close()
        self.consumers = []
        for attached in self.links:
            attached.close()
        self.links = []
        self.program.close()

    def __enter__(self) -> "BpfCapture":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
