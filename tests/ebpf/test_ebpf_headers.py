"""The assembled kernel tree and the diagnostics; runs as any user, in a temporary cache dir."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pyreplay.ebpf import headers
from pyreplay.ebpf.paths import CacheDirError

ARCH = headers.bcc_arch()


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("PYREPLAY_CACHE_DIR", str(cache))
    monkeypatch.delenv(headers.KERNEL_SOURCE_ENV, raising=False)
    monkeypatch.delenv(headers.KERNEL_CFLAGS_ENV, raising=False)
    return cache


def test_tree_has_our_stubs_and_bcc_finds_kconfig(private_cache):
    tree = headers.kernel_tree()
    assert tree.is_relative_to(private_cache)
    kconfig = tree / "include/linux/kconfig.h"  # bcc checks exactly this path
    assert "#define CONFIG_BPF_SYSCALL" in kconfig.read_text()
    for name in ("kconfig.h", "log2.h", "types.h", "version.h"):
        own = tree / "include/linux" / name
        assert own.is_file() and not own.is_symlink()
    assert (tree / f"arch/{ARCH}/include/asm/page.h").is_file()


def test_uapi_bpf_header_is_an_empty_file_not_a_link(private_cache):
    stub = headers.kernel_tree() / "include/uapi/linux/bpf.h"
    assert not stub.is_symlink()
    assert stub.stat().st_size == 0


def test_uapi_headers_are_per_file_links_to_existing_targets(private_cache):
    tree = headers.kernel_tree()
    uapi = headers.find_uapi_headers()
    expected = {
        tree / "include/uapi/linux/types.h": uapi.linux / "types.h",
        tree / "include/uapi/linux/if_ether.h": uapi.linux / "if_ether.h",
        tree / "include/uapi/linux/netfilter/nf_conntrack_common.h": uapi.linux / "netfilter/nf_conntrack_common.h",
        tree / "include/uapi/asm-generic/int-ll64.h": uapi.asm_generic / "int-ll64.h",
        tree / f"arch/{ARCH}/include/uapi/asm/types.h": uapi.asm / "types.h",
    }
    for link, target in expected.items():
        assert link.is_symlink(), link
        assert Path(os.readlink(link)) == target
    links = [path for path in tree.rglob("*") if path.is_symlink()]
    assert len(links) > 500
    dangling = [path for path in links if not path.exists()]
    assert dangling == []
    assert not any(path.is_dir() for path in links), "directories are real, only files are links"


def test_version_header_matches_running_kernel(private_cache):
    major, minor, patch = headers.kernel_version()
    text = (headers.kernel_tree() / "include/linux/version.h").read_text()
    assert f"#define LINUX_VERSION_CODE {(major << 16) + (minor << 8) + min(patch, 255)}\n" in text


def test_assembly_is_idempotent_and_the_second_call_is_fast(private_cache):
    first = headers.kernel_tree()
    entries = sorted((private_cache / "kernel-tree").iterdir())
    started = time.perf_counter()
    second = headers.kernel_tree()
    elapsed = time.perf_counter() - started
    assert second == first
    assert sorted((private_cache / "kernel-tree").iterdir()) == entries == [first]
    assert elapsed < 0.2  # a few stat calls and a hash; assembling takes 40 ms to 1 s


def test_changed_stub_content_gives_a_new_tree(private_cache, tmp_path, monkeypatch):
    first = headers.kernel_tree()
    bpf_copy = tmp_path / "bpf"
    (bpf_copy / "kstub/include/linux").mkdir(parents=True)
    for name in ("kconfig.h", "log2.h", "types.h"):
        source = first / "include/linux" / name
        (bpf_copy / "kstub/include/linux" / name).write_bytes(source.read_bytes())
    (bpf_copy / "kstub/include/linux/log2.h").write_text("/* changed */\n")
    monkeypatch.setenv("PYREPLAY_BPF_DIR", str(bpf_copy))
    second = headers.kernel_tree()
    assert second != first
    assert (second / "include/linux/log2.h").read_text() == "/* changed */\n"


def test_missing_uapi_headers_name_the_debian_package(tmp_path):
    with pytest.raises(headers.HeaderTreeError, match="apt-get install linux-libc-dev"):
        headers.kernel_tree(include_root=tmp_path / "no-include")


def test_override_points_at_real_headers(tmp_path, monkeypatch):
    real = tmp_path / "linux-headers"
    (real / "include/linux").mkdir(parents=True)
    (real / "include/linux/kconfig.h").write_text("")
    monkeypatch.setenv(headers.KERNEL_SOURCE_ENV, str(real))
    monkeypatch.setenv(headers.KERNEL_CFLAGS_ENV, "-I/x/arch/x86/include/generated -I'/y z'")
    assert headers.kernel_tree() == real.resolve()
    assert headers.bcc_environment() == {"BCC_KERNEL_SOURCE": str(real.resolve())}
    assert headers.extra_cflags() == ["-I/x/arch/x86/include/generated", "-I/y z"]


def test_override_without_kconfig_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(headers.KERNEL_SOURCE_ENV, str(tmp_path))
    with pytest.raises(headers.HeaderTreeError, match="kconfig.h"):
        headers.kernel_tree()
    assert any("kconfig.h" in problem for problem in headers.header_problems())


def test_cache_writable_by_others_is_refused(private_cache):
    private_cache.mkdir(mode=0o700)
    private_cache.chmod(0o777)
    with pytest.raises(CacheDirError, match="writable by other users"):
        headers.kernel_tree()


def test_bcc_arch_follows_bccs_mapping():
    assert headers.bcc_arch("x86_64") == "x86"
    assert headers.bcc_arch("aarch64") == "arm64"
    assert headers.bcc_arch("s390x") == "s390"
    assert headers.bcc_arch("ppc64le") == "powerpc"
    assert headers.bcc_arch("riscv64") == "riscv64"


def test_kernel_version_parses_distribution_releases():
    assert headers.kernel_version("6.18.44-fc-v657") == (6, 18, 44)
    assert headers.kernel_version("6.1.0-26-amd64") == (6, 1, 0)
    assert headers.kernel_version("5.15.0+") == (5, 15, 0)
    assert headers.kernel_version("6.9") == (6, 9, 0)


def test_old_kernels_are_reported_in_plain_words():
    assert headers.kernel_problems("6.18.44-fc") == []
    (no_link,) = headers.kernel_problems("5.4.0-150-generic")
    assert "older than 5.9" in no_link and "bpf_link" in no_link
    (no_tcx,) = headers.kernel_problems("6.1.0-26-amd64")
    assert "older than 6.6" in no_tcx and "tcx" in no_tcx


def test_privileges_root_or_capabilities():
    assert headers.privilege_problems("CapEff:\t0000000000000000\n", euid=0) == []
    with_caps = f"CapEff:\t{(1 << 39) | (1 << 12):016x}\n"
    assert headers.privilege_problems(with_caps, euid=1000) == []
    (problem,) = headers.privilege_problems("CapEff:\t0000000000000000\n", euid=1000)
    assert "root" in problem and "CAP_BPF" in problem


def test_diagnose_is_a_list_of_sentences():
    problems = headers.diagnose()
    assert isinstance(problems, list)
    assert all(isinstance(problem, str) and problem for problem in problems)
    if os.geteuid() != 0:
        assert any("not running as root" in problem for problem in problems)


def fake_uapi(root: Path) -> Path:
    for relative in ("linux/types.h", "linux/if_ether.h", "asm-generic/types.h", "asm/types.h"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(f"/* {relative} */\n")
    return root


def test_plain_asm_dir_is_found_and_new_uapi_files_give_a_new_tree(tmp_path):
    root = fake_uapi(tmp_path / "include")
    first = headers.kernel_tree(include_root=root)
    assert Path(os.readlink(first / f"arch/{ARCH}/include/uapi/asm/types.h")) == root / "asm/types.h"
    (root / "linux/in.h").write_text("/* upgraded package */\n")
    second = headers.kernel_tree(include_root=root)
    assert second != first
    assert (second / "include/uapi/linux/in.h").is_symlink()


def test_losing_an_assembly_race_keeps_the_winners_tree(private_cache):
    tree = headers.kernel_tree()
    uapi = headers.find_uapi_headers()
    headers._assemble(tree, headers._own_files(ARCH), uapi, ARCH)  # as a second process would
    assert [path.name for path in tree.parent.iterdir()] == [tree.name], "no staging dir is left"
    assert (tree / "include/uapi/linux/bpf.h").stat().st_size == 0
