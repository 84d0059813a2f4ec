"""Router: exact routes, early SYN-ACKs held then delivered, expiry, connection loss."""

from __future__ import annotations

import pytest

from pyreplay.channel.router import Router
from pyreplay.packet.segment import ACK, FIN, RST, SYN, ResponseSummary

TARGET = bytes([10, 0, 0, 2])
CLIENT_A, CLIENT_B = bytes([10, 9, 0, 1]), bytes([10, 8, 0, 1])


def reg(router, client, port, conn, now=0.0, target=TARGET, tport=80):
    return router.register(client, port, target, tport, conn, now)


def resp(client, port, flags=ACK, seq=1, target=TARGET, tport=80, plen=0):
    return ResponseSummary(target, client, tport, port, seq, 1, flags, 100, plen)


def test_each_response_goes_to_the_connection_that_registered_its_client():
    r = Router()
    reg(r, CLIENT_A, 1000, "copy-1")
    reg(r, CLIENT_A, 1001, "copy-2")
    reg(r, CLIENT_A, 1000, "copy-3", target=TARGET, tport=81)
    assert r.route(resp(CLIENT_A, 1000), 1.0) == [("copy-1", resp(CLIENT_A, 1000))]
    assert r.route(resp(CLIENT_A, 1001), 1.0) == [("copy-2", resp(CLIENT_A, 1001))]
    assert r.route(resp(CLIENT_A, 1000, tport=81), 1.0) == [
        ("copy-3", resp(CLIENT_A, 1000, tport=81))]
    assert r.stats().routed == 3


def test_two_copy_processes_with_distinct_clients_each_get_only_their_own():
    r = Router()
    for port in range(2000, 2050):
        reg(r, CLIENT_A, port, "copy-a")
        reg(r, CLIENT_B, port, "copy-b")
    got = {"copy-a": [], "copy-b": []}
    for port in range(2000, 2050):
        for client in (CLIENT_A, CLIENT_B):
            for conn, s in r.route(resp(client, port, plen=10), 1.0):
                got[conn].append(s.dst)
    assert got["copy-a"] == [CLIENT_A] * 50 and got["copy-b"] == [CLIENT_B] * 50


def test_response_for_an_unknown_connection_is_counted_and_dropped():
    r = Router()
    reg(r, CLIENT_A, 1000, "c")
    assert r.route(resp(CLIENT_A, 1001, flags=ACK, plen=100), 1.0) == []
    assert r.route(resp(CLIENT_B, 1000, flags=FIN | ACK), 1.0) == []
    stats = r.stats()
    assert stats.unrouted == 2 and stats.delayed == 0
    assert reg(r, CLIENT_A, 1001, "c", 1.1) == []  # nothing was held for it


def test_early_syn_ack_is_held_then_delivered_in_order_on_register():
    r = Router()
    syn_ack, rst = resp(CLIENT_A, 1000, SYN | ACK, seq=7), resp(CLIENT_A, 1000, RST, seq=8)
    assert r.route(syn_ack, 1.0) == []
    assert r.route(rst, 1.001) == []
    assert r.stats().delayed == 2 and r.stats().delayed_pending == 2
    assert reg(r, CLIENT_A, 1000, "copy-1", 1.002) == [("copy-1", syn_ack), ("copy-1", rst)]
    stats = r.stats()
    assert stats.delayed_delivered == 2 and stats.delayed_pending == 0
    assert reg(r, CLIENT_A, 1000, "copy-1", 1.003) == []  # delivered once


def test_held_response_expires():
    r = Router(delay_ttl=10.0)
    r.route(resp(CLIENT_A, 1000, SYN | ACK), 1.0)
    assert reg(r, CLIENT_A, 1000, "c", 11.0) == []
    assert r.stats().delayed_expired == 1


def test_held_responses_are_purged_lazily_and_stay_bounded():
    r = Router(delay_ttl=5.0, delay_capacity=10, delay_per_key=2)
    for port in range(30):
        r.route(resp(CLIENT_A, port, SYN | ACK), 0.0)
    assert r.stats().delayed_pending == 10 and r.stats().delayed_dropped == 20
    for _ in range(3):  # per key only the latest two are kept
        r.route(resp(CLIENT_B, 1, RST), 0.0)
    assert r.stats().delayed_pending == 10
    r.route(resp(CLIENT_A, 1, ACK), 6.0)  # any later call purges
    assert r.stats().delayed_pending == 0 and r.stats().delayed_expired == 10
    assert reg(r, CLIENT_A, 29, "c", 6.0) == []


def test_oldest_held_responses_go_first_when_full():
    r = Router(delay_capacity=2)
    old, mid, new = (resp(CLIENT_A, p, SYN | ACK) for p in (1, 2, 3))
    for t, s in enumerate((old, mid, new)):
        r.route(s, float(t))
    assert reg(r, CLIENT_A, 1, "c", 3.0) == []
    assert reg(r, CLIENT_A, 2, "c", 3.0) == [("c", mid)]
    assert reg(r, CLIENT_A, 3, "c", 3.0) == [("c", new)]


def test_drop_connection_removes_only_its_routes():
    r = Router()
    reg(r, CLIENT_A, 1, "copy-1")
    reg(r, CLIENT_A, 2, "copy-1")
    reg(r, CLIENT_B, 1, "copy-2")
    assert r.drop_connection("copy-1") == 2
    assert r.drop_connection("copy-1") == 0
    assert r.route(resp(CLIENT_A, 1, plen=5), 1.0) == []
    assert r.route(resp(CLIENT_B, 1, plen=5), 1.0) == [("copy-2", resp(CLIENT_B, 1, plen=5))]
    assert len(r) == 1 and r.stats().routes_dropped == 2


def test_latest_registration_wins_and_is_counted():
    r = Router()
    reg(r, CLIENT_A, 1, "copy-1", 0.0)
    reg(r, CLIENT_A, 1, "copy-2", 1.0)
    assert r.route(resp(CLIENT_A, 1), 2.0) == [("copy-2", resp(CLIENT_A, 1))]
    assert r.stats().takeovers == 1 and r.stats().registrations == 2
    # The loser's stale Unregister and its closing leave the winner's route alone.
    assert not r.unregister(CLIENT_A, 1, TARGET, 80, "copy-1", 3.0)
    assert r.drop_connection("copy-1") == 0
    assert r.owner((CLIENT_A, 1, TARGET, 80)) == "copy-2"


def test_unregister_removes_the_route():
    r = Router()
    reg(r, CLIENT_A, 1, "c")
    assert r.unregister(CLIENT_A, 1, TARGET, 80, "c", 1.0)
    assert r.route(resp(CLIENT_A, 1, plen=3), 1.0) == []
    assert r.stats().unregistrations == 1 and r.stats().unrouted == 1
    assert not r.unregister(CLIENT_A, 1, TARGET, 80, "c", 1.0)
    assert r.stats().unregister_ignored == 1
    assert r.drop_connection("c") == 0


def test_idle_routes_expire_but_used_ones_stay():
    r = Router(idle_timeout=100.0)
    reg(r, CLIENT_A, 1, "c", 0.0)
    reg(r, CLIENT_A, 2, "c", 0.0)
    r.route(resp(CLIENT_A, 2), 60.0)  # keeps route 2 alive
    assert r.route(resp(CLIENT_A, 1, plen=1), 100.0) == []
    assert r.route(resp(CLIENT_A, 2), 159.0) == [("c", resp(CLIENT_A, 2))]
    assert r.stats().routes_expired == 1 and len(r) == 1
    r.purge(1000.0)
    assert len(r) == 0 and r.drop_connection("c") == 0


def test_route_count_is_bounded_least_recently_used_first():
    r = Router(max_routes=3)
    for port in range(3):
        reg(r, CLIENT_A, port, "c", float(port))
    r.route(resp(CLIENT_A, 0), 5.0)
    reg(r, CLIENT_A, 9, "c", 6.0)
    assert r.owner((CLIENT_A, 1, TARGET, 80)) is None
    assert r.owner((CLIENT_A, 0, TARGET, 80)) == "c"
    assert len(r) == 3 and r.stats().routes_evicted == 1


def test_ipv6_routes():
    t6, c6 = bytes(range(16)), bytes(range(100, 116))
    r = Router()
    r.register(c6, 5, t6, 443, "c", 0.0)
    s = ResponseSummary(t6, c6, 443, 5, 1, 1, ACK, 1, 1)
    assert r.route(s, 0.0) == [("c", s)]


@pytest.mark.parametrize("kwargs", [dict(idle_timeout=0), dict(max_routes=0), dict(delay_ttl=0)])
def test_bad_limits_are_refused(kwargs):
    with pytest.raises(ValueError):
        Router(**kwargs)
