"""Frozen per-session tuning (``SessionConfig``); pure values, validated at construction.

Contract: every knob of the engine's timing and bounds lives here with a sane default. Times are
seconds (floats), sizes bytes. Flag names in comments are TCPCopy's.

Chosen policies (recorded here because they differ from the original):
* RTO follows RFC 6298 from measured RTT samples (SYN -> SYN-ACK, then data -> ACK with Karn's
  rule), floored at ``rto_min``, doubled per retry up to ``rto_max``; ``max_retransmits``
  consecutive timeouts fail the session. The original used a fixed 100 ms and never resent a SYN.
* A response counts as complete when the target has acked all sent data and either sent exactly
  the online response's length (known from the captured client's next ACK; then it waits only
  ``sized_response_grace`` before a next request, nothing before the client's FIN) or no
  response byte arrived for the quiet period ``clamp(quiet_rtt_factor * srtt + ack_delay,
  quiet_floor, quiet_cap)``; srtt is the *target* path RTT, the one that spaces the target's
  flights. The quiet period alone caps a keep-alive connection at 1/quiet_floor requests/s.
* Response data is acked ``ack_delay`` after it arrived, so the ACK can ride on the next
  request. Once a request went out later than that after the response before it (a client
  slower than the delay), responses are acked at once (at the next tick, after the other
  summaries that came with them) until a request goes out sooner again: the ACK would go alone
  anyway, and a timer of its own costs the process a wake-up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SessionConfig:
    mss_for_fake_syn: int = 1460  # -D
    mtu: int = 1500  # -M (splitting is the emitter's; windows count real lengths)
    no_wait: bool = False  # -W: do not wait for responses between requests
    only_with_syn: bool = False  # -O: never fake a handshake
    session_timeout: float = 600.0  # -t: no target packet for this long while waiting on it
    keepalive_timeout: float = 720.0  # -k: idle healthy connection lifetime
    handshake_timeout: float = 3.0
    linger: float = 6.0  # half-closed wait, and how long the table keeps finished sessions
    # A hole in the captured client stream older than this is a loss: the session resyncs past
    # it (session.py). Holes from reordering (ring, GRO, CPUs) fill within milliseconds; one
    # from a loss on the network fills with the client's retransmission after its RTO (200 ms
    # minimum on Linux, ~1 s for a distant client); one the capture made never fills, and the
    # requests behind it wait this long. 2 s: a first retransmission for any usual RTT, and
    # under offline copy's --idle-exit (3 s of no send or response), which would otherwise
    # reset a session waiting on a hole at the end of a file; also under ``linger``, so a
    # target closing the idle connection meanwhile is answered by the resync. (It was 10 s,
    # then an abort.)
    capture_gap_timeout: float = 2.0
    # A captured FIN waits for the response; if the target acked everything but has not sent a
    # single response byte for this long, it may be waiting for EOF (half-close): send the FIN.
    fin_hold_timeout: float = 1.0
    # Captured client bytes held (unsent, unacked) beyond this end the session ("overflow"). A
    # request held for a resend after a target close (session.py) counts too: past the bound
    # it is let go (not resent) instead.
    max_buffered_bytes: int = 4 * 1024 * 1024
    max_reconnects: int = 16
    # retransmission
    rto_initial: float = 0.5  # before any RTT sample (also the first SYN retry)
    rto_min: float = 0.2
    rto_max: float = 8.0
    max_retransmits: int = 8
    dupack_threshold: int = 3
    # acknowledgement of response data and response completion
    ack_delay: float = 0.02
    quiet_rtt_factor: float = 2.0
    quiet_floor: float = 0.05
    quiet_cap: float = 1.0
    # a response as long as the online one (sized by the capture) is complete this soon
    sized_response_grace: float = 0.001
    # True: every response's completion is timed; False: only one that a captured request,
    # FIN, RST or hole waits for (the others are decided at the next event, session.py).
    # burn sets it: it watches its sessions for their last response to complete.
    time_every_completion: bool = False

    def __post_init__(self) -> None:
        positive = (
            "session_timeout keepalive_timeout handshake_timeout linger capture_gap_timeout "
            "fin_hold_timeout "
            "rto_initial rto_min rto_max quiet_floor quiet_cap quiet_rtt_factor"
        ).split()
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"SessionConfig.{name} must be > 0")
        if self.ack_delay < 0 or self.sized_response_grace < 0:
            raise ValueError("SessionConfig.ack_delay and sized_response_grace must be >= 0")
        if not 88 <= self.mss_for_fake_syn <= 65535:
            raise ValueError("SessionConfig.mss_for_fake_syn must be in 88..65535")
        if not 68 <= self.mtu <= 65535:
            raise ValueError("SessionConfig.mtu must be in 68..65535")
        if self.rto_min > self.rto_max:
            raise ValueError("SessionConfig.rto_min must be <= rto_max")
        if self.quiet_floor > self.quiet_cap:
            raise ValueError("SessionConfig.quiet_floor must be <= quiet_cap")
        if self.max_buffered_bytes <= 0 or self.max_retransmits < 1 or self.dupack_threshold < 1:
            raise ValueError("SessionConfig bounds must be positive")
