"""Drive a burn ``Scheduler`` in virtual time against the simulated target (no clock, no
network): every ``Send`` goes to ``SimulatedTarget`` and its answers come back ``rtt`` later."""

from __future__ import annotations

import heapq
import socket
from dataclasses import dataclass, field

from pyreplay.burn import BurnPlan, BurnReport, IdentityPool, Scheduler, SessionIndex
from pyreplay.config import parse_transfers
from pyreplay.runtime.simtarget import SimulatedTarget
from pyreplay.session.commands import Register, Send, Unregister
from pyreplay.session.config import SessionConfig

TRANSFER = parse_transfers("80-10.0.0.30:8080")
POOL = tuple(socket.inet_aton(f"10.9.0.{i}") for i in range(1, 11))


@dataclass
class Run:
    scheduler: Scheduler
    report: BurnReport
    sent: list[tuple[float, object]] = field(default_factory=list)  # (time, Segment)
    announced: list[tuple[float, object]] = field(default_factory=list)
    end: float = 0.0

    def by_identity(self):
        out: dict[tuple[bytes, int], list] = {}
        for t, seg in self.sent:
            out.setdefault((seg.src, seg.sport), []).append((t, seg))
        return out


def run(records, users, *, rtt=0.001, comet=False, rate=1000.0, accel=1.0, loops=1, duration=None,
        pool=POOL, until=None, target=None, max_steps=200_000, session_config=None) -> Run:
    index = SessionIndex.build(records, TRANSFER, comet=comet)
    report = BurnReport(users=users)
    plan = BurnPlan(users=users, rate=rate, acceleration=accel, comet=comet, loops=loops, duration=duration)
    sched = Scheduler(index, IdentityPool(pool, quarantine=60.0),
                      session_config or SessionConfig(keepalive_timeout=1e7), plan, report, 0.0)
    target = target or SimulatedTarget()
    result = Run(sched, report)
    due: list = []
    order = 0
    now = 0.0

    def execute(commands):
        nonlocal order
        for c in commands:
            if type(c) is Send:
                result.sent.append((now, c.segment))
                for summary in target.receive(c.segment):
                    order += 1
                    heapq.heappush(due, (now + rtt, order, summary))
            elif type(c) in (Register, Unregister):
                result.announced.append((now, c))

    for _ in range(max_steps):
        while due and due[0][0] <= now:
            execute(sched.response(heapq.heappop(due)[2], now))
        execute(sched.tick(now))
        if sched.done or (until is not None and now >= until):
            break
        candidates = [x for x in (sched.next_deadline(), due[0][0] if due else None) if x is not None]
        if until is not None:
            candidates = [min(c, until) for c in candidates] or [until]
        if not candidates:
            break
        now = max(now, min(candidates))
    else:
        raise AssertionError("virtual run did not end")
    result.end = now
    return result


def shutdown(r: Run) -> list:
    return r.scheduler.shutdown(r.end)
