"""The benchmark's ring-size experiment reaches every BPF capture copy opens (no BPF needed)."""

from pyreplay.backends import bpf_capture
from pyreplay.lab.copy_ring import MIB, main, use_ring_bytes


def test_every_capture_gets_the_ring_size(monkeypatch):
    seen = {}

    def fake_init(self, hook, interfaces, targets, *, ring_bytes=bpf_capture.DEFAULT_RING_BYTES, **kwargs):
        seen["ring_bytes"] = ring_bytes

    monkeypatch.setattr(bpf_capture.BpfCapture, "__init__", fake_init)
    use_ring_bytes(64 * MIB)
    bpf_capture.BpfCapture("xdp", ["lab0"], [(None, 80)])
    assert seen["ring_bytes"] == 64 * MIB


def test_a_size_that_is_not_a_power_of_two_is_a_usage_error(capsys):
    assert main(["48", "copy"]) == 2
    assert main(["0", "copy"]) == 2
    assert main(["64"]) == 2
    assert "power of two" in capsys.readouterr().err
