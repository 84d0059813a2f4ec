"""SessionTable: keying with the destination (scenario 4 fix), port reuse (scenario 29 fix),
response routing, one deadline heap, linger removal, shutdown sweep."""

import heapq
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyreplay.packet.segment import FIN, PSH, ResponseSummary, Segment
from pyreplay.session.commands import Finished, Register, Send
from pyreplay.session.config import SessionConfig
from pyreplay.session.session import Session
from pyreplay.session.table import SessionTable

from session_playbook import ACK, CISN, OISN, RST, SYN, TISN, brief, cseg, resp, s
from sim_target import SimTarget

TARGET = (bytes([10, 0, 0, 99]), 8080)
TARGET2 = (bytes([10, 0, 0, 98]), 9090)


def make_table(config=None, linger=6.0):
    config = config or SessionConfig()
    ports = iter(range(50000, 60000))

    def factory(segment: Segment, generation: int):
        if segment.dport == 9999:
            return None  # not replayed by policy
        target = TARGET if segment.dport == 80 else TARGET2
        return Session(config, (bytes([10, 9, 8, 1]), next(ports)), target)

    return SessionTable(factory, linger=linger)


def to_port(seg, dport):
    return seg.replace(dport=dport)


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
    assert table.counters.get("response_without_session", 0) == 1


def test_scenario_29_port_reuse_keeps_the_old_session_running_fix():
    """Deliberate fix: the original dropped the new connection while the old one lived; an
    earlier pyreplay reset the old one. Both connections now run side by side."""
    table = make_table()
    key = SessionTable.key_of(cseg(CISN, flags=SYN))
    table.handle_client(cseg(CISN, flags=SYN), now=0.0)
    old = table.get(key)
    table.handle_response(response_for(old, TISN, CISN + 1, flags=SYN | ACK), now=0.01)
    out = table.handle_client(cseg(CISN + 10**6, flags=SYN), now=1.0)
    assert brief(out) == [("register",), ("SYN", s(CISN + 10**6))]
    new = table.get(key)
    assert new is not old and not old.finished and len(table) == 2
    assert new.client != old.client  # its own identity
    assert table.sessions_of(key) == [old, new]
    assert table.counters.get("port_reuse", 0) == 1 and table.counters.get("port_reuse_superseded", 0) == 0
    # each connection's packets find their own session: the old one by its sequence range
    out = table.handle_client(cseg(CISN + 1, OISN + 1, payload=b"old"), now=1.1)
    assert brief(out) == [("PSH|ACK", s(CISN + 1), s(TISN + 1), b"old")]
    assert out[0].segment.sport == old.client[1]
    # a retransmitted SYN of either goes to its own session
    assert table.handle_client(cseg(CISN, flags=SYN), now=1.2) == []
    assert table.handle_client(cseg(CISN + 10**6, flags=SYN), now=1.2) == []
    assert table.counters.get("sessions_created", 0) == 2


def test_port_reuse_beyond_max_generations_supersedes_the_oldest():
    table = SessionTable(make_table()._factory, max_generations=2)
    key = SessionTable.key_of(cseg(CISN, flags=SYN))
    for i in range(3):
        out = table.handle_client(cseg(CISN + i * 10**7, flags=SYN), now=float(i))
    assert ("finished", "superseded") in brief(out)
    assert [x.captured_isn for x in table.sessions_of(key)] == [s(CISN + 10**7), s(CISN + 2 * 10**7)]
    assert table.counters.get("port_reuse_superseded", 0) == 1


def test_a_session_removed_while_it_lingers_sets_no_deadline():
    table = SessionTable(make_table()._factory, max_generations=2, linger=6.0)
    for i in range(3):  # the third supersedes the first, which is removed at once
        table.handle_client(cseg(CISN + i * 10**7, flags=SYN), now=float(i))
    assert len(table) == 2
    visited = []
    while (deadline := table.next_deadline()) is not None:
        visited.append(deadline)
        table.handle_tick(deadline)
    # the other two failed their handshake at 3 s (+1, +2) and left 6 s later; the first one,
    # gone at 2 s, would have lingered until 8 s
    assert visited[-2:] == [10.0, 11.0] and 8.0 not in visited and len(table) == 0


class _Net:
    """Table + one simulated target per rewritten client identity + a one-way delay each way."""

    def __init__(self, table: SessionTable, conns: dict[int, tuple[list[int], list[int]]], delay=0.001):
        self.table, self.conns, self.delay = table, conns, delay  # conns: client ISN -> (ends, lens)
        self.targets: dict[tuple[bytes, int], SimTarget] = {}
        self.queue: list = []
        self.order = itertools.count()
        self.commands: list = []

    def run(self, captured: list[tuple[float, Segment]], limit=60.0) -> None:
        for at, seg in captured:
            heapq.heappush(self.queue, (at, next(self.order), "capture", seg))
        now = 0.0
        while True:
            deadline = self.table.next_deadline()
            if self.queue and (deadline is None or self.queue[0][0] <= deadline):
                now, _, kind, item = heapq.heappop(self.queue)
                if kind == "capture":
                    out = self.table.handle_client(item, now=now)
                elif kind == "to_target":
                    self._to_target(item, now)
                    continue
                else:
                    out = self.table.handle_response(item, now=now)
            elif deadline is not None:
                now = max(now, deadline)
                out = self.table.handle_tick(now)
            else:
                return
            assert now < limit, "sessions did not finish in simulated time"
            self.commands += out
            for c in out:
                if isinstance(c, Send):
                    heapq.heappush(self.queue, (now + self.delay, next(self.order), "to_target", c.segment))

    def _to_target(self, seg: Segment, now: float) -> None:
        identity = (seg.src, seg.sport)
        target = self.targets.get(identity)
        if target is None:
            assert seg.flags & SYN, "data before SYN"
            ends, lens = self.conns[seg.seq]
            target = self.targets[identity] = SimTarget(TISN + 1000 * len(self.targets), ends, lens)
        for i, summary in enumerate(target.receive(seg)):
            summary = summary.replace(dst=seg.src, dport=seg.sport, src=seg.dst, sport=seg.dport)
            heapq.heappush(self.queue, (now + self.delay + i * 1e-5, next(self.order), "to_client", summary))


def _connection(isn: int, requests: list[bytes], responses: list[int]) -> list[Segment]:
    """The captured packets of one keep-alive connection: SYN, ACK, requests, FIN."""
    out = [cseg(isn, flags=SYN), cseg(isn + 1, OISN + 1, flags=ACK)]
    offset, acked = 0, 0
    for request, length in zip(requests, responses):
        out.append(cseg(isn + 1 + offset, OISN + 1 + acked, payload=request))
        offset += len(request)
        acked += length
    out.append(cseg(isn + 1 + offset, OISN + 1 + acked, flags=FIN | ACK))
    return out


def _ends(requests):
    return list(itertools.accumulate(len(r) for r in requests))


def test_port_reuse_while_the_old_session_waits_for_its_response_both_complete_byte_exact():
    """Issue 3: at high replay speed the new connection's SYN arrives before the target even
    answered the old one; both connections must reach the target whole, on their own identities."""
    old_isn, new_isn = CISN, CISN + 50_000_000
    old_reqs, new_reqs = [b"GET /old HTTP/1.1\r\n\r\n"], [b"GET /new-1 HTTP/1.1\r\n\r\n", b"GET /new-2\r\n\r\n"]
    old = _connection(old_isn, old_reqs, [300])
    new = _connection(new_isn, new_reqs, [200, 900])
    # replayed 1000x faster than captured: everything is due within 0.1 ms, long before the
    # target's SYN-ACK (1 ms away); the old connection's FIN comes after the new SYN
    captured = [(i * 1e-5, seg) for i, seg in enumerate([*old[:3], *new[:2], old[3], *new[2:]])]
    net = _Net(make_table(), {s(old_isn): (_ends(old_reqs), [300]), s(new_isn): (_ends(new_reqs), [200, 900])})
    net.run(captured)
    finished = [c for c in net.commands if isinstance(c, Finished)]
    assert [f.outcome for f in finished] == ["complete", "complete"]
    assert len({f.client for f in finished}) == 2
    received = sorted(bytes(t.received) for t in net.targets.values())
    assert received == sorted([b"".join(old_reqs), b"".join(new_reqs)])
    assert all(t.resets == 0 and t.connections == 1 for t in net.targets.values())
    table = net.table
    assert table.counters.get("port_reuse", 0) == 1 and table.counters.get("port_reuse_superseded", 0) == 0
    assert table.totals.get("requests", 0) == 3 and len(table) == 0


@st.composite
def reused_ports(draw):
    """2-3 connections on one client port; each next ISN lies well ahead of the previous one
    (as Linux's clock-driven ISNs do), near 2**32 too; packets of different connections interleave
    freely after each one's SYN, each connection's own packets stay in order."""
    n = draw(st.integers(2, 3))
    isn = draw(st.integers(2**32 - 5000, 2**32 - 1))
    conns, packets = {}, []
    for _ in range(n):
        requests = [draw(st.binary(min_size=1, max_size=1500)) for _ in range(draw(st.integers(1, 3)))]
        responses = [draw(st.integers(1, 2000)) for _ in requests]
        conns[isn % 2**32] = (_ends(requests), responses, b"".join(requests))
        packets.append(_connection(isn, requests, responses))
        isn += draw(st.integers(8 * 2**20, 2**30))
    merged: list[Segment] = []
    cursors = [0] * n
    started = 1
    while any(c < len(p) for c, p in zip(cursors, packets)):
        choices = [i for i in range(min(started + 1, n)) if cursors[i] < len(packets[i])]
        i = draw(st.sampled_from(choices))
        merged.append(packets[i][cursors[i]])
        cursors[i] += 1
        started = max(started, i + 1)
    gap = draw(st.sampled_from([1e-5, 0.0005, 0.01]))
    return conns, [(k * gap, seg) for k, seg in enumerate(merged)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reused_ports())
def test_property_port_reuse_loses_no_connection(scenario):
    conns, captured = scenario
    net = _Net(make_table(), {isn: (ends, lens) for isn, (ends, lens, _) in conns.items()})
    net.run(captured)
    finished = [c for c in net.commands if isinstance(c, Finished)]
    assert sorted(f.outcome for f in finished) == ["complete"] * len(conns)
    assert sorted(bytes(t.received) for t in net.targets.values()) == sorted(c[2] for c in conns.values())
    assert all(t.resets == 0 for t in net.targets.values())
    registers = [c.client for c in net.commands if isinstance(c, Register)]
    assert len(set(registers)) == len(conns)


def test_captured_syn_retransmission_goes_to_the_same_session():
    table = make_table()
    table.handle_client(cseg(CISN, flags=SYN), now=0.0)
    assert table.handle_client(cseg(CISN, flags=SYN), now=0.2) == []
    assert table.counters.get("sessions_created", 0) == 1


def test_no_session_for_pure_ack_and_policy_refusal():
    table = make_table()
    assert table.handle_client(cseg(CISN + 1, OISN, flags=ACK), now=0.0) == []
    assert table.handle_client(to_port(cseg(CISN, flags=SYN), 9999), now=0.0) == []
    assert (table.counters.get("client_without_session", 0), table.counters.get("not_replayed", 0)) == (1, 1)
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
    assert table.counters.get("outcome_handshake_failed", 0) == 2
    assert table.totals.get("syn_retransmits", 0) == 4
    assert table.next_deadline() is None


def test_work_deadline_leaves_out_lingering_sessions_and_give_up_timers():
    table = make_table(linger=6.0)
    assert table.next_work_deadline() is None
    table.handle_client(cseg(CISN, flags=SYN), now=0.0)
    table.handle_client(to_port(cseg(5, flags=SYN), 81), now=0.1)
    assert table.next_work_deadline() == 0.5  # the first SYN's retransmission
    done = table.get(SessionTable.key_of(cseg(CISN, flags=SYN)))
    table.handle_response(response_for(done, TISN, CISN + 1, flags=SYN | ACK), now=0.2)
    table.handle_client(cseg(CISN + 1, OISN + 1, flags=RST), now=0.3)
    assert done.finished and table.next_deadline() == 0.6  # the other's SYN retransmission
    assert table.next_work_deadline() == 0.6
    open_ = table.get(SessionTable.key_of(to_port(cseg(5, flags=SYN), 81)))
    table.handle_response(response_for(open_, TISN, 6, flags=SYN | ACK), now=0.4)
    # the finished one lingers until 6.3, the open one idles towards its keep-alive timeout
    assert table.next_deadline() == 6.3 and table.next_work_deadline() is None


def test_session_counters_sum_the_removed_and_the_live_sessions():
    table = make_table(linger=1.0)
    table.handle_client(cseg(CISN, flags=SYN), now=0.0)
    table.handle_client(to_port(cseg(5, flags=SYN), 81), now=0.0)
    assert table.totals.get("syns_sent", 0) == 0 and table.session_counters()["syns_sent"] == 2
    gone = table.get(SessionTable.key_of(cseg(CISN, flags=SYN)))
    table.handle_response(response_for(gone, TISN, CISN + 1, flags=SYN | ACK), now=0.1)
    table.handle_client(cseg(CISN + 1, OISN + 1, flags=RST), now=0.2)
    table.handle_tick(1.3)  # removed after its linger; its counters moved to totals
    assert len(table) == 1 and table.totals.get("syns_sent", 0) == 1
    assert table.session_counters()["syns_sent"] == 2 and table.session_counters()["connections"] == 1


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
