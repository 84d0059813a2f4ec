"""A target that closes (FIN) or resets a connection before answering a request: the session
goes on on a new connection from the first byte of that request, so it and every request after
it reach the target whole (docs/decisions.md, "Target closes").

Keep-alive traffic below: request Rk carries the client ACK ``Ak``; the online response to Rk
was ``RESP[k]`` bytes, so ``Ak+1 = Ak + RESP[k]``. ``Ok`` is Rk's first client byte.
"""

from __future__ import annotations

from collections import Counter

import pytest

from pyreplay.session.stream import CapturedStream

from session_playbook import CISN, OISN, cseg, s

RESP = {1: 100, 2: 200, 3: 300}
A1 = OISN + 1
A2 = A1 + RESP[1]
A3 = A2 + RESP[2]
AFIN = A3 + RESP[3]

R1 = b"GET /1 HTTP/1.1\r\n\r\n"
R2A, R2B = b"POST /2 HTTP/1.1\r\n", b"Content-Length: 0\r\n\r\n"
R2 = R2A + R2B
R3 = b"GET /3 HTTP/1.1\r\n\r\n"
O1 = CISN + 1
O2 = O1 + len(R1)
O2B = O2 + len(R2A)
O3 = O2 + len(R2)
OFIN = O3 + len(R3)


# ---------------------------------------------------------------------- the stream's part


def test_stream_rewind_gives_back_the_retained_bytes_as_captured():
    stream = CapturedStream(O1, 1 << 20)
    for seq, ack, payload in ((O1, A1, R1), (O2, A2, R2A), (O2B, A2, R2B), (O3, A3, R3)):
        stream.add(cseg(seq, ack, payload=payload), Counter())
    stream.take(100)  # R1, not retained
    first = stream.take(5, retain=True)  # R2 cut by a window
    rest = stream.take(100, retain=True)
    assert first.payload + rest.payload == R2A and stream.retained_bytes == len(R2A)
    assert stream.take(100, retain=True).payload == R2B
    assert stream.retained_from == s(O2)
    assert stream.rewind() == len(R2) and stream.retained_bytes == 0
    taken = [stream.take(1000) for _ in range(4)]
    assert [(c.seq, c.client_ack, c.payload) for c in taken] == [
        (s(O2), s(A2), R2A[:5]), (s(O2 + 5), s(A2), R2A[5:]), (s(O2B), s(A2), R2B), (s(O3), s(A3), R3)]


def test_stream_release_before_keeps_only_from_a_chunk_start():
    stream = CapturedStream(O1, 1 << 20)
    for seq, ack, payload in ((O1, A1, R1), (O2, A2, R2), (O3, A3, R3)):
        stream.add(cseg(seq, ack, payload=payload), Counter())
    for _ in range(3):
        stream.take(1000, retain=True)
    stream.release_before(O2)
    assert stream.retained_from == s(O2) and stream.retained_bytes == len(R2) + len(R3)
    with pytest.raises(ValueError):
        stream.release_before(O2 + 1)
    stream.release_all()
    assert stream.retained_from is None and stream.rewind() == 0 and stream.peek() is None
