"""``t2t gen``: write a seeded synthetic ITCH 5.0 flow (BinaryFILE or MoldUDP64 pcap)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from tick2trade.host.cli.progress import progress_bar, should_show

#: file extensions that select the pcap format when ``--format`` is not given
PCAP_SUFFIXES = (".pcap", ".cap")


def infer_format(path: Path, given: str | None) -> str:
    """``--format`` if given, else ``pcap`` for a ``.pcap`` name and ``binaryfile`` otherwise."""
    if given:
        return given
    return "pcap" if path.suffix.lower() in PCAP_SUFFIXES else "binaryfile"


@click.command()
@click.argument("output", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("-n", "--messages", type=click.IntRange(min=1), default=1_000_000,
              show_default=True, help="Messages in the flow, start- and end-of-day included.")
@click.option("-k", "--symbols", type=click.IntRange(1, 65_535), default=100, show_default=True,
              help="Symbols (Stock Directory entries, locates 1..K).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Random seed; the same seed gives the same bytes.")
@click.option("--format", "fmt", type=click.Choice(["binaryfile", "pcap"]), default=None,
              help="Output format [default: from the extension: .pcap → pcap, else binaryfile].")
@click.option("--packet-size", type=click.IntRange(min=64, max=65_507), default=1472,
              show_default=True, help="Largest MoldUDP64 packet (UDP payload) in bytes, pcap only.")
@click.option("--orders-per-symbol", type=click.IntRange(min=1), default=200, show_default=True,
              help="Live orders per symbol the flow keeps the book near.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr [default: when stderr is a terminal].")
def gen(output: Path, messages: int, symbols: int, seed: int, fmt: str | None,
        packet_size: int, orders_per_symbol: int, progress: bool | None):
    """Write a seeded, realistic ITCH 5.0 order flow to OUTPUT.

    A Stock Directory for every symbol, then adds, executions, cancels,
    deletes and replaces that always name live orders, with rising
    timestamps and order references (docs/formats.md, "t2t gen OUTPUT: synthetic ITCH flow").
    """
    from tick2trade.sim.model.feed_writer import write_binaryfile_flow, write_pcap_flow
    from tick2trade.sim.model.generator import FlowConfig, FlowGenerator

    fmt = infer_format(output, fmt)
    try:
        config = FlowConfig(messages, symbols, seed, orders_per_symbol=orders_per_symbol)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--messages") from None
    start = time.perf_counter()
    with progress_bar("generating", messages, show=should_show(progress, messages),
                      count_label=True) as bar:
        flow = _counted(FlowGenerator(config), bar)
        try:
            if fmt == "pcap":
                session = f"T2T{seed % 10**7:07d}".encode()
                packets, _ = write_pcap_flow(output, flow, session=session,
                                             packet_size=packet_size)
                where = f" in {packets} MoldUDP64 packets (session {session.decode()})"
            else:
                write_binaryfile_flow(output, flow)
                where = ""
        except OSError as error:
            raise click.ClickException(f"cannot write {output}: {error.strerror}") from None
    elapsed = time.perf_counter() - start
    click.echo(f"wrote {messages} messages, {symbols} symbols, seed {seed}, to {output} "
               f"({fmt}){where} in {elapsed:.2f} s ({messages / elapsed:,.0f} msg/s)")


def _counted(flow, bar, every: int = 65_536):
    n = 0
    for item in flow:
        yield item
        n += 1
        if n == every:
            bar.advance(n)
            n = 0
    bar.advance(n)
