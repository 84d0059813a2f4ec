"""wrk's command line, its numbered-request script and its report (no network, no wrk needed)."""

import pytest

from pyreplay.lab.wrk import WrkError, numbered_requests_script, parse_summary, wrk_argv

REPORT = """Running 5s test @ http://198.18.0.20/short-wrk
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.70ms  555.26us   7.02ms   75.52%
    Req/Sec    11.63k   532.29    12.17k    86.67%
  34877 requests in 3.01s, 5.75MB read
  Socket errors: connect 0, read 12, write 1, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:  11576.45
Transfer/sec:      1.91MB
"""


def test_report_gives_requests_seconds_and_every_kind_of_error():
    summary = parse_summary(REPORT)
    assert (summary.requests, summary.seconds, summary.errors) == (34877, 3.01, 19)


def test_report_in_minutes_and_without_errors():
    summary = parse_summary("  120 requests in 1.50m, 5.75MB read\n")
    assert (summary.requests, summary.seconds, summary.errors) == (120, 90.0, 0)


def test_not_a_report_is_an_error():
    with pytest.raises(WrkError):
        parse_summary("unable to connect to 198.18.0.20:80 Connection refused")


def test_short_connections_close_and_use_the_script(tmp_path):
    argv = wrk_argv("http://h/p", connections=32, seconds=5, threads=2, close=True, script=tmp_path / "s.lua")
    assert argv[:7] == ["wrk", "-t", "2", "-c", "32", "-d", "5s"]
    assert ["-H", "Connection: close"] == argv[argv.index("-H"):argv.index("-H") + 2]
    assert argv[argv.index("-s") + 1] == str(tmp_path / "s.lua") and argv[-1] == "http://h/p"
    assert "-H" not in wrk_argv("http://h/p", connections=1, seconds=1)


def test_script_numbers_each_request_under_the_prefix():
    script = numbered_requests_script("/short-wrk")
    assert 'wrk.format(nil, "/short-wrk/" .. tid .. "-" .. n)' in script
    assert 'thread:set("tid", threads)' in script
    with pytest.raises(ValueError):
        numbered_requests_script('/a" .. os.exit() .. "')
