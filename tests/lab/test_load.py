"""Load generator pieces that need no network: request bytes and bodies."""

import hashlib

from pyreplay.lab.load import LoadPlan, build_request, request_body


def test_bodies_are_deterministic_distinct_and_sized():
    assert request_body(1, 100) == request_body(1, 100)
    assert request_body(1, 100) != request_body(2, 100)
    assert len(request_body(5, 1 << 20)) == 1 << 20
    assert request_body(3, 0) == b""


def test_post_request_carries_content_length_and_body():
    plan = LoadPlan("h", 80, 1, body_bytes=10, resp_bytes=5)
    raw = build_request(plan, 4, close=True)
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /load/4?resp=5 HTTP/1.1")
    assert b"Content-Length: 10" in head and b"Connection: close" in head
    assert hashlib.sha256(body).digest() == hashlib.sha256(request_body(4, 10)).digest()


def test_get_request_has_no_body():
    raw = build_request(LoadPlan("h", 80, 1), 0, close=False)
    assert raw.startswith(b"GET /load/0 HTTP/1.1") and raw.endswith(b"\r\n\r\n")
