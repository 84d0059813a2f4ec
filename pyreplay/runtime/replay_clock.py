"""Offline replay clock: when each captured packet is due, given ``-a`` and ``-I``.

``ReplayClock(acceleration, gap_threshold)`` maps capture timestamps to replay times: the first
packet is due at ``start``; later ones ``(ts - first_ts - compressed) / acceleration`` after it,
where ``compressed`` sums every idle gap between consecutive replayed packets longer than
``gap_threshold`` (seconds; 0 = never), each minus the threshold. Pure: the caller passes
``start`` and each timestamp in capture order.
"""

from __future__ import annotations


class ReplayClock:
    def __init__(self, acceleration: float = 1.0, gap_threshold: float = 0.0) -> None:
        if acceleration < 1:
            raise ValueError("acceleration must be >= 1")
        self.acceleration = acceleration
        self.gap_threshold = gap_threshold
        self._start: float | None = None
        self._first_ts = 0.0
        self._last_ts = 0.0
        self._compressed = 0.0

    def due(self, timestamp: float, start: float) -> float:
        """Replay time of a packet captured at ``timestamp`` (call in capture order)."""
        if self._start is None:
            self._start, self._first_ts, self._last_ts = start, timestamp, timestamp
            return start
        gap = timestamp - self._last_ts
        if self.gap_threshold > 0 and gap > self.gap_threshold:
            self._compressed += gap - self.gap_threshold
        if timestamp > self._last_ts:
            self._last_ts = timestamp
        offset = max(0.0, timestamp - self._first_ts - self._compressed)
        return self._start + offset / self.acceleration
