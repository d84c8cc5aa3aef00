"""``t2t regmap``: print or write the generated register map (docs/registers.md)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the Markdown here instead of standard output.")
@click.option("--check", is_flag=True,
              help="Exit 1 if --out differs from what would be written (CI).")
def regmap(out: Path | None, check: bool):
    """The device register map as Markdown, generated from hdl/csr (docs/registers.md)."""
    from tick2trade.hdl.csr.device_map import device_map
    from tick2trade.hdl.csr.docs import render_markdown

    text = render_markdown(device_map())
    if out is None:
        if check:
            raise click.UsageError("--check needs --out")
        click.echo(text, nl=False)
        return
    if check:
        current = out.read_text() if out.exists() else ""
        if current != text:
            raise click.ClickException(f"{out} is out of date: run t2t regmap --out {out}")
        return
    out.write_text(text)
