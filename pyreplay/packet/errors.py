"""The one error the packet layer raises for bad bytes.

Anything that decodes captured or received bytes raises only ``PacketError`` when the bytes are
malformed, truncated or of a kind we do not handle, so callers can count and drop the packet with a
single ``except``. Misuse by our own code (out-of-range field values given to a builder) raises a
plain ``ValueError`` instead.
"""

from __future__ import annotations


class PacketError(ValueError):
    """Malformed, truncated or unsupported packet bytes; the message says which."""
