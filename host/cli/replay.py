"""``t2t replay``: rebuild the order book from a MoldUDP64 capture or an ITCH BinaryFILE.

The summary goes to stdout, the progress bar to stderr; ``--book-out`` and
``--tob-out`` write the JSON Lines snapshots specified in docs/formats.md.
"""

from __future__ import annotations

from pathlib import Path

import click

from tick2trade.host.cli.progress import progress_bar, should_show

#: replay engines; each is a function in ``tick2trade.sim.model.replay.ENGINES``
ENGINE_NAMES = ("model", "rtl")
#: engines that only run the feed path (``tick2trade.sim.feed_engine``), no book
FEED_ONLY_ENGINES = ("rtl",)


@click.command(short_help="Rebuild the order book from a MoldUDP64 capture or ITCH file.")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--book-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write each symbol's price levels as JSON Lines at the end.")
@click.option("--tob-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write each symbol's top of book as JSON Lines at the end.")
@click.option("--depth", type=click.IntRange(min=1), default=10, show_default=True,
              help="Levels per side in --book-out.")
@click.option("--engine", type=click.Choice(ENGINE_NAMES), default="model", show_default=True,
              help="What builds the book; rtl runs the gateware feed path and book (Verilator).")
@click.option("--records-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the feed path's decoded records as JSON Lines (the reference "
                   "models, or the gateware with --engine rtl); see docs/formats.md.")
@click.option("--config", "decision_config", type=click.Path(dir_okay=False, path_type=Path),
              help="Strategy and risk config (TOML, docs/strategy.md) for --orders-out.")
@click.option("--orders-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every order and reject of the decision path as JSON Lines "
                   "(docs/strategy.md); --engine rtl runs the composed gateware core and "
                   "adds cycles and t2t_cycles.")
@click.option("--symbols", default=None, metavar="LIST",
              help="Book subscriptions for --tob-out/--book-out: symbols or locates, comma "
                   "separated [default: model every symbol; rtl the first 64 by message "
                   "count].")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr [default: when stderr is a terminal or the input "
                   "is large].")
def replay(input_path: Path, book_out: Path | None, tob_out: Path | None, depth: int,
           engine: str, records_out: Path | None, decision_config: Path | None,
           orders_out: Path | None, symbols: str | None, progress: bool | None):
    """Replay INPUT (pcap/pcapng of MoldUDP64 ITCH, or an ITCH BinaryFILE) into the book.

    Prints messages by type, packets, gaps, duplicates, unknown references,
    symbols and the rate. Packets with sequence number 0 (anonymised
    captures) are processed in file order as unsequenced.
    """
    from tick2trade.sim.model.replay import ENGINES, ReplayInputError, open_input

    try:
        source = open_input(input_path)
        if decision_config is not None and orders_out is None:
            raise click.UsageError("--config needs --orders-out")
        if orders_out is not None:
            from tick2trade.host.cli.replay_orders import replay_orders
            replay_orders(source, engine, decision_config, orders_out, echo=click.echo)
            if records_out is None and book_out is None and tob_out is None:
                return
        if records_out is not None or engine in FEED_ONLY_ENGINES:
            from tick2trade.sim.feed_engine import replay_feed
            feed = replay_feed(source.path, engine, records_out, echo=click.echo)
            if engine in FEED_ONLY_ENGINES:
                if book_out is not None or tob_out is not None:
                    _write_rtl_book(feed.records, symbols, book_out, tob_out, depth)
                return
        with progress_bar(f"replaying {input_path.name}", source.size,
                          show=should_show(progress, source.size)) as bar:
            result = ENGINES[engine](source, bar.advance)
    except ReplayInputError as error:
        raise click.ClickException(str(error)) from None
    book = result.book
    if symbols:
        from tick2trade.hdl.book.layouts import BookParams
        from tick2trade.sim.model.hwbook.engine import (
            SubscribedView,
            SubscriptionError,
            parse_symbols,
            resolve_symbols,
        )
        try:
            book = SubscribedView(book, resolve_symbols(parse_symbols(symbols), book.symbols,
                                                        BookParams().symbols))
        except SubscriptionError as error:
            raise click.ClickException(str(error)) from None
    _write_snapshots(book, book_out, tob_out, depth)
    print_summary(input_path, engine, result)


def _write_snapshots(book, book_out: Path | None, tob_out: Path | None, depth: int) -> None:
    from tick2trade.sim.model.snapshot import book_records, tob_records, write_jsonl

    for path, records in ((book_out, book_records(book, depth)), (tob_out, tob_records(book))):
        if path is not None:
            try:
                write_jsonl(path, records)
            except OSError as error:
                raise click.ClickException(f"cannot write {path}: {error.strerror}") from None


def _write_rtl_book(records, symbols: str | None, book_out: Path | None,
                    tob_out: Path | None, depth: int) -> None:
    """The gateware book (Verilator) over the feed records; snapshots read back from it."""
    from tick2trade.sim.model.hwbook.engine import (
        SubscriptionError,
        parse_symbols,
        run_rtl_book,
    )
    try:
        view, run, locates = run_rtl_book(records, parse_symbols(symbols))
    except SubscriptionError as error:
        raise click.ClickException(str(error)) from None
    _write_snapshots(view, book_out, tob_out, depth)
    c = run.counters
    click.echo(f"book (rtl): {len(locates)} subscriptions, {c['records']:,} records, "
               f"{c['tob']:,} top-of-book records in {run.cycles:,} cycles; misses "
               f"{c['misses']:,}, collisions {c['collisions']:,}, off grid {c['off_grid']:,}, "
               f"out of window {c['out_of_window']:,}")


def print_summary(path: Path, engine: str, result) -> None:
    """The end-of-replay summary on stdout, one ``name  value`` line per figure."""
    from rich.console import Console
    from rich.markup import escape

    book, stats = result.book, result.book.stats
    rows = [("messages", f"{stats.messages:,}  " + _counts(stats.messages_by_type))]
    seq, cap = result.sequencer, result.capture
    if seq is not None:
        rows += [
            ("packets", f"{seq.packets:,} (data {seq.data_packets:,}, heartbeats "
                        f"{seq.heartbeats:,}, end of session {seq.end_of_session:,}, "
                        f"unsequenced {seq.unsequenced_packets:,}; sessions {seq.sessions})"),
            ("gaps", f"{seq.gaps:,} ({seq.missing:,} messages missing)"),
            ("duplicates", f"{seq.duplicate_packets:,} packets, {seq.duplicate_messages:,} "
                           f"messages ({seq.overlaps:,} overlaps)"),
        ]
    if cap is not None:
        skipped = cap.non_ip + cap.other_protocol + cap.unsupported_link + cap.fragments
        rows.append(("frames", f"{cap.frames:,} ({skipped:,} not MoldUDP64 over UDP, "
                               f"{cap.malformed:,} malformed)"))
        rows += [("capture error", error) for error in cap.errors[:3]]
    if result.cut_off:
        rows.append(("cut off", result.cut_off))
    rows += [
        ("unknown refs", f"{stats.unknown_refs_total:,}  " + _counts(stats.unknown_refs)),
        ("anomalies", f"overfills {sum(stats.overfills.values()):,}, duplicate adds "
                      f"{stats.duplicate_adds:,}, zero-share adds {stats.zero_share_adds:,}, "
                      f"bad side {stats.bad_side:,}, locate mismatches "
                      f"{stats.locate_mismatches:,}, malformed {stats.malformed:,}, "
                      f"unknown types {stats.unknown_types:,}"),
        ("symbols", f"{len(book.symbols):,} in the directory, {len(book.locates()):,} listed "
                    f"(directory entry or resting orders), {len(book):,} resting orders"),
        ("rate", f"{result.rate:,.0f} msg/s ({result.elapsed_s:.3f} s)"),
    ]
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]replay of {escape(path.name)}[/] ({result.kind}, {engine} engine)")
    for name, value in rows:
        console.print(f"  [bold]{name:<13}[/]{escape(value.rstrip())}")


def _counts(counter: dict[str, int]) -> str:
    return " ".join(f"{key}={n:,}" for key, n in sorted(counter.items()))
