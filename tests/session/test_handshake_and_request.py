"""Rule 1 (handshake, fake SYN) and rule 2 (ACK translation); scenarios 1, 7, 8."""

from pyreplay.packet.segment import TcpOptions
from pyreplay.session.commands import Finished, Outcome, Register, Send
from pyreplay.session.state import Phase

from session_playbook import (
    ACK, CISN, CLIENT, FIN, OISN, PSH, RST, SYN, TARGET, TISN, Playbook, brief, cseg, resp, s, sent,
)

SYN_OPTS = TcpOptions(mss=1460, wscale=7, sack_permitted=True, timestamp=(1000, 0),
                      raw=bytes.fromhex("020405b40402080a000003e800000000010303 07".replace(" ", "")))


def test_captured_syn_is_sent_after_register_with_isn_and_options_kept():
    pb = Playbook()
    out = pb.client(cseg(CISN, flags=SYN, options=SYN_OPTS, window=64240, ip_id=7))
    assert isinstance(out[0], Register) and out[0] == Register(CLIENT, TARGET)
    (syn,) = sent(out)
    assert brief(out) == [("register",), ("SYN", CISN)]
    assert syn.options == SYN_OPTS and syn.window == 64240 and syn.ip_id == 7
    assert (syn.src, syn.sport, syn.dst, syn.dport) == (*CLIENT, *TARGET)
    assert pb.session.phase is Phase.SYN_SENT


def test_scenario_1_keepalive_two_requests_paced_by_response_then_fin():
    pb = Playbook()
    assert brief(pb.client(cseg(CISN, flags=SYN))) == [("register",), ("SYN", CISN)]
    assert pb.client(cseg(CISN + 1, OISN + 1)) == []  # captured handshake ACK, held
    # the captured third ACK goes out with its ack rewritten into the target's space
    assert brief(pb.target(resp(TISN, CISN + 1, flags=SYN | ACK), at=0.01)) == [
        ("ACK", s(CISN + 1), s(TISN + 1))
    ]
    req1 = cseg(CISN + 1, OISN + 1, flags=PSH | ACK, payload=b"GET /1")
    assert brief(pb.client(req1, at=0.011)) == [("PSH|ACK", s(CISN + 1), s(TISN + 1), b"GET /1")]
    # response of 100 bytes: ACKed after the delayed-ACK time, not at once
    assert pb.respond(0, 100, CISN + 7, at=0.02) == []
    # req2 acks the online server's 100-byte response: the target sent exactly that, so the
    # response is complete and req2 goes at once, acking the response (no delayed ACK left)
    req2 = cseg(CISN + 7, OISN + 101, flags=PSH | ACK, payload=b"GET /2")
    assert brief(pb.client(req2, at=0.03)) == [("PSH|ACK", s(CISN + 7), s(TISN + 101), b"GET /2")]
    assert pb.session.counters.get("responses_sized_by_capture", 0) == 1
    # response 2, client FIN captured first: the FIN goes once resp2 is as long as the FIN's ACK says
    assert pb.client(cseg(CISN + 13, OISN + 201, flags=FIN | ACK), at=pb.now + 0.001) == []
    assert brief(pb.respond(100, 100, CISN + 13, at=pb.now + 0.01)) == [("FIN|ACK", s(CISN + 13), s(TISN + 201))]
    assert pb.session.phase is Phase.FIN_WAIT
    assert brief(pb.target(resp(TISN + 201, CISN + 14, flags=FIN | ACK), at=pb.now + 0.01)) == [
        ("ACK", s(CISN + 14), s(TISN + 202)), ("unregister",), ("finished", "complete")
    ]
    assert pb.session.outcome is Outcome.COMPLETE
    assert pb.session.counters.get("requests", 0) == 2 and pb.session.counters.get("resets_sent", 0) == 0
    assert not any(isinstance(c, Send) and c.segment.flags & RST for c in pb.log)


def test_response_of_another_length_than_online_completes_after_quiet_period():
    pb = Playbook()
    pb.open_with_syn()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"GET /1"))
    t0 = pb.now
    # the online response was 100 bytes (req2 acks OISN+101), the target answers 90
    pb.client(cseg(CISN + 7, OISN + 101, payload=b"GET /2"), at=t0 + 0.001)
    assert pb.respond(0, 90, CISN + 7, at=t0 + 0.02) == []
    assert brief(pb.advance_to_deadline()) == [("ACK", s(CISN + 7), s(TISN + 91))]
    out = pb.advance_to_deadline()
    assert brief(out) == [("PSH|ACK", s(CISN + 7), s(TISN + 91), b"GET /2")]
    assert pb.now >= t0 + 0.02 + pb.config.quiet_floor
    assert pb.session.counters.get("responses", 0) == 1
    assert pb.session.counters.get("responses_sized_by_capture", 0) == 0


def test_handshake_ack_is_generated_when_not_captured_yet():
    pb = Playbook()
    pb.client(cseg(CISN, flags=SYN, window=64240))
    out = pb.target(resp(TISN, CISN + 1, flags=SYN | ACK), at=0.01)
    assert brief(out) == [("ACK", s(CISN + 1), s(TISN + 1))]
    assert pb.session.counters.get("handshake_ack_generated", 0) == 1
    # the late captured third ACK is not forwarded again
    assert pb.client(cseg(CISN + 1, OISN + 1)) == []


def test_scenario_7_mid_stream_capture_fakes_syn_and_forces_window():
    pb = Playbook()
    data = cseg(CISN + 500, OISN + 77, flags=PSH | ACK, payload=b"hello", window=229, ip_id=50)
    out = pb.client(data)
    assert brief(out) == [("register",), ("SYN", s(CISN + 499))]
    syn = sent(out)[0]
    assert syn.options.mss == 1460 and syn.options.raw == bytes.fromhex("020405b4")
    assert syn.options.wscale is None and syn.options.timestamp is None
    assert syn.window == 65535 and syn.ip_id == 48
    out = pb.target(resp(TISN, CISN + 500, flags=SYN | ACK), at=0.01)
    assert brief(out) == [
        ("ACK", s(CISN + 500), s(TISN + 1)),
        ("PSH|ACK", s(CISN + 500), s(TISN + 1), b"hello"),
    ]
    assert all(seg.window == 65535 for seg in sent(out))


def test_scenario_7_only_with_syn_skips_mid_stream_sessions():
    pb = Playbook(only_with_syn=True)
    out = pb.client(cseg(CISN + 500, OISN, payload=b"hello"))
    assert brief(out) == [("finished", "skipped")]
    assert pb.session.next_deadline() is None


def test_fake_syn_mss_comes_from_config():
    pb = Playbook(mss_for_fake_syn=1200)
    out = pb.client(cseg(CISN + 1, OISN, payload=b"x"))
    assert sent(out)[0].options.mss == 1200


def test_scenario_8_unknown_session_without_payload_sends_nothing():
    for flags in (ACK, FIN | ACK, RST, RST | ACK):
        pb = Playbook()
        assert pb.client(cseg(CISN + 1, OISN, flags=flags)) == []
        assert pb.session.phase is Phase.NEW
        assert pb.session.counters.get("client_without_session", 0) == 1


def test_client_pure_acks_after_handshake_are_not_forwarded_and_data_acks_are_translated():
    pb = Playbook()
    pb.open_with_syn()
    assert pb.client(cseg(CISN + 1, OISN + 1)) == []
    out = pb.client(cseg(CISN + 1, OISN + 1, payload=b"abc"))
    assert [seg.ack for seg in sent(out)] == [s(TISN + 1)]
    pb.respond(0, 10, CISN + 4, at=pb.now + 0.01)
    assert pb.client(cseg(CISN + 4, OISN + 11), at=pb.now + 0.001) == []  # pure ACK: dropped
    assert pb.session.counters.get("client_pure_ack", 0) >= 1


def test_two_full_segments_of_response_are_acked_at_once():
    pb = Playbook()
    pb.open_with_syn()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"abc"))
    assert pb.respond(0, 536, CISN + 4, at=pb.now + 0.01) == []
    assert brief(pb.respond(536, 536, CISN + 4)) == [("ACK", s(CISN + 4), s(TISN + 1 + 1072))]


def test_captured_syn_retransmission_and_other_isn_are_not_forwarded():
    pb = Playbook()
    pb.client(cseg(CISN, flags=SYN))
    assert pb.client(cseg(CISN, flags=SYN)) == []
    assert pb.client(cseg(CISN + 99999, flags=SYN)) == []
    assert pb.session.counters.get("client_syn_retransmission", 0) == 1
    assert pb.session.counters.get("client_syn_other_isn", 0) == 1


def test_response_before_syn_and_unknown_events():
    import pytest
    pb = Playbook()
    assert pb.target(resp(TISN, CISN + 1, flags=SYN | ACK)) == []
    assert pb.session.counters.get("target_before_syn", 0) == 1
    with pytest.raises(TypeError):
        pb.session.handle(object(), now=0.0)


def test_responses_to_a_client_slower_than_the_ack_delay_are_acked_at_once():
    """Live keep-alive at a low rate: the delayed ACK would go alone, on a wake-up of its own."""
    pb = Playbook()
    pb.open_with_syn()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q1"))
    pb.respond(0, 10, CISN + 3, at=pb.now + 0.01)
    assert pb.session.next_deadline() == pb.now + pb.config.ack_delay  # nothing known yet: delay
    pb.advance_to_deadline()
    pb.client(cseg(CISN + 3, OISN + 11, payload=b"q2"), at=pb.now + 0.5)  # sent 0.5 s later
    answered_at = pb.now + 0.01
    assert pb.respond(10, 10, CISN + 5, at=answered_at) == []
    assert pb.session.next_deadline() == answered_at  # due now: the next tick sends it
    assert brief(pb.advance_to_deadline()) == [("ACK", s(CISN + 5), s(TISN + 21))]


def test_responses_to_a_client_faster_than_the_ack_delay_are_acked_by_its_next_request():
    pb = Playbook()
    pb.open_with_syn()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q1"))
    pb.client(cseg(CISN + 3, OISN + 11, payload=b"q2"), at=pb.now + 0.001)  # online answer: 10
    for k in range(3):  # q2 goes 1 ms after the answer to q1 (the sized grace), and so on
        pb.respond(10 * k, 10, CISN + 3 + 2 * k, at=pb.now + 0.005)
        assert pb.session.next_deadline() == pb.now + pb.config.sized_response_grace
        out = pb.advance_to_deadline()
        assert [c[0] for c in brief(out)] == ["PSH|ACK"], out  # the ACK rides on the request
        pb.client(cseg(CISN + 5 + 2 * k, OISN + 21 + 10 * k, payload=b"q%d" % (k + 3)))
    assert pb.session.counters.get("segments_sent", 0) == 2 + 4  # SYN, ACK, 4 requests: no ACK alone
