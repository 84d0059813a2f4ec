"""Compile BPF programs from ``bpf/`` with bcc against the kernel tree from ``headers``.

Contract:
- ``program_source(program, defines)`` returns the exact input of a compile: the file, its
  text, the cflags (``-D`` defines, ``-I bpf/include``, any ``PYREPLAY_KERNEL_CFLAGS``) and the
  environment (``BCC_KERNEL_SOURCE``). ``ProgramSource.render()`` prints it for
  ``pyreplay bpf dump``. Programs are configured by ``-D`` only, never by editing their text.
- ``compile_program(program, defines)`` compiles that with ``bcc.BPF(src_file=..., cflags=...)``
  and returns the ``BPF`` object (load programs with ``.load_func``). On failure it raises
  ``CompileError`` carrying clang's diagnostics, shortened to the error lines and their context.
- ``program`` is a name in ``bpf/`` (``"smoke"`` or ``"smoke.bpf.c"``) or a path to a file.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from pyreplay.ebpf import headers
from pyreplay.ebpf.paths import bpf_source_dir

DefineValue = int | str | bool
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MAX_DIAGNOSTIC_LINES = 20
_compile_lock = threading.Lock()
_log = logging.getLogger(__name__)


class CompileError(RuntimeError):
    """bcc could not compile or load a program; the text has clang's shortened diagnostics."""


@dataclass(frozen=True)
class ProgramSource:
    path: Path
    text: str
    cflags: tuple[str, ...]
    environment: Mapping[str, str] = field(default_factory=dict)

    def render(self) -> str:
        lines = [f"// file: {self.path}"]
        lines += [f"// env: {name}={value}" for name, value in sorted(self.environment.items())]
        lines.append("// cflags: " + " ".join(self.cflags))
        return "\n".join(lines) + "\n" + self.text


def resolve_program(program: str | os.PathLike[str]) -> Path:
    candidate = Path(program)
    if candidate.suffix == ".c" or candidate.is_absolute() or len(candidate.parts) > 1:
        path = candidate if candidate.is_absolute() else (Path.cwd() / candidate)
        if not path.is_file():
            path = bpf_source_dir() / candidate
    else:
        path = bpf_source_dir() / f"{candidate}.bpf.c"
    if not path.is_file():
        raise FileNotFoundError(f"no BPF program {program} (looked for {path})")
    return path.resolve()


def define_flags(defines: Mapping[str, DefineValue] | None) -> list[str]:
    flags = []
    for name, value in sorted((defines or {}).items()):
        if not _IDENTIFIER.match(name):
            raise ValueError(f"-D name must be a C identifier, not {name!r}")
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, (int, str)) or (isinstance(value, str) and "\n" in value):
            raise ValueError(f"-D{name} value must be an int, a bool or a one-line string, not {value!r}")
        flags.append(f"-D{name}={value}")
    return flags


def program_source(program: str | os.PathLike[str], defines: Mapping[str, DefineValue] | None = None) -> ProgramSource:
    path = resolve_program(program)
    cflags = define_flags(defines) + [f"-I{bpf_source_dir() / 'include'}"] + headers.extra_cflags()
    return ProgramSource(
        path=path,
        text=path.read_text(),
        cflags=tuple(cflags),
        environment=headers.bcc_environment(),
    )


def compile_program(program: str | os.PathLike[str], defines: Mapping[str, DefineValue] | None = None):
    source = program_source(program, defines)
    from bcc import BPF  # imported late: the pure parts of pyreplay work without bcc

    with _compile_lock, _environment(source.environment), _captured_stderr() as diagnostics:
        try:
            compiled, failure = BPF(src_file=str(source.path).encode(), cflags=list(source.cflags)), None
        except Exception as exc:
            compiled, failure = None, exc
    if compiled is None:
        raise CompileError(
            f"bcc could not compile {source.path.name}: {failure}\n{shorten(diagnostics.text)}".rstrip()
        ) from None
    if diagnostics.text.strip():
        _log.warning("bcc diagnostics for %s:\n%s", source.path.name, shorten(diagnostics.text))
    return compiled


def shorten(diagnostics: str) -> str:
    """Keep each clang error with the two lines after it (source line, caret), at most 20 lines."""
    lines = diagnostics.splitlines()
    kept: list[str] = []
    for index, line in enumerate(lines):
        if " error: " in line or line.startswith("error:") or "fatal error" in line:
            kept += lines[index:index + 3]
    if not kept:
        kept = [line for line in lines if line.strip()][-_MAX_DIAGNOSTIC_LINES:]
    if len(kept) > _MAX_DIAGNOSTIC_LINES:
        kept = kept[:_MAX_DIAGNOSTIC_LINES] + [f"... ({len(lines)} lines of diagnostics in all)"]
    return "\n".join(kept)


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Captured:
    text = ""


@contextmanager
def _captured_stderr() -> Iterator[_Captured]:
    """Capture fd 2: libbcc writes clang's diagnostics there, not to Python's sys.stderr."""
    captured = _Captured()
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved_fd = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            sink.seek(0)
            captured.text = sink.read().decode(errors="replace")
