"""Rewrite decisions: -x lookup, the collision-free client allocator, -r sampling and its -g
ramp, the -H loopback source and intercept's -D response destinations."""

from __future__ import annotations

import ipaddress
import os
import random
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from pyreplay.config import PortSlice, Transfer, parse_dockered, parse_transfers
from pyreplay.packet.segment import ACK, SYN, ResponseSummary, TcpOptions
from pyreplay.rewrite import (
    ClientAllocator,
    ClientKey,
    PoolExhausted,
    ResponseDestinations,
    TransferMap,
    fmix64,
    gradual_percent,
    loopback_replacement,
    mix_endpoint,
    sample_session,
)
from pyreplay.rewrite.clients import POOL_SALT


def ip(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


# --- TransferMap ---------------------------------------------------------------------------------


def test_transfer_map_exact_address_wins_over_wildcard():
    table = TransferMap(parse_transfers("80-10.0.0.2:8080,10.0.0.5:80-10.0.0.3:9090,81-[::2]:81"))
    assert table.match(ip("10.0.0.5"), 80) == Transfer(ip("10.0.0.5"), 80, ip("10.0.0.3"), 9090)
    assert table.match(ip("10.0.0.6"), 80) == Transfer(None, 80, ip("10.0.0.2"), 8080)
    assert table.match(ip("10.0.0.5"), 81) is None  # the :81 wildcard is for IPv6 traffic
    assert table.match(ip("2001:db8::9"), 81) == Transfer(None, 81, ip("::2"), 81)
    assert table.match(ip("2001:db8::9"), 80) is None
    assert table.match(ip("10.0.0.5"), 8080) is None
    assert table.online_ports == {80, 81}


def test_transfer_map_without_wildcard_ignores_other_addresses():
    table = TransferMap(parse_transfers("10.0.0.5:80-10.0.0.3:9090"))
    assert table.match(ip("10.0.0.6"), 80) is None


def test_transfer_map_rejects_ambiguous_transfers():
    t = Transfer(None, 80, ip("10.0.0.2"), 8080)
    with pytest.raises(ValueError):
        TransferMap([t, Transfer(None, 80, ip("10.0.0.3"), 8080)])


# --- sampling ------------------------------------------------------------------------------------


def share(selected: int, total: int) -> float:
    return selected / total


def test_sampling_30_percent_of_100k_random_clients():
    rng = random.Random(20240901)
    clients = [(rng.getrandbits(32).to_bytes(4, "big"), rng.randrange(1, 65536))
               for _ in range(100_000)]
    picked = sum(sample_session(addr, port, 30) for addr, port in clients)
    assert abs(share(picked, len(clients)) - 0.30) <= 0.01


@pytest.mark.parametrize("clients", [
    [(ip("10.1.2.3"), port) for port in range(1, 65536)],  # one client, every port
    [((0x0A000000 + i).to_bytes(4, "big"), 80) for i in range(65536)],  # a /16, one port
    [(bytes(15) + bytes([i % 256]), 32768 + i // 256) for i in range(65536)],  # IPv6, structured
], ids=["sequential-ports", "sequential-addresses", "ipv6"])
def test_sampling_is_even_on_structured_clients(clients):
    picked = sum(sample_session(addr, port, 30) for addr, port in clients)
    assert abs(share(picked, len(clients)) - 0.30) <= 0.01


def test_sampling_is_stable_for_a_client_and_all_or_nothing_at_the_ends():
    rng = random.Random(5)
    for _ in range(1000):
        addr, port = rng.getrandbits(32).to_bytes(4, "big"), rng.randrange(1, 65536)
        assert sample_session(addr, port, 30) == sample_session(addr, port, 30)
        assert sample_session(addr, port, 100)


@given(st.binary(min_size=4, max_size=4) | st.binary(min_size=16, max_size=16),
       st.integers(0, 65535), st.integers(1, 99))
def test_raising_the_percentage_only_adds_sessions(addr, port, percent):
    if sample_session(addr, port, percent):
        assert sample_session(addr, port, percent + 1)


@pytest.mark.parametrize("percent", [0, 101, -5])
def test_sampling_rejects_bad_percentages(percent):
    with pytest.raises(ValueError):
        sample_session(ip("10.0.0.1"), 80, percent)


# --- -g: the sampling percentage ramps with time since the first captured packet ---------------


@pytest.mark.parametrize("elapsed, cap, expected", [
    (0.0, 100, 1), (0.999, 100, 1), (1.0, 100, 2), (41.5, 100, 42), (98.9, 100, 99),
    (99.0, 100, 100), (3600.0, 100, 100),
    (0.0, 30, 1), (28.7, 30, 29), (29.0, 30, 30), (500.0, 30, 30),  # ramps to -r, not past it
    (-0.5, 100, 1), (float("nan"), 100, 1),  # a clock that went back counts as the start
])
def test_gradual_percent_is_one_plus_whole_seconds_up_to_the_cap(elapsed, cap, expected):
    assert gradual_percent(elapsed, cap) == expected


def test_gradual_ramp_only_ever_adds_sessions_and_reaches_all():
    rng = random.Random(7)
    clients = [(rng.getrandbits(32).to_bytes(4, "big"), rng.randrange(1, 65536)) for _ in range(2000)]
    kept_before: set = set()
    for second in range(0, 101, 5):
        percent = gradual_percent(float(second))
        kept = {c for c in clients if sample_session(*c, percent)}
        assert kept >= kept_before
        kept_before = kept
    assert len(kept_before) == len(clients)
    ten_seconds_in = sum(sample_session(*c, gradual_percent(9.0)) for c in clients)
    assert 0.07 <= share(ten_seconds_in, len(clients)) <= 0.13  # 10 % of the sessions


@pytest.mark.parametrize("cap", [0, 101])
def test_gradual_percent_rejects_bad_caps(cap):
    with pytest.raises(ValueError):
        gradual_percent(1.0, cap)


# --- -H: sessions captured from loopback leave from a real address ---------------------------------


@pytest.mark.parametrize("client, target, source, expected", [
    ("127.0.0.1", "10.0.0.2", "10.0.0.9", "10.0.0.9"),
    ("127.8.9.10", "10.0.0.2", "10.0.0.9", "10.0.0.9"),  # all of 127.0.0.0/8 is loopback
    ("::1", "2001:db8::2", "2001:db8::9", "2001:db8::9"),
    ("10.0.0.7", "10.0.0.2", "10.0.0.9", None),  # not a loopback client: kept
    ("127.0.0.1", "127.0.0.1", "10.0.0.9", None),  # the target is local too: kept (as the original)
    ("127.0.0.1", "10.0.0.2", "2001:db8::9", None),  # -H of the other family
    ("::1", "2001:db8::2", "10.0.0.9", None),
    ("127.0.0.1", "10.0.0.2", None, None),  # no -H
])
def test_loopback_replacement(client, target, source, expected):
    got = loopback_replacement(ip(client), ip(target), None if source is None else ip(source))
    assert got == (None if expected is None else ip(expected))


# --- intercept -D: responses to a rewritten address are routed as sent to the registered one -------


def summary(dst: str, src: str = "10.0.0.2") -> ResponseSummary:
    return ResponseSummary(ip(src), ip(dst), 8080, 40001, 5000, 1001, SYN | ACK, 65535, 0, TcpOptions(mss=1460))


def test_response_destinations_rewrite_only_the_listed_addresses():
    rewrite = ResponseDestinations(parse_dockered("172.17.0.5-10.9.0.5,172.17.0.6-10.9.0.6"))
    assert rewrite
    seen = summary("172.17.0.5")
    routed = rewrite(seen)
    assert routed.dst == ip("10.9.0.5")
    assert (routed.src, routed.sport, routed.dport, routed.seq, routed.ack, routed.flags, routed.window,
            routed.payload_len, routed.options) == (seen.src, seen.sport, seen.dport, seen.seq, seen.ack,
                                                    seen.flags, seen.window, seen.payload_len, seen.options)
    assert rewrite(summary("172.17.0.6")).dst == ip("10.9.0.6")
    other = summary("10.9.0.5")
    assert rewrite(other) is other  # already the registered address: untouched
    assert rewrite(summary("10.0.0.2", src="172.17.0.5")).dst == ip("10.0.0.2")  # sources never change


def test_no_response_destinations_is_falsy_and_passes_everything():
    assert not ResponseDestinations(())
    plain = summary("10.9.0.5")
    assert ResponseDestinations(())(plain) is plain


def test_ipv6_response_destinations():
    rewrite = ResponseDestinations(parse_dockered("fd00::5-2001:db8::5"))
    assert rewrite(summary("fd00::5", src="2001:db8::2")).dst == ip("2001:db8::5")


def test_mixing_is_pinned_and_independent_of_python_hash_seed():
    assert fmix64(0) == 0 and fmix64(1) == 0xB456BCFC34C2CB2C  # MurmurHash3 fmix64
    assert mix_endpoint(ip("10.0.0.1"), 80, 0) == 0x63AF8EA091F28128
    program = ("from pyreplay.rewrite import sample_session\n"
               "print(sum(sample_session(bytes([10, 0, i // 256, i % 256]), 1000 + i, 30)"
               " for i in range(5000)))")
    here = sum(sample_session(bytes([10, 0, i // 256, i % 256]), 1000 + i, 30)
               for i in range(5000))
    for seed in ("0", "4242"):
        out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        assert int(out.stdout) == here


# --- ClientAllocator: unit behaviour -------------------------------------------------------------

POOL = tuple(ip(f"10.9.8.{i}") for i in range(1, 5))
CLIENT = ip("192.0.2.7")


def preferred_addr(pool, key: ClientKey) -> bytes:
    """The documented preferred pool address: (fmix(client) + copy) mod pool size."""
    return pool[(mix_endpoint(key.addr, 0, POOL_SALT) + key.copy) % len(pool)]


def test_pool_keeps_the_port_and_one_address_per_client():
    alloc = ClientAllocator(POOL)
    first = alloc.allocate(ClientKey(CLIENT, 40000), now=0)
    second = alloc.allocate(ClientKey(CLIENT, 40002), now=0)
    assert first == (preferred_addr(POOL, ClientKey(CLIENT, 40000)), 40000)
    assert second == (first[0], 40002)
    assert alloc.stats().moved == 0


def test_copies_land_on_consecutive_addresses_with_the_original_port():
    alloc = ClientAllocator(POOL)
    got = [alloc.allocate(ClientKey(CLIENT, 40000, copy), now=0) for copy in range(3)]
    assert [port for _, port in got] == [40000] * 3
    start = POOL.index(got[0][0])
    assert [a for a, _ in got] == [POOL[(start + k) % len(POOL)] for k in range(3)]


def test_two_clients_on_one_pool_address_with_the_same_port_both_replay():
    # Scenario 4 of the reference: tcpcopy -c 10.9.8.1 loses one of these two sessions.
    alloc = ClientAllocator([ip("10.9.8.1")])
    a = alloc.allocate(ClientKey(ip("192.0.2.1"), 50000), now=0)
    b = alloc.allocate(ClientKey(ip("192.0.2.2"), 50000), now=0)
    assert a == (ip("10.9.8.1"), 50000)
    assert b[0] == ip("10.9.8.1") and b != a
    assert alloc.owner(*a) == ClientKey(ip("192.0.2.1"), 50000)
    assert alloc.owner(*b) == ClientKey(ip("192.0.2.2"), 50000)
    assert alloc.stats().moved == 1


def test_without_pool_the_client_address_is_kept_and_copies_move_port():
    alloc = ClientAllocator()
    original = alloc.allocate(ClientKey(CLIENT, 40000, 0), now=0)
    copy = alloc.allocate(ClientKey(CLIENT, 40000, 1), now=0)
    assert original == (CLIENT, 40000)
    assert copy == (CLIENT, 32768)


def test_one_client_port_to_two_online_services_is_two_sessions():
    alloc = ClientAllocator()
    a = alloc.allocate(ClientKey(CLIENT, 40000, dst_addr=ip("10.0.0.1"), dst_port=80), now=0)
    b = alloc.allocate(ClientKey(CLIENT, 40000, dst_addr=ip("10.0.0.1"), dst_port=81), now=0)
    assert a != b


def test_quarantine_holds_an_identity_exactly_that_long():
    alloc = ClientAllocator([ip("10.9.8.1")], quarantine=60)
    key, other = ClientKey(CLIENT, 40000), ClientKey(ip("192.0.2.99"), 40000)
    ident = alloc.allocate(key, now=100)
    assert alloc.release(key, now=110)
    assert alloc.allocate(other, now=169.5) != ident
    assert alloc.allocate(key, now=170) == ident


def test_time_going_back_counts_as_the_latest_time():
    alloc = ClientAllocator([ip("10.9.8.1")], quarantine=60)
    key = ClientKey(CLIENT, 40000)
    ident = alloc.allocate(key, now=100)
    alloc.release(key, now=100)
    assert alloc.allocate(ClientKey(ip("192.0.2.99"), 40000), now=50) != ident
    with pytest.raises(ValueError):
        alloc.allocate(key, now=float("nan"))


def test_live_key_gets_its_identity_again_and_unknown_release_is_false():
    alloc = ClientAllocator()
    key = ClientKey(CLIENT, 40000)
    assert alloc.allocate(key, now=0) == alloc.allocate(key, now=1) == alloc.identity(key)
    assert alloc.release(key, now=2) and not alloc.release(key, now=2)
    assert alloc.identity(key) is None and alloc.owner(CLIENT, 40000) is None


def test_exhaustion_is_clear_and_recovers_after_the_quarantine():
    alloc = ClientAllocator([ip("10.9.8.1")], quarantine=60, ports=(1024, 1027))
    keys = [ClientKey(CLIENT, 1024 + i) for i in range(4)]
    taken = {alloc.allocate(key, now=0) for key in keys}
    assert taken == {(ip("10.9.8.1"), p) for p in range(1024, 1028)}
    late = ClientKey(ip("192.0.2.50"), 1025)
    with pytest.raises(PoolExhausted, match=r"^no free client identity: 1 -c address\(es\) x 4 "
                                            r"ports, 4 live or resting 60 s after use"):
        alloc.allocate(late, now=0)
    for key in keys:
        alloc.release(key, now=10)
    with pytest.raises(PoolExhausted):
        alloc.allocate(late, now=69.9)
    fresh = [ClientKey(ip("192.0.2.50"), 1024 + i) for i in range(4)]
    assert {alloc.allocate(key, now=70) for key in fresh} == taken
    assert alloc.stats().exhausted == 2
    # an original port outside the moving range is still kept when free
    assert alloc.allocate(ClientKey(CLIENT, 2000), now=70) == (ip("10.9.8.1"), 2000)


def test_a_client_of_a_family_the_pool_lacks_is_refused():
    alloc = ClientAllocator([ip("10.9.8.1")])
    with pytest.raises(PoolExhausted, match="no IPv6 address"):
        alloc.allocate(ClientKey(ip("2001:db8::1"), 40000), now=0)


@pytest.mark.parametrize("port, share, expected", [
    (40002, PortSlice(0, 2), 40002), (40001, PortSlice(0, 2), 40002),
    (40001, PortSlice(3, 32), 40003), (65535, PortSlice(0, 2), 32768),
    (80, PortSlice(0, 1), 80),
])
def test_preferred_port_moves_up_into_the_share(port, share, expected):
    alloc = ClientAllocator(port_slice=share)
    assert alloc.allocate(ClientKey(CLIENT, port), now=0) == (CLIENT, expected)


@pytest.mark.parametrize("args, kwargs", [
    (([ip("10.0.0.1"), ip("10.0.0.1")],), {}), (([b"\x01\x02"],), {}),
    ((), {"quarantine": -1}), ((), {"ports": (0, 10)}), ((), {"ports": (2000, 1000)}),
    ((), {"ports": (1024, 1024), "port_slice": PortSlice(1, 2)}),
])
def test_allocator_rejects_bad_setup(args, kwargs):
    with pytest.raises(ValueError):
        ClientAllocator(*args, **kwargs)


def test_memory_stays_bounded_over_many_short_sessions():
    rng = random.Random(3)
    for pool in ((), tuple(ip(f"10.9.8.{i}") for i in range(1, 255))):
        alloc = ClientAllocator(pool, quarantine=1.0)
        now = 0.0
        for _ in range(20_000):
            key = ClientKey(rng.getrandbits(32).to_bytes(4, "big"), rng.randrange(1024, 65536))
            alloc.allocate(key, now)
            alloc.release(key, now + 0.005)
            now += 0.01
        assert alloc.stats().tracked <= 2 * (1.0 / 0.01) + 2
        alloc.release(ClientKey(CLIENT, 1), now + 5)  # just lets time pass
        stats = alloc.stats()
        assert stats.live == stats.quarantined == 0
        assert stats.tracked <= (0 if not pool else 1.0 / 0.01 + 2)


# --- ClientAllocator: properties -----------------------------------------------------------------

CLIENTS = (ip("192.0.2.1"), ip("192.0.2.2"), ip("198.51.100.3"))
SMALL_POOL = (ip("10.9.8.1"), ip("10.9.8.2"))
PORTS = (1024, 1027)


class AllocatorMachine(RuleBasedStateMachine):
    """Model: identities live now, and when each was last released."""

    @initialize(with_pool=st.booleans(), quarantine=st.sampled_from([0.0, 1.0, 2.5]))
    def setup(self, with_pool, quarantine):
        self.pool = SMALL_POOL if with_pool else ()
        self.quarantine = quarantine
        self.alloc = ClientAllocator(self.pool, quarantine=quarantine, ports=PORTS)
        self.clock = 0.0  # what we pass; may go back
        self.now = float("-inf")  # the latest time passed so far: what the allocator must act on
        self.live: dict[ClientKey, tuple[bytes, int]] = {}
        self.released: dict[tuple[bytes, int], float] = {}
        self.peak_busy = 0

    def busy(self) -> set[tuple[bytes, int]]:
        resting = {i for i, t in self.released.items() if t + self.quarantine > self.now}
        return set(self.live.values()) | resting

    @rule(client=st.sampled_from(CLIENTS), port=st.integers(1020, 1030), copy=st.integers(0, 2),
          dst_port=st.sampled_from([0, 80]))
    def allocate(self, client, port, copy, dst_port):
        key = ClientKey(client, port, copy, dst_port=dst_port)
        self.now = max(self.now, self.clock)
        if key in self.live:
            assert self.alloc.allocate(key, self.clock) == self.live[key]
            return
        busy = self.busy()
        preferred = (preferred_addr(self.pool, key) if self.pool else client, port)
        space = {(a, p) for a in (self.pool or (client,)) for p in range(PORTS[0], PORTS[1] + 1)}
        try:
            ident = self.alloc.allocate(key, self.clock)
        except PoolExhausted:
            assert preferred in busy and space <= busy  # refused only when nothing was free
            return
        assert ident not in busy  # never live, never resting
        assert ident == preferred or preferred in busy  # the original port when it can be
        assert ident in space or ident == preferred
        self.live[key] = ident
        self.peak_busy = max(self.peak_busy, len(self.busy()))

    @rule(data=st.data())
    def release(self, data):
        if not self.live:
            return
        key = data.draw(st.sampled_from(sorted(self.live, key=repr)))
        self.now = max(self.now, self.clock)
        assert self.alloc.release(key, self.clock)
        self.released[self.live.pop(key)] = self.now

    @rule(dt=st.sampled_from([0.0, 0.5, 1.0, 2.5, 3.0, -1.0]))
    def tick(self, dt):
        self.clock += dt  # the allocator sees it at the next call

    @invariant()
    def counts_match(self):
        if not hasattr(self, "alloc"):
            return
        stats = self.alloc.stats()
        assert stats.live == len(self.live)
        spaces = 1 if self.pool else len(CLIENTS)
        assert stats.tracked <= stats.live + stats.quarantined + spaces * (self.peak_busy + 1)


TestAllocatorMachine = AllocatorMachine.TestCase
TestAllocatorMachine.settings = settings(max_examples=300, stateful_step_count=60,
                                         deadline=None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(CLIENTS), st.integers(1, 65535), st.integers(0, 3)),
                min_size=1, max_size=60),
       st.sampled_from([2, 3, 32]))
def test_processes_with_different_shares_never_collide(sessions, count):
    allocators = [ClientAllocator(SMALL_POOL, port_slice=PortSlice(i, count)) for i in range(2)]
    seen: dict[tuple[bytes, int], int] = {}
    for n, (client, port, copy) in enumerate(sessions):
        for index, alloc in enumerate(allocators):
            ident = alloc.allocate(ClientKey(client, port, copy), now=n)
            assert ident[1] % count == index and 0 < ident[1] <= 65535
            assert seen.setdefault(ident, index) == index  # no identity in two processes
