"""Hypothesis strategies for channel messages, shared by the channel tests."""

from __future__ import annotations

from hypothesis import strategies as st

from pyreplay.channel.messages import CHANNEL_VERSION, Bye, Hello, Register, Responses, Unregister
from pyreplay.packet.segment import ResponseSummary, TcpOptions

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
family = st.sampled_from([4, 16])

options = st.builds(
    TcpOptions,
    mss=st.none() | u16,
    wscale=st.none() | st.integers(0, 255),
    sack_permitted=st.booleans(),
    timestamp=st.none() | st.tuples(u32, u32),
    raw=st.binary(max_size=40),
)


@st.composite
def summaries(draw, addr_len=None):
    n = draw(family) if addr_len is None else addr_len
    return ResponseSummary(
        src=draw(st.binary(min_size=n, max_size=n)), dst=draw(st.binary(min_size=n, max_size=n)),
        sport=draw(u16), dport=draw(u16), seq=draw(u32), ack=draw(u32),
        flags=draw(st.integers(0, 255)), window=draw(u16), payload_len=draw(u32),
        options=draw(options),
    )


@st.composite
def endpoints(draw, cls):
    n = draw(family)
    addr = st.binary(min_size=n, max_size=n)
    return cls(draw(addr), draw(u16), draw(addr), draw(u16))


hellos = st.builds(Hello, version=st.just(CHANNEL_VERSION),
                   role=st.sampled_from(["copy", "burn", "intercept"]),
                   name=st.text(max_size=40))
messages = st.one_of(
    endpoints(Register), endpoints(Unregister),
    st.builds(Responses, st.lists(summaries(), max_size=8).map(tuple)),
    st.builds(Bye, st.text(max_size=40)),
)
streams = st.tuples(hellos, st.lists(messages, max_size=8)).map(lambda t: [t[0], *t[1]])
