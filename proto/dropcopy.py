"""Drop-copy execution message: our own layout, carried as SoupBinTCP Sequenced Data.

No Nasdaq document defines a SoupBinTCP drop copy; this message follows OUCH
conventions (big-endian integers, prices with 4 implied decimals in 8 bytes
as in ``OUCH 5.0 §1``, right-padded Alpha) and is built with the same
table-driven codec as OUCH (:func:`tick2trade.proto.ouch.message`), so the
venue that sends it and the host that reconciles against it share one
definition::

    E | timestamp u64 | match number u64 | symbol 8 | price u64 | shares u32
      | passive:   account 16 | client id 14 | order ref u64 | side | liquidity | open u32
      | aggressor: account 16 | client id 14 | order ref u64 | side | liquidity | open u32
"""

from __future__ import annotations

from tick2trade.proto.ouch import ALPHA, CHAR, PRICE, UINT, Direction, message

__all__ = ["VERSION", "ACCOUNT_LEN", "CLIENT_ID_LEN", "DropCopyExecution", "decode"]

VERSION = "drop copy 1"
ACCOUNT_LEN, CLIENT_ID_LEN = 16, 14


def _side_rows(prefix: str, start: int) -> list[tuple]:
    rows, pos = [], start
    for name, length, kind in (("account", ACCOUNT_LEN, ALPHA), ("client_id", CLIENT_ID_LEN, ALPHA),
                               ("order_ref", 8, UINT), ("side", 1, CHAR),
                               ("liquidity", 1, CHAR), ("open", 4, UINT)):
        rows.append((f"{prefix}_{name}", pos, length, kind))
        pos += length
    return rows


DropCopyExecution = message("E", "DropCopyExecution", VERSION, Direction.OUTBOUND, [
    ("timestamp", 1, 8, UINT),
    ("match_number", 9, 8, UINT),
    ("symbol", 17, 8, ALPHA),
    ("price", 25, 8, PRICE),
    ("shares", 33, 4, UINT),
    *_side_rows("passive", 37),
    *_side_rows("aggressor", 81),
], length=125, doc="One execution, both sides (drop copy; see module docstring).")


def decode(payload: bytes) -> DropCopyExecution:
    """Decode one drop-copy Sequenced Data message."""
    return DropCopyExecution.decode(payload)
