"""Sans-IO batching of response summaries into frames, one batcher per channel connection.

Contract: ``add(summary, now)`` queues a summary and returns a frame to send when one is due;
``flush_due(now)`` returns a frame when the time limit is reached; ``next_deadline()`` says when
to call it. No summary is ever held past ``flush_interval`` after it was added. A summary that
cannot be encoded raises ``ValueError`` from ``add`` and is not queued.

Rule (Nagle-like, not the C intercept's adaptive counter): a summary arriving after a quiet
spell (nothing sent for ``flush_interval``) goes out at once, so light load adds no latency;
otherwise it waits for the batch to reach ``max_items`` or for ``flush_interval`` after the
previous frame, so a busy connection sends at most about one partial frame per interval.
"""

from __future__ import annotations

import math
from typing import Final

from pyreplay.channel.codec import DEFAULT_MAX_FRAME, encode_responses, max_responses_per_frame
from pyreplay.channel.records import RunBuilder
from pyreplay.packet.segment import ResponseSummary

DEFAULT_MAX_ITEMS: Final = 64
DEFAULT_FLUSH_INTERVAL: Final = 0.002  # seconds


class ResponseBatcher:
    __slots__ = ("_pending", "_max_items", "_interval", "_quiet_at", "frames", "summaries")

    def __init__(self, *, max_items: int = DEFAULT_MAX_ITEMS,
                 flush_interval: float = DEFAULT_FLUSH_INTERVAL,
                 max_frame: int = DEFAULT_MAX_FRAME) -> None:
        limit = max_responses_per_frame(max_frame)
        if not 1 <= max_items <= limit:
            raise ValueError(f"max_items must be 1..{limit} for frames of {max_frame} bytes")
        if not flush_interval >= 0:
            raise ValueError("flush_interval must be >= 0")
        self._pending = RunBuilder()  # summaries are packed as they arrive
        self._max_items = max_items
        self._interval = flush_interval
        self._quiet_at = -math.inf  # the connection counts as quiet from this time on
        self.frames = 0
        self.summaries = 0

    def __len__(self) -> int:
        return self._pending.count

    def add(self, summary: ResponseSummary, now: float) -> bytes | None:
        self._pending.add(summary)
        if self._pending.count >= self._max_items or now >= self._quiet_at:
            return self._emit(now)
        return None

    def flush_due(self, now: float) -> bytes | None:
        if self._pending.count and now >= self._quiet_at:
            return self._emit(now)
        return None

    def flush(self, now: float) -> bytes | None:
        """Everything queued, regardless of time (before a Bye or a close)."""
        return self._emit(now) if self._pending.count else None

    def next_deadline(self) -> float | None:
        return self._quiet_at if self._pending.count else None

    def _emit(self, now: float) -> bytes:
        self.summaries += self._pending.count
        self.frames += 1
        self._quiet_at = now + self._interval
        return encode_responses(self._pending.build())
