"""Process plumbing shared by the runtimes: daemonizing, pid files, stop signals.

``daemonize()`` forks once, starts a new session and points stdio at /dev/null (like the
originals). ``PidFile`` writes our pid and removes the file on exit (the originals parsed
``-P`` and never wrote it). ``stop_on_signals(callback)`` calls back on SIGINT/SIGTERM/SIGHUP; ``memory_over_limit`` is
the ``-m`` check. ``settle_gc()`` makes the cyclic garbage collector rare for the run.
"""

from __future__ import annotations

import gc
import os
import resource
import signal
import sys
from pathlib import Path


def daemonize() -> None:
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stream for good
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115


class PidFile:
    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None

    def __enter__(self) -> PidFile:
        if self.path:
            self.path.write_text(f"{os.getpid()}\n")
        return self

    def __exit__(self, *exc) -> None:
        if self.path:
            self.path.unlink(missing_ok=True)


def stop_on_signals(callback, signals=(signal.SIGINT, signal.SIGTERM, signal.SIGHUP)) -> None:
    for sig in signals:
        signal.signal(sig, lambda *_: callback())


def memory_over_limit(limit_mb: float) -> float | None:
    """Peak RSS in MB when it exceeds ``limit_mb`` (the ``-m`` check), else None."""
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return rss_mb if rss_mb > limit_mb else None


# gen0 runs after this many more container objects are alive than at the last collection
# (CPython's default is 700); gen1 every 50 gen0 runs, gen2 every 100 gen1 runs (and, as
# always, only once the objects that survived gen1 add up to a quarter of the long-lived ones).
RUN_GC_THRESHOLDS = (100_000, 50, 100)


def settle_gc() -> None:
    """Collect and freeze what start-up made, then make automatic collections rare.

    Sessions, segments and commands are freed by reference counting: the per-packet core makes
    no reference cycles (``tests/runtime/test_process.py`` replays sessions with the collector
    off and finds no cyclic garbage). With CPython's default thresholds the collector still
    walked every live session's objects again and again as their number grew: 352 gen0, 32 gen1
    and 3 full collections, 0.26 CPU-s, for 5,000 short sessions; 2 collections and 0.04 CPU-s
    with these thresholds (``scripts/bench_engine.py PCAP --gc-stats``). Frozen start-up objects
    (modules, bcc's tables, config) are never walked again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*RUN_GC_THRESHOLDS)
