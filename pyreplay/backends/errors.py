"""The errors the capture and channel backends raise, apart from the modules that raise them.

Those modules are compiled with mypyc (``pyreplay.compiled``), which cannot build a class
deriving from ``RuntimeError`` or ``ConnectionError``; callers import these names from either
place.
"""

from __future__ import annotations


class CaptureSetupError(RuntimeError):
    """A BPF capture method cannot work here; the text says why in one line."""


class ChannelClosed(ConnectionError):
    """The peer closed the connection (or it broke)."""
