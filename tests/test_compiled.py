"""pyreplay.compiled: the mypyc build is used only when it matches the sources, all or none."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pyreplay import compiled

STATUS = "import pyreplay.compiled as c, pyreplay.session.session as s; print(c.status()); print(s.__file__)"


def fresh_status(**env: str) -> tuple[str, str]:
    """(status line, file the session module came from) in a new interpreter."""
    run = subprocess.run([sys.executable, "-c", STATUS], capture_output=True, text=True, timeout=60,
                         env={**os.environ, **env})
    assert run.returncode == 0, run.stderr
    status, source = run.stdout.splitlines()
    return status, source


def test_the_set_up_machine_runs_the_compiled_core():
    """setup.sh builds the core; a source edited since then must be rebuilt (setup.sh does)."""
    assert compiled.is_compiled(), f"per-packet core: {compiled.status()}"
    status, source = fresh_status(PYREPLAY_PURE_PYTHON="")
    assert status == "compiled (mypyc)"
    assert not source.endswith(".py")


def test_pure_python_is_forced_by_the_environment():
    status, source = fresh_status(PYREPLAY_PURE_PYTHON="1")
    assert status == "pure Python (PYREPLAY_PURE_PYTHON is set)"
    assert source.endswith("pyreplay/session/session.py")


def test_a_stamp_that_does_not_match_the_sources_selects_pure_python(tmp_path, monkeypatch):
    stamp = tmp_path / "stamp.json"
    digests = {m: compiled.source_digest(m) for m in compiled.MODULES}
    monkeypatch.setattr(compiled, "STAMP", stamp)
    monkeypatch.setattr(compiled, "extension_present", lambda module: True)
    monkeypatch.delenv(compiled.PURE_ENV, raising=False)
    stamp.write_text(json.dumps({"sources": digests}))
    assert compiled._stale_reason() is None
    stamp.write_text(json.dumps({"sources": {**digests, "pyreplay.session.table": "0" * 64}}))
    assert compiled._stale_reason() == ("pyreplay.session.table changed since it was compiled; "
                                        "rebuild with scripts/build_engine.py")
    stamp.write_text("not json")
    assert "unreadable" in compiled._stale_reason()
    stamp.unlink()
    assert compiled._stale_reason() == "not built (scripts/build_engine.py)"


def test_a_missing_extension_selects_pure_python(tmp_path, monkeypatch):
    stamp = tmp_path / "stamp.json"
    stamp.write_text(json.dumps({"sources": {m: compiled.source_digest(m) for m in compiled.MODULES}}))
    monkeypatch.setattr(compiled, "STAMP", stamp)
    monkeypatch.setattr(compiled, "extension_present", lambda module: module != "pyreplay.packet.tcpip")
    monkeypatch.delenv(compiled.PURE_ENV, raising=False)
    assert compiled._stale_reason() == "pyreplay.packet.tcpip has no compiled build; rebuild with scripts/build_engine.py"


def test_selecting_after_an_import_is_refused():
    import pyreplay.packet.seqnum  # noqa: F401

    with pytest.raises(RuntimeError, match="after pyreplay"):
        compiled.select_build()


def test_every_compiled_module_has_its_source():
    for module in compiled.MODULES:
        assert compiled.source_path(module).is_file(), module


def test_a_leftover_extension_of_a_module_not_compiled_is_never_imported():
    """An older build may have compiled a module the list no longer names; its .so must not load."""
    import importlib.machinery
    import shutil

    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    stray = compiled.source_path("pyreplay.channel.messages").with_suffix(suffix)
    donor = compiled.source_path("pyreplay.packet.seqnum").with_suffix(suffix)
    assert "pyreplay.channel.messages" not in compiled.MODULES
    placed = not stray.exists()
    if placed:
        shutil.copyfile(donor, stray)  # wrong module init name: importing it would fail
    try:
        run = subprocess.run([sys.executable, "-c", "import pyreplay.channel.messages as m; print(m.__file__)"],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip().endswith("pyreplay/channel/messages.py")
    finally:
        if placed:
            stray.unlink()
