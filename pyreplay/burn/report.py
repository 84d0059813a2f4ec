"""Counting what a burn run did, and saying it: progress line, end-of-run lines, JSON report.

Contract: ``BurnReport`` is fed by the scheduler (user started/finished with its outcome,
request sent, first response byte seen with the latency, target resets, each connection's
session counters once it is done with) and by the runtime (send errors). From the session
counters it reports what copy's summary does: connections established, retransmissions,
resets sent, and the events a healthy replay has none of (``session.summary``: capture holes
resynced past, reconnects), in the lines only when they happened. Latency = time from a request's first byte sent to the first response byte
the intercept reported for it; samples are kept in a bounded reservoir (``max_samples``,
deterministic replacement), so memory stays bounded on endless runs. ``as_dict(elapsed)`` is
the JSON report; ``progress(elapsed)`` one status line; ``lines(elapsed)`` the summary.
Pure: the caller passes every time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pyreplay.session.commands import Outcome
from pyreplay.session.summary import event_fields, event_lines

PERCENTILES = (50, 90, 99)
GOOD_OUTCOMES = frozenset({Outcome.COMPLETE.value, "open_at_end"})


def percentile(sorted_samples: list[float], p: float) -> float | None:
    """Nearest-rank percentile of ascending samples (None if there are none)."""
    if not sorted_samples:
        return None
    rank = max(1, -(-len(sorted_samples) * p // 100))
    return sorted_samples[int(rank) - 1]


@dataclass
class BurnReport:
    users: int = 0
    max_samples: int = 200_000
    started: int = 0
    finished: int = 0
    requests: int = 0
    responses: int = 0
    target_resets: int = 0
    packets_sent: int = 0
    outcomes: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    session_counters: Counter = field(default_factory=Counter)  # Session.counters of connections done with
    latencies: list[float] = field(default_factory=list)
    latency_count: int = 0
    latency_sum: float = 0.0
    latency_max: float = 0.0
    _lcg: int = 0x2545F491

    # ---- inputs ----------------------------------------------------------------------
    def user_started(self) -> None:
        self.started += 1

    def user_finished(self, outcome: str) -> None:
        self.finished += 1
        self.outcomes[outcome] += 1
        if outcome not in GOOD_OUTCOMES:
            self.errors[outcome] += 1

    def session_ended(self, counters: dict[str, int]) -> None:
        self.session_counters.update(counters)

    def request_sent(self) -> None:
        self.requests += 1

    def response_seen(self, latency: float) -> None:
        self.responses += 1
        self.latency_count += 1
        self.latency_sum += latency
        self.latency_max = max(self.latency_max, latency)
        if len(self.latencies) < self.max_samples:
            self.latencies.append(latency)
        else:  # reservoir sampling with a fixed LCG: bounded and reproducible
            self._lcg = (self._lcg * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
            slot = (self._lcg >> 11) % self.latency_count
            if slot < self.max_samples:
                self.latencies[slot] = latency

    def error(self, kind: str, count: int = 1) -> None:
        if count:
            self.errors[kind] += count

    # ---- outputs ---------------------------------------------------------------------
    @property
    def active(self) -> int:
        return self.started - self.finished

    @property
    def timeouts(self) -> int:
        return self.outcomes[Outcome.TIMEOUT.value] + self.outcomes[Outcome.HANDSHAKE_FAILED.value]

    def latency_ms(self) -> dict[str, float | int | None]:
        ordered = sorted(self.latencies)
        out: dict[str, float | int | None] = {"count": self.latency_count}
        for p in PERCENTILES:
            v = percentile(ordered, p)
            out[f"p{p}"] = None if v is None else round(v * 1000, 3)
        out["mean"] = round(self.latency_sum / self.latency_count * 1000, 3) if self.latency_count else None
        out["max"] = round(self.latency_max * 1000, 3) if self.latency_count else None
        return out

    def progress(self, elapsed: float) -> str:
        rate = self.requests / elapsed if elapsed > 0 else 0.0
        return (f"burn {elapsed:6.1f}s users {self.started}/{self.users} started {self.active} active "
                f"{self.finished} finished | requests {self.requests} responses {self.responses} "
                f"resets {self.target_resets} timeouts {self.timeouts} | {rate:.0f} req/s")

    def as_dict(self, elapsed: float) -> dict:
        return {
            "elapsed_s": round(elapsed, 3),
            "users": {"configured": self.users, "started": self.started, "active": self.active,
                      "finished": self.finished},
            "outcomes": dict(sorted(self.outcomes.items())),
            "requests": self.requests,
            "responses": self.responses,
            "target_resets": self.target_resets,
            "packets_sent": self.packets_sent,
            "sessions": {"connections": self.session_counters["connections"],
                         "retransmits": self.session_counters["retransmits"],
                         "resets_sent": self.session_counters["resets_sent"],
                         **event_fields(self.session_counters)},
            "rates_per_s": {
                "sessions": round(self.finished / elapsed, 1) if elapsed > 0 else None,
                "requests": round(self.requests / elapsed, 1) if elapsed > 0 else None,
            },
            "latency_ms": self.latency_ms(),
            "errors": dict(sorted(self.errors.items())),
        }

    def lines(self, elapsed: float) -> list[str]:
        lat = self.latency_ms()
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "none"
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())) or "none"
        c = self.session_counters
        return [
            f"users: {self.started} of {self.users} started, {self.finished} finished in {elapsed:.2f} s; "
            f"outcomes {outcomes}",
            f"requests: {self.requests} sent, {self.responses} answered, "
            f"{self.requests / elapsed if elapsed > 0 else 0:.0f} req/s; packets sent {self.packets_sent}",
            f"connections established: {c['connections']}, retransmits: {c['retransmits']}, "
            f"resets from target: {self.target_resets}, resets sent: {c['resets_sent']}",
            *event_lines(c),
            f"latency (first request byte -> first response byte), ms: p50 {lat['p50']} p90 {lat['p90']} "
            f"p99 {lat['p99']} max {lat['max']}",
            f"errors: {errors}",
        ]
