"""Codec: round trips, framing under any split, and garbage that must raise only ChannelError."""

from __future__ import annotations

import struct

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyreplay.channel import codec
from pyreplay.channel.codec import (
    DEFAULT_MAX_FRAME,
    KIND_BYE,
    FrameDecoder,
    decode_body,
    encode,
    encode_route,
    max_responses_per_frame,
)
from pyreplay.channel.errors import ChannelError
from pyreplay.channel.messages import (
    CHANNEL_VERSION,
    FROM_CLIENT,
    FROM_INTERCEPT,
    Bye,
    Hello,
    Register,
    Responses,
    Unregister,
)
from pyreplay.channel.records import MAX_RECORD_BYTES
from pyreplay.packet.segment import ACK, NO_OPTIONS, SYN, ResponseSummary, TcpOptions

from .strategies import messages, streams, summaries

V4A, V4B = bytes([10, 0, 0, 1]), bytes([10, 9, 8, 7])
V6A, V6B = bytes(range(16)), bytes(range(16, 32))
HELLO = Hello(CHANNEL_VERSION, "copy", "online-1")

SYN_ACK = ResponseSummary(V4A, V4B, 8080, 40000, 1000, 2001, SYN | ACK, 65535, 0,
                          TcpOptions(mss=1460, wscale=7, sack_permitted=True,
                                     timestamp=(123, 456), raw=b"\x02\x04\x05\xb4"))
DATA6 = ResponseSummary(V6A, V6B, 443, 50000, 2**32 - 1, 0, ACK, 0, 1448)


def decode_all(data: bytes, **kw) -> list:
    return FrameDecoder(**kw).feed(data)


EXAMPLES = [
    HELLO,
    Hello(CHANNEL_VERSION, "intercept", ""),
    Register(V4A, 8080, V4B, 80),
    Unregister(V6A, 0, V6B, 65535),
    Responses(()),
    Responses((SYN_ACK,)),
    Responses((SYN_ACK, DATA6, SYN_ACK, DATA6, DATA6)),
    Bye("shutting down"),
    Bye(),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=repr)
def test_every_message_round_trips(message):
    assert decode_body(encode(message)[4:]) == message
    expected = [message] if type(message) is Hello else [HELLO, message]
    assert decode_all(b"".join(encode(m) for m in expected)) == expected


def test_frame_is_length_prefixed_msgpack_array_with_bin_addresses():
    frame = encode(Register(V4A, 8080, V4B, 80))
    (length,) = struct.unpack("!I", frame[:4])
    assert length == len(frame) - 4
    assert msgpack.unpackb(frame[4:]) == [1, V4A, 8080, V4B, 80]


@pytest.mark.parametrize("client, target", [((V4A, 40000), (V4B, 8080)), ((V6A, 0), (V6B, 65535))])
def test_a_route_frame_from_endpoints_is_the_frame_of_its_message(client, target):
    assert encode_route(True, client, target) == encode(Register(*client, *target))
    assert encode_route(False, client, target) == encode(Unregister(*client, *target))


def test_a_body_that_failed_to_pack_leaves_nothing_in_the_next_frame():
    # the codec keeps one msgpack packer for the process
    with pytest.raises(TypeError):
        codec._frame([KIND_BYE, object()])
    body = msgpack.packb([KIND_BYE, "done"])
    assert encode(Bye("done")) == struct.pack("!I", len(body)) + body


def test_decoded_summaries_are_real_equal_summaries():
    (decoded,) = decode_body(encode(Responses((SYN_ACK, DATA6)))[4:]).items[:1]
    assert type(decoded) is ResponseSummary and decoded == SYN_ACK and hash(decoded) == hash(SYN_ACK)
    bare = decode_body(encode(Responses((DATA6,)))[4:]).items[0]
    assert bare.options is NO_OPTIONS


@given(streams, st.data())
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_any_split_of_a_valid_stream_decodes_the_same(msgs, data):
    stream = b"".join(encode(m) for m in msgs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    decoder = FrameDecoder()
    out = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)]):
        out += decoder.feed(stream[start:end])
    assert out == msgs
    assert decoder.buffered == 0


@given(st.lists(summaries(), max_size=40).map(tuple))
def test_responses_round_trip_any_summaries_in_order(items):
    assert decode_body(encode(Responses(items))[4:]) == Responses(items)


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_random_bytes_raise_only_channel_error(garbage):
    try:
        FrameDecoder().feed(garbage)
    except ChannelError:
        pass


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_random_bytes_after_hello_raise_only_channel_error(garbage):
    decoder = FrameDecoder()
    decoder.feed(encode(HELLO))
    try:
        decoder.feed(garbage)
    except ChannelError:
        pass


@given(st.binary(max_size=200))
@settings(max_examples=300)
def test_random_frame_bodies_raise_only_channel_error(body):
    try:
        decode_body(body)
    except ChannelError:
        pass


@given(st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats() | st.text(max_size=20)
    | st.binary(max_size=70),
    lambda inner: st.lists(inner, max_size=6), max_leaves=20))
@settings(max_examples=500)
def test_well_formed_msgpack_of_wrong_shape_raises_only_channel_error(obj):
    # Random msgpack values, often starting with a valid kind, so field checks get exercised.
    for body in (msgpack.packb(obj), msgpack.packb([1, obj]), msgpack.packb([3, obj]),
                 msgpack.packb([3, [[4, obj, b""]]]), msgpack.packb([0, CHANNEL_VERSION, obj, ""])):
        try:
            decode_body(body)
        except ChannelError:
            pass


@given(streams, st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_or_truncated_streams_raise_only_channel_error(msgs, data):
    stream = bytearray(b"".join(encode(m) for m in msgs))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(stream) - 1))
        stream[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(stream)))
    try:
        FrameDecoder().feed(bytes(stream[:cut]))
    except ChannelError:
        pass


OPT_BITS_AT = 4 + 4 + 2 + 2 + 4 + 4 + 1 + 2 + 4  # in an IPv4 record


def _responses_frame_with_record(mutate) -> bytes:
    """A Responses frame whose single IPv4 record is altered by ``mutate(record) -> record``."""
    frame = encode(Responses((SYN_ACK,)))
    kind, runs = msgpack.unpackb(frame[4:])
    addr_len, records, raws = runs[0]
    body = msgpack.packb([kind, [[addr_len, mutate(bytearray(records)), raws]]])
    return struct.pack("!I", len(body)) + body


@pytest.mark.parametrize("mutate, reason", [
    (lambda r: r[:-1], "not a multiple"),
    (lambda r: r[:OPT_BITS_AT] + b"\xf0" + r[OPT_BITS_AT + 1:], "unknown option bits"),
    (lambda r: r[:OPT_BITS_AT] + b"\x00" + r[OPT_BITS_AT + 1:], "absent option"),
    (lambda r: r[:-1] + b"\x05", "overrun"),  # raw_len beyond the blob
    (lambda r: r[:-1] + b"\x01", "unclaimed"),  # raw_len short of the blob
])
def test_inconsistent_response_records_are_rejected(mutate, reason):
    with pytest.raises(ChannelError, match=reason):
        decode_all(encode(HELLO) + _responses_frame_with_record(mutate))


@pytest.mark.parametrize("body, reason", [
    ([9, 1, 2], "unknown message kind 9"),
    ([1, V4A, 80, V4B], "Register has 3 fields"),
    ([1, V4A, -1, V4B, 80], "client_port -1 out of range"),
    ([1, V4A, 70000, V4B, 80], "client_port 70000 out of range"),
    ([1, V4A, "80", V4B, 80], "client_port must be an int"),
    ([1, V4A, True, V4B, 80], "client_port must be an int"),
    ([2, b"\x01\x02\x03", 80, V4B, 80], "client_addr has 3 bytes"),
    ([2, V4A, 80, V6B, 80], "different address families"),
    ([2, "10.0.0.1", 80, V4B, 80], "client_addr must be packed bytes"),
    ([3, [[5, b"", b""]]], "address length 5"),
    ([3, [[4, "x" * 40, b""]]], "must be bin"),
    ([3, {"a": 1}], "list of runs"),
    ([4, 7], "reason must be a str"),
    ({"kind": 1}, "not \\[kind"),
    ([], "not \\[kind"),
])
def test_bad_fields_are_rejected_with_a_reason(body, reason):
    packed = msgpack.packb(body)
    with pytest.raises(ChannelError, match=reason):
        decode_all(encode(HELLO) + struct.pack("!I", len(packed)) + packed)


def test_oversized_length_prefix_is_rejected_before_the_body_arrives():
    decoder = FrameDecoder(max_frame=1000)
    decoder.feed(encode(HELLO))
    with pytest.raises(ChannelError, match="1001 bytes exceeds the 1000 byte limit"):
        decoder.feed(struct.pack("!I", 1001))  # only the prefix: nothing else buffered
    assert decoder.buffered == 0
    with pytest.raises(ChannelError, match="already failed"):
        decoder.feed(encode(Bye()))


def test_huge_length_prefix_from_a_non_peer_is_rejected_at_once():
    with pytest.raises(ChannelError, match="exceeds.*is the peer a pyreplay channel"):
        FrameDecoder().feed(b"GET / HTTP/1.1\r\n")


def test_c_tcpcopy_handshake_is_recognised_as_foreign():
    c_version_message = bytes(6) + b"\x00\x06" + bytes(6)
    with pytest.raises(ChannelError, match="empty frame.*C tcpcopy"):
        FrameDecoder().feed(c_version_message)


@pytest.mark.parametrize("version", [2 << 8, (2 << 8) | 3, 0])
def test_other_major_version_is_rejected(version):
    body = msgpack.packb([0, version, "copy", "x", "some future field"])
    with pytest.raises(ChannelError, match=r"peer speaks channel version \d+\.\d+, we speak 1\.0"):
        FrameDecoder().feed(struct.pack("!I", len(body)) + body)


def test_newer_minor_version_is_accepted():
    hello = Hello(CHANNEL_VERSION + 1, "intercept", "i")
    decoder = FrameDecoder()
    assert decoder.feed(encode(hello)) == [hello]
    assert decoder.peer == hello


def test_first_message_must_be_hello():
    with pytest.raises(ChannelError, match="first message must be Hello, got Register"):
        FrameDecoder().feed(encode(Register(V4A, 1, V4B, 2)))


def test_second_hello_is_rejected():
    with pytest.raises(ChannelError, match="second Hello"):
        FrameDecoder().feed(encode(HELLO) + encode(HELLO))


def test_messages_a_peer_must_not_send_are_rejected():
    intercept_side = FrameDecoder(accepts=FROM_CLIENT)
    intercept_side.feed(encode(HELLO))
    with pytest.raises(ChannelError, match="copy peer must not send Responses"):
        intercept_side.feed(encode(Responses(())))
    copy_side = FrameDecoder(accepts=FROM_INTERCEPT)
    copy_side.feed(encode(Hello(CHANNEL_VERSION, "intercept", "i")))
    with pytest.raises(ChannelError, match="must not send Register"):
        copy_side.feed(encode(Register(V4A, 1, V4B, 2)))


def test_messages_before_an_error_in_the_same_feed_are_not_half_delivered():
    decoder = FrameDecoder()
    with pytest.raises(ChannelError):
        decoder.feed(encode(HELLO) + encode(Bye()) + b"\x00\x00\x00\x00")
    with pytest.raises(ChannelError, match="already failed"):
        decoder.feed(b"")


@pytest.mark.parametrize("bad", [
    dict(src=b"\x01\x02\x03"),
    dict(dst=V6B),
    dict(sport=70000),
    dict(seq=2**32),
    dict(flags=256),
    dict(payload_len=-1),
    dict(options=TcpOptions(raw=bytes(41))),
    dict(options=TcpOptions(mss=-5)),
])
def test_encoding_a_bad_summary_is_our_misuse(bad):
    fields = dict(src=V4A, dst=V4B, sport=1, dport=2, seq=3, ack=4, flags=5, window=6,
                  payload_len=7)
    fields.update(bad)
    with pytest.raises(ValueError) as info:
        encode(Responses((ResponseSummary(**fields),)))
    assert type(info.value) is ValueError  # not ChannelError: that is for peers' bytes


def test_a_full_batch_of_the_largest_summaries_fits_a_frame():
    big = ResponseSummary(V6A, V6B, 1, 2, 3, 4, 5, 6, 7,
                          TcpOptions(1, 2, True, (3, 4), bytes(40)))
    n = max_responses_per_frame()
    frame = encode(Responses((big,) * n))
    assert len(frame) - 4 <= DEFAULT_MAX_FRAME
    assert len(frame) - 4 > DEFAULT_MAX_FRAME - 2 * MAX_RECORD_BYTES
    assert decode_all(encode(HELLO) + frame)[1].items == (big,) * n


@given(messages)
def test_encode_then_decode_body_is_identity(message):
    assert decode_body(encode(message)[4:]) == message
