"""pyreplay: TCP stream replay (TCPCopy, intercept and TCPBurn in Python, with eBPF capture)."""

from pyreplay.compiled import select_build as _select_build

__version__ = "0.1.0"

_select_build()  # compiled per-packet core if built from these sources, else plain Python
