"""Run the FIX acceptor alone: ``python -m tick2trade.sim.venue.fix --app echo --port 5001``.

``--app echo`` is what QuickFIX's acceptance suite runs against; ``--app
venue`` puts a matching engine for ``--symbol`` behind it.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from .acceptor import FixAcceptor
from .config import FixConfig, acceptance_sessions
from .profiles import PROFILES

DEFAULT_SYMBOLS = ("AAPL", "MSFT")


async def serve(config: FixConfig, symbols: tuple[str, ...]) -> None:
    """Run the acceptor until SIGINT or SIGTERM."""
    engine = None
    if config.app == "venue":
        from tick2trade.sim.venue.engine import MatchingEngine
        engine = MatchingEngine(symbols)
    acceptor = FixAcceptor(config, engine=engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await acceptor.start()
    click.echo(f"FIX acceptor ({config.app}) listening on port {acceptor.port}", err=True)
    try:
        await stop.wait()
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
@click.option("--all-acceptance-sessions", is_flag=True,
              help="serve every session of the acceptance suite (fix40-fix44, validate)")
@click.option("--log-dir", type=click.Path(file_okay=False), default=None,
              help="write QuickFIX message and event logs here")
@click.option("-v", "--verbose", is_flag=True, help="log session events")
def main(app, port, sender_comp_id, symbols, all_acceptance_sessions, log_dir, verbose):
    """Run the venue's FIX acceptor (FIX 4.2 TW42 and FIX 4.4 TW44) until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    extra = {"sessions": acceptance_sessions()} if all_acceptance_sessions else {}
    config = FixConfig(app=app, port=port, sender_comp_id=sender_comp_id, log_dir=log_dir,
                       **extra)
    try:
        asyncio.run(serve(config, tuple(symbols)))
    except OSError as error:
        raise click.ClickException(str(error)) from None


if __name__ == "__main__":
    main()
