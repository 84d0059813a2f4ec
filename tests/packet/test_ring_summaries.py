"""intercept's ring records to summaries: the layout the BPF program writes, decoded."""

from hypothesis import given
from hypothesis import strategies as st

from pyreplay.ebpf import abi
from pyreplay.packet.ring_summaries import summaries_from_records
from pyreplay.packet.segment import NO_OPTIONS, ResponseSummary, TcpOptions

TARGET = bytes([198, 18, 0, 30])
CLIENT = bytes([198, 19, 0, 7])


def record(*, kind=abi.PR_KIND_RESPONSE, family=4, flags=0x18, seq=1000, ack=2000, window=502, bits=0,
           wscale=0, mss=0, payload_len=300, tsval=0, tsecr=0):
    return abi.RESPONSE.pack(kind, family, flags, 3, TARGET.ljust(16, b"\0"), CLIENT.ljust(16, b"\0"), 8080,
                             40000, seq, ack, window, bits, wscale, mss, 0, payload_len, tsval, tsecr, 123456789)


def test_a_record_becomes_the_summary_of_its_response():
    (summary,) = summaries_from_records([record()])
    assert summary == ResponseSummary(TARGET, CLIENT, 8080, 40000, 1000, 2000, 0x18, 502, 300, NO_OPTIONS)


def test_options_come_from_the_bits_the_program_set():
    records = [
        record(bits=abi.PR_OPT_TS, tsval=7, tsecr=9),
        record(bits=abi.PR_OPT_MSS | abi.PR_OPT_WSCALE | abi.PR_OPT_SACK_PERM | abi.PR_OPT_TS, mss=1460,
               wscale=7, tsval=1, tsecr=2),
        record(bits=abi.PR_OPT_MSS, mss=536, wscale=9, tsval=5),
    ]
    assert [s.options for s in summaries_from_records(records)] == [
        TcpOptions(timestamp=(7, 9)),
        TcpOptions(mss=1460, wscale=7, sack_permitted=True, timestamp=(1, 2)),
        TcpOptions(mss=536),
    ]


def test_other_kinds_families_and_short_records_are_skipped_in_order():
    records = [record(seq=1), record(kind=abi.PR_KIND_PACKET), record(family=6), record(seq=2)[:-1],
               b"", record(seq=3)]
    assert [s.seq for s in summaries_from_records(records)] == [1, 3]


@given(st.lists(st.binary(max_size=2 * abi.RESPONSE.size)))
def test_any_bytes_decode_or_are_skipped_without_raising(records):
    for summary in summaries_from_records(records):
        assert isinstance(summary, ResponseSummary)
