"""wrk (Debian's) as the lab's fast load generator, with every request distinguishable.

Contract:
- ``numbered_requests_script(prefix)`` is a wrk Lua script giving each request its own URI,
  ``PREFIX/T-N`` (wrk thread T from 1, request N from 1 on that thread), so request logs are
  matched request by request, not only counted.
- ``wrk_argv(url, ...)`` is the command line: ``threads`` threads over ``connections``
  connections for ``seconds``, one request per connection when ``close`` (``Connection:
  close``; wrk reconnects after each answer), the script when given.
- ``parse_summary(text)`` reads wrk's report: requests it completed, seconds it ran, and errors
  (socket connect/read/write/timeout errors plus non-2xx/3xx answers). ``WrkError`` when the
  text is not a wrk report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b")
_SOCKET_ERRORS = re.compile(r"(?:connect|read|write|timeout) (\d+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


class WrkError(RuntimeError):
    """wrk did not run or printed no report."""


@dataclass(frozen=True, slots=True)
class WrkSummary:
    requests: int
    seconds: float
    errors: int


def numbered_requests_script(prefix: str) -> str:
    if not re.fullmatch(r"(/[A-Za-z0-9._-]+)*", prefix):
        raise ValueError(f"path prefix must be /segments of letters, digits, '.', '_', '-': {prefix!r}")
    return f"""\
-- pyreplay lab: a unique URI per request, {prefix}/THREAD-N
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
function request()
  n = n + 1
  return wrk.format(nil, "{prefix}/" .. tid .. "-" .. n)
end
"""


def wrk_argv(url: str, *, connections: int, seconds: float, threads: int = 1, close: bool = False,
             script: Path | None = None, timeout_s: float = 5.0) -> list[str]:
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", f"{timeout_s:g}s"]
    if close:
        argv += ["-H", "Connection: close"]
    if script is not None:
        argv += ["-s", str(script)]
    return argv + [url]


def parse_summary(text: str) -> WrkSummary:
    done = _REQUESTS.search(text)
    if done is None:
        raise WrkError(f"no wrk report in: {text.strip()[-300:]!r}")
    errors = sum(int(n) for n in _SOCKET_ERRORS.findall(text))
    non2xx = _NON_2XX.search(text)
    errors += int(non2xx.group(1)) if non2xx else 0
    return WrkSummary(int(done.group(1)), float(done.group(2)) * _UNIT_SECONDS[done.group(3)], errors)
