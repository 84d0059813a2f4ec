"""The positional constructors of segment.py build objects equal to the dataclasses' own."""

from pyreplay.packet.segment import (
    NO_OPTIONS, ResponseSummary, Segment, TcpOptions, new_options, new_segment, new_summary,
)

V4 = bytes([10, 0, 0, 1])


def test_positional_constructors_build_equal_objects():
    assert new_summary(V4, V4, 1, 2, 3, 4, 5, 6, 7, NO_OPTIONS) == ResponseSummary(
        V4, V4, 1, 2, 3, 4, 5, 6, 7, NO_OPTIONS)
    assert new_options(1460, 7, True, (1, 2), b"raw") == TcpOptions(1460, 7, True, (1, 2), b"raw")
    args = (V4, V4, 1, 2, 3, 4, 0x18, 6, NO_OPTIONS, b"data", 9, 63)
    assert new_segment(*args) == Segment(*args)
    assert new_segment(*args).payload == b"data"
