"""Run ``pyreplay`` with a different BPF capture ring size: a benchmark experiment only.

``python -m pyreplay.lab.copy_ring MIB copy ARGS...`` runs the CLI exactly as
``python -m pyreplay.cli copy ARGS...`` except that every ``BpfCapture`` it opens gets a ring of
MIB MiB (a power of two; copy's own default is ``bpf_capture.DEFAULT_RING_BYTES``, 16 MiB).
copy has no flag for its ring yet (tcpcopy's ``-B`` is accepted without effect), so the live
benchmark uses this to show how long a burst a bigger ring absorbs. Nothing else changes.
"""

from __future__ import annotations

import functools
import sys

MIB = 1024 * 1024


def use_ring_bytes(ring_bytes: int) -> None:
    """Make every BpfCapture opened from now on use ``ring_bytes``."""
    from pyreplay.backends import bpf_capture

    plain_init = bpf_capture.BpfCapture.__init__
    bpf_capture.BpfCapture.__init__ = functools.partialmethod(plain_init, ring_bytes=ring_bytes)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not argv[0].isdigit() or int(argv[0]) & (int(argv[0]) - 1) or int(argv[0]) == 0:
        print("usage: python -m pyreplay.lab.copy_ring MIB (a power of two) copy ARGS...", file=sys.stderr)
        return 2
    use_ring_bytes(int(argv[0]) * MIB)
    from pyreplay.cli import main as cli_main

    sys.argv = ["pyreplay", *argv[1:]]
    cli_main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
