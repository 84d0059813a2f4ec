"""Which build of the per-packet core runs: mypyc-compiled extension modules or plain Python.

Contract: ``MODULES`` names the modules ``scripts/build_engine.py`` compiles with mypyc (the same
source files, typed; nothing is written twice). The build leaves one extension module beside
each source file and a stamp, ``pyreplay/compiled-stamp.json``, holding each source's SHA-256.
``select_build()`` runs once, from ``pyreplay/__init__``, before any of them is imported: the
compiled modules are used only if every one is present and built from the sources now on disk;
otherwise (no build, an edited source, ``PYREPLAY_PURE_PYTHON=1``) all of them load from their
``.py`` files. Compiled modules call one another natively, so it is all or none, never a mix;
an extension module of any other pyreplay module (left by an older build) is never imported.
``status()`` says which build runs, and why, in one line.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
STAMP = PACKAGE_DIR / "compiled-stamp.json"
GROUP = "pyreplay.engine"  # mypyc's shared library becomes pyreplay/engine__mypyc.*.so
PURE_ENV = "PYREPLAY_PURE_PYTHON"

MODULES = (
    "pyreplay.packet.errors",
    "pyreplay.packet.record",
    "pyreplay.packet.seqnum",
    "pyreplay.packet.checksum",
    "pyreplay.packet.segment",
    "pyreplay.packet.options",
    "pyreplay.packet.summary",
    "pyreplay.packet.ring_summaries",
    "pyreplay.packet.tcpip",
    "pyreplay.packet.linklayer",
    "pyreplay.session.commands",
    "pyreplay.session.events",
    "pyreplay.session.config",
    "pyreplay.session.state",
    "pyreplay.session.tally",
    "pyreplay.session.tcpopts",
    "pyreplay.session.retransmit",
    "pyreplay.session.stream",
    "pyreplay.session.session",
    "pyreplay.session.table",
    "pyreplay.channel.errors",
    "pyreplay.channel.records",
    "pyreplay.channel.batcher",
    "pyreplay.channel.router",
    "pyreplay.channel.delay",
    "pyreplay.rewrite.mix",
    "pyreplay.rewrite.sampling",
    "pyreplay.rewrite.transfer",
    "pyreplay.rewrite.addresses",
    "pyreplay.rewrite.clients",
    "pyreplay.runtime.replay_clock",
    "pyreplay.runtime.outbox",
    "pyreplay.runtime.replay",
    "pyreplay.burn.index",
    "pyreplay.burn.scheduler",
    "pyreplay.ebpf.ringbuf",
    "pyreplay.channel.codec",
    "pyreplay.backends.channel_tcp",
    "pyreplay.backends.emit",
    "pyreplay.backends.bpf_capture",
    "pyreplay.backends.bpf_responses",
    "pyreplay.runtime.copy",
    "pyreplay.runtime.copy_live",
    "pyreplay.runtime.intercept",
    "pyreplay.runtime.burn",
)

_status = "pure Python (not selected yet)"


def source_path(module: str) -> Path:
    return PACKAGE_DIR.parent.joinpath(*module.split(".")).with_suffix(".py")


def source_digest(module: str) -> str:
    return hashlib.sha256(source_path(module).read_bytes()).hexdigest()


def extension_present(module: str) -> bool:
    """True if an extension module (a compiled build) sits beside the module's source."""
    stem = source_path(module).with_suffix("")
    return any(Path(f"{stem}{suffix}").exists() for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def _stale_reason() -> str | None:
    """Why the compiled build must not be used, or None if it may."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return f"{PURE_ENV} is set"
    if not STAMP.exists():
        return "not built (scripts/build_engine.py)"
    try:
        recorded = json.loads(STAMP.read_text())["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{STAMP.name} is unreadable; rebuild with scripts/build_engine.py"
    for module in MODULES:
        if not extension_present(module):
            return f"{module} has no compiled build; rebuild with scripts/build_engine.py"
        if recorded.get(module) != source_digest(module):
            return f"{module} changed since it was compiled; rebuild with scripts/build_engine.py"
    return None


class _SourceOnly(importlib.abc.MetaPathFinder):
    """Loads pyreplay's modules from their ``.py`` files, except those of a usable compiled build.

    Python prefers an extension module to a source file beside it; this keeps a leftover one
    (of a module no longer compiled, or of a build not selected) from being imported.
    """

    def __init__(self, compiled_modules: frozenset[str]) -> None:
        self.compiled_modules = compiled_modules

    def find_spec(self, name, path=None, target=None):
        if not name.startswith("pyreplay.") or name in self.compiled_modules:
            return None
        source = source_path(name)
        if not source.is_file():
            return None  # a package (its __init__.py) or no module of ours: the usual finders
        return importlib.util.spec_from_file_location(name, source)


def select_build() -> str:
    """Choose the build for this process (once, before the modules are imported)."""
    global _status
    already = [m for m in MODULES if m in sys.modules]
    if already:
        raise RuntimeError(f"select_build() after {already[0]} was imported")
    reason = _stale_reason()
    _status = "compiled (mypyc)" if reason is None else f"pure Python ({reason})"
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _SourceOnly)]
    sys.meta_path.insert(0, _SourceOnly(frozenset(MODULES) if reason is None else frozenset()))
    return _status


def status() -> str:
    """One line: which build of the per-packet core runs, and why."""
    return _status


def is_compiled() -> bool:
    return _status == "compiled (mypyc)"
