"""Command line: the only module that imports click.

Each subcommand validates its flags into a frozen config and calls one ``run_*`` function.
Errors are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import signal
import sys

import click

from pyreplay import __version__


def _sigterm_as_exit() -> None:
    """Turn SIGTERM into SystemExit so context managers (lab, BPF attach) clean up."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"pyreplay: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, "-v", "--version", prog_name="pyreplay")
def main() -> None:
    """TCP stream replay: copy live traffic to a test server, replay captures as many users."""


@main.group()
def lab() -> None:
    """A TCPCopy deployment in network namespaces on this machine (client, online, target,
    assistant), for the demo, the tests and your own experiments."""


@lab.command("up")
@click.option("--name", help="lab name (default: a fresh unique name)")
@click.option("--route-free", is_flag=True, help="no route for the client pool on the target")
@click.option("--no-offload", is_flag=True, help="turn veth checksum/segmentation offloads off")
def lab_up(name: str | None, route_free: bool, no_offload: bool) -> None:
    """Build a lab and print its addresses (remove it with `pyreplay lab down NAME`)."""
    from pyreplay.lab.netns import LabError
    from pyreplay.lab.topology import Lab, LabSpec, new_name

    _sigterm_as_exit()
    spec = LabSpec(route_pool_via_assistant=not route_free, offload=not no_offload)
    try:
        the_lab = Lab(name or new_name(), spec).up()
    except LabError as exc:
        _fail(str(exc))
    click.echo(json.dumps(the_lab.status(), indent=2))


@lab.command("status")
@click.argument("name", required=False)
def lab_status(name: str | None) -> None:
    """Show one lab, or every lab this machine knows of."""
    from pyreplay.lab.netns import LabError
    from pyreplay.lab.topology import Lab, known_labs, leftover_namespaces

    try:
        names = [name] if name else known_labs()
        click.echo(json.dumps([Lab.load(n).status() for n in names], indent=2))
    except LabError as exc:
        _fail(str(exc))
    stray = [n for n in leftover_namespaces() if n.split("-")[0] not in known_labs()]
    if stray:
        click.echo(f"namespaces without a lab record (remove with `pyreplay lab down --all`): {' '.join(stray)}")


@lab.command("down")
@click.argument("name", required=False)
@click.option("--all", "everything", is_flag=True, help="remove every lab and stray lab namespace")
def lab_down(name: str | None, everything: bool) -> None:
    """Remove a lab: its processes, namespaces, veths, bridge and routes."""
    from pyreplay.lab.netns import LabError, delete_namespace
    from pyreplay.lab.topology import Lab, known_labs, leftover_namespaces

    if not name and not everything:
        _fail("name a lab or pass --all (known: " + (", ".join(known_labs()) or "none") + ")", 2)
    try:
        for n in known_labs() if everything else [name]:
            Lab.load(n).down()
            click.echo(f"removed lab {n}")
        if everything:
            for ns in leftover_namespaces():
                delete_namespace(ns)
                click.echo(f"removed stray namespace {ns}")
    except LabError as exc:
        _fail(str(exc))


@main.command()
@click.option("--requests", default=500, help="requests the lab's clients send")
@click.option("--concurrency", default=10, help="concurrent client connections")
def demo(requests: int, concurrency: int) -> None:
    """Run the self-contained demo in a fresh lab and print what happened."""
    from pyreplay.lab.demo import run_demo
    from pyreplay.lab.netns import LabError

    _sigterm_as_exit()
    try:
        result = run_demo(requests, concurrency, echo=click.echo)
    except LabError as exc:
        _fail(str(exc))
    click.echo("demo: OK" if result.ok else "demo: FAILED (requests lost or altered)")
    sys.exit(0 if result.ok else 1)


if __name__ == "__main__":  # pragma: no cover
    main()
