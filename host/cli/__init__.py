"""The ``t2t`` command line.

Subcommands live in their own modules and are imported only when used, so
``t2t --help`` is fast and the host never imports ``hdl`` or ``sim`` at
module level (DESIGN.md, import direction).
"""

from __future__ import annotations

import importlib

import click

#: subcommand name → "module:attribute" of its click command
COMMANDS = {
    "gen": "tick2trade.host.cli.gen:gen",
    "replay": "tick2trade.host.cli.replay:replay",
    "venue": "tick2trade.host.cli.venue:venue",
    "demo": "tick2trade.host.cli.demo:demo",
    "regmap": "tick2trade.host.cli.regmap:regmap",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args, lazy: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self._lazy = lazy

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self._lazy))

    def get_command(self, ctx, name):
        if name in self._lazy:
            module_name, attr = self._lazy[name].split(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                return None  # not built yet: hidden from the CLI
            return getattr(module, attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, lazy=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tick2trade")
def main():
    """tick2trade: an open FPGA trading NIC.

    Market data (Nasdaq ITCH 5.0 over MoldUDP64) in, risk-checked OUCH orders
    out, in gateware; a Python host for sessions, orders, positions and
    post-trade. Every command runs in simulation on a laptop.
    """
