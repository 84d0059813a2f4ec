"""Response capture through BPF: load a response program, fill its maps, attach it through
bpf_link, drain its ring in batches and hand out ``ResponseSummary`` objects.

Contract:
- ``BpfResponseCapture(ifnames, rules, hook=..., pool=(), drop=False)`` compiles and loads the
  program for ``hook``: ``"xdp"`` (``response_xdp``, assistant), ``"tc-ingress"``
  (``response_tc_ingress``, assistant where XDP does not fit) or ``"tc-egress"``
  (``response_tc_egress``, route-free on the target: ``pool`` prefixes are required and matching
  responses are always swallowed by a redirect to the namespace's loopback). ``drop=True``
  black-holes matching responses at XDP/tc ingress (XDP_DROP / TC_ACT_SHOT). Maps are filled
  before the first link is created, so the program matches from its first packet. One loaded
  program is attached to every interface in ``ifnames`` (the caller's network namespace); with
  no interface it is loaded only (tests run it with BPF_PROG_TEST_RUN through ``prog_fd``).
- Attach is through kernel-owned links only (``pyreplay.ebpf.link``): XDP generic mode by
  default, tcx for tc. A SIGKILL detaches; ``close()`` (or leaving the ``with`` block) detaches,
  unmaps the ring and unloads the program. A failure in ``__init__`` releases what was built.
- ``fileno()`` is pollable (the ring's map fd), but a pure ACK's summary wakes nobody (it
  waits for the next): ``pending()`` says records wait, to be asked after every wait, timeouts
  included; ``drain(limit)`` returns up to ``limit``
  summaries in ring order; ``kernel_drops()`` returns the records lost to a full ring since the
  previous call; ``counters()`` the program's per-CPU counters summed, by name.
- Errors: ``loader.CompileError``, ``link.AttachError`` (an OSError), ``ImportError`` (no bcc),
  ``ValueError`` for our misuse.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence
from typing import Any, Final

from pyreplay.ebpf import abi
from pyreplay.ebpf.response_filter import MatchRule
from pyreplay.packet.ring_summaries import summaries_from_records
from pyreplay.packet.segment import ResponseSummary

# hook -> (program in bpf/, function, bcc program type name, attach)
PROGRAMS: Final = {
    "xdp": ("response_xdp", b"pyrpl_resp_xdp", "XDP"),
    "tc-ingress": ("response_tc_ingress", b"pyrpl_resp_tc_in", "SCHED_CLS"),
    "tc-egress": ("response_tc_egress", b"pyrpl_resp_tc", "SCHED_CLS"),
}
FUNCTION_NAMES: Final = tuple(function.decode() for _, function, _ in PROGRAMS.values())
DEFAULT_RING_PAGES: Final = 1024  # 4 MiB: about 50k summaries of 80 bytes (+8 header)
_POOL_KEY: Final = struct.Struct("=I4s")


def program_defines(hook: str, *, drop: bool, ring_pages: int = DEFAULT_RING_PAGES,
                    max_rules: int = 256) -> dict[str, int]:
    """The -D flags for a hook (also what ``pyreplay bpf dump`` shows)."""
    if hook not in PROGRAMS:
        raise ValueError(f"hook must be one of {sorted(PROGRAMS)}, not {hook!r}")
    if ring_pages <= 0 or ring_pages & (ring_pages - 1):
        raise ValueError(f"ring pages must be a power of two, not {ring_pages}")
    defines = {"PR_RING_PAGES": ring_pages, "PR_MAX_RULES": max_rules}
    if hook == "tc-egress":
        defines["PR_SWALLOW_RESPONSES"] = 1
    elif drop:
        defines["PR_DROP_RESPONSES"] = 1
    return defines


def pool_prefixes(text_or_networks: Iterable[str | ipaddress.IPv4Network]) -> list[ipaddress.IPv4Network]:
    networks = [ipaddress.IPv4Network(n, strict=False) for n in text_or_networks]
    return list(ipaddress.collapse_addresses(networks))


class BpfResponseCapture:
    method = "bpf"
    not_tcp = 0  # the kernel passes over what it cannot summarize; nothing reaches us to count

    def __init__(self, ifnames: Sequence[str], rules: Sequence[MatchRule], *, hook: str = "xdp",
                 pool: Sequence[ipaddress.IPv4Network] = (), drop: bool = False, xdp_mode: str = "generic",
                 ring_pages: int = DEFAULT_RING_PAGES) -> None:
        if not rules:
            raise ValueError("a BPF response capture needs at least one match rule")
        if hook == "tc-egress" and not pool:
            raise ValueError("route-free capture (tc egress) needs the client pool prefixes")
        self.hook = hook
        self.ifnames = tuple(ifnames)
        self.ifname = ",".join(self.ifnames)
        self.method = {"xdp": f"xdp-{xdp_mode}", "tc-ingress": "tcx-ingress", "tc-egress": "tcx-egress"}[hook]
        self._links: list = []
        self._ring: Any = None  # a RingConsumer once open
        self._compiled: Any = None  # bcc's BPF object
        self._lost_seen = 0
        try:
            self._open(rules, pool, drop, xdp_mode, ring_pages)
        except BaseException:
            self.close()
            raise

    def _open(self, rules, pool, drop: bool, xdp_mode: str, ring_pages: int) -> None:
        from pyreplay.ebpf import link, loader
        from pyreplay.ebpf.ringbuf import RingConsumer

        program, function, prog_type = PROGRAMS[self.hook]
        self._compiled = loader.compile_program(program, program_defines(self.hook, drop=drop,
                                                                          ring_pages=ring_pages))
        loaded = self._compiled.load_func(function, getattr(self._compiled, prog_type))
        self.prog_fd = loaded.fd
        self._fill_rules(rules)
        if self.hook == "tc-egress":
            self._fill_pool(pool)
        self._counters = self._compiled[b"response_counters"]
        ring_map = self._compiled[b"responses"]
        self._ring = RingConsumer(ring_map.map_fd, ring_pages * 4096)
        for ifname in self.ifnames:
            if self.hook == "xdp":
                self._links.append(link.attach_xdp(loaded.fd, ifname, mode=xdp_mode))
            else:
                direction = "egress" if self.hook == "tc-egress" else "ingress"
                self._links.append(link.attach_tcx(loaded.fd, ifname, direction))

    def _fill_rules(self, rules: Sequence[MatchRule]) -> None:
        table = self._compiled[b"response_rules"]
        for rule in rules:
            key = table.Key.from_buffer_copy(abi.target_key(rule.addr or bytes(4), rule.port))
            table[key] = table.Leaf(1)

    def _fill_pool(self, pool: Sequence[ipaddress.IPv4Network]) -> None:
        table = self._compiled[b"pool_prefixes"]
        for network in pool:
            network = ipaddress.IPv4Network(network, strict=False)
            key = table.Key.from_buffer_copy(_POOL_KEY.pack(network.prefixlen, network.network_address.packed))
            table[key] = table.Leaf(1)

    # ---- the capture-source interface intercept polls ------------------------------------
    def fileno(self) -> int:
        return self._ring.fileno()

    def drain(self, limit: int = 4096) -> list[ResponseSummary]:
        records = self._ring.drain(limit)
        if not records:
            return []
        return summaries_from_records(records)

    def pending(self) -> bool:
        """Records are waiting in the ring; poll it after each wait: a pure ACK's summary is
        written without a wake-up (bpf/include/pyreplay_response.h)."""
        return self._ring.pending_bytes() > 0

    def kernel_drops(self) -> int:
        lost = self.counters()["lost_ring_full"]
        new, self._lost_seen = lost - self._lost_seen, lost
        return new

    def counters(self) -> dict[str, int]:
        return {name: self._counters.sum(slot).value for slot, name in enumerate(abi.COUNTER_NAMES)}

    def close(self) -> None:
        for attached in self._links:
            attached.close()
        self._links.clear()
        if self._ring is not None:
            self._ring.close()
            self._ring = None
        if self._compiled is not None:
            self._compiled.cleanup()
            self._compiled = None

    def __enter__(self) -> BpfResponseCapture:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
