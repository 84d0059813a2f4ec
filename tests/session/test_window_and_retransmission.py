"""Rule 4 (target window, window updates) and rule 5 (retransmission); scenarios 11-13, 23-25."""

from pyreplay.packet.segment import TcpOptions
from pyreplay.session.state import Phase

from session_playbook import ACK, CISN, OISN, RST, SYN, TISN, Playbook, brief, cseg, resp, s, sent


def _payloads(out):
    return [seg.payload for seg in sent(out) if seg.payload]


def test_scenario_11_never_beyond_scaled_window_and_resume_on_window_opening():
    pb = Playbook()
    pb.open_with_syn(syn_options=TcpOptions(wscale=7), synack_options=TcpOptions(wscale=2),
                     synack_window=1000)  # SYN-ACK window is never scaled
    out = []
    for i in range(4):
        out += pb.client(cseg(CISN + 1 + 400 * i, OISN + 1, payload=bytes([65 + i]) * 400))
    assert [len(p) for p in _payloads(out)] == [400, 400, 200]  # 1000 bytes in flight
    # target acks 600 and advertises 100 << 2 = 400 bytes: usable = 600 + 400 - 1000 = 0
    assert _payloads(pb.target(resp(TISN + 1, CISN + 601, window=100), at=pb.now + 0.01)) == []
    # window update with ack == snd.nxt-side progress: 250 << 2 = 1000
    out = pb.target(resp(TISN + 1, CISN + 1001, window=250), at=pb.now + 0.01)
    assert [len(p) for p in _payloads(out)] == [200, 400]
    assert b"".join(_payloads(pb.log)) == b"A" * 400 + b"B" * 400 + b"C" * 400 + b"D" * 400


def test_scenario_25_zero_window_probe_and_update_with_ack_equal_snd_nxt_resumes():
    """Deliberate fix: the original ignored a window update whose ack == snd.nxt (stall)."""
    pb = Playbook()
    pb.open_with_syn()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"a" * 100))
    pb.target(resp(TISN + 1, CISN + 101, window=0), at=pb.now + 0.01)
    assert pb.client(cseg(CISN + 101, OISN + 1, payload=b"b" * 100)) == []
    # nothing in flight and a closed window: a zero-window probe (seq = snd.una - 1) on a timer
    probe = pb.advance_to_deadline()
    assert brief(probe) == [("ACK", s(CISN + 100), s(TISN + 1))]
    assert pb.session.counters.get("window_probes", 0) == 1
    out = pb.target(resp(TISN + 1, CISN + 101, window=5000), at=pb.now + 0.01)
    assert _payloads(out) == [b"b" * 100]


def test_scenario_12_rto_retransmits_from_target_ack_with_exponential_backoff_then_fails():
    pb = Playbook(max_retransmits=3)
    pb.open_with_syn(rtt=0.01)
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"0123456789"))
    t0 = pb.now
    rto = pb.session._rto.timeout()
    assert rto == pb.config.rto_min  # measured 10 ms RTT, floored
    assert pb.session.next_deadline() == t0 + rto
    # the target acked 4 bytes: the retransmission starts exactly there (trimmed)
    pb.target(resp(TISN + 1, CISN + 5), at=t0 + 0.05)
    t1 = pb.now
    times = []
    for _ in range(3):
        out = pb.advance_to_deadline()
        times.append(pb.now)
        assert brief(out) == [("PSH|ACK", s(CISN + 5), s(TISN + 1), b"456789")]
    gaps = [round(b - a, 6) for a, b in zip([t1] + times, times)]
    assert gaps == [round(rto, 6), round(2 * rto, 6), round(4 * rto, 6)]
    out = pb.advance_to_deadline()
    assert brief(out) == [("RST|ACK", s(CISN + 11), s(TISN + 1)), ("unregister",),
                          ("finished", "retransmit_failed")]


def test_rto_is_capped():
    pb = Playbook(max_retransmits=20, rto_max=1.0, session_timeout=1000)
    pb.open_with_syn()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"x"))
    last = pb.now
    for _ in range(10):
        pb.advance_to_deadline()
        assert pb.now - last <= 1.0 + 1e-9
        last = pb.now


def test_scenario_13_three_duplicate_acks_fast_retransmit_once_then_partial_ack_continues():
    pb = Playbook()
    pb.open_with_syn()
    for i in range(4):
        pb.client(cseg(CISN + 1 + 10 * i, OISN + 1, payload=bytes([48 + i]) * 10))
    dup = resp(TISN + 1, CISN + 11)
    assert pb.target(dup, at=pb.now + 0.01) == []  # first: new ack
    assert pb.target(dup) == [] and pb.target(dup) == []
    out = pb.target(dup)
    assert brief(out) == [("PSH|ACK", s(CISN + 11), s(TISN + 1), b"1" * 10)]
    assert pb.target(dup) == []  # once per episode
    out = pb.target(resp(TISN + 1, CISN + 21))  # partial ack during recovery: next segment now
    assert brief(out) == [("PSH|ACK", s(CISN + 21), s(TISN + 1), b"2" * 10)]
    assert pb.session.counters.get("fast_retransmits", 0) == 1


def test_scenario_23_lost_syn_is_retransmitted_then_handshake_fails_fix():
    """Deliberate fix: the original never resent a lost SYN."""
    pb = Playbook()
    pb.client(cseg(CISN, flags=SYN))
    syn_times = []
    while pb.session.phase is Phase.SYN_SENT:
        out = pb.advance_to_deadline()
        if any(c[0] == "SYN" for c in brief(out)):
            syn_times.append(pb.now)
    assert syn_times == [0.5, 1.5]  # rto_initial 0.5, doubled
    assert brief(out) == [("unregister",), ("finished", "handshake_failed")]
    assert pb.now == pb.config.handshake_timeout
    assert pb.session.counters.get("syn_retransmits", 0) == 2


def test_syn_retransmission_answered_completes_handshake_without_rtt_sample():
    pb = Playbook()
    pb.client(cseg(CISN, flags=SYN))
    pb.advance_to_deadline()
    out = pb.target(resp(TISN, CISN + 1, flags=SYN | ACK), at=0.6)
    assert brief(out) == [("ACK", s(CISN + 1), s(TISN + 1))]
    assert pb.session._rto.srtt is None  # Karn: ambiguous sample discarded


def test_scenario_24_stale_connection_ack_gets_rst_and_syn_is_resent():
    pb = Playbook()
    pb.client(cseg(CISN, flags=SYN))
    out = pb.target(resp(777, 123456, flags=ACK), at=0.01)
    assert brief(out) == [("RST", 123456), ("SYN", CISN)]
    out = pb.target(resp(TISN, CISN + 1, flags=SYN | ACK), at=0.02)
    assert brief(out) == [("ACK", s(CISN + 1), s(TISN + 1))]


def test_target_rst_to_syn_means_refused():
    pb = Playbook()
    pb.client(cseg(CISN, flags=SYN))
    out = pb.target(resp(0, CISN + 1, flags=RST | ACK), at=0.01)
    assert brief(out) == [("unregister",), ("finished", "refused")]


def test_duplicate_synack_after_handshake_is_reacked():
    pb = Playbook()
    pb.open_with_syn()
    out = pb.target(resp(TISN, CISN + 1, flags=SYN | ACK), at=pb.now + 0.2)
    assert brief(out) == [("ACK", s(CISN + 1), s(TISN + 1))]


def test_ack_of_unsent_data_is_counted_and_ignored():
    pb = Playbook()
    pb.open_with_syn()
    pb.client(cseg(CISN + 1, OISN + 1, payload=b"abc"))
    assert pb.target(resp(TISN + 1, CISN + 999), at=pb.now + 0.01) == []
    assert pb.session.counters.get("target_ack_of_unsent", 0) == 1
    assert pb.session._snd_una == s(CISN + 1)
