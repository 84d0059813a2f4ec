"""Request-log comparison: the yardstick every end-to-end replay test uses."""

from pyreplay.lab.requestlog import RequestRecord, compare, read_log


def rec(conn, idx, target, client="198.18.0.10:1000", body=0, sha="e3"):
    return RequestRecord(t=0.0, client=client, conn=conn, idx=idx, method="GET", target=target,
                         body_len=body, body_sha256=sha)


def test_identical_logs_with_different_clients_compare_exact():
    online = [rec(1, 0, "/a"), rec(1, 1, "/b"), rec(2, 0, "/c")]
    target = [rec(7, 0, "/c", client="198.19.0.1:5"), rec(9, 0, "/a", client="198.19.0.2:6"), rec(9, 1, "/b")]
    c = compare(online, target)
    assert c.exact and c.ratio == 1.0 and c.online_requests == 3 and c.target_requests == 3


def test_reordered_requests_within_a_connection_are_not_exact():
    online = [rec(1, 0, "/a"), rec(1, 1, "/b")]
    target = [rec(1, 0, "/b"), rec(1, 1, "/a")]
    c = compare(online, target)
    assert not c.exact and c.missing == 2 and c.unexpected == 2


def test_altered_body_is_detected():
    online = [rec(1, 0, "/a", body=3, sha="x")]
    target = [rec(1, 0, "/a", body=3, sha="y")]
    assert not compare(online, target).exact


def test_copies_expect_each_connection_n_times():
    online = [rec(1, 0, "/a")]
    target = [rec(c, 0, "/a") for c in range(3)]
    assert compare(online, target, copies=3).exact
    assert compare(online, target[:2], copies=3).missing == 1


def test_read_log_ignores_a_partial_last_line(tmp_path):
    path = tmp_path / "log"
    path.write_text('{"t":1,"client":"a:1","conn":1,"idx":0,"method":"GET","target":"/","body_len":0,'
                    '"body_sha256":"z"}\n{"t":2,"cli')
    assert [r.target for r in read_log(path)] == ["/"]
    assert read_log(tmp_path / "missing") == []
