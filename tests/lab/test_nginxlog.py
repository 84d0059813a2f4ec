"""The nginx online server's access log read as request records that compare against the
lab's Python server log (no network, no nginx needed)."""

from pyreplay.lab.nginxlog import EMPTY_BODY_SHA256, LOG_FORMAT, parse_line, read_nginx_log, read_nginx_records
from pyreplay.lab.requestlog import RequestRecord, compare


def line(conn, number, uri, *, method="GET", length=61, body="-", status=200, client="198.18.0.10:40000"):
    return f"1795300176.182\t{client}\t{conn}\t{number}\t{method}\t{uri}\t{length}\t{body}\t{status}\n"


def target_record(conn, idx, uri, client="198.19.0.7:5000"):
    return RequestRecord(t=0.0, client=client, conn=conn, idx=idx, method="GET", target=uri, body_len=0,
                         body_sha256=EMPTY_BODY_SHA256)


def test_the_format_logs_what_the_reader_parses():
    for variable in ("$connection", "$connection_requests", "$request_method", "$request_uri",
                     "$request_length", "$content_length", "$remote_port"):
        assert variable in LOG_FORMAT
    request = parse_line(line(7, 2, "/x/1-5", length=83).rstrip("\n"))
    assert (request.conn, request.number, request.method, request.target) == (7, 2, "GET", "/x/1-5")
    assert (request.request_length, request.body_len, request.status) == (83, 0, 200)
    assert request.client == "198.18.0.10:40000" and request.t == 1795300176.182


def test_records_count_requests_on_a_connection_from_zero_and_hash_no_body():
    (record,) = [r.record() for r in [parse_line(line(3, 1, "/a").rstrip("\n"))]]
    assert record.idx == 0 and record.body_len == 0 and record.body_sha256 == EMPTY_BODY_SHA256


def test_a_body_nginx_did_not_hash_never_compares_equal():
    record = parse_line(line(3, 1, "/a", method="POST", body="12").rstrip("\n")).record()
    assert record.body_len == 12 and record.body_sha256 == ""


def test_nginx_escapes_are_undone():
    request = parse_line(line(1, 1, "/a\\x22b\\x5Cc\\xE9").rstrip("\n"))
    assert request.target == '/a"b\\c\xe9'


def test_partial_last_line_and_foreign_lines_are_skipped(tmp_path):
    path = tmp_path / "access.log"
    path.write_text("not a request line\n" + line(1, 1, "/a") + line(1, 2, "/b", length="x")
                    + line(2, 1, "/c") + "1795300176.2\t198.18.0.10:1\t3\t1\tGE")
    assert [r.target for r in read_nginx_log(path)] == ["/a", "/c"]
    assert read_nginx_log(tmp_path / "missing") == []


def test_compares_against_the_target_log_request_by_request(tmp_path):
    path = tmp_path / "access.log"
    path.write_text(line(1, 1, "/w/1-1") + line(2, 1, "/w/1-2") + line(3, 1, "/w/1-3")
                    + line(4, 1, "/w/1-4") + line(4, 2, "/w/1-5"))
    online = read_nginx_records(path)
    target = [target_record(10, 0, "/w/1-3"), target_record(11, 0, "/w/1-1"),
              target_record(12, 0, "/w/1-4"), target_record(12, 1, "/w/1-5")]
    c = compare(online, target)
    assert (c.online_requests, c.target_requests, c.missing, c.unexpected) == (5, 4, 1, 0)
    assert c.ratio == 0.8
