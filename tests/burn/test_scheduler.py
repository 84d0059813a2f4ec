"""Scheduler in virtual time against the simulated target: users, identities, rate, think
times, comet, loops, duration, latency."""

from pyreplay.packet.segment import FIN, RST, SYN
from pyreplay.session.commands import Register, Unregister

from .captures import client_packet, merged, session
from .virtual import run, shutdown

REQ = [b"GET /1 HTTP/1.1\r\n\r\n", b"GET /2 HTTP/1.1\r\n\r\n"]


def four_sessions(**kw):
    return merged(*[session(4000 + i, [b"GET /s%d/%d HTTP/1.1\r\n\r\n" % (i, k) for k in range(i + 1)],
                            t0=i * 0.01, **kw) for i in range(4)])


def payload_by_identity(r):
    return {ident: b"".join(seg.payload for _, seg in segs) for ident, segs in r.by_identity().items()}


def test_users_cycle_over_sessions_each_from_its_own_identity_and_all_complete():
    r = run(four_sessions(), users=40)
    payloads = payload_by_identity(r)
    assert len(payloads) == 40  # 40 distinct (address, port) identities
    expected = [b"".join(b"GET /s%d/%d HTTP/1.1\r\n\r\n" % (i, k) for k in range(i + 1)) for i in range(4)]
    idents = [ident for ident, _ in sorted(r.by_identity().items(), key=lambda kv: kv[1][0][0])]
    assert [payloads[ident] for ident in idents] == [expected[n % 4] for n in range(40)]
    assert r.report.outcomes == {"complete": 40}
    assert r.report.requests == r.report.responses == 10 * (1 + 2 + 3 + 4)
    registers = [c.client for _, c in r.announced if type(c) is Register]
    unregisters = [c.client for _, c in r.announced if type(c) is Unregister]
    assert sorted(registers) == sorted(unregisters) == sorted(payloads)
    assert r.scheduler.done and r.scheduler.live_connections == 40  # lingering, then released
    shutdown(r)
    assert r.scheduler.live_connections == 0 and r.scheduler.identities.live == 0


def test_rate_spaces_new_connections_evenly():
    r = run(session(4000, REQ[:1]), users=50, rate=10.0)
    syn_times = [t for t, seg in r.sent if seg.flags & SYN]
    assert len(syn_times) == 50
    gaps = [b - a for a, b in zip(syn_times, syn_times[1:])]
    assert all(abs(g - 0.1) < 1e-9 for g in gaps)
    assert abs(syn_times[-1] - 4.9) < 1e-9


def test_think_time_follows_the_capture_divided_by_acceleration():
    captured = session(4000, REQ, think=1.0)
    for accel in (1.0, 4.0):
        r = run(captured, users=1, accel=accel)
        data = [t for t, seg in r.sent if seg.payload]
        assert abs(data[1] - 1.003 / accel) < 1e-9, (accel, data)  # captured offset 1.003 s


def test_a_slow_target_delays_the_next_request_until_the_response_completed():
    r = run(session(4000, REQ, think=0.01), users=1, rtt=0.2)
    data = [t for t, seg in r.sent if seg.payload]
    assert data[1] - data[0] >= 0.2  # held for the response, not sent at its capture offset
    assert 0.19 < r.report.latency_ms()["p50"] / 1000 < 0.21


def test_comet_keeps_connections_open_until_the_run_ends_then_resets_them():
    r = run(four_sessions(close="fin"), users=8, comet=True)
    assert r.scheduler.done
    assert not any(seg.flags & (FIN | RST) for _, seg in r.sent)
    assert not any(type(c) is Unregister for _, c in r.announced)
    assert r.report.outcomes == {"open_at_end": 8}
    assert r.scheduler.live_connections == 8
    commands = shutdown(r)
    resets = [c for c in commands if getattr(c, "segment", None) is not None and c.segment.flags & RST]
    assert len(resets) == 8
    assert r.report.outcomes == {"open_at_end": 8}  # the reset at exit is not a second outcome


def test_capture_without_close_is_held_open_not_left_running():
    r = run(session(4000, REQ, close="none"), users=3)
    assert r.scheduler.done and r.report.outcomes == {"open_at_end": 3}


def test_loops_replay_every_user_again_from_a_fresh_identity_after_it_finished():
    r = run(four_sessions(), users=3, loops=2)
    assert r.report.started == 6 and r.report.outcomes == {"complete": 6}
    by_ident = r.by_identity()
    assert len(by_ident) == 6
    firsts = sorted((segs[0][0], segs[-1][0]) for segs in by_ident.values())
    # the second pass of each user starts after the first pass of some user ended
    assert firsts[3][0] >= min(end for _, end in firsts[:3])


def test_duration_ends_an_endless_run():
    r = run(session(4000, REQ, think=0.05), users=5, loops=0, duration=2.0)
    assert r.scheduler.done and 1.99 <= r.end <= 2.01
    assert r.report.started > 5  # users kept starting new passes


def test_target_refusing_connections_counts_refused_and_the_run_still_ends():
    from pyreplay.packet.segment import ACK, ResponseSummary

    class Refusing:
        def receive(self, seg):
            if seg.flags & SYN:
                return [ResponseSummary(seg.dst, seg.src, seg.dport, seg.sport, 0, seg.seq + 1, RST | ACK, 0, 0)]
            return []

    r = run(four_sessions(), users=6, target=Refusing())
    assert r.scheduler.done and r.report.outcomes == {"refused": 6}
    assert r.report.errors["refused"] == 6 and r.report.target_resets == 6


def test_comet_with_a_duration_holds_connections_open_for_the_whole_duration():
    r = run(four_sessions(), users=4, comet=True, duration=3.0)
    assert 2.99 <= r.end <= 3.01 and r.report.outcomes == {"open_at_end": 4}
    assert r.scheduler.live_connections == 4


# ---- runs that must end by themselves (comet without --duration, captures never closed) -------

def with_retransmitted_first_request(close):
    """A capture in which the client retransmitted its first request (same seq, same bytes)."""
    records = session(4000, REQ, close=close)
    return sorted(records + [(0.0035, client_packet(4000, 1001, 5001, REQ[0]))], key=lambda r: r[0])


def test_comet_run_with_a_retransmission_in_the_capture_ends_by_itself():
    r = run(with_retransmitted_first_request("fin"), users=3, comet=True, until=600.0)
    assert r.scheduler.done, "comet without --duration must end once every user replayed its session"
    assert r.report.outcomes == {"open_at_end": 3}
    assert r.report.requests == r.report.responses == 6
    assert all(payload == REQ[0] + REQ[1] for payload in payload_by_identity(r).values())
    assert r.end < 3.5  # the last response, then the idle period (3 s), not a timeout
    assert not r.report.errors


def test_capture_never_closed_with_a_retransmission_is_held_open_at_once():
    r = run(with_retransmitted_first_request("none"), users=2, until=600.0)
    assert r.scheduler.done and r.report.outcomes == {"open_at_end": 2}
    assert r.end < 0.5  # no idle wait outside comet: done after the last response
    assert r.scheduler.live_connections == 2


def test_comet_run_ends_after_the_idle_period_and_a_push_from_the_target_postpones_it():
    from pyreplay.packet.segment import ACK, PSH, ResponseSummary

    r = run(four_sessions(), users=4, comet=True, until=1.0)
    sched = r.scheduler
    assert r.report.outcomes == {"open_at_end": 4} and not sched.done
    last = max(t for t, _ in r.sent)  # the last packet sent: an ACK of the last response
    assert sched.next_deadline() == last + 3.0
    sched.tick(last + 2.999)
    assert not sched.done
    (addr, port), segs = next(iter(r.by_identity().items()))
    push_at = last + 2.5
    ours = segs[-1][1]  # our last segment: its ack is the next byte the target sends
    sched.response(ResponseSummary(ours.dst, addr, ours.dport, port, ours.ack, ours.seq, ACK | PSH, 64000, 20),
                   push_at)
    ack_at = sched.next_deadline()  # the delayed ACK of the pushed bytes
    assert push_at < ack_at < push_at + 0.1
    sent = sched.tick(ack_at)
    assert [c.segment.flags for c in sent] == [ACK]
    assert not sched.done, "a response 0.5 s before the end restarts the idle period"
    assert sched.next_deadline() == ack_at + 3.0
    sched.tick(ack_at + 2.999)
    assert not sched.done
    sched.tick(ack_at + 3.0)
    assert sched.done
    assert r.report.outcomes == {"open_at_end": 4} and sched.live_connections == 4


def test_comet_waits_for_a_slow_target_longer_than_the_idle_period():
    from pyreplay.session.config import SessionConfig

    r = run(session(4000, REQ, think=0.01), users=2, comet=True, rtt=4.0, until=600.0,
            session_config=SessionConfig(keepalive_timeout=1e7, handshake_timeout=20.0))
    assert r.scheduler.done and r.report.outcomes == {"open_at_end": 2}
    assert r.report.requests == r.report.responses == 4
    assert r.end >= 3 * 4.0 + 3.0  # handshake and two requests, each a 4 s round trip, then idle


def test_captured_bytes_that_can_never_be_sent_are_held_open_once_idle():
    from pyreplay.session.config import SessionConfig

    # A stray captured segment 5000 bytes past the stream: beyond the engine's 1000-byte horizon.
    records = sorted(session(4000, REQ, close="none") + [(0.5, client_packet(4000, 1001 + 5000, 5101, b"x" * 20))],
                     key=lambda r: r[0])
    r = run(records, users=2, until=600.0,
            session_config=SessionConfig(keepalive_timeout=1e7, max_buffered_bytes=1000))
    assert r.scheduler.done and r.report.outcomes == {"open_at_end": 2}
    last = max(t for t, _ in r.sent)  # the last ACK; feeding the stray segment at 0.5 s sends nothing
    assert last < 0.5 and r.end == last + 3.0
    assert r.report.errors["open at end with captured bytes never sent"] == 2
    assert all(payload == REQ[0] + REQ[1] for payload in payload_by_identity(r).values())


def test_a_request_resent_after_a_target_reset_does_not_make_the_user_look_done():
    """The target resets the first connection on REQ[0] unanswered: REQ[0] goes again on the
    second, whose window then shuts, so REQ[1] cannot go. Bytes sent count REQ[0] twice (as
    many as the whole stream); the user must not be held open as if everything went."""
    from pyreplay.packet.segment import ACK
    from pyreplay.runtime.simtarget import SimulatedTarget

    class ResetsOnceThenShutsItsWindow:
        def __init__(self):
            self.inner, self.syns = SimulatedTarget(), 0

        def receive(self, seg):
            self.syns += bool(seg.flags & SYN)
            replies = self.inner.receive(seg)
            if self.syns == 1 and seg.payload:
                self.inner.receive(seg.replace(flags=RST, payload=b""))
                return [r for r in replies if not r.payload_len] + [replies[0].replace(flags=RST | ACK)]
            if self.syns == 2 and seg.payload:
                return [r.replace(window=0) for r in replies]
            return replies

    assert len(REQ[0]) >= len(REQ[1])
    r = run(session(4000, REQ, close="none"), users=1, target=ResetsOnceThenShutsItsWindow(), until=60.0)
    assert [seg.payload for _, seg in r.sent if seg.payload] == [REQ[0], REQ[0]]
    # held open only once idle, and said to have bytes never sent (not at once, as if all went)
    assert r.report.outcomes == {"open_at_end": 1} and r.end > 3.0
    assert r.report.errors["open at end with captured bytes never sent"] == 1


def test_stream_bytes_counts_each_captured_byte_once():
    from pyreplay.burn import SessionIndex
    from pyreplay.burn.scheduler import stream_bytes

    from .virtual import TRANSFER

    plain = SessionIndex.build(session(4000, REQ), TRANSFER)[0]
    assert stream_bytes(plain) == plain.payload_bytes == 38
    retransmitted = SessionIndex.build(with_retransmitted_first_request("fin"), TRANSFER)[0]
    assert retransmitted.payload_bytes == 57 and stream_bytes(retransmitted) == 38
    overlap = sorted(session(4000, REQ) + [(0.0035, client_packet(4000, 1011, 5001, REQ[0][10:] + REQ[1][:5]))],
                     key=lambda r: r[0])
    assert stream_bytes(SessionIndex.build(overlap, TRANSFER)[0]) == 38
    isn = 2**32 - 10  # the stream wraps inside the first request
    second = (isn + 1 + len(REQ[0])) % 2**32
    wrapped = [(0.0, client_packet(4000, isn, 0, flags=SYN)), (0.01, client_packet(4000, isn + 1, 5001, REQ[0])),
               (0.02, client_packet(4000, isn + 1, 5001, REQ[0])), (0.03, client_packet(4000, second, 5051, REQ[1]))]
    assert stream_bytes(SessionIndex.build(wrapped, TRANSFER)[0]) == 38


def test_capture_hole_costs_the_request_it_hit_and_every_connection_counts_in_the_report():
    requests = [b"GET /h/%d HTTP/1.1\r\n\r\n" % k for k in range(3)]
    # online responses of 30 bytes: R3's ACK is not R1's plus the simulated 100-byte response,
    # which would make R3 look like the lost R2's continuation
    records = session(4000, requests, response=30)
    records.remove(next(r for r in records if requests[1] in r[1]))  # the capture lost it
    r = run(records, users=3)
    shutdown(r)  # the report has every connection's counters once all are forgotten
    assert set(payload_by_identity(r).values()) == {requests[0] + requests[2]}
    assert r.report.outcomes == {"complete": 3}
    counters = r.report.session_counters
    assert counters["capture_gap_resyncs"] == 3 and counters["capture_gap_bytes_skipped"] == 3 * len(requests[1])
    assert counters["connections"] == 6  # each resync goes on on a new connection
    lines = r.report.lines(r.end)
    assert f"capture holes resynced past: 3, client bytes skipped: {3 * len(requests[1])}" in lines
    assert "connections established: 6, retransmits: 0, resets from target: 0, resets sent: 3" in lines
