"""Run the FIX acceptor alone: ``python -m tick2trade.sim.venue.fix --app echo --port 5001``.

``--app echo`` is what QuickFIX's acceptance suite runs against; ``--app
venue`` puts a matching engine for ``--symbol`` behind it.
"""

from __future__ import annotations

import asyncio
import logging

import click

from .acceptor import FixAcceptor
from .config import FixConfig
from .profiles import PROFILES

DEFAULT_SYMBOLS = ("AAPL", "MSFT")


async def serve(config: FixConfig, symbols: tuple[str, ...]) -> None:
    """Run the acceptor until cancelled."""
    engine = None
    if config.app == "venue":
        from tick2trade.sim.venue.engine import MatchingEngine
        engine = MatchingEngine(symbols)
    acceptor = FixAcceptor(config, engine=engine)
    await acceptor.start()
    click.echo(f"FIX acceptor ({config.app}) listening on port {acceptor.port}", err=True)
    try:
        await asyncio.Event().wait()
    finally:
        await acceptor.stop()


@click.command()
@click.option("--app", type=click.Choice(PROFILES), default="echo", show_default=True,
              help="application profile behind the session layer")
@click.option("--port", type=click.IntRange(0, 65535), default=FixConfig().port,
              show_default=True, help="TCP port (0 = any free port)")
@click.option("--sender-comp-id", default=FixConfig().sender_comp_id, show_default=True)
@click.option("--symbol", "symbols", multiple=True, default=DEFAULT_SYMBOLS,
              show_default=True, help="symbols of the matching engine (venue profile)")
@click.option("--log-dir", type=click.Path(file_okay=False), default=None,
              help="write QuickFIX message and event logs here")
@click.option("-v", "--verbose", is_flag=True, help="log session events")
def main(app, port, sender_comp_id, symbols, log_dir, verbose):
    """Run the venue's FIX acceptor (FIX 4.2 TW42 and FIX 4.4 TW44) until Ctrl-C."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    config = FixConfig(app=app, port=port, sender_comp_id=sender_comp_id, log_dir=log_dir)
    try:
        asyncio.run(serve(config, tuple(symbols)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
