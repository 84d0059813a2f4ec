"""The access-log format of the lab's nginx online server, and a reader that turns it into the
``RequestRecord``s that ``requestlog.compare`` matches against the target's log.

Contract:
- ``LOG_FORMAT`` is the ``log_format`` body to configure: one tab-separated line per request
  with time (``$msec``), client ``ip:port``, connection serial (``$connection``), the request's
  number on its connection (``$connection_requests``, from 1), method, URI as sent
  (``$request_uri``), whole request length in bytes (``$request_length``: line, headers, body),
  declared body length (``$content_length``, ``-`` when absent) and status.
- ``read_nginx_log(path)`` returns one ``NginxRequest`` per complete line (a line still being
  written is ignored, a line that does not parse is skipped: the log is read while nginx runs).
  nginx writes ``\\xHH`` for a quote, a backslash and bytes outside printable ASCII; the reader
  turns them back into the characters (latin-1), as the lab's Python server logs targets.
- ``NginxRequest.record()`` is the ``RequestRecord`` of that request (``idx`` counts from 0).
  nginx does not hash bodies: a bodiless request gets the SHA-256 of no bytes, exactly as the
  Python server logs it; a request with a body gets ``""``, so it never compares equal to a
  target record (compare such logs only by count). ``read_nginx_records(path)`` reads the records.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from pyreplay.lab.requestlog import RequestRecord

FORMAT_NAME = "pyreplay"
LOG_FORMAT = "\t".join(["$msec", "$remote_addr:$remote_port", "$connection", "$connection_requests",
                        "$request_method", "$request_uri", "$request_length", "$content_length", "$status"])
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()
_FIELDS = LOG_FORMAT.count("\t") + 1
_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")


@dataclass(frozen=True, slots=True)
class NginxRequest:
    t: float
    client: str
    conn: int
    number: int  # on its connection, from 1
    method: str
    target: str
    request_length: int
    body_len: int
    status: int

    def record(self) -> RequestRecord:
        sha = EMPTY_BODY_SHA256 if self.body_len == 0 else ""
        return RequestRecord(t=self.t, client=self.client, conn=self.conn, idx=self.number - 1,
                             method=self.method, target=self.target, body_len=self.body_len, body_sha256=sha)


def unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)


def parse_line(line: str) -> NginxRequest | None:
    """One log line (without its newline) as a request, or None when it is not one of ours."""
    fields = line.split("\t")
    if len(fields) != _FIELDS:
        return None
    t, client, conn, number, method, uri, length, body, status = fields
    try:
        return NginxRequest(float(t), client, int(conn), int(number), unescape(method), unescape(uri),
                            int(length), 0 if body == "-" else int(body), int(status))
    except ValueError:
        return None


def read_nginx_log(path: str | Path) -> list[NginxRequest]:
    try:
        text = Path(path).read_text(encoding="latin-1")
    except FileNotFoundError:
        return []
    requests = []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        request = parse_line(line.rstrip("\n"))
        if request is not None:
            requests.append(request)
    return requests


def read_nginx_records(path: str | Path) -> list[RequestRecord]:
    return [r.record() for r in read_nginx_log(path)]
