"""SessionTable: keying with the destination (scenario 4 fix), port reuse (scenario 29 fix),
response routing, one deadline heap, linger removal, shutdown sweep."""

from pyreplay.packet.segment import ResponseSummary, Segment
from pyreplay.session.commands import Finished, Send
from pyreplay.session.config import SessionConfig
from pyreplay.session.session import Session
from pyreplay.session.table import SessionTable

from session_playbook import ACK, CISN, OISN, RST, SYN, TISN, brief, cseg, resp, s

TARGET = (bytes([10, 0, 0, 99]), 8080)
TARGET2 = (bytes([10, 0, 0, 98]), 9090)


def make_table(config=None, linger=6.0):
    config = config or SessionConfig()
    ports = iter(range(50000, 60000))

    def factory(segment: Segment):
        if segment.dport == 9999:
            return None  # not replayed by policy
        target = TARGET if segment.dport == 80 else TARGET2
        return Session(config, (bytes([10, 9, 8, 1]), next(ports)), target)

    return SessionTable(factory, linger=linger)


def to_port(seg, dport):
    return Segment(**{**{f: getattr(seg, f) for f in Segment.__slots__}, "dport": dport})


def response_for(session, seq, ack, flags=ACK, payload_len=0):
    return ResponseSummary(
        src=session.target[0], dst=session.client[0], sport=session.target[1],
        dport=session.client[1], seq=seq % 2**32, ack=ack % 2**32, flags=flags, window=65535,
        payload_len=payload_len,
    )


def test_scenario_4_same_client_port_to_two_online_services_are_two_sessions_fix():
    """Deliberate fix: the original keyed by (client ip, port) only and lost one session."""
    table = make_table()
    a = table.handle_client(cseg(CISN, flags=SYN), now=0.0)
    b = table.handle_client(to_port(cseg(CISN + 5000, flags=SYN), 81), now=0.0)
    assert len(table) == 2
    targets = [c.segment.dport for c in a + b if isinstance(c, Send)]
    assert targets == [8080, 9090]


def test_responses_are_routed_by_rewritten_identity_and_target():
    table = make_table()
    table.handle_client(cseg(CISN, flags=SYN), now=0.0)
    table.handle_client(to_port(cseg(7, flags=SYN), 81), now=0.0)
    s1 = table.get(SessionTable.key_of(cseg(CISN, flags=SYN)))
    out = table.handle_response(response_for(s1, TISN, CISN + 1, flags=SYN | ACK), now=0.01)
    assert brief(out) == [("ACK", s(CISN + 1), s(TISN + 1))]
    assert out[0].segment.sport == s1.client[1]
    assert table.handle_response(resp(1, 2), now=0.02) == []
    assert table.counters["response_without_session"] == 1


def test_scenario_29_new_syn_other_isn_on_live_key_supersedes_old_fix():
    """Deliberate fix: the original dropped the new connection while the old one lived."""
    table = make_table()
    table.handle_client(cseg(CISN, flags=SYN), now=0.0)
    old = table.get(SessionTable.key_of(cseg(CISN, flags=SYN)))
    table.handle_response(response_for(old, TISN, CISN + 1, flags=SYN | ACK), now=0.01)
    out = table.handle_client(cseg(CISN + 10**6, flags=SYN), now=1.0)
    assert brief(out) == [
        ("RST|ACK", s(CISN + 1), s(TISN + 1)), ("unregister",), ("finished", "superseded"),
        ("register",), ("SYN", s(CISN + 10**6)),
    ]
    assert old.finished and len(table) == 1
    assert table.counters["port_reuse_superseded"] == 1


def test_captured_syn_retransmission_goes_to_the_same_session():
    table = make_table()
    table.handle_client(cseg(CISN, flags=SYN), now=0.0)
    assert table.handle_client(cseg(CISN, flags=SYN), now=0.2) == []
    assert table.counters["sessions_created"] == 1


def test_no_session_for_pure_ack_and_policy_refusal():
    table = make_table()
    assert table.handle_client(cseg(CISN + 1, OISN, flags=ACK), now=0.0) == []
    assert table.handle_client(to_port(cseg(CISN, flags=SYN), 9999), now=0.0) == []
    assert (table.counters["client_without_session"], table.counters["not_replayed"]) == (1, 1)
    assert len(table) == 0


def test_one_heap_drives_all_session_deadlines_and_lingering_removal():
    table = make_table(linger=6.0)
    table.handle_client(cseg(CISN, flags=SYN), now=0.0)
    table.handle_client(to_port(cseg(5, flags=SYN), 81), now=0.1)
    assert table.next_deadline() == 0.5  # first SYN retransmission
    out = table.handle_tick(0.5)
    assert brief(out) == [("SYN", CISN)]
    assert table.next_deadline() == 0.6
    now = 0.6
    while len(table):
        now = table.next_deadline()
        out = table.handle_tick(now)
    # both failed their handshake at 3 s (+0.1) and were removed 6 s later
    assert now == 3.1 + 6.0
    assert table.counters["outcome_handshake_failed"] == 2
    assert table.totals["syn_retransmits"] == 4
    assert table.next_deadline() is None


def test_lingering_session_absorbs_late_packets_and_new_data_starts_new_session():
    table = make_table()
    key = SessionTable.key_of(cseg(CISN, flags=SYN))
    table.handle_client(cseg(CISN, flags=SYN), now=0.0)
    session = table.get(key)
    table.handle_response(response_for(session, TISN, CISN + 1, flags=SYN | ACK), now=0.01)
    table.handle_client(cseg(CISN + 1, OISN + 1, flags=RST), now=0.02)
    assert session.finished and table.get(key) is session
    assert table.handle_client(cseg(CISN + 1, OISN + 1, flags=ACK), now=0.03) == []
    out = table.handle_client(cseg(CISN + 1, OISN + 1, payload=b"new"), now=1.0)
    assert brief(out) == [("register",), ("SYN", s(CISN))]
    assert table.get(key) is not session


def test_shutdown_resets_everything():
    table = make_table()
    table.handle_client(cseg(CISN, flags=SYN), now=0.0)
    session = table.get(SessionTable.key_of(cseg(CISN, flags=SYN)))
    table.handle_response(response_for(session, TISN, CISN + 1, flags=SYN | ACK), now=0.01)
    out = table.shutdown(1.0)
    assert [c for c in out if isinstance(c, Send)][0].segment.flags & RST
    assert isinstance(out[-1], Finished) and len(table) == 0
