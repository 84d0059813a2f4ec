"""Command line: the only module that imports click.

Each subcommand validates its flags into a frozen config and calls one ``run_*`` function.
Errors are one line on stderr and a non-zero exit (2 for a bad value).
copy, intercept and burn take every flag of tcpcopy, intercept and tcpburn, so existing
command lines run unchanged; a flag with nothing to act on here says so in one warning line.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys

import click

from pyreplay import __version__, compiled

# -v/--version also says which build of the per-packet core runs (it decides the CPU cost)
_VERSION_MESSAGE = f"%(prog)s, version %(version)s (per-packet core: {compiled.status()})"


def _sigterm_as_exit() -> None:
    """Turn SIGTERM into SystemExit so context managers (lab, BPF attach) clean up."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"pyreplay: {message}", err=True)
    sys.exit(code)


class _OneLineErrors(click.Group):
    """Usage errors (an unknown flag, a flag without its value) are one line and exit code 2,
    like a bad value."""

    def main(self, *args, **kwargs):
        kwargs.setdefault("prog_name", "pyreplay")  # also under python -m pyreplay.cli
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            path = exc.ctx.command_path if exc.ctx is not None else "pyreplay"
            _fail(f"{exc.format_message().rstrip('.')} (see '{path} -h')", 2)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            _fail("aborted", 1)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, "-v", "--version", prog_name="pyreplay", message=_VERSION_MESSAGE)
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


def _version(function):
    """``-v``/``--version`` on a subcommand, as the originals have."""
    return click.version_option(__version__, "-v", "--version", prog_name="pyreplay",
                                message=_VERSION_MESSAGE)(function)


COMPAT = "accepted for compatibility with {tool} {flag}, no effect (a warning says why)"


def _config_or_exit(build):
    """Build a config; a bad value is one line and exit code 2."""
    from pyreplay.config import ConfigError

    try:
        config = build()
    except ConfigError as exc:
        _fail(str(exc), 2)
    for warning in config.warnings:
        click.echo(f"pyreplay: warning: {warning}", err=True)
    return config


@main.command(context_settings={"show_default": True})
@click.option("-i", "--interface", "interfaces", help="interfaces to capture responses on, comma separated (default: all but lo)")
@click.option("-F", "--filter", "filter_", help="pcap filter matching the target's responses, e.g. 'tcp and src port 8080'")
@click.option("-p", "--port", default=36524, help="channel port copy/burn connect to")
@click.option("-b", "--bind", help="channel bind address (default: all)")
@click.option("-l", "--log", "log_file", help="log file (default: stderr)")
@click.option("-d", "--daemon", is_flag=True, help="run in the background")
@click.option("-P", "--pid-file", help="write the pid here")
@click.option("--stats-interval", default=0.0, help="log a stats line every N seconds (0: only at exit)")
@click.option("--xdp", "xdp", metavar="IFACE", help="force XDP (bpf_link, generic mode) on IFACE")
@click.option("--tc", "tc", metavar="IFACE", help="force tc ingress (tcx link) on IFACE")
@click.option("--afpacket", "afpacket", metavar="IFACE", help="force AF_PACKET with libpcap's classic BPF on IFACE")
@click.option("--route-free", is_flag=True, help="run on the target: tcx egress summarizes and swallows responses to --pool")
@click.option("--pool", help="route-free: client pool prefixes CIDR[,...] (what copy's -c uses)")
@click.option("--drop-responses", is_flag=True, help="XDP/tc ingress: drop matched responses (the assistant's black hole)")
@click.option("-n", "--combine", help="most responses combined in one channel write (0 or 1: each at once)  [default: 64]")
@click.option("-s", "--delay-capacity", help="most early SYN-ACK/RST responses held until their copy registers  [default: 4096]")
@click.option("-D", "--dockered", metavar="SEEN_IP-ORIGINAL_IP[,...]",
              help="route responses the target sends to SEEN_IP as if sent to ORIGINAL_IP (e.g. a container's NAT)")
@click.option("-t", "--route-timeout", help="seconds an unused route lives  [default: 600]")
@click.option("-x", "--pass-through", metavar="IP[,...]", help=COMPAT.format(tool="intercept", flag="-x"))
@click.option("-q", "--queue-length", help=COMPAT.format(tool="intercept", flag="-q"))
@click.option("-c", "--protect-connections", is_flag=True, help=COMPAT.format(tool="intercept", flag="-c"))
@_version
def intercept(interfaces, filter_, port, bind, log_file, daemon, pid_file, stats_interval, xdp, tc, afpacket,
              route_free, pool, drop_responses, combine, delay_capacity, dockered, route_timeout, pass_through,
              queue_length, protect_connections) -> None:
    """Capture the target's responses and pass their headers to the copy/burn processes."""
    from pyreplay.config import InterceptConfig
    from pyreplay.runtime.intercept import Intercept
    from pyreplay.runtime.process import PidFile, daemonize, settle_gc, stop_on_signals
    from pyreplay.runtime.response_sources import SourceError
    from pyreplay.logsetup import setup_logging

    config = _config_or_exit(lambda: InterceptConfig.from_options(
        interfaces=interfaces, filter=filter_, port=str(port), bind=bind, log_file=log_file,
        daemon=daemon, pid_file=pid_file, xdp=xdp, tc=tc, afpacket=afpacket, route_free=route_free,
        pool=pool, drop_responses=drop_responses, combine=combine, delay_capacity=delay_capacity,
        dockered=dockered, route_timeout=route_timeout, pass_through=pass_through, queue_length=queue_length,
        protect_connections=protect_connections))
    from pyreplay.backends.cbpf import FilterError

    try:
        setup_logging(config.log_file)
        runtime = Intercept(config)
    except FilterError as exc:
        _fail(str(exc), 2)
    except (OSError, ValueError, SourceError) as exc:
        _fail(str(exc))
    if config.daemon:
        daemonize()
    stop_on_signals(runtime.stop)
    settle_gc()
    with PidFile(config.pid_file):
        runtime.run(report_every=stats_interval)


@main.command(context_settings={"show_default": True})
@click.option("-x", "--transfer", "transfers", help="[onlineIP:]port-targetIP:port[,...]: what to copy and where to")
@click.option("-s", "--intercept", "intercepts", help="intercept address(es) ip[:port][,...]")
@click.option("-p", "--intercept-port", default="36524", help="default intercept port")
@click.option("-c", "--client-pool", help="rewrite client addresses into this pool: 10.1.2.x, CIDR, ranges, lists")
@click.option("-n", "--copies", default="1", help="replay every session N times")
@click.option("-f", "--port-share", "port_slice", help="INDEX/COUNT share of client ports for several copy processes on one pool")
@click.option("-r", "--percent", "sample_percent", default="100", help="replay this percentage of sessions (session-consistent)")
@click.option("-O", "--only-full-sessions", is_flag=True, help="only sessions whose SYN was captured")
@click.option("-W", "--no-response-wait", is_flag=True, help="send requests without waiting for responses")
@click.option("-t", "--session-timeout", default="600", help="seconds without an answer before a session is dropped")
@click.option("-k", "--keepalive-timeout", help="seconds an idle keep-alive session lives (default: -t + 120)")
@click.option("-M", "--mtu", default="1500", help="MTU of packets sent to the target")
@click.option("-D", "--mss", default="1460", help="MSS offered in faked SYNs")
@click.option("-i", "--input", "offline_file",
              help="capture file (pcap/pcapng) to replay; interfaces of this host (dev[,dev] or any) capture live, "
                   "as tcpcopy's --pcap-capture builds")
@click.option("-a", "--accelerate", "acceleration", default="1", help="offline: replay N times faster")
@click.option("-I", "--gap-threshold", "gap_threshold_ms", default="0", help="offline: compress idle gaps longer than N ms (0: off)")
@click.option("-l", "--log", "log_file", help="log file (default: stderr)")
@click.option("-d", "--daemon", is_flag=True, help="run in the background")
@click.option("-P", "--pid-file", help="write the pid here")
@click.option("-m", "--memory-limit", "memory_limit_mb", help="exit when RSS exceeds N MB")
@click.option("-H", "--loopback-source", metavar="IP",
              help="send sessions captured from 127.0.0.1 (::1) from this address when the target is not local")
@click.option("-T", "--repeat", default="1", help="offline: replay the file N times")
@click.option("-g", "--gradual", is_flag=True,
              help="ramp the share of sessions replayed from 1% up by 1% per second (to -r)")
@click.option("-L", "--lonely", is_flag=True,
              help="keep running when every intercept connection is lost; reconnect every 12 s")
@click.option("-F", "--filter", "capture_filter",
              help="pcap filter: replay only captured packets it matches as well, e.g. 'src net 10.1.0.0/16'")
@click.option("-C", "--channel-connections", help=COMPAT.format(tool="tcpcopy", flag="-C"))
@click.option("-R", "--rtt", "default_rtt_ms", help=COMPAT.format(tool="tcpcopy", flag="-R"))
@click.option("-U", "--session-pool-kb", help=COMPAT.format(tool="tcpcopy", flag="-U"))
@click.option("-B", "--capture-buffer-mb", help="live capture: the BPF ring buffer in MB, a power of two "
              "(default 16, as tcpcopy's -B); raise it to absorb longer bursts copy replays late")
@click.option("-S", "--snaplen", help=COMPAT.format(tool="tcpcopy", flag="-S"))
@click.option("-o", "--output-device", help=COMPAT.format(tool="tcpcopy", flag="-o"))
@click.option("--write", "dry_run_output", help="dry run: write what would be sent to this pcap (a simulated target answers)")
@click.option("--idle-exit", default=3.0,
              help="offline: after the file ends, stop when nothing moved for N seconds and no session work is due within 2 s")
@click.option("--xdp", "xdp", metavar="IFACE[,IFACE]", help="live: capture with XDP (bpf_link) on these interfaces")
@click.option("--tc", "tc", metavar="IFACE[,IFACE]", help="live: capture with tc ingress (tcx link) on these interfaces")
@click.option("--afpacket", "afpacket", metavar="IFACE[,IFACE]", help="live: capture with AF_PACKET (no BPF) on these interfaces")
@click.option("--xdp-native", is_flag=True, help="live: native (driver) XDP instead of generic")
@click.option("--stats-interval", default=0.0, help="live: log a stats line every N seconds (0: only the summary)")
@click.option("--drain-seconds", default=2.0, help="live: after SIGINT/SIGTERM, let open sessions finish for N seconds")
@_version
def copy(dry_run_output, idle_exit, xdp, tc, afpacket, xdp_native, stats_interval, drain_seconds, **options) -> None:
    """Replay client traffic to a target server (TCPCopy): live (--xdp/--tc/--afpacket IFACE, -i IFACE,
    or every interface with the best method) until SIGINT/SIGTERM, or offline from a capture file (-i)."""
    from pyreplay.backends.cbpf import FilterError
    from pyreplay.config import CopyConfig
    from pyreplay.logsetup import setup_logging
    from pyreplay.runtime.copy import CopyError, OfflineCopy

    if dry_run_output and not options.get("intercepts"):
        options["intercepts"] = "127.0.0.1"  # a dry run talks to no intercept
    live_interfaces = input_interfaces(options.get("offline_file"))
    if live_interfaces is not None:
        options["offline_file"] = None
    config = _config_or_exit(lambda: CopyConfig.from_options(**options))
    forced = [(name, value) for name, value in (("xdp", xdp), ("tc", tc), ("afpacket", afpacket)) if value]
    if len(forced) > 1:
        _fail("choose one of --xdp, --tc, --afpacket", 2)
    if live_interfaces is not None and forced:
        _fail(f"-i {live_interfaces or 'any'} and --{forced[0][0]}: name the capture interfaces once", 2)
    if not config.offline_file:
        if live_interfaces is not None:
            forced = [(None, live_interfaces)]  # the best method, on these interfaces
        _copy_live(config, forced[0] if forced else None, xdp_native, stats_interval, drain_seconds)
        return
    if forced:
        _fail("-i FILE replays a capture file: --xdp/--tc/--afpacket are for live capture", 2)
    try:
        setup_logging(config.log_file)
        runtime = OfflineCopy(config, dry_run_output=dry_run_output, idle_exit=idle_exit)
    except FilterError as exc:
        _fail(str(exc), 2)
    except (CopyError, OSError) as exc:
        _fail(str(exc))
    _run_to_exit(runtime, config, exit_on_problems=True)


def input_interfaces(value: str | None) -> str | None:
    """copy ``-i``: in tcpcopy's --pcap-capture builds it names the capture interfaces
    (``dev[,dev]``, ``any`` for all). When it names no existing file but only interfaces of this
    host (or ``any``), return them ("" for any): copy then captures live on them. Else None
    (a capture file, or a name that is neither, which then fails as a file)."""
    if not value or os.path.exists(value):
        return None
    names = [name.strip() for name in value.split(",")]
    if names == ["any"]:
        return ""
    try:
        for name in names:
            socket.if_nametoindex(name)
    except OSError:
        return None
    return ",".join(names)


def _run_to_exit(runtime, config, *, exit_on_problems: bool) -> None:
    """Daemonize if asked, run until done or stopped, print the summary and exit (copy, burn).

    Offline copy and burn exit 1 when their summary names a problem; live copy ends on a stop
    signal, so it exits 0 (the problems are printed all the same)."""
    from pyreplay.runtime.process import PidFile, daemonize, settle_gc, stop_on_signals

    if config.daemon:
        daemonize()
    stop_on_signals(runtime.stop)
    settle_gc()
    with PidFile(config.pid_file):
        summary = runtime.run()
    for line in summary.lines:
        click.echo(line)
    for problem in summary.problems:
        click.echo(f"problem: {problem}")
    sys.exit(1 if exit_on_problems and not summary.ok else 0)


def _copy_live(config, forced, xdp_native: bool, stats_interval: float, drain_seconds: float) -> None:
    """Live copy: open the capture (forced method or the best one), run until a stop signal."""
    import logging

    from pyreplay.backends.cbpf import FilterError
    from pyreplay.backends.live_capture import CaptureUnavailable, open_live_capture
    from pyreplay.logsetup import setup_logging
    from pyreplay.runtime.copy import CopyError
    from pyreplay.runtime.copy_live import LiveCopy

    method, interfaces = forced if forced else (None, "")
    names = tuple(n.strip() for n in interfaces.split(",") if n.strip())
    def open_capture():
        capture, why = open_live_capture(method, names, config.transfers,
                                         xdp_mode="native" if xdp_native else "generic",
                                         ring_bytes=config.capture_buffer_mb << 20)
        logging.getLogger("pyreplay.copy").info("%s", why)
        return capture

    try:
        setup_logging(config.log_file)
        runtime = LiveCopy(config, open_capture, drain_seconds=drain_seconds, stats_interval=stats_interval)
    except FilterError as exc:
        _fail(str(exc), 2)
    except CaptureUnavailable as exc:
        _fail(f"cannot capture{' with --' + method if method else ''}: {exc}")
    except (CopyError, OSError) as exc:
        _fail(str(exc))
    _run_to_exit(runtime, config, exit_on_problems=False)


@main.command(context_settings={"show_default": True})
@click.option("-f", "--files", help="capture files (pcap/pcapng) to replay, comma separated")
@click.option("-x", "--transfer", "transfers", help="[onlineIP:]port-targetIP:port[,...]: which captured packets, and where to")
@click.option("-s", "--intercept", "intercepts", help="intercept address(es) ip[:port][,...]")
@click.option("-p", "--intercept-port", default="36524", help="default intercept port")
@click.option("-u", "--users", help="number of concurrent users")
@click.option("-c", "--client-pool", help="user addresses: 10.1.2.x, CIDR, ranges, lists")
@click.option("-i", "--rate", default="1024", help="new connections per second")
@click.option("-a", "--accelerate", "acceleration", default="1", help="divide captured think times by N")
@click.option("-t", "--session-timeout", default="75", help="seconds without an answer before a session is dropped")
@click.option("-M", "--mtu", default="1500", help="MTU of packets sent to the target")
@click.option("-m", "--layout", default="0", help="user identities: 0 = spread over addresses first, 1 = all ports of one address first")
@click.option("-e", "--port-seed", default="0", help="0: user ports in order from 32768; else shuffled by this seed")
@click.option("-l", "--log", "log_file", help="log file (default: stderr)")
@click.option("--comet", is_flag=True, help="long-lived connections: client FIN/RST not replayed, kept open until the run ends")
@click.option("--loop", "loops", default="1", help="passes each user makes (0: until --duration ends)")
@click.option("--duration", help="stop after this many seconds")
@click.option("-F", "--filter", "filter_", help="pcap filter applied to the files, e.g. 'tcp and port 80'")
@click.option("--no-syn", type=click.Choice(["fake", "skip"]), default="fake",
              help="sessions captured without their SYN: fake the handshake, or skip them")
@click.option("--report", "report_file", help="write the end-of-run report as JSON to this file")
@click.option("--write", "dry_run_output", help="dry run: write what would be sent to this pcap (a simulated target answers)")
@click.option("-A", "--ignitions-per-ms", help="start at most N connections per millisecond (caps -i at 1000 x N, as tcpburn)")
@click.option("-T", "--topology", "topology_window", metavar="SECONDS",
              help="sessions that began within SECONDS of the previous one in the capture start that much after it")
@click.option("-d", "--daemon", is_flag=True, help="run in the background")
@click.option("-P", "--pid-file", help="write the pid here")
@click.option("-S", "--mss", help=COMPAT.format(tool="tcpburn", flag="-S"))
@click.option("-C", "--channel-connections", help=COMPAT.format(tool="tcpburn", flag="-C"))
@click.option("-o", "--output-device", help=COMPAT.format(tool="tcpburn", flag="-o"))
@_version
def burn(files, filter_, no_syn, report_file, dry_run_output, **options) -> None:
    """Replay captured sessions as many concurrent users (TCPBurn)."""
    from pyreplay.backends.cbpf import FilterError
    from pyreplay.config import BurnConfig
    from pyreplay.logsetup import setup_logging
    from pyreplay.runtime.burn import Burn, BurnError, BurnOptions

    if dry_run_output and not options.get("intercepts"):
        options["intercepts"] = "127.0.0.1"  # a dry run talks to no intercept
    config = _config_or_exit(lambda: BurnConfig.from_options(files=files, **options))
    burn_options = BurnOptions(filter=filter_, skip_without_syn=no_syn == "skip", report_file=report_file,
                               dry_run_output=dry_run_output)
    try:
        setup_logging(config.log_file)
        runtime = Burn(config, burn_options, progress=sys.stderr)
    except FilterError as exc:
        _fail(str(exc), 2)
    except (BurnError, OSError) as exc:
        _fail(str(exc))
    _run_to_exit(runtime, config, exit_on_problems=True)


@main.group("bpf")
def bpf_group() -> None:
    """pyreplay's BPF programs: what exactly gets compiled and loaded."""


@bpf_group.command("dump")
@click.argument("program", required=False)
def bpf_dump(program: str | None) -> None:
    """Print the exact C source and compile flags of PROGRAM (default: every program in bpf/)."""
    from pyreplay.ebpf import loader
    from pyreplay.ebpf.headers import HeaderTreeError
    from pyreplay.ebpf.paths import bpf_source_dir

    names = [program] if program else sorted(p.name[:-len(".bpf.c")] for p in bpf_source_dir().glob("*.bpf.c"))
    try:
        for name in names:
            click.echo(loader.program_source(name, _dump_defines(name)).render())
    except (FileNotFoundError, HeaderTreeError, ValueError) as exc:
        _fail(str(exc))


def _dump_defines(program: str) -> dict:
    """The -D flags pyreplay compiles a program with by default."""
    from pathlib import Path

    name = Path(program).name.removesuffix(".c").removesuffix(".bpf")
    if name in ("capture_xdp", "capture_tc"):
        from pyreplay.backends.bpf_capture import capture_defines

        return capture_defines()
    if name.startswith("response_"):
        from pyreplay.backends.bpf_responses import PROGRAMS, program_defines

        hook = next(h for h, (program_name, _, _) in PROGRAMS.items() if program_name == name)
        return program_defines(hook, drop=False)
    return {}


@main.command()
@click.option("--dry-run", is_flag=True, help="only report what would be removed")
def cleanup(dry_run: bool) -> None:
    """Remove pyreplay's BPF programs left attached by netlink (never other programs); report the rest.

    Works on this network namespace's interfaces. Programs held by a bpf_link belong to a running
    process and go away with it; they are only reported."""
    from pyreplay.ebpf import inventory

    failures = 0
    for a in inventory.attachments():
        what = f"{a.hook} {a.name or '?'} (id {a.prog_id}) on {a.ifname}"
        if not inventory.is_ours(a.name):
            click.echo(f"left alone (not pyreplay's): {what}")
        elif a.via_link:
            click.echo(f"held by a running process's bpf_link (detaches when it exits): {what}")
        elif dry_run:
            click.echo(f"would remove: {what}")
        else:
            try:
                inventory.remove(a)
                click.echo(f"removed: {what}")
            except (ValueError, OSError, subprocess.SubprocessError) as exc:
                failures += 1
                click.echo(f"could not remove {what}: {exc}", err=True)
    sys.exit(1 if failures else 0)


@main.command()
def doctor() -> None:
    """Check this machine can run pyreplay's BPF side; say what is missing and how to fix it."""
    from pyreplay.ebpf.headers import diagnose

    problems = diagnose()
    for problem in problems:
        click.echo(f"problem: {problem}")
    click.echo("doctor: OK: bcc compiles, headers found, privileges and kernel fit" if not problems
               else f"doctor: {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


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


def entry() -> None:
    """The ``pyreplay`` command: run ``main``, then end the process without tearing the
    interpreter down.

    At its end a copy run still holds every lingering session (dozens of objects each), and
    CPython's finalization walked them with the cyclic collector, then freed them one by one:
    17 % of copy's CPU for 5,000 short sessions (``bench_offline.py --perf``). The kernel takes
    the process's memory back at once. What exit must do still happens: every ``finally`` has
    run by the time ``main`` returns, then the atexit handlers (logging's flush, bcc's detach),
    then stdout and stderr are flushed. An uncaught exception takes the normal way out, with
    its traceback."""
    try:
        main()
    except SystemExit as exc:
        fast_exit(exc.code)
    fast_exit(0)


def fast_exit(code: object) -> None:
    """Exit like ``sys.exit(code)`` but skip the interpreter's finalization (see ``entry``)."""
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # as Python does with a SystemExit that is not a number
        code = 1
    atexit._run_exitfuncs()  # what Py_FinalizeEx would run first; skipped by os._exit
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            pass
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    entry()
