"""Lab-free CPU benchmark of copy's replay engine: CPU-seconds spent in ``Replay`` per pcap.

Replays a capture (e.g. one kept by ``bench_offline.py --keep-pcaps DIR``) through ``Replay`` on
a virtual clock (``-a`` compresses the captured times; no sleeping), answered by the dry run's
``SimulatedTarget`` after ``--rtt`` seconds, its summaries packed and unpacked as the channel
does. Only the CPU time inside the engine's calls (capture parse, sessions, packet building,
channel decoding) is counted, not the simulated target's, so the number is stable on a busy
machine where the lab benchmark's wall-clock-driven loop is not. It is a relative measure for
optimising the engine; ``bench_offline.py`` stays the end-to-end truth.

``--null-sessions`` replaces the session engine by one that absorbs every event and sends
nothing: what is left is the floor of the layers around it (capture parse, -x match, table
lookup, session creation, allocator, deadlines), i.e. what no session-engine optimisation saves.

``--instructions`` counts the CPU instructions executed inside the engine's calls in one run,
under valgrind's callgrind (``apt-get install valgrind``; compiled build only): unlike CPU time
on this VM, the count is the same from run to run, so a change of a few per cent shows.

The collector is set as copy sets it (``settle_gc()``). ``--gc-stats`` runs once with CPython's default collector thresholds and once after
``settle_gc()`` (what copy, intercept and burn do), and prints the collections per generation
and the CPU spent in them (``gc.callbacks``), each in a fresh interpreter.

Usage: ``.venv/bin/python scripts/bench_engine.py PCAP [--accel 1000] [--runs 3] [--profile OUT] [--null-sessions] [--packet-layer] [--gc-stats] [--instructions]``
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyreplay.channel.records import pack_runs, unpack_runs  # noqa: E402
from pyreplay.config import CopyConfig  # noqa: E402
from pyreplay.packet.pcap import open_capture  # noqa: E402
from pyreplay.packet.tcpip import parse_packet  # noqa: E402
from pyreplay.runtime.replay import Replay  # noqa: E402
from pyreplay.runtime.simtarget import SimulatedTarget  # noqa: E402


def run_once(pcap: str, accel: float, rtt: float, transfer: str) -> tuple[float, dict]:
    config = CopyConfig.from_options(transfers=transfer, intercepts="127.0.0.1", offline_file=pcap,
                                     acceleration=accel)
    sent: list[bytes] = []
    replay = Replay(config, lambda packet, now: sent.append(packet), lambda frame, registers: None)
    target = SimulatedTarget()
    clock = time.process_time
    engine = 0.0
    with open_capture(pcap) as reader:
        t0 = clock()
        captured = [(r.timestamp, s) for r in reader if (s := replay.captured_segment(r.packet)) is not None]
        engine += clock() - t0
    start = captured[0][0] if captured else 0.0
    queue: list = []
    order = itertools.count()
    for ts, seg in captured:
        queue.append(((ts - start) / accel, next(order), 0, seg))
    heapq.heapify(queue)
    now = 0.0
    while True:
        deadline = replay.next_deadline()
        if queue and (deadline is None or queue[0][0] <= deadline):
            now, _, kind, item = heapq.heappop(queue)
            t0 = clock()
            if kind == 0:
                replay.client_segment(item, now)
            else:
                for summary in unpack_runs(item):
                    replay.response(summary, now)
            engine += clock() - t0
        elif deadline is not None:
            now = max(now, deadline)
            t0 = clock()
            replay.tick(now)
            engine += clock() - t0
        else:
            break
        if sent:
            summaries = [s for packet in sent for s in target.receive(parse_packet(packet))]
            sent.clear()
            if summaries:
                heapq.heappush(queue, (now + rtt, next(order), 1, pack_runs(summaries)))
    counters = replay.counters()
    return engine, {"sessions": counters["sessions_created"], "requests": counters["requests"],
                    "packets_sent": replay.stats.packets_sent, "responses": replay.stats.responses,
                    "outcomes": dict(replay.stats.outcomes)}


def packet_layer_costs(pcap: str, repeat: int = 20) -> str:
    """CPU µs per ``parse_packet`` and per ``build_packet`` call, over every packet of ``pcap``."""
    from pyreplay.packet.tcpip import build_packet
    with open_capture(pcap) as reader:
        packets = [r.packet for r in reader]
    segments = [parse_packet(p) for p in packets]
    clock = time.process_time
    t0 = clock()
    for _ in range(repeat):
        for packet in packets:
            parse_packet(packet)
    t1 = clock()
    for _ in range(repeat):
        for segment in segments:
            build_packet(segment)
    t2 = clock()
    calls = repeat * len(packets)
    return f"{pcap}: parse_packet {(t1 - t0) / calls * 1e6:.2f} µs, build_packet {(t2 - t1) / calls * 1e6:.2f} µs per call"


def gc_stats(pcap: str, accel: float, rtt: float, transfer: str, settled: bool) -> str:
    """One run's garbage collections by generation and their CPU, default or settled collector."""
    import gc

    from pyreplay.runtime.process import settle_gc
    if settled:
        settle_gc()
    collections: dict[int, int] = {}
    spent = [0.0, 0.0]  # start of the current collection, total

    def track(phase: str, info: dict) -> None:
        if phase == "start":
            spent[0] = time.process_time()
        else:
            collections[info["generation"]] = collections.get(info["generation"], 0) + 1
            spent[1] += time.process_time() - spent[0]

    gc.callbacks.append(track)
    engine, _ = run_once(pcap, accel, rtt, transfer)
    gc.callbacks.remove(track)
    label = "settle_gc()" if settled else "default thresholds"
    return (f"{pcap}: {label}: engine CPU {engine:.3f} s, collections by generation "
            f"{dict(sorted(collections.items()))}, {spent[1]:.3f} CPU-s in them")


def instructions(pcap: str, accel: float, rtt: float, transfer: str) -> str:
    """One run under callgrind, counting only inside ``Replay``'s entry points (their compiled
    wrappers: parse, -x match, sessions, packet building, channel frames; not this script)."""
    import re
    import shutil
    import subprocess
    import tempfile

    from pyreplay import compiled
    if shutil.which("valgrind") is None:
        sys.exit("bench_engine.py: --instructions needs valgrind (apt-get install valgrind)")
    if not compiled.is_compiled():
        sys.exit("bench_engine.py: --instructions counts in the compiled build; build it (scripts/build_engine.py)")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", "--toggle-collect=CPyPy_replay___Replay_*",
             sys.executable, __file__, pcap, "--runs", "1", "--accel", str(accel), "--rtt", str(rtt), "-x", transfer],
            capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        sys.exit(f"bench_engine.py: callgrind printed no count:\n{done.stderr[-2000:]}")
    return f"{pcap}: {int(found.group(1)):,} instructions in the engine's calls (one run)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("pcap")
    p.add_argument("--accel", type=float, default=1000.0)
    p.add_argument("--rtt", type=float, default=0.0002)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("-x", "--transfer", default="80-10.0.0.1:8080")
    p.add_argument("--profile", type=Path, help="write a cProfile of one run here")
    p.add_argument("--packet-layer", action="store_true",
                   help="also time parse_packet and build_packet per call over the pcap's packets")
    p.add_argument("--null-sessions", action="store_true",
                   help="sessions absorb every event and send nothing: the cost of the layers around them")
    p.add_argument("--gc-stats", action="store_true",
                   help="collections and their CPU, default collector vs settle_gc() (fresh interpreters)")
    p.add_argument("--instructions", action="store_true",
                   help="instructions executed in the engine's calls in one run (valgrind callgrind)")
    p.add_argument("--gc-settled", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--gc-default", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.gc_default or a.gc_settled:
        print(gc_stats(a.pcap, a.accel, a.rtt, a.transfer, settled=a.gc_settled))
        return 0
    if a.gc_stats:
        import subprocess
        common = [sys.executable, __file__, a.pcap, "--accel", str(a.accel), "--rtt", str(a.rtt), "-x", a.transfer]
        for flag in ("--gc-default", "--gc-settled"):
            subprocess.run([*common, flag], check=True)
        return 0
    if a.instructions:
        print(instructions(a.pcap, a.accel, a.rtt, a.transfer))
        return 0
    if a.packet_layer:
        print(packet_layer_costs(a.pcap))
    if a.null_sessions:
        from pyreplay import compiled
        if compiled.is_compiled():  # compiled callers would not see the patched methods
            p.error(f"--null-sessions patches the session class, which the compiled build cannot: "
                    f"run it with {compiled.PURE_ENV}=1")
        from pyreplay.session.session import Session
        Session.handle = lambda self, event, *, now: []
        Session.next_deadline = lambda self: None
        Session.absorb_pure_ack = lambda self, segment, now: True
    if a.profile:
        import cProfile
        cProfile.runctx("run_once(a.pcap, a.accel, a.rtt, a.transfer)", globals(), locals(), str(a.profile))
    from pyreplay.runtime.process import settle_gc
    settle_gc()  # the collector as copy runs with it (without, a third of the figure was its walks)
    results = [run_once(a.pcap, a.accel, a.rtt, a.transfer) for _ in range(a.runs)]
    cpu = [r[0] for r in results]
    print(f"{a.pcap}: engine CPU {statistics.median(cpu):.3f} s (runs {', '.join(f'{c:.3f}' for c in cpu)}); "
          f"{results[0][1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
