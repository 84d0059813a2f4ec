"""IdentityPool: tcpburn's identity layouts, port seed, no live duplicates, quarantine."""

import random
import socket

import pytest

from pyreplay.burn import IdentityPool, session_for
from pyreplay.burn.users import port_order
from pyreplay.config import UserLayout

A = tuple(socket.inet_aton(f"10.9.0.{i}") for i in (1, 2, 3))


def take(pool, n, now=0.0):
    return [pool.acquire(now) for _ in range(n)]


def test_ip_first_layout_spreads_users_over_addresses_first():
    got = take(IdentityPool(A, UserLayout.IP_FIRST), 4)
    assert got == [(A[0], 32768), (A[1], 32768), (A[2], 32768), (A[0], 32769)]


def test_port_first_layout_uses_every_port_of_one_address_first():
    pool = IdentityPool(A, UserLayout.PORT_FIRST)
    assert take(pool, 2) == [(A[0], 32768), (A[0], 32769)]
    assert pool.at(28233) == (A[1], 32768)


def test_port_seed_shuffles_deterministically_over_the_whole_range():
    assert port_order(0) == list(range(32768, 61001))
    shuffled = port_order(7)
    assert shuffled == port_order(7) != port_order(8)
    assert sorted(shuffled) == list(range(32768, 61001))
    assert IdentityPool(A, port_seed=7).acquire(0) == (A[0], shuffled[0])


def test_exhaustion_then_reuse_only_after_quarantine():
    pool = IdentityPool(A[:1], quarantine=60.0)
    ids = take(pool, pool.size)
    assert len(set(ids)) == 28233
    assert pool.acquire(1.0) is None and pool.next_free_at() is None
    pool.release(ids[5], 10.0)
    assert pool.acquire(69.9) is None and pool.next_free_at() == 70.0
    assert pool.acquire(70.0) == ids[5]
    with pytest.raises(ValueError):
        pool.release((A[1], 40000), 71.0)


def test_random_acquire_release_never_hands_out_a_live_or_resting_identity():
    rng = random.Random(1)
    pool = IdentityPool(A[:1], quarantine=5.0)
    live, order, released_at = set(), [], {}
    now = 0.0
    for _ in range(60_000):
        now += rng.random() * 0.01
        if live and rng.random() < 0.45:
            ident = order.pop(rng.randrange(len(order)))
            live.remove(ident)
            pool.release(ident, now)
            released_at[ident] = now
        else:
            ident = pool.acquire(now)
            if ident is None:
                continue
            assert ident not in live
            assert now - released_at.get(ident, -1e9) >= 5.0
            live.add(ident)
            order.append(ident)
    assert pool.live == len(live)


def test_users_cycle_over_sessions():
    assert [session_for(n, 3) for n in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    with pytest.raises(ValueError):
        session_for(0, 0)
