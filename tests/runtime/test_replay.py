"""The replay glue without sockets: captured packets in, rewritten packets out, against the
simulated target that dry runs use."""

import heapq
import ipaddress

from pyreplay.channel.codec import decode_body
from pyreplay.channel.messages import Register, Unregister
from pyreplay.config import CopyConfig
from pyreplay.packet.checksum import internet_checksum, tcp_checksum
from pyreplay.packet.segment import ACK, FIN, PSH, SYN, Segment, TcpOptions
from pyreplay.packet.tcpip import build_packet, parse_packet
from pyreplay.runtime.replay import Replay
from pyreplay.runtime.simtarget import SimulatedTarget

CLIENT = ipaddress.ip_address("192.0.2.7").packed
ONLINE = ipaddress.ip_address("192.0.2.80").packed
TARGET = ipaddress.ip_address("198.18.0.30").packed


def config(**options):
    base = {"transfers": "80-198.18.0.30:8080", "intercepts": "198.18.0.40", "client_pool": "198.19.0.0/29"}
    base.update(options)
    return CopyConfig.from_options(**base)


class Harness:
    """Drives a Replay against a SimulatedTarget with a 1 ms network, all in virtual time."""

    def __init__(self, cfg):
        self.sent: list[bytes] = []
        self.announced = []
        self.target = SimulatedTarget(response_bytes=300)
        self.queue: list = []
        self.seq = 0
        self.replay = Replay(cfg, self.emit, self.announce)
        self.now = 0.0

    def announce(self, frame, registers):
        message = decode_body(frame[4:])
        assert registers == (type(message) is Register)
        self.announced.append(message)

    def emit(self, packet, now):
        self.sent.append(packet)
        for summary in self.target.receive(parse_packet(packet)):
            self.seq += 1
            heapq.heappush(self.queue, (now + 0.001, self.seq, summary))

    def capture(self, *segments, gap=0.01):
        for seg in segments:
            packet = build_packet(seg)
            s = self.replay.captured_segment(packet)
            if s is not None:
                self.replay.client_segment(s, self.now)
            self.run_until(self.now + gap)

    def run_until(self, end):
        while True:
            deadline = self.replay.next_deadline()
            nxt = min([t for t in (deadline, self.queue[0][0] if self.queue else None) if t is not None], default=None)
            if nxt is None or nxt > end:
                self.now = end
                return
            self.now = max(self.now, nxt)
            while self.queue and self.queue[0][0] <= self.now:
                self.replay.response(heapq.heappop(self.queue)[2], self.now)
            self.replay.tick(self.now)


def conversation(sport=40000, isn=1000, requests=(b"GET /a HTTP/1.1\r\n\r\n",), dst=ONLINE, dport=80):
    segs = [Segment(CLIENT, dst, sport, dport, isn, 0, SYN, 65535, TcpOptions(mss=1460)),
            Segment(CLIENT, dst, sport, dport, isn + 1, 5001, ACK, 502)]
    seq, ack = isn + 1, 5001
    for body in requests:
        segs.append(Segment(CLIENT, dst, sport, dport, seq, ack, ACK | PSH, 502, payload=body))
        seq += len(body)
        ack += 300
        segs.append(Segment(CLIENT, dst, sport, dport, seq, ack, ACK, 502))
    segs.append(Segment(CLIENT, dst, sport, dport, seq, ack, FIN | ACK, 502))
    return segs


def payloads_to_target(sent):
    by_client = {}
    for packet in sent:
        seg = parse_packet(packet)
        if seg.payload:
            by_client.setdefault((seg.src, seg.sport), bytearray()).extend(seg.payload)
    return by_client


def test_session_is_rewritten_to_the_pool_and_target_with_valid_checksums():
    h = Harness(config())
    h.capture(*conversation(requests=(b"GET /a HTTP/1.1\r\n\r\n", b"GET /b HTTP/1.1\r\n\r\n")))
    h.run_until(h.now + 5)
    assert h.sent
    pool = {ipaddress.ip_address(f"198.19.0.{i}").packed for i in range(1, 7)}
    for packet in h.sent:
        seg = parse_packet(packet)
        assert seg.src in pool and (seg.dst, seg.dport) == (TARGET, 8080)
        assert internet_checksum(packet[:20]) == 0
        assert tcp_checksum(seg.src, seg.dst, packet[20:]) == 0
    assert list(payloads_to_target(h.sent).values()) == [bytearray(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")]
    assert h.replay.stats.outcomes == {"complete": 1}
    assert isinstance(h.announced[0], Register) and isinstance(h.announced[-1], Unregister)


def test_packets_not_matching_transfer_are_counted_and_skipped():
    h = Harness(config())
    h.capture(*conversation(dport=443))
    assert h.sent == [] and h.replay.stats.skipped.get("not matching -x", 0) == 5
    assert h.replay.captured_segment(b"\x45\x00garbage") is None
    assert any(k.startswith("unparsable") for k in h.replay.stats.skipped)


def test_copies_get_distinct_identities_and_the_same_bytes():
    h = Harness(config(copies="3"))
    h.capture(*conversation())
    h.run_until(h.now + 5)
    streams = payloads_to_target(h.sent)
    assert len(streams) == 3 and len(set(streams)) == 3
    assert all(bytes(v) == b"GET /a HTTP/1.1\r\n\r\n" for v in streams.values())


def test_only_full_sessions_skips_sessions_without_syn():
    h = Harness(config(only_full_sessions=True))
    h.capture(*conversation()[2:])
    assert h.sent == [] and h.replay.stats.skipped.get("no SYN captured (-O)", 0) == 1


def test_super_frame_is_split_to_the_mtu_on_send():
    big = bytes(range(256)) * 200  # 51,200 bytes in one GRO-merged capture
    h = Harness(config(mtu="1500"))
    h.capture(*conversation(requests=(big,)))
    h.run_until(h.now + 5)
    assert max(len(p) for p in h.sent) <= 1500
    assert bytes(next(iter(payloads_to_target(h.sent).values()))) == big


def test_one_pool_address_serves_concurrent_sessions_on_distinct_ports():
    h = Harness(config(client_pool="198.19.0.1"))
    for port in range(40000, 40004):
        h.capture(conversation(sport=port)[0])
    assert h.replay.active_sessions == 4
    syns = [parse_packet(p) for p in h.sent if parse_packet(p).flags & SYN]
    assert len({(s.src, s.sport) for s in syns}) == 4
