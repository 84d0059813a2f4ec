"""The lab's HTTP server and load generator against each other in real namespaces:
the request log must be exact (every request, body bytes, order per connection)."""

import hashlib

import pytest

from pyreplay.lab.load import LoadPlan, request_body
from pyreplay.lab.services import ONLINE_PORT, run_load, start_http_server, wait_for_requests
from pyreplay.lab.topology import HOST_ADDRESSES, lab

pytestmark = pytest.mark.netns
ONLINE = HOST_ADDRESSES["online"]


@pytest.fixture(scope="module")
def online_lab():
    with lab() as the_lab:
        yield the_lab


def fresh_server(the_lab, name):
    return start_http_server(the_lab, "online", ONLINE_PORT, log_name=name)


def test_keepalive_requests_are_logged_in_order_per_connection(online_lab):
    server = fresh_server(online_lab, "ka.log")
    try:
        result = run_load(online_lab, LoadPlan(ONLINE, ONLINE_PORT, 300, concurrency=5, path_prefix="/ka"))
        assert result.requests_ok == 300 and result.errors == 0 and result.connections == 5
        records = wait_for_requests(server, 300)
        assert sorted(int(r.target.split("/")[-1]) for r in records) == list(range(300))
        assert {r.client_addr for r in records} == {HOST_ADDRESSES["client"]}
        by_conn = {}
        for r in records:
            by_conn.setdefault(r.conn, []).append(r)
        assert len(by_conn) == 5
        for rs in by_conn.values():
            assert [r.idx for r in rs] == list(range(len(rs)))
            numbers = [int(r.target.split("/")[-1]) for r in rs]
            assert numbers == sorted(numbers)  # a worker sends its requests in order
    finally:
        server.process.terminate()
        server.process.wait(5)


def test_one_request_per_connection_pipelining_and_large_posts(online_lab):
    server = fresh_server(online_lab, "mixed.log")
    try:
        short = run_load(online_lab, LoadPlan(ONLINE, ONLINE_PORT, 100, 4, keepalive=False, path_prefix="/s"))
        piped = run_load(online_lab, LoadPlan(ONLINE, ONLINE_PORT, 40, 2, pipeline=4, path_prefix="/p"))
        big = run_load(online_lab, LoadPlan(ONLINE, ONLINE_PORT, 3, 1, body_bytes=1 << 20, resp_bytes=100000,
                                            path_prefix="/big"))
        assert (short.requests_ok, piped.requests_ok, big.requests_ok) == (100, 40, 3)
        assert short.connections == 100 and piped.connections == 2
        records = wait_for_requests(server, 143)
        assert len(records) == 143
        for r in records:
            if r.target.startswith("/big"):
                index = int(r.target.split("/")[-1].split("?")[0])
                assert r.method == "POST" and r.body_len == 1 << 20
                assert r.body_sha256 == hashlib.sha256(request_body(index, 1 << 20)).hexdigest()
    finally:
        server.process.terminate()
        server.process.wait(5)


@pytest.mark.parametrize("reset, error", [(False, "IncompleteReadError"), (True, "ConnectionResetError")])
def test_close_after_ends_keepalive_connections_at_the_next_request_unanswered(online_lab, reset, error):
    server = start_http_server(online_lab, "online", ONLINE_PORT, log_name=f"close-{reset}.log",
                               close_after=3, close_with_reset=reset)
    try:
        result = run_load(online_lab, LoadPlan(ONLINE, ONLINE_PORT, 8, 1, path_prefix="/c"))
        # 0 1 2 answered, 3 closed on (FIN, or RST), 4 5 6 on a new connection, 7 closed on
        assert (result.requests_ok, result.errors, result.connections) == (6, 2, 2), result
        assert result.first_error.startswith(error), result
        records = wait_for_requests(server, 6)
        assert [(r.conn, r.idx, r.target) for r in records] == [
            (1, 0, "/c/0"), (1, 1, "/c/1"), (1, 2, "/c/2"), (2, 0, "/c/4"), (2, 1, "/c/5"), (2, 2, "/c/6")]
    finally:
        server.process.terminate()
        server.process.wait(5)


def test_load_reports_failures_instead_of_hiding_them(online_lab):
    result = run_load(online_lab, LoadPlan(ONLINE, 9, 5, 1, max_seconds=5))  # nothing listens on :9
    assert result.requests_ok == 0 and result.errors == 5 and "Connection" in result.first_error
