"""Counting into the engine's counters: plain ``dict[str, int]``, read with ``.get(name, 0)``.

Not ``collections.Counter``: compiled code stores into an exact dict directly, while a Counter
goes through the generic mapping protocol and calls its ``__missing__`` as Python on every first
count of a name (about ten per session)."""

from __future__ import annotations


def tally(counters: dict[str, int], name: str, n: int = 1) -> None:
    counters[name] = counters.get(name, 0) + n
