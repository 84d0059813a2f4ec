"""The self-contained demo: a lab of namespaces, real servers, real traffic, a real replay.

1. Build the lab; start HTTP servers on the online server (:80) and the target (:8080) and
   ``pyreplay intercept`` on the assistant.
2. Record the online server's incoming traffic while the client sends keep-alive and
   one-request-per-connection load (POST bodies included).
3. Replay the recording with ``pyreplay copy -i`` from the online server to the target, paced
   by the target's responses through intercept.
4. Compare the two servers' request logs (count, bytes per request, order per connection),
   print the result and remove the lab.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyreplay.lab.load import LoadPlan
from pyreplay.lab.replay_lab import start_servers
from pyreplay.lab.requestlog import compare
from pyreplay.lab.services import ONLINE_PORT, TARGET_PORT, run_load, wait_for_requests
from pyreplay.lab.topology import HOST_ADDRESSES, LabSpec, lab


@dataclass(frozen=True, slots=True)
class DemoResult:
    lab_name: str
    requests_online: int
    requests_target: int
    exact: bool
    copy_exit: int

    @property
    def ok(self) -> bool:
        return self.exact and self.copy_exit == 0 and self.requests_online > 0


def run_demo(requests: int = 500, concurrency: int = 10, echo=print) -> DemoResult:
    with lab(LabSpec()) as the_lab:
        echo(f"lab {the_lab.name}:")
        for h in the_lab.hosts:
            echo(f"  {h.role:<9} {h.addr:<12} netns {h.netns}")
        rl = start_servers(the_lab)
        rl.start_intercept()
        online_addr = HOST_ADDRESSES["online"]
        echo(f"online server {online_addr}:{ONLINE_PORT}, target {HOST_ADDRESSES['target']}:{TARGET_PORT}, "
             f"intercept on the assistant; the target routes {the_lab.client_pool} via the assistant")
        plans = (LoadPlan(online_addr, ONLINE_PORT, requests // 2, concurrency, keepalive=True,
                          path_prefix="/ka", max_seconds=60),
                 LoadPlan(online_addr, ONLINE_PORT, requests - requests // 2, concurrency, keepalive=False,
                          body_bytes=1000, path_prefix="/short", max_seconds=60))
        with rl.recording("demo") as pcap:
            for plan in plans:
                result = run_load(the_lab, plan)
                mode = "keep-alive" if plan.keepalive else "one request per connection, 1000-byte POSTs"
                echo(f"client -> online: {result.requests_ok}/{plan.requests} requests ({mode}) over "
                     f"{result.connections} connections in {result.seconds:.2f}s")
        online = wait_for_requests(rl.online, requests)
        echo(f"recorded the online server's traffic to {pcap}")
        echo(f"$ pyreplay copy -x {ONLINE_PORT}-{HOST_ADDRESSES['target']}:{TARGET_PORT} "
             f"-s {HOST_ADDRESSES['assistant']} -c {the_lab.client_pool} -i {pcap.name} -a 20")
        done = rl.copy(pcap)
        for line in (done.stdout + done.stderr).strip().splitlines():
            echo(f"  {line}")
        target = wait_for_requests(rl.target, len(online))
        result = compare(online, target)
        echo(f"online server logged {result.online_requests} requests, target {result.target_requests}; "
             f"byte-exact in order per connection: {'yes' if result.exact else 'NO'} "
             f"(missing {result.missing}, unexpected {result.unexpected})")
        name = the_lab.name
    echo(f"lab {name} removed")
    return DemoResult(name, result.online_requests, result.target_requests, result.exact, done.returncode)
