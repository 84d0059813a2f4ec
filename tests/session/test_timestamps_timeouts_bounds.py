"""Rule 8 (timestamps), rule 9 (timeouts, shutdown), rule 10 (memory bound), rule 11 (counters);
scenario 26."""

from collections import Counter

import pytest

from pyreplay.packet.segment import TcpOptions
from pyreplay.session.config import SessionConfig
from pyreplay.session.session import _TIMER_ORDER, _WORK_TIMERS
from pyreplay.session.state import Phase

from session_playbook import (
    ACK, CISN, FIN, OISN, SYN, TISN, Playbook, brief, cseg, resp, s, sent,
)


def ts(val, ecr, raw=True):
    raw_bytes = b"\x01\x01\x08\x0a" + val.to_bytes(4, "big") + ecr.to_bytes(4, "big") if raw else b""
    return TcpOptions(timestamp=(val, ecr), raw=raw_bytes)


def test_scenario_26_timestamps_rewritten_when_target_negotiates_them():
    pb = Playbook()
    syn_opts = TcpOptions(mss=1460, timestamp=(1000, 0))
    out = pb.open_with_syn(syn_options=syn_opts, synack_options=TcpOptions(timestamp=(777, 1000)))
    hs_ack = sent(out)[-1]
    assert hs_ack.options.timestamp == (1000, 777)
    # captured TSval lower than one already sent: TSval never goes backwards; TSecr = target's
    out = pb.client(cseg(CISN + 1, OISN + 1, payload=b"abc", options=ts(900, 55555)))
    seg = sent(out)[0]
    assert seg.options.timestamp == (1000, 777)
    assert seg.options.raw == b"\x01\x01\x08\x0a" + (1000).to_bytes(4, "big") + (777).to_bytes(4, "big")
    pb.target(resp(TISN + 1, CISN + 4, payload_len=10, options=TcpOptions(timestamp=(790, 1000))),
              at=pb.now + 0.01)
    ack = sent(pb.advance_to_deadline())[0]  # generated ACK carries NOP,NOP,TS
    assert ack.options.timestamp == (1000, 790) and ack.options.raw.startswith(b"\x01\x01\x08\x0a")
    out = pb.client(cseg(CISN + 4, OISN + 11, payload=b"d", options=ts(2000, 1)), at=pb.now + 1)
    assert sent(out)[0].options.timestamp == (2000, 790)


def test_timestamps_near_wrap_stay_non_decreasing():
    pb = Playbook()
    pb.open_with_syn(syn_options=TcpOptions(timestamp=(2**32 - 5, 0)),
                     synack_options=TcpOptions(timestamp=(1, 2**32 - 5)))
    out = pb.client(cseg(CISN + 1, OISN + 1, payload=b"a", options=ts(3, 1)))
    assert sent(out)[0].options.timestamp == (3, 1)  # 3 is after 2**32-5 modulo 2**32


def test_scenario_26_without_ts_in_synack_captured_options_pass_untouched():
    pb = Playbook()
    pb.open_with_syn(syn_options=TcpOptions(timestamp=(1000, 0)))
    captured = ts(1234, 4321)
    out = pb.client(cseg(CISN + 1, OISN + 1, payload=b"abc", options=captured))
    assert sent(out)[0].options == captured


def test_keepalive_idle_session_ends_after_keepalive_timeout():
    pb = Playbook(keepalive_timeout=30.0)
    pb.open_with_syn()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q"))
    answered_at = pb.now + 0.01
    pb.respond(0, 5, CISN + 2, at=answered_at)
    out = []
    while pb.session.phase is not Phase.CLOSED:
        out = pb.advance_to_deadline()
    assert brief(out)[-1] == ("finished", "idle")
    assert brief(out)[0] == ("RST|ACK", s(CISN + 2), s(TISN + 6))
    assert pb.now == pytest.approx(answered_at + 30.0, abs=0.1)
    assert pb.session.counters.get("responses", 0) == 1


def test_work_deadline_is_the_earliest_timer_that_moves_the_replay_on_never_one_that_gives_up():
    assert _WORK_TIMERS < set(_TIMER_ORDER)
    pb = Playbook()
    session = pb.session
    pb.client(cseg(CISN, flags=SYN))
    assert session.next_work_deadline() == session.next_deadline() == pb.config.rto_initial  # SYN again
    assert "handshake" in session._deadlines()
    pb.open_with_syn()
    assert session.phase is Phase.ESTABLISHED and set(session._deadlines()) == {"keepalive"}
    assert session.next_work_deadline() is None
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"q"), at=pb.now + 0.01)
    assert set(session._deadlines()) == {"retransmit", "session_timeout"}
    assert session.next_work_deadline() == session._deadlines()["retransmit"]
    pb.target(resp(TISN + 1, CISN + 2), at=pb.now + 0.01)  # acked, never answered
    assert set(session._deadlines()) == {"session_timeout"} and session.next_work_deadline() is None
    pb.respond(0, 5, CISN + 2, at=pb.now + 0.01)
    assert session.next_work_deadline() == session._deadlines()["delayed_ack"]
    pb.advance_to_deadline()
    # nothing waits on the response: its completion is left to the next event, no work timer
    assert set(session._deadlines()) == {"keepalive", "session_timeout"}
    assert session.next_work_deadline() is None
    pb.client(cseg(CISN + 2, OISN + 100, payload=b"r"), at=pb.now + 0.001)  # online: 99 bytes
    assert session.next_work_deadline() == session._deadlines()["response_quiet"]


def test_shutdown_resets_open_connection_and_is_quiet_when_new():
    pb = Playbook()
    pb.open_with_syn()
    assert brief(pb.shutdown(at=pb.now + 1)) == [
        ("RST|ACK", s(CISN + 1), s(TISN + 1)), ("unregister",), ("finished", "shutdown")
    ]
    assert pb.shutdown() == [] and pb.session.next_deadline() is None
    fresh = Playbook()
    assert brief(fresh.shutdown()) == [("finished", "shutdown")]


def test_shutdown_during_syn_sent_resets_without_ack():
    pb = Playbook()
    pb.client(cseg(CISN, flags=SYN))
    assert brief(pb.shutdown()) == [("RST", s(CISN + 1)), ("unregister",), ("finished", "shutdown")]


def test_memory_bound_overflow_ends_session():
    pb = Playbook(max_buffered_bytes=1000)
    pb.client(cseg(CISN, flags=SYN))
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"x" * 600))  # buffered: waiting for SYN-ACK
    out = pb.client(cseg(CISN + 601, OISN + 1, payload=b"y" * 600))
    assert brief(out) == [("RST", s(CISN + 1)), ("unregister",), ("finished", "overflow")]
    assert pb.session.counters.get("overflow", 0) == 1


def test_far_future_segment_is_dropped_not_buffered():
    pb = Playbook(max_buffered_bytes=1000)
    pb.open_with_syn()
    assert pb.client(cseg(CISN + 10**6, OISN + 1, payload=b"z")) == []
    assert pb.session.counters.get("client_beyond_horizon", 0) == 1
    assert pb.session.phase is Phase.ESTABLISHED


def test_counters_summarise_the_session():
    pb = Playbook()
    pb.open_with_syn()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"abcd"))
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"abcd"))
    pb.respond(0, 7, CISN + 5, at=pb.now + 0.01)
    pb.client(cseg(CISN + 5, OISN + 8, flags=FIN | ACK))
    while pb.session.phase is not Phase.FIN_WAIT:
        pb.advance_to_deadline()
    c = Counter(pb.session.counters)  # a name never counted reads 0
    assert (c["requests"], c["bytes_sent"], c["responses"], c["response_bytes"]) == (1, 4, 1, 7)
    assert (c["connections"], c["syns_sent"], c["client_retransmission"]) == (1, 1, 1)
    assert c["segments_sent"] == len(sent(pb.log))


@pytest.mark.parametrize("field,value", [
    ("session_timeout", 0), ("rto_min", -1), ("mss_for_fake_syn", 10), ("mtu", 20),
    ("max_buffered_bytes", 0), ("ack_delay", -0.1),
])
def test_config_rejects_nonsense(field, value):
    with pytest.raises(ValueError):
        SessionConfig(**{field: value})
