"""``t2t demo``: the end-to-end demo that ``make demo`` runs.

Each step runs a real component and checks its result against an
independent one; the demo fails (exit 1) when any check fails:

1. ``t2t gen``: a seeded synthetic ITCH 5.0 flow as a MoldUDP64 pcap.
2. ``t2t replay`` with the reference model: book, top of book, records.
3. ``t2t replay --engine rtl``: the same pcap through the gateware feed
   path and book, simulated by Verilator; records and top of book must
   equal the model's.
4. ``t2t replay --config --orders-out``: book and decision path (strategy
   and inline risk) on the model, and the composed gateware core from XGMII
   to OUCH bytes; orders must be equal.
5. The venue: the generated day replayed as the market over MoldUDP64; an
   OUCH 5.0 order takes liquidity over SoupBinTCP, the fill shows on the
   order session, the drop copy and the published feed, whose rebuilt book
   equals the matching engine's.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import click

DEMO_STRATEGY = """\
# Strategy and risk for the demo (docs/strategy.md); prices in 1/10000 USD.
[taker]
enabled = 1
num = 2
den = 3
max_spread = 2000
size = 100
cooldown_ns = 500000

[quoter]
enabled = 0

[risk]
max_order_shares = 1000
max_order_notional = 50000000000
fat_finger_band = 100000
max_position = 2000
max_gross_notional = 500000000000
rate_orders = 20
rate_window_ns = 2000000
kill = 0

[symbols]
subscribe = []
"""


class DemoError(click.ClickException):
    """A demo check failed: the message says which and how."""


def _t2t(*args: str) -> None:
    """Run one ``t2t`` subcommand in-process, exactly as on the command line."""
    from tick2trade.host.cli import main

    click.echo(click.style(f"\n$ t2t {' '.join(args)}", bold=True))
    try:
        main.main(list(args), prog_name="t2t", standalone_mode=False)
    except click.ClickException as error:
        raise DemoError(f"t2t {args[0]} failed: {error.format_message()}") from None


def _lines(path: Path, drop: tuple[str, ...] = ()) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for row in rows:
        for key in drop:
            row.pop(key, None)
    return rows


def _same(what: str, model: Path, rtl: Path, drop: tuple[str, ...] = ()) -> int:
    a, b = _lines(model, drop), _lines(rtl, drop)
    if a != b:
        first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                     min(len(a), len(b)))
        raise DemoError(f"{what}: gateware differs from the model at line {first + 1} "
                        f"({model} vs {rtl})")
    click.echo(click.style(f"  ✓ {what}: {len(a):,} lines, gateware == model", fg="green"))
    return len(a)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _venue_round_trip(day: Path) -> dict:
    """Trade against the replayed day over real sockets; return what each side saw."""
    from tick2trade.proto import ouch50
    from tick2trade.proto.dropcopy import decode as decode_drop
    from tick2trade.sim.venue.client import OuchClient, SoupClient
    from tick2trade.sim.venue.config import VenueConfig
    from tick2trade.sim.venue.engine import Side
    from tick2trade.sim.venue.marketdata.listener import MoldListener
    from tick2trade.sim.venue.venue import Venue

    config = VenueConfig.model_validate({
        "ouch": [{"name": "ouch50", "port": 0}],
        "dropcopy": {"port": 0},
        "fix": {"enabled": False},
        "marketdata": {"group": "127.0.0.1", "port": _free_udp_port(), "rerequest_port": 0,
                       "heartbeat_interval": 0.05,
                       "replay": {"capture": str(day), "speed": 0}},
    })
    venue = Venue(config)
    await venue.start()
    feed: list[bytes] = []
    md = venue.marketdata
    listener = MoldListener(config.marketdata.group, config.marketdata.port,
                            rerequest=md.rerequest_address,
                            on_message=lambda seq, raw: feed.append(bytes(raw)))
    await listener.start()
    trader = OuchClient("127.0.0.1", venue.ouch["ouch50"].port, "5.0", heartbeat_interval=0.5)
    watcher = SoupClient("127.0.0.1", venue.dropcopy.port, heartbeat_interval=0.5)
    try:
        await md.wait_replayed(timeout=60)
        await listener.wait_for(md.publisher.next_sequence)
        engine = venue.engine
        symbol = next(s for s in engine.symbols if engine.best(s, Side.SELL))
        ask = engine.best(symbol, Side.SELL)
        user = config.ouch[0].users[0]
        await trader.login(user.username, user.password)
        drop_user = config.dropcopy.users[0]
        await watcher.login(drop_user.username, drop_user.password)
        trader.send_ouch(ouch50.EnterOrder(1, "B", 100, symbol, ask, ouch50.TimeInForce.IOC,
                                           "Y", "A", "N", "N", "DEMO1", ()))
        replies = await trader.recv_until(ouch50.OrderExecuted)
        drop = decode_drop(await watcher.recv_sequenced())
        await listener.wait_for(md.publisher.next_sequence)
        return {"symbol": symbol, "ask": ask, "executed": replies[-1], "drop": drop,
                "feed_messages": len(feed), "engine": engine}
    finally:
        await trader.close()
        await watcher.close()
        await listener.stop()
        await venue.stop()


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("out/demo"), show_default=True, help="Where the demo writes files.")
@click.option("--messages", type=click.IntRange(min=1000), default=100_000, show_default=True,
              help="Messages in the generated flow.")
@click.option("--symbols", type=click.IntRange(min=1, max=64), default=16, show_default=True,
              help="Symbols in the generated flow (the gateware book subscribes up to 64).")
@click.option("--seed", type=int, default=2026, show_default=True, help="Flow seed.")
@click.option("--rtl/--no-rtl", default=True, show_default=True,
              help="Also run the gateware under Verilator and compare it with the model.")
def demo(out_dir: Path, messages: int, symbols: int, seed: int, rtl: bool):
    """Run the end-to-end demo: flow → model and gateware → orders → venue."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    flow = out_dir / "flow.pcap"
    _t2t("gen", "--messages", str(messages), "--symbols", str(symbols), "--seed", str(seed),
         "--no-progress", str(flow))

    _t2t("replay", str(flow), "--no-progress", "--records-out", str(out_dir / "model.records"),
         "--tob-out", str(out_dir / "model.tob"), "--book-out", str(out_dir / "model.book"),
         "--depth", "5")
    strategy = out_dir / "strategy.toml"
    strategy.write_text(DEMO_STRATEGY)
    _t2t("replay", str(flow), "--no-progress", "--config", str(strategy),
         "--orders-out", str(out_dir / "model.orders"))
    if rtl:
        _t2t("replay", str(flow), "--no-progress", "--engine", "rtl",
             "--records-out", str(out_dir / "rtl.records"), "--tob-out", str(out_dir / "rtl.tob"),
             "--book-out", str(out_dir / "rtl.book"), "--depth", "5")
        click.echo(click.style("\nfeed path and book: gateware vs reference model", bold=True))
        _same("feed records", out_dir / "model.records", out_dir / "rtl.records")
        _same("top of book", out_dir / "model.tob", out_dir / "rtl.tob")
        _same("book depth 5", out_dir / "model.book", out_dir / "rtl.book")
        _t2t("replay", str(flow), "--no-progress", "--engine", "rtl", "--config", str(strategy),
             "--orders-out", str(out_dir / "rtl.orders"))
        click.echo(click.style("\ndecision path: gateware vs reference model", bold=True))
        _same("orders and rejects", out_dir / "model.orders", out_dir / "rtl.orders",
              drop=("cycles", "t2t_cycles"))
        sent = [row for row in _lines(out_dir / "rtl.orders") if row.get("verdict") == "sent"]
        for key, what in (("cycles", "top of book → first OUCH byte"),
                          ("t2t_cycles", "last ITCH byte on XGMII RX → first OUCH byte")):
            cycles = sorted(row[key] for row in sent if row.get(key) is not None)
            if cycles:
                click.echo(f"  {what}: min {cycles[0]}, median {cycles[len(cycles) // 2]}, "
                           f"max {cycles[-1]} cycles ({cycles[0] * 6.4:.1f} ns at 156.25 MHz)")

    click.echo(click.style("\n$ venue: the generated day as the market, one OUCH order",
                           bold=True))
    from tick2trade.proto.binaryfile import write_binaryfile
    from tick2trade.sim.model.generator import generate

    day = out_dir / "venue-day.itch"
    write_binaryfile(day, generate(5000, symbols=4, seed=seed))
    seen = asyncio.run(asyncio.wait_for(_venue_round_trip(day), 120))
    executed, drop = seen["executed"], seen["drop"]
    if drop.match_number != executed.match_number:
        raise DemoError(f"drop copy match {drop.match_number} != fill {executed.match_number}")
    click.echo(f"  OUCH 5.0 buy {executed.quantity} {seen['symbol']} IOC at "
               f"{seen['ask'] / 10_000:.4f}: executed at {executed.price / 10_000:.4f}, match "
               f"{executed.match_number}")
    click.echo(f"  drop copy: match {drop.match_number}, {drop.passive_account} sold "
               f"{drop.shares} to {drop.aggressor_account}")
    click.echo(f"  market data: {seen['feed_messages']:,} ITCH messages received over MoldUDP64")
    click.echo(click.style(f"\ndemo passed in {time.perf_counter() - started:.1f} s; files in "
                           f"{out_dir}/", fg="green", bold=True))
