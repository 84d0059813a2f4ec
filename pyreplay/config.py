"""Parse and validate the command-line values of copy, intercept and burn into frozen configs.

Contract: every parser takes the text the CLI received for one flag (not yet interpreted; a
sequence of strings, as from a repeated flag, counts as one comma-joined list) and returns
frozen values, or raises ``ConfigError`` with one line naming the flag, the bad value and what is
expected. The ``*Config.from_options`` classmethods apply defaults and cross-field rules; problems
that are not fatal come back in ``warnings`` for the caller to log. Addresses come out packed
(4 bytes IPv4, 16 bytes IPv6). Pure: no I/O, no clock, no click.

Deliberate differences from the C originals (reference/tcpcopy-behaviour.md §1):
- ``-x`` target without ``:PORT`` is an error (the original silently used 0.0.0.0); ports are
  1..65535; an online side listed twice is an error.
- ``-c`` also takes CIDR prefixes and ``A-B`` ranges, holds up to 65536 addresses, and says which
  addresses it dropped because they are ``-x`` targets or ``-s`` intercepts.
- ``-f`` picks a share of the port space (``INDEX`` of 32, or ``INDEX/COUNT``) so copy processes
  sharing a pool never collide; see ``PortSlice``.
- ``-r 100`` means all sessions; 0 is rejected. ``-P`` is honoured (the original ignored it).
- Flags of the originals with nothing to act on here (tcpcopy ``-R -U -C -B -S -o``, intercept
  ``-x -q -c``, tcpburn ``-S -C -o``) are validated and accepted so existing command lines run;
  each one given adds one warning saying it has no effect and why (see docs/decisions.md).
- intercept ``-t`` (rejected by the original as "illegal argument") sets the route idle timeout.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NoReturn, Union

Value = Union[str, int, float, Sequence[str], None]
_IP = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

DEFAULT_INTERCEPT_PORT = 36524
DEFAULT_SESSION_TIMEOUT = 600.0  # s, tcpcopy -t
KEEPALIVE_EXTRA = 120.0  # s, tcpcopy -k defaults to -t plus this
DEFAULT_MTU = 1500
MIN_MTU = 576  # RFC 791: every IPv4 host must accept 576-byte datagrams; smaller is not a real path
MIN_MTU_IPV6 = 1280  # RFC 8200 minimum link MTU
MAX_MTU = 65535  # largest IPv4 total length (and loopback's MTU of 65536 cannot carry more)
IP_TCP_HEADERS = 40  # IPv4 + TCP without options
DEFAULT_MSS = 1460
MIN_MSS = 88  # Linux TCP_MIN_MSS: the target clamps anything smaller to this anyway
MAX_MSS = MAX_MTU - IP_TCP_HEADERS
MAX_COPIES = 1023  # tcpcopy -n limit, kept so command lines mean the same
MAX_POOL = 65536
DEFAULT_MEMORY_MB = 2048  # the original's real default (its help text says 1024)
MIN_MEMORY_MB = 64  # the Python runtime alone takes ~30 MB
DEFAULT_CAPTURE_BUFFER_MB = 16  # tcpcopy -B default (its libpcap buffer); our BPF ring
MAX_CAPTURE_BUFFER_MB = 1024
CLIENT_PORTS = (1024, 65535)  # where rewritten client ports are taken from when one must move
TIME_WAIT_SECONDS = 60.0  # Linux TIME_WAIT: an identity rests this long before reuse
LEGACY_PORT_SLICES = 32  # tcpcopy's -f F shifted by F<<11 mod 65536: only 32 distinct values
MAX_PORT_SLICES = 256
BURN_PORTS = (32768, 61000)  # tcpburn user ports (FIRST_PORT..LAST_PORT)
BURN_DEFAULT_TIMEOUT = 75.0  # s, the original's code default (its help says 120)
BURN_DEFAULT_RATE = 1024  # new users per second
MAX_IFNAME = 15  # IFNAMSIZ - 1
MAX_CHANNEL_CONNECTIONS = 11  # tcpcopy -C (MAX_CONN_NUM)
BURN_MAX_CHANNEL_CONNECTIONS = 16  # tcpburn -C (MAX_CONNECTION_NUM)
MAX_SESSION_POOL_KB = 63  # tcpcopy -U: stored as a 16-bit byte count
RECONNECT_INTERVAL = 12.0  # s, tcpcopy -L: RETRY_INTERVAL between reconnection attempts
MAX_COMBINE = 1024  # intercept -n: summaries per channel frame (a frame holds 2520)
MAX_DELAY_CAPACITY = 1 << 24  # intercept -s: early responses held, ~200 bytes each
IGNITION_TICKS_PER_SECOND = 1000  # tcpburn's ignition timer fires every millisecond (-A)


class ConfigError(ValueError):
    """A bad user value: one line naming the flag, the value and what is expected."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """One ``-x`` entry: traffic to online_addr:online_port goes to target_addr:target_port.

    ``online_addr`` None matches any destination address of the target's family.
    """

    online_addr: bytes | None
    online_port: int
    target_addr: bytes
    target_port: int


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An address and port, e.g. one ``-s`` intercept."""

    addr: bytes
    port: int


@dataclass(frozen=True, slots=True)
class PortSlice:
    """The share of client ports one copy process may hand out: ports p with p % count == index.

    Several copy processes rewriting into one ``-c`` pool each take a different index of the same
    count, so their identities are disjoint by construction. A kept original port stays exact
    when it is in the share and otherwise moves up by less than ``count``.
    """

    index: int = 0
    count: int = 1

    def ports(self, lo: int = CLIENT_PORTS[0], hi: int = CLIENT_PORTS[1]) -> range:
        """Ports of this share within [lo, hi], ascending."""
        first = lo + (self.index - lo) % self.count
        return range(first, hi + 1, self.count)

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and 0 < port <= 65535 and port % self.count == self.index


WHOLE_PORT_SPACE = PortSlice()


class UserLayout(IntEnum):
    """tcpburn ``-m``: how user identities walk the pool."""

    IP_FIRST = 0  # port 1 on every address, then port 2 on every address, ...
    PORT_FIRST = 1  # every port of address 1, then address 2, ...


# --- helpers ---------------------------------------------------------------------------------


def _show(value: str) -> str:
    text = value if len(value) <= 80 else value[:77] + "..."
    if text.isprintable() and "'" not in text:
        return f"'{text}'"
    return repr(text)


def _fail(flag: str, value: str, expected: str) -> NoReturn:
    raise ConfigError(f"{flag} {_show(value)}: {expected}")


def _text(value: Value, flag: str) -> str | None:
    """The flag's text, or None when absent. Numbers are accepted as their text."""
    if value is None:
        return None
    if isinstance(value, bool):
        _fail(flag, str(value), "expected a value, not a bare switch")
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return ",".join(str(v).strip() for v in value)


def _entries(text: str, flag: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not text or any(not item for item in items):
        _fail(flag, text, "empty entry in the comma list")
    return items


def _require(value: Value, flag: str, expected: str) -> str:
    text = _text(value, flag)
    if not text:
        raise ConfigError(f"{flag} is required: {expected}")
    return text


def parse_port(text: str, flag: str, what: str = "port", entry: str | None = None) -> int:
    """A TCP port 1..65535 written in decimal; errors quote ``entry`` (default: the port)."""
    text = text.strip()
    if not (text.isascii() and text.isdecimal()) or not 0 < int(text) <= 65535:
        _fail(flag, text if entry is None else entry, f"{what} must be a number 1..65535")
    return int(text)


def parse_int(value: Value, flag: str, lo: int, hi: int | None = None, *, default: int,
              meaning: str = "") -> int:
    """An integer in [lo, hi]; ``default`` when absent."""
    text = _text(value, flag)
    if text is None or text == "":
        return default
    digits = text[1:] if text[:1] in "+-" else text
    bound = f"{lo}..{hi}" if hi is not None else f">= {lo}"
    expected = f"expected a whole number {bound}{meaning}"
    if not (digits.isascii() and digits.isdecimal()):
        _fail(flag, text, expected)
    number = int(text)
    if number < lo or (hi is not None and number > hi):
        _fail(flag, text, expected)
    return number


def parse_number(value: Value, flag: str, lo: float, *, default: float, strict: bool = False,
                 unit: str = "") -> float:
    """A finite decimal number >= lo (> lo when ``strict``); ``default`` when absent."""
    text = _text(value, flag)
    if text is None or text == "":
        return default
    expected = f"expected a number {'>' if strict else '>='} {lo:g}{unit}"
    try:
        number = float(text)
    except ValueError:
        _fail(flag, text, expected)
    if number != number or number in (float("inf"), float("-inf")):
        _fail(flag, text, expected)
    if number < lo or (strict and number == lo):
        _fail(flag, text, expected)
    return number


def _ip(text: str, flag: str, entry: str, what: str = "address"
        ) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if "%" in text:
        _fail(flag, entry, f"{what} '{text}': IPv6 zone ids are not supported")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        _fail(flag, entry, f"{what} '{text}' is not an IPv4 or IPv6 address")


def _host_ip(text: str, flag: str, entry: str, what: str
             ) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """A unicast address a packet can be sent to or from."""
    ip = _ip(text, flag, entry, what)
    if _not_a_host(ip):
        _fail(flag, entry, f"{what} {ip} is not a host address")
    return ip


def _not_a_host(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_unspecified or ip.is_multicast or ip == _V4_BROADCAST


_V4_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def _split_host_port(text: str, flag: str, entry: str) -> tuple[str, str | None]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or bare ``v6`` -> (host, port text)."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            _fail(flag, entry, f"'{text}' has '[' without ']'")
        rest = text[end + 1:]
        if rest and not rest.startswith(":"):
            _fail(flag, entry, f"expected [IPv6]:PORT, got '{text}'")
        return text[1:end], (rest[1:] if rest else None)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, port
    return text, None


def _family(addr_len: int) -> str:
    return "IPv4" if addr_len == 4 else "IPv6"


def _ip_text(addr: bytes) -> str:
    return str(ipaddress.ip_address(addr))


# --- -x ----------------------------------------------------------------------------------------

_X_EXAMPLE = "e.g. 80-10.0.0.2:8080 or 10.0.0.1:80-10.0.0.2:8080"


def parse_transfers(text: str, flag: str = "-x") -> tuple[Transfer, ...]:
    """``[onlineIP:]port-targetIP:port[,...]``; IPv6 in brackets, e.g. ``[::1]:80-[::2]:8080``."""
    transfers: list[Transfer] = []
    seen: dict[tuple[object, ...], str] = {}
    for entry in _entries(text, flag):
        if "@" in entry:
            _fail(flag, entry, "MAC addresses (@MAC, --pcap-send syntax) are not supported")
        if entry.count("-") != 1:
            _fail(flag, entry, f"needs [ONLINE_IP:]PORT-TARGET_IP:PORT, {_X_EXAMPLE}")
        online, target = (side.strip() for side in entry.split("-"))
        transfer = _transfer(online, target, flag, entry)
        key: tuple[object, ...] = (
            (transfer.online_addr, transfer.online_port) if transfer.online_addr is not None
            else (len(transfer.target_addr), transfer.online_port))
        if key in seen:
            _fail(flag, entry, f"online side {online} is already mapped by '{seen[key]}'; "
                               "each online IP:PORT may appear once")
        seen[key] = entry
        transfers.append(transfer)
    return tuple(transfers)


def _transfer(online: str, target: str, flag: str, entry: str) -> Transfer:
    if ":" in online or online.startswith("["):
        host, port_text = _split_host_port(online, flag, entry)
        if port_text is None:
            _fail(flag, entry, f"online side needs [IP:]PORT (IPv6 in brackets), {_X_EXAMPLE}")
        ip = _ip(host, flag, entry, "online address")
        if ip.is_multicast or ip == _V4_BROADCAST:
            _fail(flag, entry, f"online address {ip} is not a host address")
        online_addr: bytes | None = None if ip.is_unspecified else ip.packed
        online_len: int | None = len(ip.packed)
    else:
        port_text, online_addr, online_len = online, None, None
    online_port = parse_port(port_text, flag, f"online port '{port_text}'", entry)

    host, target_port_text = _split_host_port(target, flag, entry)
    if target_port_text is None:
        if ":" in host:
            _fail(flag, entry, "target needs IP:PORT; write an IPv6 target as [ADDRESS]:PORT")
        example = f"e.g. {entry}:8080" if _looks_like_ip(host) else _X_EXAMPLE
        _fail(flag, entry, f"target needs IP:PORT, {example}")
    target_ip = _host_ip(host, flag, entry, "target address")
    target_port = parse_port(target_port_text, flag, f"target port '{target_port_text}'",
                             entry)
    if online_len is not None and online_len != len(target_ip.packed):
        _fail(flag, entry, "online and target addresses must be the same family (IPv4 or IPv6)")
    return Transfer(online_addr, online_port, target_ip.packed, target_port)


def _looks_like_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# --- -c ----------------------------------------------------------------------------------------


def parse_client_pool(text: str, flag: str = "-c", limit: int = MAX_POOL) -> tuple[bytes, ...]:
    """Comma list of ``a.b.c.x`` (.1-.254), CIDR (host addresses only), ``A-B`` ranges, IPs.

    Order is kept and repeats collapse. More than ``limit`` addresses (counted before removing
    repeats, so nothing large is ever expanded) is an error.
    """
    pool: dict[bytes, None] = {}
    total = 0
    for entry in _entries(text, flag):
        if "*" in entry:
            _fail(flag, entry, f"use x instead of *, e.g. {entry.replace('*', 'x')}")
        count, addresses = _pool_entry(entry, flag)
        total += count
        if total > limit:
            _fail(flag, entry, f"the pool would hold {total} addresses, more than {limit}; "
                               "use fewer or smaller ranges")
        for ip in addresses:
            if _not_a_host(ip):
                _fail(flag, entry, f"{ip} is not a unicast host address")
            pool[ip.packed] = None
    return tuple(pool)


def _pool_entry(entry: str, flag: str) -> tuple[int, Iterable[_IP]]:
    """(number of addresses, lazy iterable of them): the count is checked before expanding."""
    if entry[-2:] in (":x", ":X"):
        _fail(flag, entry, "the x form is IPv4 only (a.b.c.x); use a CIDR prefix for IPv6")
    if entry[-2:] in (".x", ".X"):
        base = _ip(entry[:-2] + ".0", flag, entry, "prefix")
        if base.version != 4:
            _fail(flag, entry, "the x form is IPv4 only (a.b.c.x); use a CIDR prefix for IPv6")
        start = int(base) + 1
        return 254, (ipaddress.IPv4Address(start + i) for i in range(254))
    if "/" in entry:
        try:
            net = ipaddress.ip_network(entry, strict=True)
        except ValueError as exc:
            if "host bits" in str(exc):
                fixed = ipaddress.ip_network(entry, strict=False)
                _fail(flag, entry, f"has host bits set; did you mean {fixed}?")
            _fail(flag, entry, "expected a CIDR prefix such as 10.9.8.0/24")
        return _host_count(net), net.hosts()
    if "-" in entry:
        low_text, high_text = (part.strip() for part in entry.split("-", 1))
        low = _ip(low_text, flag, entry, "range start")
        high = _ip(high_text, flag, entry, "range end")
        if low.version != high.version:
            _fail(flag, entry, "range ends must be the same family")
        if int(high) < int(low):
            _fail(flag, entry, "range end is below its start; write LOW-HIGH")
        count = int(high) - int(low) + 1
        kind = type(low)
        return count, (kind(int(low) + i) for i in range(count))
    ip = _ip(entry, flag, entry)
    return 1, (ip,)


def _host_count(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> int:
    """Addresses ``net.hosts()`` yields, without generating them."""
    size = net.num_addresses
    if net.version == 4:
        return size - 2 if net.prefixlen < 31 else size
    return size - 1 if net.prefixlen < 127 else size


def _without(pool: tuple[bytes, ...], drop: dict[bytes, str], flag: str, text: str
             ) -> tuple[tuple[bytes, ...], list[str]]:
    """Remove addresses that must not be clients; one warning per reason."""
    kept = tuple(addr for addr in pool if addr not in drop)
    dropped: dict[str, list[str]] = {}
    for addr in pool:
        if addr in drop:
            dropped.setdefault(drop[addr], []).append(_ip_text(addr))
    warnings = []
    for reason, addrs in dropped.items():
        shown = ", ".join(addrs[:5]) + (f" and {len(addrs) - 5} more" if len(addrs) > 5 else "")
        warnings.append(f"{flag}: left out {shown}: {reason}")
    if pool and not kept:
        _fail(flag, text, "no address left after leaving out -x targets and -s intercepts")
    return kept, warnings


def _not_clients(transfers: Sequence[Transfer], intercepts: Sequence[Endpoint]) -> dict[bytes, str]:
    drop = {e.addr: "an intercept (-s) address cannot be a replayed client" for e in intercepts}
    drop.update({t.target_addr: "a -x target cannot be its own client" for t in transfers})
    return drop


# --- -s, -f, -i, -b, -m ------------------------------------------------------------------------


def parse_intercepts(text: str, default_port: int = DEFAULT_INTERCEPT_PORT, flag: str = "-s"
                     ) -> tuple[Endpoint, ...]:
    """``ip[:port][,...]`` (IPv6 as ``[ip]:port`` or bare); port defaults to ``default_port``."""
    endpoints: dict[Endpoint, None] = {}
    for entry in _entries(text, flag):
        host, port_text = _split_host_port(entry, flag, entry)
        ip = _host_ip(host, flag, entry, "intercept address")
        port = (default_port if port_text is None
                else parse_port(port_text, flag, f"port '{port_text}'", entry))
        endpoint = Endpoint(ip.packed, port)
        if endpoint in endpoints:
            _fail(flag, entry, "intercept listed twice")
        endpoints[endpoint] = None
    return tuple(endpoints)


def parse_port_slice(text: str, flag: str = "-f") -> PortSlice:
    """``INDEX`` (0..31, one of 32 shares like the original) or ``INDEX/COUNT``."""
    expected = (f"expected a process index 0..{LEGACY_PORT_SLICES - 1} or INDEX/COUNT with "
                f"0 <= INDEX < COUNT <= {MAX_PORT_SLICES}, e.g. 1/4")
    index_text, slash, count_text = text.strip().partition("/")
    if not slash:
        count_text = str(LEGACY_PORT_SLICES)
    if not all(t.isascii() and t.isdecimal() for t in (index_text, count_text)):
        _fail(flag, text, expected)
    index, count = int(index_text), int(count_text)
    if not (0 <= index < count <= MAX_PORT_SLICES):
        _fail(flag, text, expected)
    return PortSlice(index, count)


def parse_interfaces(text: str, flag: str = "-i") -> tuple[str, ...]:
    """``dev[,dev...]``; ``any`` alone means every interface (returned as an empty tuple)."""
    names = _entries(text, flag)
    if names == ["any"]:
        return ()
    seen: dict[str, None] = {}
    for name in names:
        if name == "any":
            _fail(flag, text, "'any' means every interface and cannot be combined with names")
        if (len(name) > MAX_IFNAME or name in (".", "..") or "/" in name
                or not name.isprintable() or any(c.isspace() for c in name)):
            _fail(flag, name, f"not an interface name (at most {MAX_IFNAME} characters, "
                              "no '/' or spaces)")
        if name in seen:
            _fail(flag, name, "interface listed twice")
        seen[name] = None
    return tuple(seen)


def parse_bind(text: str, flag: str = "-b") -> bytes | None:
    """A local address to listen on; the unspecified address means all (None)."""
    host = text.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    ip = _ip(host, flag, text)
    if ip.is_multicast:
        _fail(flag, text, f"{ip} is not a local unicast address")
    return None if ip.is_unspecified else ip.packed


def parse_files(value: Value, flag: str = "-f") -> tuple[str, ...]:
    """pcap files: a comma list, or a sequence taken literally (names may then hold commas)."""
    if value is None or isinstance(value, str):
        text = _require(value, flag, "one or more pcap files, e.g. a.pcap,b.pcap")
        return tuple(_entries(text, flag))
    if isinstance(value, (int, float)):
        raise ConfigError(f"{flag} takes pcap file names, not the number {value}")
    names = tuple(str(v).strip() for v in value)
    if not names or any(not n for n in names):
        raise ConfigError(f"{flag} is required: one or more pcap files, e.g. a.pcap,b.pcap")
    return names


def _path(value: Value, flag: str) -> str | None:
    text = _text(value, flag)
    if text is None:
        return None
    if not text or "\0" in text:
        _fail(flag, text, "expected a file path")
    return text


def _pid_file_warning(pid_file: str | None, daemon: bool) -> list[str]:
    if pid_file and not daemon:
        return [f"-P {_show(pid_file)} without -d: the original ignored -P; pyreplay writes the "
                "PID file of this foreground process"]
    return []


def _mtu(value: Value, addrs: Sequence[bytes], flag: str = "-M") -> int:
    mtu = parse_int(value, flag, MIN_MTU, MAX_MTU, default=DEFAULT_MTU)
    if mtu < MIN_MTU_IPV6 and any(len(a) == 16 for a in addrs):
        _fail(flag, str(mtu), f"IPv6 targets need an MTU of at least {MIN_MTU_IPV6}")
    return mtu


def _compat(flag: str, text: str | None, effect: str) -> str:
    """The one line a flag of the originals with nothing to act on here gets."""
    shown = flag if text is None else f"{flag} {text}"
    return f"{shown}: accepted for compatibility, no effect: {effect}"


_ONE_CHANNEL_CONNECTION = ("pyreplay opens one channel connection per intercept; responses arrive "
                           "batched on it and one process reads them, so more connections would add "
                           "writes, not throughput")


def _given(value: Value) -> bool:
    return value is not None and value is not False


def parse_loopback_source(text: str, flag: str = "-H") -> bytes:
    """tcpcopy ``-H IP``: the address sessions captured from loopback are sent from."""
    ip = _host_ip(text.strip(), flag, text, "address")
    if ip.is_loopback:
        _fail(flag, text, "must not be a loopback address: it replaces the loopback source")
    return ip.packed


_V6_LOOPBACK = ipaddress.IPv6Address("::1").packed


def is_loopback(addr: bytes) -> bool:
    """127.0.0.0/8 or ::1 (packed)."""
    return addr[0] == 127 if len(addr) == 4 else addr == _V6_LOOPBACK


def parse_dockered(text: str, flag: str = "-D") -> tuple[tuple[bytes, bytes], ...]:
    """intercept ``-D SEEN_IP-ORIGINAL_IP[,...]``: responses the target sends to SEEN_IP are
    routed as if sent to ORIGINAL_IP (the client address copy registered)."""
    pairs: dict[bytes, bytes] = {}
    for entry in _entries(text, flag):
        if entry.count("-") != 1:
            _fail(flag, entry, "needs DOCKER_IP-ORIGINAL_IP, e.g. 172.17.0.2-10.9.0.5")
        seen_text, original_text = (side.strip() for side in entry.split("-"))
        seen = _host_ip(seen_text, flag, entry, "address")
        original = _host_ip(original_text, flag, entry, "address")
        if seen.version != original.version:
            _fail(flag, entry, "both addresses must be the same family (IPv4 or IPv6)")
        if seen == original:
            _fail(flag, entry, "the two addresses are the same: nothing to rewrite")
        if seen.packed in pairs:
            _fail(flag, entry, f"{seen} is already rewritten by an earlier entry")
        pairs[seen.packed] = original.packed
    return tuple(pairs.items())


def _addresses(text: str, flag: str) -> tuple[bytes, ...]:
    """A comma list of host addresses."""
    return tuple(dict.fromkeys(_host_ip(entry, flag, entry, "address").packed
                               for entry in _entries(text, flag)))


def _one_interface(value: Value, flag: str) -> str | None:
    text = _text(value, flag)
    if text is None:
        return None
    names = parse_interfaces(text, flag) if text else ()
    if len(names) != 1:
        _fail(flag, text, "expected one interface name, e.g. eth1")
    return names[0]


def _capture_filter(value: Value, flag: str = "-F") -> str | None:
    text = _text(value, flag)
    if text is not None and not text:
        _fail(flag, text, "expected a pcap filter expression, e.g. 'tcp and dst port 80'")
    return text


# --- configs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CopyConfig:
    """Validated settings of ``pyreplay copy`` (tcpcopy)."""

    transfers: tuple[Transfer, ...]
    intercepts: tuple[Endpoint, ...]
    client_pool: tuple[bytes, ...] = ()  # empty: keep each client's own address
    copies: int = 1
    port_slice: PortSlice = WHOLE_PORT_SPACE
    sample_percent: int = 100
    only_full_sessions: bool = False  # -O
    no_response_wait: bool = False  # -W
    session_timeout: float = DEFAULT_SESSION_TIMEOUT
    keepalive_timeout: float = DEFAULT_SESSION_TIMEOUT + KEEPALIVE_EXTRA
    mtu: int = DEFAULT_MTU
    mss: int = DEFAULT_MSS
    offline_file: str | None = None
    acceleration: float = 1.0
    gap_threshold_ms: int = 0  # 0: never compress idle gaps
    log_file: str | None = None
    daemon: bool = False
    pid_file: str | None = None
    memory_limit_mb: int = DEFAULT_MEMORY_MB
    capture_buffer_mb: int = DEFAULT_CAPTURE_BUFFER_MB  # -B: live BPF capture's ring buffer
    loopback_source: bytes | None = None  # -H: sessions from 127.0.0.0/8 or ::1 sent from this
    repeat: int = 1  # -T: offline passes over the file
    gradual: bool = False  # -g: the replayed share ramps 1 % per second up to -r
    lonely: bool = False  # -L: keep running without intercepts, reconnect every 12 s
    capture_filter: str | None = None  # -F: pcap filter captured packets must also match
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_options(
        cls, *, transfers: Value, intercepts: Value, intercept_port: Value = None,
        client_pool: Value = None, copies: Value = None, port_slice: Value = None,
        sample_percent: Value = None, only_full_sessions: bool = False,
        no_response_wait: bool = False, session_timeout: Value = None,
        keepalive_timeout: Value = None, mtu: Value = None, mss: Value = None,
        offline_file: Value = None, acceleration: Value = None, gap_threshold_ms: Value = None,
        log_file: Value = None, daemon: bool = False, pid_file: Value = None,
        memory_limit_mb: Value = None, loopback_source: Value = None, repeat: Value = None,
        gradual: bool = False, lonely: bool = False, capture_filter: Value = None,
        channel_connections: Value = None, default_rtt_ms: Value = None,
        session_pool_kb: Value = None, capture_buffer_mb: Value = None, snaplen: Value = None,
        output_device: Value = None,
    ) -> CopyConfig:
        """Flags: -x transfers, -s intercepts, -p intercept_port, -c client_pool, -n copies,
        -f port_slice, -r sample_percent, -O, -W, -t, -k, -M, -D, -i offline_file,
        -a acceleration, -I gap_threshold_ms, -l, -d, -P, -m memory_limit_mb,
        -H loopback_source, -T repeat, -g gradual, -L lonely, -F capture_filter; accepted for
        compatibility only: -C channel_connections, -R default_rtt_ms, -U session_pool_kb,
        -B capture_buffer_mb, -S snaplen, -o output_device. Absent values are None."""
        warnings: list[str] = []
        xfers = parse_transfers(_require(transfers, "-x", f"where to send traffic, {_X_EXAMPLE}"))
        port = parse_int(intercept_port, "-p", 1, 65535, default=DEFAULT_INTERCEPT_PORT)
        servers = parse_intercepts(
            _require(intercepts, "-s", "intercept address(es), e.g. 10.0.0.3 or 10.0.0.3:36524"),
            port)
        pool_text = _text(client_pool, "-c")
        pool: tuple[bytes, ...] = ()
        if pool_text is not None:
            pool = parse_client_pool(pool_text)
            pool, dropped = _without(pool, _not_clients(xfers, servers), "-c", pool_text)
            warnings += dropped
        n = parse_int(copies, "-n", 1, MAX_COPIES, default=1, meaning=" (copies of each session)")
        slice_text = _text(port_slice, "-f")
        share = WHOLE_PORT_SPACE if slice_text is None else parse_port_slice(slice_text)
        warnings += _capacity_warnings(pool, n, share)
        timeout = parse_number(session_timeout, "-t", 0, default=DEFAULT_SESSION_TIMEOUT,
                               strict=True, unit=" seconds")
        keepalive = parse_number(keepalive_timeout, "-k", 0, default=timeout + KEEPALIVE_EXTRA,
                                 strict=True, unit=" seconds")
        mtu_value = _mtu(mtu, [t.target_addr for t in xfers])
        mss_value = parse_int(mss, "-D", MIN_MSS, MAX_MSS, default=DEFAULT_MSS)
        if mss_value > mtu_value - IP_TCP_HEADERS:
            warnings.append(f"-D {mss_value} exceeds -M {mtu_value} minus {IP_TCP_HEADERS} header "
                            "bytes: the target may send segments larger than the path")
        offline = _path(offline_file, "-i")
        accel = parse_number(acceleration, "-a", 1, default=1.0)
        gap = parse_int(gap_threshold_ms, "-I", 0, default=0, meaning=" milliseconds (0 = off)")
        passes = parse_int(repeat, "-T", 1, default=1, meaning=" passes over the file")
        if offline is None:  # compared with the defaults, which a CLI may pass explicitly
            for flag, changed in (("-a", accel != 1.0), ("-I", gap != 0), ("-T", passes != 1)):
                if changed:
                    warnings.append(f"{flag} only applies to offline replay (-i FILE); ignored")
        pid = _path(pid_file, "-P")
        warnings += _pid_file_warning(pid, daemon)
        loopback_text = _text(loopback_source, "-H")
        loopback = None if loopback_text is None else parse_loopback_source(loopback_text)
        if loopback is not None:
            warnings += _loopback_source_warnings(loopback, xfers, pool)
        warnings += _copy_compat_warnings(channel_connections, default_rtt_ms, session_pool_kb,
                                          snaplen, output_device)
        return cls(
            transfers=xfers, intercepts=servers, client_pool=pool, copies=n, port_slice=share,
            sample_percent=parse_int(sample_percent, "-r", 1, 100, default=100,
                                     meaning=" percent of sessions (100 = all)"),
            only_full_sessions=bool(only_full_sessions), no_response_wait=bool(no_response_wait),
            session_timeout=timeout, keepalive_timeout=keepalive, mtu=mtu_value, mss=mss_value,
            offline_file=offline, acceleration=accel, gap_threshold_ms=gap,
            log_file=_path(log_file, "-l"), daemon=bool(daemon), pid_file=pid,
            memory_limit_mb=parse_int(memory_limit_mb, "-m", MIN_MEMORY_MB,
                                      default=DEFAULT_MEMORY_MB, meaning=" megabytes"),
            capture_buffer_mb=parse_capture_buffer(capture_buffer_mb),
            loopback_source=loopback, repeat=passes, gradual=bool(gradual), lonely=bool(lonely),
            capture_filter=_capture_filter(capture_filter),
            warnings=tuple(warnings),
        )


def _loopback_source_warnings(source: bytes, transfers: Sequence[Transfer],
                              pool: tuple[bytes, ...]) -> list[str]:
    shown = _ip_text(source)
    if not any(len(t.target_addr) == len(source) and not is_loopback(t.target_addr)
               for t in transfers):
        return [f"-H {shown}: no effect: no -x target is a non-loopback {_family(len(source))} "
                "address (only sessions towards such targets leave loopback)"]
    if pool:
        return [f"-H {shown}: no visible effect with -c: -c rewrites every client address, "
                "loopback ones included"]
    return []


def parse_capture_buffer(value: Value) -> int:
    """-B MB: the live BPF capture's ring buffer (tcpcopy's libpcap buffer, same default 16).

    A BPF ring buffer is a power-of-two number of pages, so MB must be a power of two. At 10k short
    connections/s the default absorbs about 4 s of backlog while copy catches up (benchmarks).
    """
    mb = parse_int(value, "-B", 1, MAX_CAPTURE_BUFFER_MB, default=DEFAULT_CAPTURE_BUFFER_MB, meaning=" MB")
    if mb & (mb - 1):
        raise ConfigError(f"-B {mb}: the capture ring buffer must be a power of two in MB "
                          f"(1, 2, 4, ... {MAX_CAPTURE_BUFFER_MB}), e.g. -B {1 << mb.bit_length()}")
    return mb


def _copy_compat_warnings(channel_connections: Value, rtt_ms: Value, pool_kb: Value,
                          snaplen: Value, device: Value) -> list[str]:
    """Validate tcpcopy's flags that have nothing to act on here; one line for each given."""
    notes = []
    if _given(channel_connections):
        n = parse_int(channel_connections, "-C", 1, MAX_CHANNEL_CONNECTIONS, default=1,
                      meaning=" connections per intercept")
        notes.append(_compat("-C", str(n), _ONE_CHANNEL_CONNECTION))
    if _given(rtt_ms):
        ms = parse_int(rtt_ms, "-R", 0, default=0, meaning=" milliseconds")
        notes.append(_compat("-R", str(ms), "the original never applied it either; pyreplay "
                             "measures each session's round trip to the target from its packets"))
    if _given(pool_kb):
        kb = parse_int(pool_kb, "-U", 1, MAX_SESSION_POOL_KB, default=1, meaning=" KB")
        notes.append(_compat("-U", str(kb), "pyreplay has no per-session memory pool; -m limits "
                             "the whole process"))
    if _given(snaplen):
        size = parse_int(snaplen, "-S", 1, default=1, meaning=" bytes")
        notes.append(_compat("-S", str(size), "pyreplay captures whole packets: a cut request "
                             "would corrupt the replayed stream"))
    device_name = _one_interface(device, "-o")
    if device_name is not None:
        notes.append(_compat("-o", device_name, "pyreplay sends through a raw IP socket and the "
                             "kernel's route to the target picks the interface (the original's "
                             "-o was for --pcap-send builds, whose -x @MAC form is not taken)"))
    return notes


def _capacity_warnings(pool: tuple[bytes, ...], copies: int, share: PortSlice) -> list[str]:
    """-n times the sessions in flight must fit the identities (addresses x ports of the share)."""
    ports = len(share.ports())
    families = {len(a) for a in pool} or {0}
    warnings = []
    for family in sorted(families):
        addrs = sum(1 for a in pool if len(a) == family) if pool else 1
        capacity = addrs * ports
        where = (f"{addrs} {_family(family)} -c address(es)" if pool
                 else "each client's own address (no -c)")
        per = "" if pool else " per client address"
        if capacity < copies:
            raise ConfigError(f"-n {copies}: {where} x {ports} ports of the -f share give only "
                              f"{capacity} client identities; add -c addresses or lower -n")
        rate = capacity / (copies * TIME_WAIT_SECONDS)
        if rate < 100:
            warnings.append(f"-n {copies} with {where} x {ports} ports: at most ~{rate:.3g} new "
                            f"sessions per second{per}, since each identity rests "
                            f"{TIME_WAIT_SECONDS:g} s after use")
    return warnings


@dataclass(frozen=True, slots=True)
class InterceptConfig:
    """Validated settings of ``pyreplay intercept``."""

    interfaces: tuple[str, ...] = ()  # empty: every interface
    filter: str | None = None  # -F; None: derived from what the copy processes register
    port: int = DEFAULT_INTERCEPT_PORT
    bind: bytes | None = None  # None: all local addresses
    log_file: str | None = None
    daemon: bool = False
    pid_file: str | None = None
    method: str | None = None  # "xdp", "tc", "afpacket" when forced; None: the best that works
    route_free: bool = False  # on the target itself: tcx egress, responses to --pool swallowed
    pool: tuple[str, ...] = ()  # --pool CIDRs (route-free): where the replayed clients live
    drop_responses: bool = False  # black-hole matched responses at XDP/tc ingress (assistant)
    combine: int | None = None  # -n: most summaries per channel frame; None: the batcher's default
    delay_capacity: int | None = None  # -s: most early SYN/RST responses held; None: default
    dockered: tuple[tuple[bytes, bytes], ...] = ()  # -D: (address seen, address registered)
    route_timeout: float | None = None  # -t: seconds an unused route lives; None: default
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_options(
        cls, *, interfaces: Value = None, filter: Value = None, port: Value = None,
        bind: Value = None, log_file: Value = None, daemon: bool = False, pid_file: Value = None,
        xdp: Value = None, tc: Value = None, afpacket: Value = None, route_free: bool = False,
        pool: Value = None, drop_responses: bool = False, combine: Value = None,
        delay_capacity: Value = None, dockered: Value = None, route_timeout: Value = None,
        pass_through: Value = None, queue_length: Value = None,
        protect_connections: bool = False,
    ) -> InterceptConfig:
        """Flags: -i interfaces, -F filter, -p port, -b bind, -l, -d, -P, --xdp/--tc/--afpacket
        IFACE (force a capture method), --route-free, --pool CIDR[,...], --drop-responses,
        -n combine, -s delay_capacity, -D dockered, -t route_timeout; accepted for
        compatibility only: -x pass_through, -q queue_length, -c protect_connections."""
        iface_text = _text(interfaces, "-i")
        filter_text = _text(filter, "-F")
        if filter_text is not None and not filter_text:
            _fail("-F", filter_text, "expected a filter expression, e.g. 'tcp and src port 8080'")
        forced = [(flag, text) for flag, value in (("--xdp", xdp), ("--tc", tc), ("--afpacket", afpacket))
                  if (text := _text(value, flag)) is not None]
        if len(forced) > 1:
            raise ConfigError(f"{forced[0][0]} and {forced[1][0]}: force one capture method, not several")
        method = None
        if forced:
            flag, text = forced[0]
            if iface_text is not None:
                raise ConfigError(f"-i and {flag}: {flag} names the interface already")
            method, iface_text = flag.lstrip("-"), text
            if not parse_interfaces(text, flag):
                _fail(flag, text, "name the interface(s) to capture on")
        pool_text = _text(pool, "--pool")
        if route_free:
            if method in ("xdp", "afpacket"):
                raise ConfigError(f"--route-free and --{method}: route-free intercept runs at tc egress "
                                  "on the target (use -i IFACE or --tc IFACE)")
            if not pool_text:
                raise ConfigError("--route-free needs --pool CIDR[,...]: the client addresses copy uses (-c)")
            if not filter_text:
                raise ConfigError("--route-free needs -F, e.g. 'tcp and src port 8080'")
            if iface_text is None:
                raise ConfigError("--route-free needs the target's interface: -i IFACE or --tc IFACE")
        elif pool_text is not None:
            raise ConfigError("--pool is for --route-free")
        bind_text = _text(bind, "-b")
        pid = _path(pid_file, "-P")
        prefixes = () if not pool_text else parse_pool_prefixes(pool_text)
        dockered_text = _text(dockered, "-D")
        rewrites = () if dockered_text is None else parse_dockered(dockered_text)
        if route_free and dockered_text is not None:
            for seen, _ in rewrites:
                if not _in_prefixes(seen, prefixes):
                    _fail("-D", dockered_text, f"{_ip_text(seen)} must be inside --pool: route-free "
                                               "intercept only takes responses addressed to --pool")
        warnings = _pid_file_warning(pid, daemon)
        warnings += _intercept_compat_warnings(pass_through, queue_length, protect_connections,
                                               prefixes if route_free else None)
        combine_value = None if _text(combine, "-n") is None else parse_int(
            combine, "-n", 0, MAX_COMBINE, default=0, meaning=" responses per write (0 or 1: each at once)")
        timeout_text = _text(route_timeout, "-t")
        return cls(
            interfaces=() if iface_text is None else parse_interfaces(iface_text),
            filter=filter_text,
            port=parse_int(port, "-p", 1, 65535, default=DEFAULT_INTERCEPT_PORT),
            bind=None if bind_text is None else parse_bind(bind_text),
            log_file=_path(log_file, "-l"), daemon=bool(daemon), pid_file=pid,
            method=method, route_free=bool(route_free), pool=prefixes,
            drop_responses=bool(drop_responses),
            combine=None if combine_value is None else max(1, combine_value),
            delay_capacity=None if _text(delay_capacity, "-s") is None else parse_int(
                delay_capacity, "-s", 1, MAX_DELAY_CAPACITY, default=1, meaning=" early responses held"),
            dockered=rewrites,
            route_timeout=None if timeout_text is None else parse_number(
                timeout_text, "-t", 0, default=0.0, strict=True, unit=" seconds"),
            warnings=tuple(warnings),
        )


def _in_prefixes(addr: bytes, prefixes: Sequence[str]) -> bool:
    ip = ipaddress.ip_address(addr)
    return any(ip in ipaddress.ip_network(p) for p in prefixes)


def _intercept_compat_warnings(pass_through: Value, queue_length: Value, protect: bool,
                               route_free_pool: Sequence[str] | None) -> list[str]:
    """Validate intercept's flags that have nothing to act on here; one line for each given.

    ``route_free_pool`` is --pool when route-free (responses to it are swallowed), else None."""
    notes = []
    text = _text(pass_through, "-x")
    if text is not None:
        addrs = _addresses(text, "-x")
        if route_free_pool is not None:
            for addr in addrs:
                if _in_prefixes(addr, route_free_pool):
                    _fail("-x", text, f"{_ip_text(addr)} is inside --pool, whose responses "
                                      "route-free intercept always swallows")
        notes.append(_compat("-x", text, "responses to these addresses pass untouched already: "
                             "pyreplay intercept only swallows responses to --pool (route-free)"))
    if _given(queue_length):
        length = parse_int(queue_length, "-q", -1, default=-1, meaning=" (NFQUEUE length)")
        notes.append(_compat("-q", str(length), "pyreplay uses no NFQUEUE: route-free intercept "
                             "takes responses at tc egress in the kernel"))
    if protect:
        notes.append(_compat("-c", None, "pyreplay intercept serves every copy/burn process at "
                             "once and a newcomer never displaces another"))
    return notes


def parse_pool_prefixes(text: str, flag: str = "--pool") -> tuple[str, ...]:
    """IPv4 prefixes ``a.b.c.d/len[,...]`` (a bare address is a /32), normalized and collapsed."""
    networks = []
    for entry in _entries(text, flag):
        try:
            networks.append(ipaddress.IPv4Network(entry, strict=False))
        except ValueError:
            _fail(flag, entry, "expected an IPv4 prefix such as 198.19.0.0/24")
    return tuple(str(n) for n in ipaddress.collapse_addresses(networks))


@dataclass(frozen=True, slots=True)
class BurnConfig:
    """Validated settings of ``pyreplay burn`` (tcpburn)."""

    transfers: tuple[Transfer, ...]
    files: tuple[str, ...]
    intercepts: tuple[Endpoint, ...]
    client_pool: tuple[bytes, ...]
    users: int
    rate: int = BURN_DEFAULT_RATE  # -i: new users per second
    acceleration: float = 1.0
    session_timeout: float = BURN_DEFAULT_TIMEOUT
    mtu: int = DEFAULT_MTU
    layout: UserLayout = UserLayout.IP_FIRST
    port_seed: int = 0  # 0: ports in order from 32768; else shuffled by this seed
    log_file: str | None = None
    comet: bool = False
    loops: int = 1  # passes over the sessions; 0: until duration ends or interrupted
    duration: float | None = None  # seconds; None: no limit
    ignitions_per_ms: int | None = None  # -A: caps the start rate at 1000 x this; None: no cap
    topology_window: float | None = None  # -T: chain session starts this close in the capture
    daemon: bool = False
    pid_file: str | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def start_rate(self) -> int:
        """New connections per second: -i, capped by -A as tcpburn's 1 ms ignition tick does."""
        if self.ignitions_per_ms is None:
            return self.rate
        return min(self.rate, self.ignitions_per_ms * IGNITION_TICKS_PER_SECOND)

    @classmethod
    def from_options(
        cls, *, transfers: Value, files: Value, intercepts: Value, client_pool: Value,
        users: Value, intercept_port: Value = None, rate: Value = None,
        acceleration: Value = None, session_timeout: Value = None, mtu: Value = None,
        layout: Value = None, port_seed: Value = None, log_file: Value = None,
        comet: bool = False, loops: Value = None, duration: Value = None,
        ignitions_per_ms: Value = None, topology_window: Value = None, daemon: bool = False,
        pid_file: Value = None, mss: Value = None, channel_connections: Value = None,
        output_device: Value = None,
    ) -> BurnConfig:
        """Flags: -x, -f files, -s, -p intercept_port, -c, -u users, -i rate, -a, -t, -M,
        -m layout, -e port_seed, -l, --comet, --loop loops, --duration, -A ignitions_per_ms,
        -T topology_window, -d, -P; accepted for compatibility only: -S mss,
        -C channel_connections, -o output_device. Absent values: None."""
        warnings: list[str] = []
        xfers = parse_transfers(_require(transfers, "-x", f"which packets to replay, {_X_EXAMPLE}"))
        port = parse_int(intercept_port, "-p", 1, 65535, default=DEFAULT_INTERCEPT_PORT)
        servers = parse_intercepts(
            _require(intercepts, "-s", "intercept address(es), e.g. 10.0.0.3"), port)
        pool_text = _require(client_pool, "-c", "client addresses for the users, e.g. 10.2.0.x")
        pool, dropped = _without(parse_client_pool(pool_text), _not_clients(xfers, servers),
                                 "-c", pool_text)
        warnings += dropped
        n_users = parse_int(_require(users, "-u", "number of concurrent users, e.g. 100"),
                            "-u", 1, default=0, meaning=" users")
        per_addr = BURN_PORTS[1] - BURN_PORTS[0] + 1
        if n_users > len(pool) * per_addr:
            need = -(-n_users // per_addr)
            raise ConfigError(f"-u {n_users}: needs at least {need} client addresses "
                              f"({per_addr} ports each), -c gives {len(pool)}")
        loops_value = parse_int(loops, "--loop", 0, default=1, meaning=" passes (0 = endless)")
        duration_text = _text(duration, "--duration")
        run_for = None if duration_text is None else parse_number(
            duration_text, "--duration", 0, default=0.0, strict=True, unit=" seconds")
        if loops_value == 0 and run_for is None:
            warnings.append("--loop 0 without --duration: replays until interrupted")
        layout_value = parse_int(layout, "-m", 0, 7, default=0,
                                 meaning=" (0 = spread users over addresses first)")
        start_rate = parse_int(rate, "-i", 1, default=BURN_DEFAULT_RATE,
                               meaning=" new connections per second")
        ignitions = None if _text(ignitions_per_ms, "-A") is None else parse_int(
            ignitions_per_ms, "-A", 1, default=1, meaning=" connection starts per millisecond")
        if ignitions is not None and ignitions * IGNITION_TICKS_PER_SECOND < start_rate:
            warnings.append(f"-A {ignitions} caps the start rate at "
                            f"{ignitions * IGNITION_TICKS_PER_SECOND} connections per second, "
                            f"below -i {start_rate} (tcpburn starts at most -A per 1 ms tick)")
        window_text = _text(topology_window, "-T")
        window = None if window_text is None else parse_number(
            window_text, "-T", 0, default=0.0, unit=" seconds")
        pid = _path(pid_file, "-P")
        warnings += _pid_file_warning(pid, daemon)
        if _given(mss):
            value = parse_int(mss, "-S", MIN_MSS, MAX_MSS, default=DEFAULT_MSS)
            warnings.append(_compat("-S", str(value), "burn replays each captured SYN with its own "
                                    "options (the original parsed -S and never used it either)"))
        if _given(channel_connections):
            n = parse_int(channel_connections, "-C", 1, BURN_MAX_CHANNEL_CONNECTIONS, default=1,
                          meaning=" connections per intercept")
            warnings.append(_compat("-C", str(n), _ONE_CHANNEL_CONNECTION))
        device_name = _one_interface(output_device, "-o")
        if device_name is not None:
            warnings.append(_compat("-o", device_name, "pyreplay sends through a raw IP socket and "
                                    "the kernel's route to the target picks the interface"))
        return cls(
            transfers=xfers, files=parse_files(files), intercepts=servers, client_pool=pool,
            users=n_users, rate=start_rate,
            acceleration=parse_number(acceleration, "-a", 1, default=1.0),
            session_timeout=parse_number(session_timeout, "-t", 0, default=BURN_DEFAULT_TIMEOUT,
                                         strict=True, unit=" seconds"),
            mtu=_mtu(mtu, [t.target_addr for t in xfers]),
            layout=UserLayout.IP_FIRST if layout_value == 0 else UserLayout.PORT_FIRST,
            port_seed=parse_int(port_seed, "-e", 0, 2**32 - 1, default=0,
                                meaning=" (0 = ports in order)"),
            log_file=_path(log_file, "-l"), comet=bool(comet), loops=loops_value,
            duration=run_for, ignitions_per_ms=ignitions, topology_window=window,
            daemon=bool(daemon), pid_file=pid, warnings=tuple(warnings),
        )
