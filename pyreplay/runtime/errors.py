"""The start-up errors of copy and burn, apart from ``runtime.copy`` and ``runtime.burn``: those
modules are compiled with mypyc (``pyreplay.compiled``), which cannot build a class deriving from
``RuntimeError``. Callers import them from either place."""

from __future__ import annotations


class CopyError(RuntimeError):
    """copy cannot start (file, intercept, privileges); the message says why."""


class BurnError(RuntimeError):
    """burn cannot start (files, no usable session, intercept, privileges); one clear line."""
