"""Rule 3 (pacing by response completion, -W, server-first greeting); scenarios 9, 10, 19."""

from pyreplay.session.state import Phase

from session_playbook import ACK, CISN, FIN, OISN, PSH, SYN, TISN, Playbook, brief, cseg, resp, s


def _established(**config):
    pb = Playbook(**config)
    pb.open_with_syn()
    return pb


def test_scenario_9_pipelined_and_continuation_segments_go_back_to_back():
    pb = _established()
    out = pb.client(cseg(CISN + 1, OISN + 1, payload=b"req1-a"))
    out += pb.client(cseg(CISN + 7, OISN + 1, payload=b"req1-b"))  # continuation
    out += pb.client(cseg(CISN + 13, OISN + 1, payload=b"req2"))  # pipelined: same ACK
    assert [c[3] for c in brief(out)] == [b"req1-a", b"req1-b", b"req2"]
    assert pb.session.counters.get("requests", 0) == 1


def test_scenario_10_next_request_waits_for_quiet_period_after_last_response_byte():
    pb = _established()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q1"))
    # the online response was 60 bytes; the target's is 50, so only silence tells its end
    pb.client(cseg(CISN + 3, OISN + 61, payload=b"q2"), at=pb.now + 0.001)
    t0 = pb.now
    for i in range(5):  # response arrives in five flights 10 ms apart
        assert all(c[0] == "ACK" for c in brief(pb.respond(10 * i, 10, CISN + 3, at=t0 + 0.01 * (i + 1))))
        assert pb.session.phase is Phase.AWAITING_RESPONSE
    last = pb.now
    out = []
    while not any(c[0] == "PSH|ACK" for c in brief(out)):
        out = pb.advance_to_deadline()
    assert pb.now >= last + pb.config.quiet_floor
    assert brief(out)[-1] == ("PSH|ACK", s(CISN + 3), s(TISN + 51), b"q2")


def test_a_response_nothing_waits_on_gets_no_quiet_timer_and_completes_at_the_next_event():
    """Keep-alive at a low rate: the next request comes long after the response. No tick at the
    quiet period (there would be nothing to send); the next request, captured later, goes at
    once, and the response counts as complete as of then."""
    pb = _established(keepalive_timeout=30.0)
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q1"))
    answered_at = pb.now + 0.01
    pb.respond(0, 10, CISN + 3, at=answered_at)
    assert brief(pb.advance_to_deadline()) == [("ACK", s(CISN + 3), s(TISN + 11))]  # delayed ACK
    assert pb.session.next_deadline() == answered_at + 30.0  # the keep-alive timeout's time
    assert pb.session.phase is Phase.AWAITING_RESPONSE and pb.session.counters.get("responses", 0) == 0
    out = pb.client(cseg(CISN + 3, OISN + 61, payload=b"q2"), at=answered_at + 0.5)
    assert brief(out) == [("PSH|ACK", s(CISN + 3), s(TISN + 11), b"q2")]
    assert pb.session.counters.get("responses", 0) == 1


def test_a_response_the_client_fin_waits_on_gets_its_quiet_timer():
    pb = _established()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q1"))
    pb.client(cseg(CISN + 3, OISN + 61, flags=FIN | ACK), at=pb.now + 0.001)  # online: 60 bytes
    answered_at = pb.now + 0.01
    pb.respond(0, 10, CISN + 3, at=answered_at)
    assert pb.session.next_deadline() == answered_at + pb.config.ack_delay
    pb.advance_to_deadline()
    assert pb.session.next_deadline() == answered_at + pb.config.quiet_floor
    out = pb.advance_to_deadline()
    assert brief(out)[-1] == ("FIN|ACK", s(CISN + 3), s(TISN + 11))
    assert pb.session.counters.get("responses", 0) == 1


def test_response_as_long_as_online_one_releases_next_request_after_the_grace_only():
    pb = _established()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q1"))
    pb.client(cseg(CISN + 3, OISN + 51, payload=b"q2"), at=pb.now + 0.001)  # online: 50 bytes
    t0 = pb.now
    for i in range(5):  # the target's 50 bytes in five flights 0.1 ms apart
        assert pb.respond(10 * i, 10, CISN + 3, at=t0 + 0.0001 * (i + 1)) == []
    last = pb.now
    assert pb.session.next_deadline() == last + pb.config.sized_response_grace
    out = pb.advance_to_deadline()
    assert brief(out) == [("PSH|ACK", s(CISN + 3), s(TISN + 51), b"q2")]
    assert pb.session.counters.get("responses_sized_by_capture", 0) == 1


def test_server_fin_right_after_a_sized_response_wins_over_the_next_request():
    """A server that closes after answering: the next request must go on a new connection."""
    pb = _established()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q1"))
    pb.client(cseg(CISN + 3, OISN + 11, payload=b"q2"), at=pb.now + 0.001)
    t0 = pb.now + 0.01
    assert pb.respond(0, 10, CISN + 3, at=t0) == []
    out = pb.target(resp(TISN + 11, CISN + 3, flags=FIN | ACK), at=t0 + pb.config.sized_response_grace / 2)
    assert not any(c[0] == "PSH|ACK" and c[3] == b"q2" and c[2] == s(TISN + 12) for c in brief(out)
                   if len(c) > 3)
    assert pb.session.counters.get("reconnects", 0) == 1


def test_response_is_not_complete_until_target_acked_all_request_bytes():
    pb = _established()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"upload"))
    pb.client(cseg(CISN + 7, OISN + 9, payload=b"next"))
    pb.respond(0, 8, CISN + 4, at=pb.now + 0.01)  # early answer, but only 3 bytes acked
    pb.tick(pb.now + 1.0)  # far past the quiet period
    assert pb.session.phase is Phase.AWAITING_RESPONSE
    out = pb.target(resp(TISN + 9, CISN + 7), at=pb.now + 0.01)
    assert brief(out) == [("PSH|ACK", s(CISN + 7), s(TISN + 9), b"next")]


def test_scenario_10_no_wait_sends_new_request_immediately():
    pb = _established(no_wait=True)
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q1"))
    out = pb.client(cseg(CISN + 3, OISN + 51, payload=b"q2"))
    assert brief(out) == [("PSH|ACK", s(CISN + 3), s(TISN + 1), b"q2")]
    assert pb.session.counters.get("requests", 0) == 2


def test_request_without_response_ends_by_session_timeout_not_never():
    pb = _established(session_timeout=5.0)
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q1"))
    pb.target(resp(TISN + 1, CISN + 3), at=pb.now + 0.01)
    pb.client(cseg(CISN + 3, OISN + 51, payload=b"q2"))
    out = pb.advance_to_deadline()
    assert brief(out) == [("RST|ACK", s(CISN + 3), s(TISN + 1)), ("unregister",), ("finished", "timeout")]
    assert abs(pb.now - (0.01 + 0.01 + 5.0)) < 1e-6


def test_scenario_19_server_first_request_released_promptly_by_greeting_fix():
    """Deliberate fix: the original waited for the greeting's *retransmission*."""
    pb = Playbook()
    pb.open_with_syn()  # handshake ACK acked OISN+1
    # client's first request acks a 20-byte greeting the online server sent
    assert pb.client(cseg(CISN + 1, OISN + 21, payload=b"LOGIN"), at=pb.now + 0.02) == []
    assert pb.session.phase is Phase.AWAITING_GREETING
    out = pb.respond(0, 20, CISN + 1, at=pb.now + 0.001)  # target's greeting
    assert brief(out) == [("PSH|ACK", s(CISN + 1), s(TISN + 21), b"LOGIN")]


def test_server_first_greeting_already_received_before_request_is_captured():
    pb = Playbook()
    pb.open_with_syn()
    pb.respond(0, 20, CISN + 1, at=pb.now + 0.001)
    out = pb.client(cseg(CISN + 1, OISN + 21, payload=b"LOGIN"), at=pb.now + 0.02)
    assert brief(out) == [("PSH|ACK", s(CISN + 1), s(TISN + 21), b"LOGIN")]


def test_quiet_period_scales_with_measured_target_rtt_and_is_capped():
    pb = Playbook()
    pb.client(cseg(CISN, flags=SYN))
    pb.target(resp(TISN, CISN + 1, flags=SYN | ACK), at=0.2)  # 200 ms target RTT
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q1"))
    pb.client(cseg(CISN + 3, OISN + 12, payload=b"q2"))  # online response 11 bytes, target's 10
    pb.respond(0, 10, CISN + 3, at=0.4)
    quiet = min(pb.config.quiet_cap, 2 * 0.2 + pb.config.ack_delay)
    assert pb.session.next_deadline() == 0.4 + pb.config.ack_delay
    pb.advance_to_deadline()
    assert abs(pb.session.next_deadline() - (0.4 + quiet)) < 1e-9
    pb.tick(0.4 + quiet - 0.001)
    assert pb.session.phase is Phase.AWAITING_RESPONSE
    out = pb.advance_to_deadline()
    assert brief(out) == [("PSH|ACK", s(CISN + 3), s(TISN + 11), b"q2")]
    assert pb.session.counters.get("responses", 0) == 1


def test_late_response_data_after_completion_is_acked_and_counted():
    pb = _established()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q1"))
    pb.respond(0, 10, CISN + 3, at=pb.now + 0.01)
    pb.tick(pb.now + 1)
    assert pb.session.phase is Phase.ESTABLISHED
    pb.respond(10, 10, CISN + 3, at=pb.now + 0.01)
    assert brief(pb.advance_to_deadline()) == [("ACK", s(CISN + 3), s(TISN + 21))]
