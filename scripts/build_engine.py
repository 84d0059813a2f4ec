"""Compile pyreplay's per-packet core with mypyc, in place; the plain-Python sources stay as they are.

Compiles ``pyreplay.compiled.MODULES`` (one mypyc group, so they call one another natively),
places each extension module beside its source and writes ``pyreplay/compiled-stamp.json``
with the SHA-256 of every source compiled. ``import pyreplay`` uses the compiled build only when
that stamp matches the sources on disk (see ``pyreplay/compiled.py``), so an edited source never
runs as stale machine code: it runs as Python until the next build.

The build runs in a temporary directory (mypy's cache, generated C, objects), so it neither reads
the project's ``pyproject.toml`` with whatever setuptools the venv has, nor leaves files behind.
A failed build removes what it placed and exits 1; pyreplay then runs as plain Python.

Usage: ``.venv/bin/python scripts/build_engine.py [--clean] [--quiet]``
(``--clean`` only removes the compiled build.)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PYREPLAY_PURE_PYTHON"] = "1"  # never import the build being replaced

from pyreplay import compiled  # noqa: E402


def built_files() -> list[Path]:
    """Every extension module and the stamp a build placed in the package (only builds put any there)."""
    found = list(compiled.PACKAGE_DIR.rglob("*.so"))
    if compiled.STAMP.exists():
        found.append(compiled.STAMP)
    return found


def clean() -> int:
    removed = built_files()
    for path in removed:
        path.unlink()
    return len(removed)


def build(quiet: bool) -> None:
    from mypyc.build import mypycify
    from setuptools import setup

    sources = [str(compiled.source_path(m)) for m in compiled.MODULES]
    with tempfile.TemporaryDirectory(prefix="pyreplay-build-") as tmp:
        lib = Path(tmp, "lib")
        previous = os.getcwd()
        os.chdir(tmp)
        output = io.StringIO()
        try:
            with contextlib.redirect_stdout(output) if quiet else contextlib.nullcontext():
                # mypy checks the compiled modules; the others they import (bcc and ctypes glue)
                # are read for their types only, and their own type errors do not stop the build
                extensions = mypycify(["--follow-imports=silent", *sources], opt_level="3", group_name=compiled.GROUP)
                setup(name="pyreplay-engine", ext_modules=extensions,
                      script_args=["build_ext", "--build-lib", str(lib), "--build-temp", str(Path(tmp, "obj"))])
        except BaseException:
            if quiet:
                sys.stderr.write(output.getvalue()[-4000:])
            raise
        finally:
            os.chdir(previous)
        placed = []
        for built in lib.rglob("*.so"):
            destination = ROOT / built.relative_to(lib)
            shutil.copyfile(built, destination)
            placed.append(destination)
    digests = {m: compiled.source_digest(m) for m in compiled.MODULES}
    compiled.STAMP.write_text(json.dumps({"sources": digests}, indent=1, sort_keys=True) + "\n")
    missing = [m for m in compiled.MODULES if not compiled.extension_present(m)]
    if missing:
        raise RuntimeError(f"the build produced no extension for {', '.join(missing)}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clean", action="store_true", help="only remove the compiled build")
    p.add_argument("--quiet", action="store_true", help="print the compiler's output only on failure")
    a = p.parse_args()
    removed = clean()
    if a.clean:
        print(f"build_engine: removed {removed} file(s); pyreplay runs as plain Python")
        return 0
    try:
        build(a.quiet)
    except (Exception, SystemExit) as error:  # setuptools reports compiler failures as SystemExit
        clean()
        print(f"build_engine: compiling failed ({error}); pyreplay runs as plain Python", file=sys.stderr)
        return 1
    print(f"build_engine: compiled {len(compiled.MODULES)} modules with mypyc")
    return 0


if __name__ == "__main__":
    sys.exit(main())
