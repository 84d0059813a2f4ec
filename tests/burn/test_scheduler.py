"""Scheduler in virtual time against the simulated target: users, identities, rate, think
times, comet, loops, duration, latency."""

from pyreplay.packet.segment import FIN, RST, SYN
from pyreplay.session.commands import Register, Unregister

from .captures import merged, session
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
