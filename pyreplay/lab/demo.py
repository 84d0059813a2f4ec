"""The self-contained demo: build a lab, run real servers and real traffic, print the result.

For now it shows requests flowing client → online server and checks the online server's log
holds every request byte for byte; the replay to the target joins it as the replay engine lands.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyreplay.lab.load import LoadPlan, request_body
from pyreplay.lab.services import ONLINE_PORT, TARGET_PORT, start_http_server, run_load, wait_for_requests
from pyreplay.lab.topology import HOST_ADDRESSES, LabSpec, lab

import hashlib


@dataclass(frozen=True, slots=True)
class DemoResult:
    lab_name: str
    requests_sent: int
    requests_logged_online: int
    bodies_match: bool
    lines: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.requests_sent == self.requests_logged_online and self.bodies_match


def run_demo(requests: int = 500, concurrency: int = 10, echo=print) -> DemoResult:
    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)
        echo(text)

    with lab(LabSpec()) as the_lab:
        say(f"lab {the_lab.name}: namespaces {', '.join(the_lab.namespaces)}")
        for h in the_lab.hosts:
            say(f"  {h.role:<9} {h.addr:<12} ({h.netns})")
        online = start_http_server(the_lab, "online", ONLINE_PORT)
        start_http_server(the_lab, "target", TARGET_PORT)
        say(f"online HTTP server on {HOST_ADDRESSES['online']}:{ONLINE_PORT}, "
            f"target on {HOST_ADDRESSES['target']}:{TARGET_PORT}")
        keepalive = LoadPlan(HOST_ADDRESSES["online"], ONLINE_PORT, requests // 2, concurrency,
                             keepalive=True, path_prefix="/ka", max_seconds=60)
        short = LoadPlan(HOST_ADDRESSES["online"], ONLINE_PORT, requests - requests // 2, concurrency,
                         keepalive=False, body_bytes=1000, path_prefix="/short", max_seconds=60)
        sent = 0
        for plan in (keepalive, short):
            result = run_load(the_lab, plan)
            sent += result.requests_ok
            mode = "keep-alive" if plan.keepalive else "one request per connection"
            say(f"client sent {result.requests_ok}/{plan.requests} requests ({mode}) over "
                f"{result.connections} connections in {result.seconds:.2f}s, errors {result.errors}")
        logged = wait_for_requests(online, sent)
        expected = {f"/short/{i}": hashlib.sha256(request_body(i, 1000)).hexdigest()
                    for i in range(short.requests)}
        bodies_match = all(expected[r.target] == r.body_sha256 for r in logged if r.target in expected)
        say(f"online server logged {len(logged)} requests; POST bodies intact: {bodies_match}")
        name = the_lab.name
    say(f"lab {name} removed")
    return DemoResult(name, sent, len(logged), bodies_match, tuple(lines))
