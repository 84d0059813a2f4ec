"""copy -i against a target that ends keep-alive connections, end to end in the lab: one
keep-alive connection of N requests is recorded on the online server (an ordinary one) and
replayed through intercept to a target that answers CLOSE_AFTER requests per connection, then
closes the connection when more data comes, with a FIN or an RST, unanswered (a keep-alive
timeout racing with the next request; ``keepalive_requests`` with requests pipelined behind).
Every request the target closed on goes again, whole, on the next connection: the target's log
holds every online request, byte for byte, in order (docs/decisions.md, "Target closes")."""

from __future__ import annotations

import time

import pytest

from pyreplay.lab.load import LoadPlan
from pyreplay.lab.replay_lab import ReplayLab, with_prefix
from pyreplay.lab.requestlog import connections
from pyreplay.lab.services import ONLINE_PORT, TARGET_PORT, run_load, start_http_server
from pyreplay.lab.topology import HOST_ADDRESSES, lab

pytestmark = pytest.mark.netns
ONLINE = HOST_ADDRESSES["online"]
REQUESTS = 16


@pytest.fixture(scope="module")
def rl():
    """The replay lab without a target server: each test starts its own closing one."""
    with lab() as the_lab:
        replay_lab = ReplayLab(the_lab, start_http_server(the_lab, "online", ONLINE_PORT), None)
        replay_lab.start_intercept()
        yield replay_lab


def expected_connections(pipeline: int, close_after: int) -> list[list[int]]:
    """What each target connection reads: CLOSE_AFTER answers, the next connection starting at
    the first request the previous one did not answer, or at the start of its pipelined run
    (TCP shows no boundary inside one: the requests before it in the run go again)."""
    runs, start = [], 0
    while start < REQUESTS:
        run_ = list(range(start, min(start + close_after, REQUESTS)))
        runs.append(run_)
        start = run_[-1] + 1
        if start < REQUESTS:
            start -= start % pipeline
    return runs


@pytest.mark.parametrize("pipeline, close_after, reset", [
    (1, 4, False),  # back-to-back requests, FIN: each connection's 5th request resent
    (1, 4, True),  # the same, RST
    (2, 3, True),  # pairs written at once, RST with the pair's second unread: the pair resent
])
def test_every_request_reaches_a_target_that_closes_keepalive_connections(rl, pipeline, close_after, reset):
    prefix = f"/closes-{pipeline}-{close_after}-{'rst' if reset else 'fin'}"
    rl.target = start_http_server(rl.lab, "target", TARGET_PORT, log_name=f"target{prefix.replace('/', '-')}.log",
                                  close_after=close_after, close_with_reset=reset)
    try:
        with rl.recording(prefix[1:]) as recorded:
            result = run_load(rl.lab, LoadPlan(ONLINE, ONLINE_PORT, REQUESTS, 1, pipeline=pipeline,
                                               path_prefix=prefix))
            assert result.requests_ok == REQUESTS and result.connections == 1, result
        done = rl.copy(recorded)
        assert done.returncode == 0, done.stdout + done.stderr
        want = expected_connections(pipeline, close_after)
        resends = len(want) - 1
        online = sorted(with_prefix(rl.online.requests(), prefix), key=lambda r: r.idx)
        assert [r.target for r in online] == [f"{prefix}/{i}" for i in range(REQUESTS)]
        deadline = time.monotonic() + 10
        while len(with_prefix(rl.target.requests(), prefix)) < sum(map(len, want)) and time.monotonic() < deadline:
            time.sleep(0.1)
        target = with_prefix(rl.target.requests(), prefix)
        got = [list(seq) for _, seq in sorted(connections(target).items())]
        assert got == [[online[i].fingerprint for i in run_] for run_ in want], done.stdout
        assert all(r.client_addr.startswith("198.19.0.") for r in target)
        assert "outcomes complete 1" in done.stdout, done.stdout
        assert f"connections established: {len(want)}," in done.stdout, done.stdout
        # a pipelined pair resent counts as one request (the engine's: one client ACK)
        assert (f"reconnects after the target closed or reset: {resends}, requests resent whole: {resends} "
                in done.stdout), done.stdout
    finally:
        rl.target.process.terminate()
        rl.target.process.wait(5)
