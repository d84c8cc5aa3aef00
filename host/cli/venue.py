"""``t2t venue``: run the exchange simulator until Ctrl-C.

The venue lives in ``sim``; it is imported inside the command so the host
never imports ``sim`` at module level (DESIGN.md, import direction).
"""

from __future__ import annotations

import asyncio
import logging
import signal

import click


async def _serve(config) -> None:
    from tick2trade.sim.venue.venue import Venue

    venue = Venue(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await venue.start()
    try:
        for endpoint in venue.endpoints():
            click.echo(f"venue: {endpoint}", err=True)
        click.echo("venue: ready (Ctrl-C to stop)", err=True)
        await stop.wait()
        click.echo("venue: stopping", err=True)
    finally:
        await venue.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        for component, counters in venue.stats().items():
            if counters:
                summary = ", ".join(f"{k}={v}" for k, v in sorted(counters.items()))
                click.echo(f"venue: {component}: {summary}", err=True)


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True),
              default=None, help="venue TOML file (see docs/venue.md); defaults without it")
@click.option("--fix-app", type=click.Choice(["venue", "echo"]), default=None,
              help="application behind the FIX session layer (overrides [fix] app): "
                   "venue = the matching engine, echo = QuickFIX's acceptance-test application")
@click.option("-v", "--verbose", count=True, help="-v: session events, -vv: debug")
def venue(config_path, fix_app, verbose):
    """Run the venue simulator: matching engine, OUCH ports, drop copy, FIX, market data."""
    from tick2trade.sim.venue.config import ConfigError, load_config

    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(config_path)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if fix_app is not None:
        config = config.model_copy(update={"fix": config.fix.model_copy(update={"app": fix_app})})
    try:
        asyncio.run(_serve(config))
    except ConfigError as error:  # raised while starting, e.g. a corrupt replay capture
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot open a venue port: {error}") from None
