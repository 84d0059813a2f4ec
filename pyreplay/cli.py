"""Command line: the only module that imports click.

Each subcommand validates its flags into a frozen config and calls one ``run_*`` function.
Errors are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import click

from pyreplay import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, "-v", "--version", prog_name="pyreplay")
def main() -> None:
    """TCP stream replay: copy live traffic to a test server, replay captures as many users."""


if __name__ == "__main__":  # pragma: no cover
    main()
