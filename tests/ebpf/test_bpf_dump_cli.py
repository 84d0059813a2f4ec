"""`pyreplay bpf dump` prints the exact source and -D flags pyreplay compiles with."""

from __future__ import annotations

from click.testing import CliRunner

from pyreplay.cli import main
from pyreplay.ebpf.paths import bpf_source_dir


def test_dump_prints_source_and_capture_defines():
    result = CliRunner().invoke(main, ["bpf", "dump", "capture_xdp"])
    assert result.exit_code == 0, result.output
    assert "-DPR_RINGS=1" in result.output and "-DPR_RING_PAGES=" in result.output
    assert (bpf_source_dir() / "capture_xdp.bpf.c").read_text() in result.output


def test_dump_without_a_name_prints_every_program():
    result = CliRunner().invoke(main, ["bpf", "dump"])
    assert result.exit_code == 0, result.output
    for name in ("capture_xdp", "capture_tc", "smoke"):
        assert f"// file: {bpf_source_dir() / (name + '.bpf.c')}" in result.output


def test_unknown_program_is_one_line_and_exit_1():
    result = CliRunner().invoke(main, ["bpf", "dump", "nonesuch"])
    assert result.exit_code == 1
    assert "no BPF program nonesuch" in result.output
