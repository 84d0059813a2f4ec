"""Rule 6 (captured-stream irregularities), rule 7 (FIN/RST ordering, reconnection);
scenarios 15-18, 20-22."""

from pyreplay.session.state import Phase

from session_playbook import (
    ACK, CISN, FIN, OISN, RST, SYN, TISN, Playbook, brief, cseg, resp, s, sent,
)


def _established(**config):
    pb = Playbook(**config)
    pb.open_with_syn()
    return pb


def _data(out):
    return [(seg.seq, seg.payload) for seg in sent(out) if seg.payload]


def test_scenario_15_client_retransmission_is_sent_once():
    pb = _established()
    seg = cseg(CISN + 1, OISN + 1, payload=b"hello")
    assert len(_data(pb.client(seg))) == 1
    assert pb.client(seg) == [] and pb.client(seg) == []
    assert pb.session.counters.get("client_retransmission", 0) == 2


def test_scenario_16_partial_overlap_sends_only_new_bytes():
    pb = _established()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"A" * 1000))
    out = pb.client(cseg(CISN + 1, OISN + 1, payload=b"A" * 1000 + b"B" * 1000))
    assert _data(out) == [(s(CISN + 1001), b"B" * 1000)]


def test_scenario_17_out_of_order_capture_is_sent_in_order():
    pb = _established()
    assert pb.client(cseg(CISN + 6, OISN + 1, payload=b"world")) == []
    out = pb.client(cseg(CISN + 1, OISN + 1, payload=b"hello"))
    assert _data(out) == [(s(CISN + 1), b"hello"), (s(CISN + 6), b"world")]


def test_scenario_18_hole_that_never_fills_ends_session_with_reason_fix():
    """Deliberate fix: the original stalled for hours (PACK_LOSS_TIMEOUT compared in seconds).
    Nothing after the hole starts a request (same client ACK) before the FIN: the session ends
    (a hole followed by a request is resynced past: test_capture_holes.py)."""
    pb = _established(capture_gap_timeout=5.0)
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"hello"))
    pb.target(resp(TISN + 1, CISN + 6), at=pb.now + 0.01)
    t_gap = pb.now + 0.1
    assert pb.client(cseg(CISN + 20, OISN + 1, payload=b"after-hole"), at=t_gap) == []
    assert pb.client(cseg(CISN + 30, OISN + 1, flags=FIN | ACK), at=t_gap + 0.01) == []
    out = pb.advance_to_deadline()
    assert abs(pb.now - (t_gap + 5.0)) < 1e-9
    assert brief(out) == [("RST|ACK", s(CISN + 6), s(TISN + 1)), ("unregister",), ("finished", "capture_gap")]
    assert pb.session.counters.get("capture_gaps", 0) == 1


def test_overlapping_out_of_order_pieces_and_duplicates_give_exact_stream():
    pb = _established()
    stream = bytes(range(256)) * 4
    pieces = [(300, 700), (100, 400), (600, 1024), (1, 50), (300, 700), (40, 120), (0, 10)]
    out = []
    for a, b in pieces:
        out += pb.client(cseg(CISN + 1 + a, OISN + 1, payload=stream[a:b]))
    data = _data(out)
    assert b"".join(p for _, p in data) == stream
    assert [seq for seq, _ in data] == sorted({seq for seq, _ in data}, key=lambda q: (q - CISN) % 2**32)


def test_scenario_20_client_rst_held_until_response_ends_then_sent():
    pb = _established()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"req"))
    assert pb.client(cseg(CISN + 4, OISN + 1, flags=RST | ACK)) == []
    pb.respond(0, 50, CISN + 4, at=pb.now + 0.01)
    out = []
    while pb.session.phase is not Phase.CLOSED:
        out += pb.advance_to_deadline()
    assert brief(out)[-3:] == [("RST|ACK", s(CISN + 4), s(TISN + 51)), ("unregister",),
                               ("finished", "client_reset")]


def test_scenario_20_client_rst_while_idle_is_forwarded_at_once():
    pb = _established()
    out = pb.client(cseg(CISN + 1, OISN + 1, flags=RST))
    assert brief(out) == [("RST|ACK", s(CISN + 1), s(TISN + 1)), ("unregister",), ("finished", "client_reset")]


def test_scenario_21_fin_waits_for_target_ack_of_all_data():
    pb = _established(no_wait=True)
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"abc"))
    assert pb.client(cseg(CISN + 4, OISN + 1, flags=FIN | ACK)) == []
    # response arrived, but our data not acked yet: no FIN
    pb.target(resp(TISN + 1, CISN + 1, payload_len=5), at=pb.now + 0.01)
    pb.tick(pb.now + 1)
    assert pb.session.phase is Phase.AWAITING_RESPONSE
    out = pb.target(resp(TISN + 6, CISN + 4), at=pb.now + 0.01)
    assert brief(out) == [("FIN|ACK", s(CISN + 4), s(TISN + 6))]
    out = pb.target(resp(TISN + 6, CISN + 5, flags=FIN | ACK), at=pb.now + 0.01)
    assert brief(out) == [("ACK", s(CISN + 5), s(TISN + 7)), ("unregister",), ("finished", "complete")]


def test_fin_with_payload_sends_data_then_fin_after_response():
    pb = _established()
    out = pb.client(cseg(CISN + 1, OISN + 1, flags=FIN | ACK, payload=b"bye"))
    assert brief(out) == [("ACK", s(CISN + 1), s(TISN + 1), b"bye")]
    pb.respond(0, 3, CISN + 4, at=pb.now + 0.01)
    out = pb.advance_to_deadline() + pb.advance_to_deadline()
    assert brief(out) == [("ACK", s(CISN + 4), s(TISN + 4)), ("FIN|ACK", s(CISN + 4), s(TISN + 4))]


def test_scenario_22_target_fin_with_unsent_requests_reconnects_with_faked_syn():
    pb = _established()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"req1"))
    pb.client(cseg(CISN + 5, OISN + 11, payload=b"req2"))  # waits for resp1
    out = pb.target(resp(TISN + 1, CISN + 5, flags=FIN | ACK, payload_len=10), at=pb.now + 0.01)
    assert brief(out) == [
        ("ACK", s(CISN + 5), s(TISN + 12)),
        ("RST|ACK", s(CISN + 5), s(TISN + 12)),
        ("register",),
        ("SYN", s(CISN + 4)),
    ]
    assert sent(out)[-1].options.mss == 1460 and pb.session.phase is Phase.SYN_SENT
    out = pb.target(resp(9000, CISN + 5, flags=SYN | ACK), at=pb.now + 0.01)
    assert brief(out) == [("ACK", s(CISN + 5), 9001), ("PSH|ACK", s(CISN + 5), 9001, b"req2")]
    assert all(seg.window == 65535 for seg in sent(out))
    assert pb.session.counters.get("reconnects", 0) == 1


def test_scenario_22_target_rst_with_unsent_requests_reconnects_without_own_rst():
    """req1 answered as long as online, then RST: the new connection starts at req2 (an RST
    before req1's answer resends req1: test_reconnect_rewind.py)."""
    pb = _established()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"req1"))
    pb.client(cseg(CISN + 5, OISN + 11, payload=b"req2"))
    pb.respond(0, 10, CISN + 5, at=pb.now + 0.01)
    out = pb.target(resp(TISN + 11, CISN + 5, flags=RST | ACK), at=pb.now + pb.config.sized_response_grace / 2)
    assert brief(out) == [("register",), ("SYN", s(CISN + 4))]


def test_scenario_22_target_fin_without_unsent_data_waits_for_client_fin():
    pb = _established()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"req1"))
    out = pb.target(resp(TISN + 1, CISN + 5, flags=FIN | ACK, payload_len=10), at=pb.now + 0.01)
    assert brief(out) == [("ACK", s(CISN + 5), s(TISN + 12))]
    assert pb.session.phase is Phase.CLOSE_WAIT
    out = pb.client(cseg(CISN + 5, OISN + 12, flags=FIN | ACK), at=pb.now + 0.01)
    assert brief(out) == [("FIN|ACK", s(CISN + 5), s(TISN + 12))]
    out = pb.target(resp(TISN + 12, CISN + 6), at=pb.now + 0.01)
    assert brief(out) == [("unregister",), ("finished", "complete")]


def test_close_wait_ends_after_linger_when_client_never_closes():
    pb = _established(linger=6.0)
    pb.target(resp(TISN + 1, CISN + 1, flags=FIN | ACK), at=pb.now + 0.01)
    t = pb.now
    out = pb.advance_to_deadline()
    assert pb.now == t + 6.0
    assert brief(out)[-1] == ("finished", "complete") and brief(out)[0][0] == "RST|ACK"


def test_client_data_after_target_close_reconnects():
    pb = _established()
    pb.target(resp(TISN + 1, CISN + 1, flags=FIN | ACK), at=pb.now + 0.01)
    out = pb.client(cseg(CISN + 1, OISN + 1, payload=b"more"), at=pb.now + 1)
    assert brief(out)[-2:] == [("register",), ("SYN", s(CISN))]


def test_target_retransmitted_fin_after_complete_is_reacked():
    pb = _established()
    pb.client(cseg(CISN + 1, OISN + 1, flags=FIN | ACK))
    pb.target(resp(TISN + 1, CISN + 2, flags=FIN | ACK), at=pb.now + 0.01)
    assert pb.session.outcome == "complete"
    out = pb.target(resp(TISN + 1, CISN + 2, flags=FIN | ACK), at=pb.now + 0.2)
    assert brief(out) == [("ACK", s(CISN + 2), s(TISN + 2))]
    assert pb.target(resp(TISN + 2, CISN + 2, flags=RST)) == []


def test_half_close_fin_released_when_target_acked_everything_but_stays_silent():
    """Extension: a target that answers only after EOF would deadlock the original's FIN hold."""
    pb = _established(fin_hold_timeout=1.0)
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"sort me"))
    pb.client(cseg(CISN + 8, OISN + 1, flags=FIN | ACK))
    pb.target(resp(TISN + 1, CISN + 8), at=pb.now + 0.01)
    t = pb.now
    out = pb.advance_to_deadline()
    assert pb.now == t + 1.0
    assert brief(out) == [("FIN|ACK", s(CISN + 8), s(TISN + 1))]
    out = pb.target(resp(TISN + 1, CISN + 9, flags=FIN | ACK, payload_len=7), at=pb.now + 0.01)
    assert brief(out) == [("ACK", s(CISN + 9), s(TISN + 9)), ("unregister",), ("finished", "complete")]


def test_fin_not_released_early_once_response_data_flows():
    pb = _established(fin_hold_timeout=1.0)
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q"))
    pb.client(cseg(CISN + 2, OISN + 1, flags=FIN | ACK))
    pb.respond(0, 10, CISN + 2, at=pb.now + 0.01)
    out = pb.advance_to_deadline() + pb.advance_to_deadline()
    assert brief(out) == [("ACK", s(CISN + 2), s(TISN + 11)), ("FIN|ACK", s(CISN + 2), s(TISN + 11))]
    assert pb.session.counters.get("fin_released_without_response", 0) == 0
