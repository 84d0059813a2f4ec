"""Read the lab server's request log and compare two of them (online vs target).

A replay is faithful when the target received the same requests as the online server: the same
count, the same bytes per request (method, target, body length and hash), in the same order on
each connection. Client addresses and ports differ by design (``-c`` rewrites them), so
connections are compared as a multiset of per-connection request sequences.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RequestRecord:
    t: float
    client: str
    conn: int
    idx: int
    method: str
    target: str
    body_len: int
    body_sha256: str

    @property
    def fingerprint(self) -> tuple[str, str, int, str]:
        return (self.method, self.target, self.body_len, self.body_sha256)

    @property
    def client_addr(self) -> str:
        return self.client.rsplit(":", 1)[0]


def read_log(path: str | Path) -> list[RequestRecord]:
    """Every complete line of the log (a line still being written is ignored)."""
    records = []
    try:
        text = Path(path).read_text(encoding="ascii")
    except FileNotFoundError:
        return []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        records.append(RequestRecord(**json.loads(line)))
    return records


def connections(records: list[RequestRecord]) -> dict[int, tuple[tuple, ...]]:
    """Requests grouped by connection, each in the order the server read them."""
    grouped: dict[int, list[RequestRecord]] = {}
    for r in records:
        grouped.setdefault(r.conn, []).append(r)
    return {conn: tuple(r.fingerprint for r in sorted(rs, key=lambda r: r.idx)) for conn, rs in grouped.items()}


@dataclass(frozen=True, slots=True)
class Comparison:
    online_requests: int
    target_requests: int
    missing: int  # requests online saw that the target did not (as per-connection sequences)
    unexpected: int

    @property
    def ratio(self) -> float:
        return 1.0 if self.online_requests == 0 else (self.online_requests - self.missing) / self.online_requests

    @property
    def exact(self) -> bool:
        return self.missing == 0 and self.unexpected == 0


def compare(online: list[RequestRecord], target: list[RequestRecord], copies: int = 1) -> Comparison:
    """Compare per-connection request sequences; with ``copies`` N each online connection is
    expected N times at the target (``-n``)."""
    want = Counter()
    for seq in connections(online).values():
        want[seq] += copies
    got = Counter(connections(target).values())
    missing_seqs = want - got
    extra_seqs = got - want
    return Comparison(
        online_requests=sum(len(s) * n for s, n in want.items()),
        target_requests=len(target),
        missing=sum(len(s) * n for s, n in missing_seqs.items()),
        unexpected=sum(len(s) * n for s, n in extra_seqs.items()),
    )
