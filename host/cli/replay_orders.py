"""``t2t replay --config STRATEGY.toml --orders-out PATH``: the decision path's orders.

``--engine rtl`` runs the composed gateware core (``sim/core_rtl.py``).

Writes one JSON line per order or reject (docs/strategy.md, "Replay
output") and prints a one-line summary. ``sim`` is imported lazily.
"""

from __future__ import annotations

from pathlib import Path

import click


def replay_orders(source, engine: str, config_path: Path | None, orders_out: Path,
                  echo=click.echo) -> None:
    """Run ``source`` (a checked replay input) through book and decision path of ``engine``."""
    from tick2trade.sim.model.decision_config import DecisionConfigError, load_decision_config
    from tick2trade.sim.model.strategy.replay import replay_orders as run
    from tick2trade.sim.model.strategy.replay import write_orders

    if engine == "rtl":
        click.echo("rtl engine: the composed gateware core under Verilator (built once per "
                   "design, a few minutes the first time)", err=True)
    try:
        result = run(source, load_decision_config(config_path), engine)
    except DecisionConfigError as error:
        raise click.ClickException(str(error)) from None
    except RuntimeError as error:  # the rtl engine: a failed build or simulation, named
        raise click.ClickException(f"{engine} engine: {error}") from None
    try:
        lines = write_orders(orders_out, result.lines())
    except OSError as error:
        raise click.ClickException(f"cannot write {orders_out}: {error.strerror}") from None
    rejects = " ".join(f"{name}={n:,}" for name, n in result.counters.items()
                       if n and name not in ("sent", "kill_trips"))
    echo(f"orders  {lines:,} lines ({result.engine} engine): sent {result.counters['sent']:,}, "
         f"rejects {rejects or 'none'}; kill trips {result.counters['kill_trips']:,}; "
         f"{result.tops:,} top-of-book records from {result.records:,} feed records")
    if result.pace:
        echo(f"  paced: the feed overflowed at line rate (the book is slower), so one packet "
             f"was in flight at a time ({result.pace} idle cycles after each)")
    t2t = sorted(c for c in result.t2t_cycles or () if c is not None)
    if t2t:
        echo(f"  tick-to-trade (last ITCH byte on XGMII RX → first OUCH byte; TCP/MAC TX not "
             f"built): min {t2t[0]}, median {t2t[len(t2t) // 2]}, max {t2t[-1]} cycles")
