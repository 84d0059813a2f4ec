"""The kernel header tree bcc compiles against, assembled at run time; and what is missing.

Contract:
- ``kernel_tree()`` returns a directory to use as ``BCC_KERNEL_SOURCE``. If
  ``PYREPLAY_KERNEL_SOURCE`` is set (people with real kernel headers), that directory is used
  as given, after checking it has ``include/linux/kconfig.h``. Otherwise a tree is assembled
  under ``cache_root()/kernel-tree/<key>``: our stub files from ``bpf/kstub/``, two generated
  files (``linux/version.h`` from the running kernel, ``asm/page.h`` from the page size), an
  empty ``uapi/linux/bpf.h`` (bcc injects its own; Debian's clashes with it), and per-file
  symlinks to the uapi headers of Debian's ``linux-libc-dev`` (``/usr/include/linux``,
  ``asm-generic`` and the multiarch ``asm`` directory, discovered, not hard-coded).
  Assembly is idempotent and atomic (built aside, then renamed into place): the key hashes every
  input, so the second call is a few ``stat``s and a changed input yields a new tree.
- ``bcc_environment()`` is the environment bcc needs; ``extra_cflags()`` the additional
  compiler flags (``PYREPLAY_KERNEL_CFLAGS``, e.g. ``-I`` dirs of Debian's split
  ``linux-headers-*`` packages; empty for the assembled tree).
- ``HeaderTreeError`` says in plain words what to install or set.
- ``diagnose()`` lists, in plain words, everything that stops pyreplay from compiling, loading
  or attaching BPF programs here (for ``pyreplay doctor``); an empty list means ready.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pyreplay.ebpf.paths import CacheDirError, bpf_source_dir, cache_root

UAPI_PACKAGE = "linux-libc-dev"
BCC_PACKAGE = "python3-bpfcc"
TREE_FORMAT = "1"
KERNEL_SOURCE_ENV = "PYREPLAY_KERNEL_SOURCE"
KERNEL_CFLAGS_ENV = "PYREPLAY_KERNEL_CFLAGS"

MIN_KERNEL_XDP_LINK = (5, 9)
MIN_KERNEL_TCX_LINK = (6, 6)

# bcc's kbuild_helper maps `uname -m` to the kernel's arch directory name the same way.
_BCC_ARCH_PREFIXES = (
    ("x86_64", "x86"), ("i386", "x86"), ("i486", "x86"), ("i586", "x86"), ("i686", "x86"),
    ("aarch64", "arm64"), ("arm", "arm"), ("s390x", "s390"), ("ppc", "powerpc"),
    ("mips", "mips"), ("parisc64", "parisc"),
)

_CAP_NET_ADMIN = 12
_CAP_SYS_ADMIN = 21
_CAP_BPF = 39


class HeaderTreeError(RuntimeError):
    """No kernel tree bcc could compile against can be found or assembled."""


@dataclass(frozen=True)
class UapiHeaders:
    """The three directories of installed uapi headers the tree links to."""

    linux: Path
    asm_generic: Path
    asm: Path


def bcc_arch(machine: str | None = None) -> str:
    machine = machine or os.environ.get("ARCH") or platform.machine()
    for prefix, arch in _BCC_ARCH_PREFIXES:
        if machine.startswith(prefix):
            return arch
    return machine


def find_uapi_headers(include_root: Path = Path("/usr/include")) -> UapiHeaders:
    linux = include_root / "linux"
    asm_generic = include_root / "asm-generic"
    asm = _find_asm_dir(include_root)
    if not (linux / "types.h").is_file() or not (asm_generic / "types.h").is_file() or asm is None:
        raise HeaderTreeError(
            f"the Linux uapi headers are missing under {include_root} (linux/, asm-generic/, "
            f"asm/): install the Debian package {UAPI_PACKAGE} (apt-get install {UAPI_PACKAGE}), "
            f"or set {KERNEL_SOURCE_ENV} to a kernel header tree"
        )
    return UapiHeaders(linux=linux, asm_generic=asm_generic, asm=asm)


def _find_asm_dir(include_root: Path) -> Path | None:
    multiarch = getattr(sys.implementation, "_multiarch", None) or sysconfig.get_config_var("MULTIARCH")
    candidates = [include_root / multiarch / "asm"] if multiarch else []
    candidates.append(include_root / "asm")
    candidates += sorted(include_root.glob(f"{platform.machine()}-*/asm"))
    for candidate in candidates:
        if (candidate / "types.h").is_file():
            return candidate
    return None


def kernel_tree(*, include_root: Path = Path("/usr/include"), cache_dir: Path | None = None) -> Path:
    override = os.environ.get(KERNEL_SOURCE_ENV)
    if override:
        return _checked_override(Path(override))
    uapi = find_uapi_headers(include_root)
    arch = bcc_arch()
    own_files = _own_files(arch)
    base = (cache_dir if cache_dir is not None else cache_root()) / "kernel-tree"
    tree = base / _tree_key(arch, own_files, uapi)
    if tree.is_dir():
        return tree
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    _assemble(tree, own_files, uapi, arch)
    return tree


def bcc_environment() -> dict[str, str]:
    return {"BCC_KERNEL_SOURCE": str(kernel_tree())}


def extra_cflags() -> list[str]:
    if not os.environ.get(KERNEL_SOURCE_ENV):
        return []
    return shlex.split(os.environ.get(KERNEL_CFLAGS_ENV, ""))


def _checked_override(path: Path) -> Path:
    if not (path / "include" / "linux" / "kconfig.h").is_file():
        raise HeaderTreeError(
            f"{KERNEL_SOURCE_ENV}={path} has no include/linux/kconfig.h, which bcc requires; point "
            "it at a kernel header tree (for Debian's split linux-headers packages: the -common "
            f"directory, with the -<arch> generated include dirs as -I flags in {KERNEL_CFLAGS_ENV})"
        )
    return path.resolve()


def _own_files(arch: str) -> dict[str, bytes]:
    """Relative path in the tree -> content, for every file that is not a symlink."""
    stub_root = bpf_source_dir() / "kstub"
    files: dict[str, bytes] = {}
    for name in ("kconfig.h", "log2.h", "types.h"):
        stub = stub_root / "include" / "linux" / name
        try:
            files[f"include/linux/{name}"] = stub.read_bytes()
        except OSError as exc:
            raise HeaderTreeError(
                f"pyreplay's own stub header {stub} is missing ({exc.strerror}); "
                "the checkout is incomplete, or set PYREPLAY_BPF_DIR to the repository's bpf/ directory"
            ) from exc
    files["include/linux/version.h"] = _version_header().encode()
    files[f"arch/{arch}/include/asm/page.h"] = _page_header().encode()
    # bcc supplies its own uapi bpf.h; the installed one has another include guard and clashes.
    files["include/uapi/linux/bpf.h"] = b""
    return files


def _version_header() -> str:
    major, minor, patch = kernel_version()
    code = (major << 16) + (minor << 8) + min(patch, 255)
    return (
        "/* Generated by pyreplay.ebpf.headers from the running kernel's release. */\n"
        f"#define LINUX_VERSION_CODE {code}\n"
        "#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))\n"
    )


def _page_header() -> str:
    shift = os.sysconf("SC_PAGE_SIZE").bit_length() - 1
    return (
        "/* Generated by pyreplay.ebpf.headers from this machine's page size. */\n"
        "#ifndef PYREPLAY_KSTUB_ASM_PAGE_H\n#define PYREPLAY_KSTUB_ASM_PAGE_H\n"
        f"#define PAGE_SHIFT {shift}\n#define PAGE_SIZE (1UL << PAGE_SHIFT)\n#endif\n"
    )


def _tree_key(arch: str, own_files: dict[str, bytes], uapi: UapiHeaders) -> str:
    digest = hashlib.sha256(f"format={TREE_FORMAT}\narch={arch}\n".encode())
    for name in sorted(own_files):
        digest.update(f"{name}\0{len(own_files[name])}\0".encode() + own_files[name])
    for directory in (uapi.linux, uapi.asm_generic, uapi.asm):
        # A package upgrade renames files into these directories, which changes their mtime.
        digest.update(f"{directory}\0{directory.stat().st_mtime_ns}\0".encode())
    return digest.hexdigest()[:16]


def _assemble(tree: Path, own_files: dict[str, bytes], uapi: UapiHeaders, arch: str) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".assembling-", dir=tree.parent))
    try:
        _link_tree(uapi.linux, staging / "include/uapi/linux")
        _link_tree(uapi.asm_generic, staging / "include/uapi/asm-generic")
        _link_tree(uapi.asm, staging / f"arch/{arch}/include/uapi/asm")
        for name, content in own_files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            target.write_bytes(content)
        os.chmod(staging, 0o755)
        try:
            os.rename(staging, tree)
        except OSError:
            if not tree.is_dir():
                raise
            # Another process assembled the same tree first; theirs is identical.
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _link_tree(source: Path, destination: Path) -> None:
    for directory, _subdirs, files in os.walk(source):
        relative = Path(directory).relative_to(source)
        (destination / relative).mkdir(parents=True, exist_ok=True)
        for name in files:
            os.symlink(Path(directory) / name, destination / relative / name)


def kernel_version(release: str | None = None) -> tuple[int, int, int]:
    release = release or os.uname().release
    numbers = []
    for part in release.split("-", 1)[0].split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit()) if part else ""
        numbers.append(int(digits) if digits else 0)
    while len(numbers) < 3:
        numbers.append(0)
    return numbers[0], numbers[1], numbers[2]


def kernel_problems(release: str | None = None) -> list[str]:
    release = release or os.uname().release
    version = kernel_version(release)[:2]
    if version < MIN_KERNEL_XDP_LINK:
        return [
            f"kernel {release} is older than 5.9: it cannot attach XDP through a bpf_link "
            "(BPF_LINK_CREATE), and pyreplay does not use netlink attach, which survives a crash "
            "and leaves the program on the interface; use a kernel >= 5.9"
        ]
    if version < MIN_KERNEL_TCX_LINK:
        return [
            f"kernel {release} is older than 6.6: it has no tcx links, so tc capture (intercept "
            "on the target, tc egress) is unavailable; XDP capture works"
        ]
    return []


def privilege_problems(status_text: str | None = None, euid: int | None = None) -> list[str]:
    euid = os.geteuid() if euid is None else euid
    if euid == 0:
        return []
    capabilities = _effective_capabilities(status_text)
    can_load = capabilities & ((1 << _CAP_BPF) | (1 << _CAP_SYS_ADMIN))
    can_attach = capabilities & (1 << _CAP_NET_ADMIN)
    if can_load and can_attach:
        return []
    return [
        "not running as root: loading and attaching BPF programs needs root "
        "(or the capabilities CAP_BPF and CAP_NET_ADMIN)"
    ]


def _effective_capabilities(status_text: str | None) -> int:
    if status_text is None:
        try:
            status_text = Path("/proc/self/status").read_text()
        except OSError:
            return 0
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def bcc_problems() -> list[str]:
    try:
        import bcc  # noqa: F401
    except Exception as exc:  # ImportError, or libbcc failing to load
        return [
            f"bcc is not importable from {sys.executable} ({exc}): install the Debian package "
            f"{BCC_PACKAGE} and use a venv made with --system-site-packages "
            "(PyPI's 'bcc' is an unrelated package)"
        ]
    return []


def header_problems() -> list[str]:
    try:
        kernel_tree()
    except (HeaderTreeError, CacheDirError) as exc:
        return [str(exc)]
    return []


def diagnose() -> list[str]:
    return bcc_problems() + header_problems() + privilege_problems() + kernel_problems()
