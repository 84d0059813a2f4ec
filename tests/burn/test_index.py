"""SessionIndex: which captured packets become replayable sessions, stored once."""

import socket

from pyreplay.burn import SessionIndex
from pyreplay.config import parse_transfers
from pyreplay.packet.segment import ACK, FIN, PSH, RST, SYN

from .captures import merged, session

X = parse_transfers("80-10.0.0.30:8080")
REQ = [b"GET /1 HTTP/1.1\r\n\r\n", b"GET /2 HTTP/1.1\r\n\r\n"]


def flags(s):
    return [seg.flags for seg in s.segments]


def test_keeps_client_packets_to_x_in_capture_order_with_offsets():
    idx = SessionIndex.build(merged(session(4001, REQ, t0=0.5), session(4000, REQ, t0=0.2)), X)
    assert [s.key[1] for s in idx.sessions] == [4000, 4001]  # capture order, not port order
    s = idx[0]
    assert flags(s) == [SYN, ACK, ACK | PSH, ACK | PSH, FIN | ACK]  # response ACKs dropped
    assert s.offsets[0] == 0.0 and list(s.offsets) == sorted(s.offsets)
    assert abs(s.offsets[3] - 0.103) < 1e-6
    assert s.target == (socket.inet_aton("10.0.0.30"), 8080)
    assert s.payload_bytes == sum(map(len, REQ)) and s.requests == 2 and s.has_syn and s.has_fin
    assert idx.skipped.get("packets: not to a -x address:port", 0) == 2 * 3  # the server's packets
    assert idx.skipped.get("packets: pure ACK (not needed to replay)", 0) == 2 * 2


def test_port_reuse_with_new_syn_starts_a_new_session_and_syn_retransmission_does_not():
    first = session(4000, REQ[:1], t0=0.0, isn=1000)
    again = session(4000, REQ[1:], t0=1.0, isn=900_000)
    retrans = [(first[0][0] + 0.2, first[0][1])]
    idx = SessionIndex.build(merged(first, retrans, again), X)
    assert len(idx) == 2
    assert [s.segments[2].payload for s in idx.sessions] == REQ
    assert idx.skipped.get("packets: SYN retransmission", 0) == 1


def test_sessions_without_syn_are_faked_or_skipped_and_counted():
    records = merged(session(4000, REQ), session(4001, REQ[:1], syn=False, t0=0.1))
    faked = SessionIndex.build(records, X)
    assert len(faked) == 2 and faked.without_syn == 1
    assert faked.skipped.get("sessions: no SYN captured (handshake faked)", 0) == 1
    assert faked.sessions[1].segments[0].payload == REQ[0]
    skipped = SessionIndex.build(records, X, skip_without_syn=True)
    assert len(skipped) == 1 and skipped.without_syn == 0
    assert skipped.skipped.get("sessions: no SYN captured (skipped by --no-syn skip)", 0) == 1


def test_comet_drops_client_fin_and_rst():
    idx = SessionIndex.build(merged(session(4000, REQ, close="fin"), session(4001, REQ, close="rst")), X,
                             comet=True)
    assert all(not f & (FIN | RST) for s in idx.sessions for f in flags(s))
    assert idx.skipped.get("packets: client FIN/RST not replayed (--comet)", 0) == 2
    assert not any(s.has_fin for s in idx.sessions)


def test_sessions_without_payload_and_garbage_are_counted_not_kept():
    syn_only = session(4000, [], close="none")
    idx = SessionIndex.build(merged(syn_only, [(0.5, b"\x45garbage")], session(4001, REQ, t0=1)), X)
    assert len(idx) == 1
    assert idx.skipped.get("sessions: no payload (nothing to replay)", 0) == 1
    assert any(k.startswith("packets: unparsable") for k in idx.skipped)


def test_filter_predicate_sees_every_packet():
    idx = SessionIndex.build(merged(session(4000, REQ), session(4001, REQ, t0=1)), X,
                             keep=lambda packet: packet[20:22] != (4001).to_bytes(2, "big"))
    assert [s.key[1] for s in idx.sessions] == [4000]
    assert idx.skipped.get("packets: not matching --filter", 0) == 7  # its client packets


def test_nothing_usable_gives_an_empty_index():
    idx = SessionIndex.build(session(4000, REQ), parse_transfers("81-10.0.0.30:8080"))
    assert len(idx) == 0 and idx.packets == 10
