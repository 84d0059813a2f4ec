"""Where the kernel-side files live: the BPF sources and the per-user cache.

Contract:
- ``bpf_source_dir()`` is the repository's ``bpf/`` directory (programs ``*.bpf.c``, shared
  headers in ``bpf/include/``, our kernel stub headers in ``bpf/kstub/``); ``PYREPLAY_BPF_DIR``
  overrides it. It exists for a source checkout or an editable install.
- ``cache_root()`` is a directory owned by the effective user and writable by nobody else,
  created on first use. ``PYREPLAY_CACHE_DIR`` overrides it; otherwise
  ``$XDG_CACHE_HOME/pyreplay`` or ``~/.cache/pyreplay``.

Why a per-user cache: the kernel tree built there is compiled into programs that root loads,
so it must not be writable by anyone else (``/var/cache`` or ``/tmp`` would need more care);
it must not depend on where the clone or the venv is, and it must work for root in CI on a fresh
clone with nothing prepared (``/root/.cache`` always can be created).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class CacheDirError(RuntimeError):
    """The cache directory cannot be created or is not safe to compile from."""


def bpf_source_dir() -> Path:
    override = os.environ.get("PYREPLAY_BPF_DIR")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[2] / "bpf"


def cache_root() -> Path:
    root = _cache_root_location()
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheDirError(
            f"cannot create the cache directory {root}: {exc.strerror}; "
            "set PYREPLAY_CACHE_DIR to a writable directory"
        ) from exc
    _check_private(root)
    return root


def _cache_root_location() -> Path:
    override = os.environ.get("PYREPLAY_CACHE_DIR")
    if override:
        return Path(override).absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "pyreplay"
    return Path.home() / ".cache" / "pyreplay"


def _check_private(directory: Path) -> None:
    info = directory.stat()
    if info.st_uid != os.geteuid():
        raise CacheDirError(
            f"the cache directory {directory} belongs to uid {info.st_uid}, not to you "
            f"(uid {os.geteuid()}); set PYREPLAY_CACHE_DIR to a directory of your own"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheDirError(
            f"the cache directory {directory} is writable by other users, and headers in it are "
            "compiled into programs loaded as root; run: chmod go-w " + str(directory)
        )
