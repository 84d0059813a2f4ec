"""intercept's BPF ring records (``struct pr_response``) to response summaries.

Contract: ``summaries_from_records(records)`` decodes each record with the ABI's layout
(``pyreplay.ebpf.abi.RESPONSE``) into a ``ResponseSummary``, in order. Records of another kind
or address family, and records shorter than the layout, are skipped, never raised on: the
program writes only response records, and a wrong one must not end intercept. The TCP options
the program parsed come as a bit set plus values (a timestamp alone, the common case, takes a
short path).

Compiled with the rest of the per-packet core (``pyreplay.compiled``): intercept runs this for
every response packet.
"""

from __future__ import annotations

from typing import Final

from pyreplay.ebpf import abi
from pyreplay.packet.segment import NO_OPTIONS, ResponseSummary, TcpOptions

_RECORD: Final = abi.RESPONSE
_RECORD_SIZE: Final = abi.RESPONSE.size
_KIND_RESPONSE: Final = abi.PR_KIND_RESPONSE
_OPT_MSS: Final = abi.PR_OPT_MSS
_OPT_WSCALE: Final = abi.PR_OPT_WSCALE
_OPT_SACK_PERM: Final = abi.PR_OPT_SACK_PERM
_OPT_TS: Final = abi.PR_OPT_TS


def tcp_options(bits: int, wscale: int, mss: int, tsval: int, tsecr: int) -> TcpOptions:
    """The options a record's ``bits`` say the program found."""
    if bits == 0:
        return NO_OPTIONS
    if bits == _OPT_TS:
        return TcpOptions(timestamp=(tsval, tsecr))
    return TcpOptions(
        mss=mss if bits & _OPT_MSS else None,
        wscale=wscale if bits & _OPT_WSCALE else None,
        sack_permitted=bool(bits & _OPT_SACK_PERM),
        timestamp=(tsval, tsecr) if bits & _OPT_TS else None,
    )


def summaries_from_records(records: list[bytes]) -> list[ResponseSummary]:
    out: list[ResponseSummary] = []
    unpack = _RECORD.unpack_from
    for record in records:
        if len(record) < _RECORD_SIZE:
            continue
        (kind, family, flags, _ifindex, saddr, daddr, sport, dport, seq, ack, window, bits, wscale, mss,
         _pad, payload_len, tsval, tsecr, _ts) = unpack(record)
        if kind != _KIND_RESPONSE or family != 4:
            continue
        out.append(ResponseSummary(saddr[:4], daddr[:4], sport, dport, seq, ack, flags, window, payload_len,
                                   tcp_options(bits, wscale, mss, tsval, tsecr)))
    return out
