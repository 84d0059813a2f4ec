"""Turn intercept's ``-F`` pcap filter into match rules a BPF map can hold, when it is simple.

Contract (pure: no I/O, no bcc):
- ``parse_response_filter(expression) -> list[MatchRule] | None``. A ``MatchRule(addr, port)``
  matches an IPv4 TCP packet whose source port is ``port`` and, when ``addr`` (4 packed bytes) is
  not None, whose source address is ``addr``. The list means "any rule matches"; it is sorted and
  free of duplicates and of rules a wildcard rule already covers.
- Accepted: the forms people write for TCPCopy's intercept, combined with ``and``/``or``/
  parentheses in any order and nesting: ``tcp`` (also ``ip``, ``ip proto tcp``, ``tcp src port``),
  ``src port P``, ``src host H`` / ``src H`` with H a dotted IPv4 address, ``src net N/32``, and
  pcap's implicit qualifiers (``src port 80 or 81``). ``&&``, ``||`` work like ``and``, ``or``.
  Every conjunct of the expanded expression needs exactly one source port (ports are what the
  map is keyed by) and at most one source address.
- Anything else (``not``, ``dst``, ``port`` without ``src``, wider nets, host names, IPv6,
  ``udp``, byte offsets, more than ``MAX_RULES`` rules...) returns None: the caller falls back
  to AF_PACKET with libpcap's classic BPF, whose answer is always right. Malformed input also
  returns None (libpcap then says what is wrong). The parser never raises anything else than
  ``FilterTooComplex`` internally, and ``parse_response_filter`` catches that.
- A filter that is valid but matches nothing here (``src port 1 and src port 2``) returns None.
- Semantics note: the rules match TCP only, so ``src port 8080`` without ``tcp`` is accepted;
  intercept summarizes TCP segments only, so the outcome is the same.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from itertools import product

MAX_RULES = 256
MAX_TOKENS = 2048
MAX_DEPTH = 32


@dataclass(frozen=True, order=True, slots=True)
class MatchRule:
    """Source port ``port``; source address ``addr`` (packed IPv4) or any when None."""

    port: int
    addr: bytes | None = None

    def describe(self) -> str:
        where = "any host" if self.addr is None else ipaddress.IPv4Address(self.addr).compressed
        return f"{where}:{self.port}"


class FilterTooComplex(ValueError):
    """The expression is outside the subset BPF rules can express (or is malformed)."""


# An atom is ("port", P) or ("host", addr bytes); "tcp"/"ip" atoms are dropped (always true here).
_TRUE = ("true",)
_TOKEN = re.compile(r"\s*(\(|\)|&&|\|\||!|[A-Za-z0-9_.:/\-]+)")


def parse_response_filter(expression: str) -> list[MatchRule] | None:
    try:
        if not isinstance(expression, str) or len(expression) > 16384:
            raise FilterTooComplex("not a short string")
        tokens = _tokenize(expression)
        parser = _Parser(tokens)
        tree = parser.expression(0)
        if parser.pos != len(tokens):
            raise FilterTooComplex(f"unexpected {tokens[parser.pos]!r}")
        return _rules(tree)
    except FilterTooComplex:
        return None
    except RecursionError:
        return None


def _tokenize(expression: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = expression.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FilterTooComplex(f"cannot read {text[pos:pos + 10]!r}")
        tokens.append(match.group(1).lower())
        pos = match.end()
        if len(tokens) > MAX_TOKENS:
            raise FilterTooComplex("too long")
    if not tokens:
        raise FilterTooComplex("empty")
    return tokens


class _Parser:
    """Recursive descent over: expr := unit (('and'|'or') unit)*, folded left (pcap's precedence);
    unit := '(' expr ')' | primitive | bare value (implicit qualifier, as pcap allows)."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.last_qualifier: str | None = None  # "port" or "host", for `src port 80 or 81`

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise FilterTooComplex("unexpected end")
        self.pos += 1
        return token

    def expression(self, depth: int):
        """pcap gives ``and`` and ``or`` equal precedence, left to right: fold as they come."""
        if depth > MAX_DEPTH:
            raise FilterTooComplex("nested too deeply")
        tree = self.unit(depth)
        while self.peek() in ("or", "||", "and", "&&"):
            op = "or" if self.take() in ("or", "||") else "and"
            tree = (op, [tree, self.unit(depth)])
        return tree

    def unit(self, depth: int):
        token = self.take()
        if token == "(":
            inner = self.expression(depth + 1)
            if self.take() != ")":
                raise FilterTooComplex("unbalanced parentheses")
            return inner
        if token in ("ip", "tcp"):
            self.last_qualifier = None
            return self.protocol(token)
        if token == "src":
            return self.source()
        if self.last_qualifier is not None and token not in _KEYWORDS:
            return self.value(self.last_qualifier, token)
        raise FilterTooComplex(f"unsupported {token!r}")

    def protocol(self, token: str):
        if token == "ip" and self.peek() == "proto":
            self.take()
            if self.take() not in ("tcp", "\\tcp", "6"):
                raise FilterTooComplex("ip proto other than tcp")
            return _TRUE
        if token == "tcp" and self.peek() == "src":  # `tcp src port 80`
            self.take()
            return self.source()
        return _TRUE

    def source(self):
        kind = self.take()
        if kind in ("port", "host", "net"):
            value = self.take()
            self.last_qualifier = "host" if kind == "net" else kind
            if kind == "net":
                return self.net(value)
            return self.value(kind, value)
        self.last_qualifier = "host"
        return self.value("host", kind)  # `src 10.0.0.1`

    def net(self, value: str):
        if self.peek() in ("mask",):
            raise FilterTooComplex("net ... mask")
        if "/" not in value:
            raise FilterTooComplex("net without a /32 prefix")
        address, _, length = value.partition("/")
        if length != "32":
            raise FilterTooComplex("only /32 nets are single hosts")
        return self.value("host", address)

    def value(self, kind: str, token: str):
        if kind == "port":
            if not token.isdigit() or len(token) > 5 or not 0 <= int(token) <= 65535:
                raise FilterTooComplex(f"port {token!r}")
            return ("port", int(token))
        if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", token):
            raise FilterTooComplex(f"host {token!r} is not a dotted IPv4 address")
        try:
            return ("host", ipaddress.IPv4Address(token).packed)
        except ipaddress.AddressValueError as exc:
            raise FilterTooComplex(str(exc)) from None


_KEYWORDS = frozenset({"and", "or", "&&", "||", "not", "!", "(", ")", "src", "dst", "host", "port", "net",
                       "tcp", "ip", "udp", "proto"})


def _dnf(tree) -> list[frozenset]:
    """Disjunctive normal form: a list of conjuncts, each a set of atoms."""
    if tree[0] == "or":
        out: list[frozenset] = []
        for sub in tree[1]:
            out += _dnf(sub)
            if len(out) > MAX_RULES * 4:
                raise FilterTooComplex("too many alternatives")
        return out
    if tree[0] == "and":
        out = [frozenset()]
        for sub in tree[1]:
            alternatives = _dnf(sub)
            if len(out) * len(alternatives) > MAX_RULES * 4:
                raise FilterTooComplex("too many alternatives")
            out = [a | b for a, b in product(out, alternatives)]
        return out
    if tree is _TRUE or tree == _TRUE:
        return [frozenset()]
    return [frozenset([tree])]


def _rules(tree) -> list[MatchRule] | None:
    rules: set[MatchRule] = set()
    for conjunct in _dnf(tree):
        ports = {value for kind, value in conjunct if kind == "port"}
        hosts = {value for kind, value in conjunct if kind == "host"}
        if not ports:
            raise FilterTooComplex("a part of the filter has no source port")
        if len(ports) > 1 or len(hosts) > 1:
            continue  # contradictory (one packet has one source port and address): matches nothing
        rules.add(MatchRule(ports.pop(), hosts.pop() if hosts else None))
    wildcard_ports = {r.port for r in rules if r.addr is None}
    kept = sorted((r for r in rules if r.addr is None or r.port not in wildcard_ports),
                  key=lambda r: (r.port, r.addr or b""))
    if not kept or len(kept) > MAX_RULES:
        return None
    return kept


def rule_matches(rules: list[MatchRule], saddr: bytes, sport: int) -> bool:
    """What the BPF programs compute for an IPv4 TCP packet (reference for tests)."""
    return any(r.port == sport and (r.addr is None or r.addr == saddr) for r in rules)
