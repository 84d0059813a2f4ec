"""bpf_link attach errors and syscall plumbing that need no privileges."""

from __future__ import annotations

import errno

import pytest

from pyreplay.ebpf import link, syscall


def test_modes_and_directions_are_checked_before_the_kernel_is_asked():
    with pytest.raises(ValueError, match="XDP mode must be one of"):
        link.attach_xdp(-1, 1, mode="offload")
    with pytest.raises(ValueError, match="tcx direction must be one of"):
        link.attach_tcx(-1, 1, direction="sideways")


def test_unknown_interface_name():
    with pytest.raises(link.AttachError) as missing:
        link.attach_xdp(-1, "pyrpl-nosuch0")
    assert missing.value.errno == errno.ENODEV
    assert str(missing.value) == "no interface named pyrpl-nosuch0 in this network namespace"


@pytest.mark.parametrize(
    ("code", "hook", "expected"),
    [
        (errno.EBUSY, "XDP (generic)", "another XDP program is already attached to veth0; pyreplay will not replace it"),
        (errno.EEXIST, "XDP (native)", "an XDP program in another mode is already attached to veth0"),
        (errno.EPERM, "XDP (generic)", "run as root (CAP_NET_ADMIN and CAP_BPF)"),
        (errno.EOPNOTSUPP, "XDP (native)", "has no native XDP support; use mode='generic'"),
        (errno.EINVAL, "XDP (generic)", "XDP links need kernel >= 5.9"),
        (errno.EINVAL, "tcx egress", "tcx links need kernel >= 6.6"),
    ],
)
def test_kernel_errors_become_plain_advice(code, hook, expected):
    assert expected in link._explain(code, hook, "veth0")


def test_attach_error_is_an_oserror_with_a_plain_text():
    error = link.AttachError(errno.EBUSY, "plain words")
    assert isinstance(error, OSError) and error.errno == errno.EBUSY
    assert str(error) == "plain words"


def test_syscall_number_comes_from_the_architecture_table():
    assert syscall.syscall_number("x86_64") == 321
    assert syscall.syscall_number("aarch64") == 280
    with pytest.raises(OSError) as unknown:
        syscall.syscall_number("pdp11")
    assert unknown.value.errno == errno.ENOSYS
