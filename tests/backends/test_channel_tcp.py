"""The channel over TCP, on loopback sockets."""

import select
import socket
import threading

import pytest

from pyreplay.backends.channel_tcp import ChannelClosed, ChannelConnection
from pyreplay.channel.codec import encode
from pyreplay.channel.messages import CHANNEL_VERSION, Hello, Register


class CountingSocket:
    """The connection's socket, counting recv calls."""

    def __init__(self, sock):
        self.sock = sock
        self.recvs = 0

    def recv(self, size):
        self.recvs += 1
        return self.sock.recv(size)

    def __getattr__(self, name):
        return getattr(self.sock, name)


@pytest.fixture
def pair():
    listener = socket.create_server(("127.0.0.1", 0))
    peer = socket.create_connection(listener.getsockname())
    ours, _ = listener.accept()
    listener.close()
    conn = ChannelConnection(ours, "test peer")
    yield conn, peer
    conn.close()
    peer.close()


HELLO = encode(Hello(CHANNEL_VERSION, "copy", "test"))


def register(port):
    return encode(Register(b"\x0a\x00\x00\x01", port, b"\x0a\x00\x00\x02", 8080))


def ports(messages):
    return [m.client_port for m in messages if isinstance(m, Register)]


def test_a_drained_socket_costs_one_recv_not_one_more_for_eagain(pair):
    conn, peer = pair
    peer.sendall(HELLO + register(1) + register(2))
    select.select([conn], [], [], 2.0)
    conn.sock = counting = CountingSocket(conn.sock)
    assert ports(conn.receive()) == [1, 2]
    assert counting.recvs == 1


def test_data_then_close_gives_the_messages_then_channel_closed(pair):
    conn, peer = pair
    peer.sendall(HELLO + register(7))
    peer.close()
    select.select([conn], [], [], 2.0)
    assert ports(conn.receive()) == [7]
    select.select([conn], [], [], 2.0)
    with pytest.raises(ChannelClosed, match="closed the connection"):
        conn.receive()


def test_a_backlog_larger_than_one_read_is_read_in_full(pair):
    conn, peer = pair
    frames = HELLO + b"".join(register(i) for i in range(60_000))
    assert len(frames) > 3 * 262144
    sender = threading.Thread(target=peer.sendall, args=(frames,), daemon=True)
    sender.start()
    got = []
    while len(ports(got)) < 60_000 and select.select([conn], [], [], 2.0)[0]:
        got += conn.receive()
    sender.join(2.0)
    assert ports(got) == list(range(60_000))
