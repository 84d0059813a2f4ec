"""The one error the channel raises for bad bytes from a peer.

Decoding anything received on a channel connection raises only ``ChannelError`` when the bytes are
malformed, oversized, of an unknown kind, out of order (no Hello first) or from an incompatible
version. The message is one line fit for a log; the runtime closes that connection and keeps
serving the others. Misuse by our own code (building a message with out-of-range fields) raises
plain ``ValueError``/``TypeError`` instead.
"""

from __future__ import annotations


class ChannelError(ValueError):
    """Bytes from a channel peer we cannot accept; the message says why."""
