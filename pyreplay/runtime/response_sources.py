"""Where intercept's response summaries come from: pick and open the capture method.

Contract:
- A response source has ``ifname``, ``method``, ``fileno()`` (poll it for reading),
  ``pending()`` (summaries wait that woke nobody: ask after every wait),
  ``drain(limit) -> list[ResponseSummary]``, ``kernel_drops()`` (losses since the last call),
  ``not_tcp`` (captured packets that were no summarizable IPv4/TCP segment) and ``close()``.
  Two kinds: ``AfPacketResponses`` (AF_PACKET + libpcap's classic BPF, summarized in Python)
  and ``pyreplay.backends.bpf_responses.BpfResponseCapture`` (summarized in the kernel).
- ``open_response_sources(config)`` chooses, and logs one line saying which method and why:
  * ``--route-free``: tcx egress on the given interfaces, responses to ``--pool`` swallowed.
  * ``--xdp`` / ``--tc`` / ``--afpacket`` IFACE: that method or ``SourceError`` (the CLI exits 1
    with its text). ``--xdp``/``--tc`` need a -F that ``parse_response_filter`` accepts.
  * otherwise: XDP (generic, via bpf_link) on the interfaces when -F parses into rules and BPF
    works here; else AF_PACKET with the classic filter.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

from pyreplay.backends.afpacket import AfPacketCapture
from pyreplay.config import InterceptConfig
from pyreplay.ebpf.response_filter import parse_response_filter
from pyreplay.packet.errors import PacketError
from pyreplay.packet.summary import summarize

log = logging.getLogger("pyreplay.intercept")
SUPPORTED_FORMS = "'tcp and src port P [and src host H]', joined with or/parentheses"


class SourceError(RuntimeError):
    """A forced capture method cannot work here; the text says why."""


class AfPacketResponses:
    """AF_PACKET capture of one interface, summarized in Python."""

    method = "afpacket"

    def __init__(self, ifname: str, filter_expression: str | None) -> None:
        self.ifname = ifname
        self._capture = AfPacketCapture(ifname, filter_expression)
        self.not_tcp = 0

    def fileno(self) -> int:
        return self._capture.fileno()

    def drain(self, limit: int = 4096) -> list:
        out = []
        for packet in self._capture.drain(limit):
            try:
                out.append(summarize(packet))
            except PacketError:
                self.not_tcp += 1
        return out

    def pending(self) -> bool:
        """False: the socket wakes its reader for every packet (see BpfResponseCapture)."""
        return False

    def kernel_drops(self) -> int:
        return self._capture.kernel_drops()

    def close(self) -> None:
        self._capture.close()


def capture_interfaces(config: InterceptConfig) -> tuple[str, ...]:
    """``-i`` interfaces, or every interface except loopback (as the original does)."""
    if config.interfaces:
        return config.interfaces
    return tuple(name for _, name in socket.if_nameindex() if name != "lo")


def open_response_sources(config: InterceptConfig) -> list:
    ifnames = capture_interfaces(config)
    rules = parse_response_filter(config.filter) if config.filter else None
    where = ",".join(ifnames)
    if config.route_free:
        if rules is None:
            raise SourceError(f"--route-free: the -F filter {config.filter!r} is not one of the forms BPF "
                              f"rules express ({SUPPORTED_FORMS})")
        source = _bpf(ifnames, rules, "tc-egress", config, forced="--route-free")
        log.info("intercept: route-free: tcx egress on %s, responses to %s summarized and swallowed "
                 "(redirected to lo)", where, ",".join(config.pool))
        return [source]
    if config.method == "afpacket":
        log.info("intercept: capture method AF_PACKET on %s (forced by --afpacket)", where)
        return _afpacket(ifnames, config)
    if config.method in ("xdp", "tc"):
        if rules is None:
            raise SourceError(f"--{config.method}: the -F filter {config.filter!r} is not one of the forms "
                              f"BPF rules express ({SUPPORTED_FORMS}); use --afpacket for any pcap filter")
        hook = "xdp" if config.method == "xdp" else "tc-ingress"
        source = _bpf(ifnames, rules, hook, config, forced=f"--{config.method}")
        log.info("intercept: capture method %s on %s (forced by --%s)", source.method, where, config.method)
        return [source]
    if rules is None:
        why = "no -F filter" if not config.filter else f"the -F filter is not one of {SUPPORTED_FORMS}"
        log.info("intercept: capture method AF_PACKET with classic BPF on %s (%s)", where, why)
        return _afpacket(ifnames, config)
    try:
        source = _bpf(ifnames, rules, "xdp", config, forced=None)
    except SourceError as exc:
        log.info("intercept: capture method AF_PACKET with classic BPF on %s (XDP unavailable: %s)", where, exc)
        return _afpacket(ifnames, config)
    log.info("intercept: capture method %s on %s (the -F filter maps to %d BPF rule(s))", source.method, where,
             len(rules))
    return [source]


def _afpacket(ifnames, config: InterceptConfig) -> list:
    if config.drop_responses:
        log.warning("intercept: --drop-responses has no effect with AF_PACKET (the kernel still drops "
                    "responses not addressed to this host when ip_forward=0)")
    sources: list = []
    try:
        for ifname in ifnames:
            sources.append(AfPacketResponses(ifname, config.filter))
    except BaseException:
        for source in sources:
            source.close()
        raise
    return sources


def _bpf(ifnames, rules, hook: str, config: InterceptConfig, *, forced: str | None):
    try:
        from pyreplay.backends.bpf_responses import BpfResponseCapture

        return BpfResponseCapture(ifnames, rules, hook=hook, drop=config.drop_responses,
                                  pool=[ipaddress.IPv4Network(p) for p in config.pool])
    except (ImportError, RuntimeError, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"{forced}: {reason}" if forced else reason) from exc
