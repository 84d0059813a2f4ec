"""Compiling programs from bpf/: the exact input is inspectable, failures are short and clear."""

from __future__ import annotations

import time

import pytest

from pyreplay.ebpf import loader
from pyreplay.ebpf.paths import bpf_source_dir


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PYREPLAY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PYREPLAY_KERNEL_SOURCE", raising=False)


def test_program_names_resolve_to_files_in_bpf_dir():
    assert loader.resolve_program("smoke") == bpf_source_dir() / "smoke.bpf.c"
    assert loader.resolve_program("smoke.bpf.c") == bpf_source_dir() / "smoke.bpf.c"
    with pytest.raises(FileNotFoundError, match="no BPF program nonesuch"):
        loader.resolve_program("nonesuch")


def test_defines_become_d_flags_and_are_validated():
    assert loader.define_flags({"B": True, "A": 7, "C": "0x1f"}) == ["-DA=7", "-DB=1", "-DC=0x1f"]
    with pytest.raises(ValueError, match="C identifier"):
        loader.define_flags({"1BAD": 1})
    with pytest.raises(ValueError, match="one-line"):
        loader.define_flags({"X": "1\n#include <evil.h>"})


def test_program_source_is_the_exact_compile_input(tmp_path):
    source = loader.program_source("smoke", {"SMOKE_EXAMPLE": 3})
    assert source.text == (bpf_source_dir() / "smoke.bpf.c").read_text()
    assert "-DSMOKE_EXAMPLE=3" in source.cflags
    assert f"-I{bpf_source_dir() / 'include'}" in source.cflags
    assert source.environment["BCC_KERNEL_SOURCE"].startswith(str(tmp_path / "cache"))
    dump = source.render()
    assert dump.startswith(f"// file: {source.path}\n")
    assert "// env: BCC_KERNEL_SOURCE=" in dump
    assert "// cflags: -DSMOKE_EXAMPLE=3" in dump
    assert dump.endswith(source.text)


def test_shorten_keeps_errors_with_their_context():
    noise = [f"/virtual/main.c:{n}:1: warning: something {n}" for n in range(50)]
    error = ["/virtual/main.c:60:5: error: use of undeclared identifier 'x'", "    x = 1;", "    ^"]
    short = loader.shorten("\n".join(noise + error + noise))
    assert short.splitlines() == error


@pytest.mark.bpf
def test_smoke_program_compiles_fast_with_the_assembled_tree():
    started = time.perf_counter()
    compiled = loader.compile_program("smoke")
    elapsed = time.perf_counter() - started
    try:
        function = compiled.load_func(b"smoke_xdp", compiled.XDP)
        assert function.fd > 0
    finally:
        compiled.cleanup()
    print(f"smoke.bpf.c compile+load: {elapsed:.3f} s")
    assert elapsed < 5  # measured 0.2-0.35 s with this tree; real headers take 0.7-1 s


@pytest.mark.bpf
def test_tcx_smoke_program_compiles():
    compiled = loader.compile_program("smoke_tcx")
    try:
        assert compiled.load_func(b"smoke_tcx", compiled.SCHED_CLS).fd > 0
    finally:
        compiled.cleanup()


@pytest.mark.bpf
def test_compile_failure_carries_clangs_error_shortened(tmp_path):
    broken = tmp_path / "broken.bpf.c"
    broken.write_text(
        "#include <uapi/linux/bpf.h>\n"
        "int broken_xdp(struct xdp_md *ctx)\n{\n    return undeclared_thing;\n}\n"
    )
    with pytest.raises(loader.CompileError) as failure:
        loader.compile_program(broken)
    message = str(failure.value)
    assert message.startswith("bcc could not compile broken.bpf.c")
    assert "error: use of undeclared identifier 'undeclared_thing'" in message
    assert len(message.splitlines()) <= 22


@pytest.mark.bpf
def test_missing_header_is_reported(tmp_path):
    broken = tmp_path / "noheader.bpf.c"
    broken.write_text("#include <uapi/linux/no_such_header.h>\n")
    with pytest.raises(loader.CompileError, match="no_such_header.h' file not found"):
        loader.compile_program(broken)
