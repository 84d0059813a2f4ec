"""Response filter parsing: the common intercept -F forms become rules, everything else None;
rules agree with libpcap's own compiled filter on packets; no input makes the parser raise."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyreplay.backends.cbpf import FilterError, compile_filter
from pyreplay.ebpf.response_filter import MatchRule, parse_response_filter, rule_matches

A = bytes([10, 0, 0, 1])
B = bytes([10, 0, 0, 2])


@pytest.mark.parametrize("expression, rules", [
    ("tcp and src port 8080", [MatchRule(8080)]),
    ("tcp and src port 8080 and src host 10.0.0.1", [MatchRule(8080, A)]),
    ("src host 10.0.0.1 and tcp and src port 8080", [MatchRule(8080, A)]),
    ("(tcp and src port 80 and src host 10.0.0.1) or (tcp and src port 81)", [MatchRule(80, A), MatchRule(81)]),
    ("tcp and (src port 80 or src port 81)", [MatchRule(80), MatchRule(81)]),
    ("tcp and src port 80 or 81", [MatchRule(80), MatchRule(81)]),
    ("tcp && (src port 80 || src port 81) && src host 10.0.0.2", [MatchRule(80, B), MatchRule(81, B)]),
    ("tcp src port 8080", [MatchRule(8080)]),
    ("ip and tcp and src port 8080", [MatchRule(8080)]),
    ("ip proto tcp and src port 8080", [MatchRule(8080)]),
    ("tcp and src port 8080 and src net 10.0.0.1/32", [MatchRule(8080, A)]),
    ("tcp and src port 8080 and src 10.0.0.1", [MatchRule(8080, A)]),
    ("tcp and src port 8080 and (src host 10.0.0.1 or 10.0.0.2)", [MatchRule(8080, A), MatchRule(8080, B)]),
    ("(tcp and src port 80) or (tcp and src port 80 and src host 10.0.0.1)", [MatchRule(80)]),
    ("  TCP  and SRC port 8080 ", [MatchRule(8080)]),
    # pcap: `and` and `or` have equal precedence, left to right
    ("tcp and src port 80 or src port 81 and src host 10.0.0.1", [MatchRule(80, A), MatchRule(81, A)]),
])
def test_common_forms_become_rules(expression, rules):
    assert parse_response_filter(expression) == rules


@pytest.mark.parametrize("expression", [
    "tcp", "port 8080", "tcp and port 8080", "tcp and dst port 8080", "tcp and not src port 80",
    "tcp and src port 80 and not src host 10.0.0.1", "udp and src port 53", "tcp and src net 10.0.0.0/8 and src port 80",
    "tcp and src host example.com and src port 80", "tcp and src host ::1 and src port 80",
    "tcp[13] & 2 != 0", "tcp and src port 80 or src host 10.0.0.1", "src port 1 and src port 2",
    "tcp and src port 70000", "tcp and (src port 80", "tcp and src port 80)", "", "   ", "and", "src port",
    "tcp and src portrange 80-90", "tcp and src port http", "vlan and tcp and src port 80",
    "(" * 100 + "src port 80" + ")" * 100,
])
def test_anything_else_falls_back(expression):
    assert parse_response_filter(expression) is None


def test_rule_count_is_bounded():
    many = " or ".join(f"src port {p}" for p in range(1, 300))
    assert parse_response_filter(many) is None
    fits = " or ".join(f"src port {p}" for p in range(1, 200))
    assert len(parse_response_filter(fits)) == 199


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_parser_never_raises_on_any_text(text):
    result = parse_response_filter(text)
    assert result is None or (result and all(isinstance(r, MatchRule) for r in result))


_WORDS = ["tcp", "ip", "src", "dst", "port", "host", "net", "and", "or", "not", "(", ")", "&&", "||", "!",
          "80", "8080", "10.0.0.1", "10.0.0.2/32", "0", "65535", "proto", "udp", "mask", "/"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=25))
def test_parser_never_raises_on_keyword_soup(words):
    parse_response_filter(" ".join(words))


# ---- agreement with libpcap: run its classic BPF on packets and compare ----------------------

def run_cbpf(program, frame: bytes) -> bool:
    """A classic BPF interpreter for the instructions libpcap emits for these filters."""
    a = x = 0
    pc = 0
    for _ in range(len(program) + 1):
        code, jt, jf, k = program[pc]
        cls = code & 0x07
        if cls == 0x06:  # ret
            return (k if code & 0x18 == 0 else a) != 0
        if cls in (0x00, 0x01):  # ld / ldx
            size, mode = code & 0x18, code & 0xE0
            if cls == 0x01 and mode == 0xA0:  # ldx msh: 4 * (P[k] & 0xf)
                if k >= len(frame):
                    return False
                x = 4 * (frame[k] & 0x0F)
            elif mode == 0x00:  # imm
                if cls == 0:
                    a = k
                else:
                    x = k
            else:
                offset = k + (x if mode == 0x40 else 0)
                width = {0x00: 4, 0x08: 2, 0x10: 1}[size]
                if offset + width > len(frame):
                    return False
                a = int.from_bytes(frame[offset:offset + width], "big")
            pc += 1
            continue
        if cls == 0x05:  # jmp
            op, operand = code & 0xF0, (x if code & 0x08 else k)
            if op == 0x00:
                pc += 1 + k
                continue
            taken = {0x10: a == operand, 0x20: a > operand, 0x30: a >= operand, 0x40: bool(a & operand)}[op]
            pc += 1 + (jt if taken else jf)
            continue
        if cls == 0x04:  # alu
            op, operand = code & 0xF0, (x if code & 0x08 else k)
            a = {0x00: a + operand, 0x10: a - operand, 0x50: a & operand, 0x40: a | operand,
                 0x60: a << operand, 0x70: a >> operand}[op] & 0xFFFFFFFF
            pc += 1
            continue
        if cls == 0x07:  # misc: tax / txa
            if code & 0xF8 == 0x00:
                x = a
            else:
                a = x
            pc += 1
            continue
        raise AssertionError(f"instruction {code:#x} not handled by the test interpreter")
    raise AssertionError("classic BPF program did not return")


def frame(src: bytes, sport: int, proto: int = 6, frag: int = 0x4000) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, 40000, 1, 2, 5 << 4, 0x10, 1000, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, frag, 64, proto, 0, src, bytes([198, 19, 0, 5]))
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp


_PORTS = st.sampled_from([80, 81, 8080])
_HOSTS = st.sampled_from(["10.0.0.1", "10.0.0.2"])
_PRIMITIVES = st.one_of(
    _PORTS.map(lambda p: f"src port {p}"),
    _HOSTS.map(lambda h: f"src host {h}"),
    st.just("tcp"),
)
_EXPRESSIONS = st.recursive(
    _PRIMITIVES,
    lambda inner: st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
    | st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(_EXPRESSIONS)
def test_rules_agree_with_libpcap_on_every_packet(expression):
    rules = parse_response_filter(expression)
    try:
        program = compile_filter(expression)
    except FilterError:
        assert rules is None
        return
    if rules is None:
        return
    for src in (A, B, bytes([10, 0, 0, 3])):
        for sport in (80, 81, 8080, 9):
            expected = run_cbpf(program, frame(src, sport))
            assert rule_matches(rules, src, sport) == expected, (expression, src, sport, rules)


def test_interpreter_sanity_against_libpcap():
    program = compile_filter("tcp and src port 8080 and src host 10.0.0.1")
    assert run_cbpf(program, frame(A, 8080))
    assert not run_cbpf(program, frame(B, 8080))
    assert not run_cbpf(program, frame(A, 8081))
    assert not run_cbpf(program, frame(A, 8080, proto=17))
