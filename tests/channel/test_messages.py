"""Messages are valid by construction; versions compare by major."""

from __future__ import annotations

import pytest

from pyreplay.channel.messages import (
    CHANNEL_VERSION,
    Bye,
    Hello,
    Register,
    Responses,
    Unregister,
    format_version,
    version_major,
)

V4, V6 = bytes(4), bytes(16)


def test_version_parts():
    assert format_version(CHANNEL_VERSION) == "1.0"
    assert version_major(CHANNEL_VERSION + 5) == 1


@pytest.mark.parametrize("make, error", [
    (lambda: Hello(CHANNEL_VERSION, "proxy", "x"), ValueError),
    (lambda: Hello(-1, "copy", "x"), ValueError),
    (lambda: Hello(CHANNEL_VERSION, "copy", "x" * 256), ValueError),
    (lambda: Hello("1", "copy", "x"), TypeError),
    (lambda: Register(V4, 1, V6, 2), ValueError),
    (lambda: Register(V4, 1, bytearray(4), 2), TypeError),
    (lambda: Unregister(V4, 65536, V4, 2), ValueError),
    (lambda: Responses([]), TypeError),
    (lambda: Bye(None), TypeError),
])
def test_invalid_messages_cannot_be_built(make, error):
    with pytest.raises(error):
        make()


def test_route_key_is_client_then_target():
    assert Register(V4, 1, bytes([1, 2, 3, 4]), 2).key == (V4, 1, bytes([1, 2, 3, 4]), 2)
    assert Unregister(V6, 3, V6, 4).key == (V6, 3, V6, 4)
