"""Property: for any segmentation, local reordering, duplication (and some loss towards the
target) of a captured keep-alive request stream, with ISNs near 2**32 on both sides, the target
receives exactly the original bytes in order, each request only after the previous response
completed (unless no_wait), and the session completes."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyreplay.packet.segment import ACK, FIN, PSH, SYN, Segment
from pyreplay.packet.seqnum import seq_add, seq_ge
from pyreplay.session.commands import Finished, Outcome
from pyreplay.session.config import SessionConfig
from pyreplay.session.session import Session

from sim_target import SimTarget, run

CLIENT = (b"\x0a\x09\x08\x01", 40000)
TARGET = (b"\x0a\x00\x00\x63", 8080)
NEAR_WRAP = st.integers(min_value=2**32 - 4000, max_value=2**32 - 1)


def captured_packet(seq, ack, flags, payload=b""):
    return Segment(src=b"\xc0\xa8\x01\x0a", dst=b"\x0a\x00\x00\x02", sport=40000, dport=80,
                   seq=seq % 2**32, ack=ack % 2**32, flags=flags, window=500, payload=payload)


@st.composite
def scenarios(draw):
    n_requests = draw(st.integers(1, 4))
    requests = [draw(st.binary(min_size=1, max_size=2500)) for _ in range(n_requests)]
    responses = [draw(st.integers(1, 3000)) for _ in range(n_requests)]
    cisn, tisn, oisn = draw(NEAR_WRAP), draw(NEAR_WRAP), draw(st.integers(0, 2**32 - 1))
    segments = []
    offset, online_acked = 0, 0
    for req, rlen in zip(requests, responses):
        cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(req) - 1)), max_size=4))))
        bounds = [0, *[c for c in cuts if c < len(req)], len(req)]
        for a, b in zip(bounds, bounds[1:]):
            segments.append(captured_packet(cisn + 1 + offset + a, oisn + 1 + online_acked,
                                            PSH | ACK, req[a:b]))
        offset += len(req)
        online_acked += rlen
    # local reordering: swap neighbours; duplication: repeat some segments later
    for i in draw(st.lists(st.integers(0, max(0, len(segments) - 2)), max_size=4)):
        if i + 1 < len(segments):
            segments[i], segments[i + 1] = segments[i + 1], segments[i]
    for i in draw(st.lists(st.integers(0, len(segments) - 1), max_size=4)):
        segments.insert(min(len(segments), i + draw(st.integers(0, 3))), segments[i])
    packets = [captured_packet(cisn, 0, SYN), captured_packet(cisn + 1, oisn + 1, ACK), *segments,
               captured_packet(cisn + 1 + offset, oisn + 1 + online_acked, FIN | ACK)]
    gap = draw(st.sampled_from([0.0001, 0.002, 0.03]))
    captured = [(i * gap, p) for i, p in enumerate(packets)]
    drops = frozenset(draw(st.lists(st.integers(3, 12), max_size=2)))
    return requests, responses, tisn, captured, drops


def check(scenario, no_wait):
    requests, responses, tisn, captured, drops = scenario
    ends, total = [], 0
    for r in requests:
        total += len(r)
        ends.append(total)
    target = SimTarget(tisn, ends, responses)
    session = Session(SessionConfig(no_wait=no_wait), CLIENT, TARGET)
    commands = run(session, target, captured, drop_sends=drops)
    assert bytes(target.received) == b"".join(requests)
    assert target.resets == 0
    assert commands[-1] == Finished(Outcome.COMPLETE, commands[-1].reason, CLIENT, TARGET)
    if not no_wait:
        for i in range(1, len(requests)):
            assert seq_ge(target.first_byte_acks[i], target.response_end_seqs[i - 1]), (
                f"request {i} released before response {i - 1} was received"
            )


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scenarios())
def test_replayed_stream_is_exact_and_paced(scenario):
    check(scenario, no_wait=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_replayed_stream_is_exact_with_no_wait(scenario):
    check(scenario, no_wait=True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_target_closing_after_each_response_reconnects_and_replays_everything(scenario):
    """Rule 7: target FIN with requests left => RST, Register, faked SYN at next unsent - 1."""
    requests, responses, tisn, captured, drops = scenario
    ends = [sum(len(r) for r in requests[: i + 1]) for i in range(len(requests))]
    target = SimTarget(tisn, ends, responses, close_after_response=True)
    session = Session(SessionConfig(), CLIENT, TARGET)
    commands = run(session, target, captured, drop_sends=drops)
    assert bytes(target.received) == b"".join(requests)
    assert target.connections == len(requests)
    assert session.counters.get("reconnects", 0) == len(requests) - 1
    assert commands[-1].outcome == "complete"
