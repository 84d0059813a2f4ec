"""pyreplay: TCP stream replay (TCPCopy, intercept and TCPBurn in Python, with eBPF capture)."""

__version__ = "0.1.0"
