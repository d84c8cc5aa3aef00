"""The order encoder's register block and symbol table (declared once; mapped by ``hdl/csr``)."""

from tick2trade.proto.control import BlockType, TableId

from ..csr.registers import Access, Block, Register, Table
from ..strategy.layouts import MAX_SYMBOLS
from .layouts import SymbolRow

__all__ = ["ORDER_BLOCK"]

ORDER_BLOCK = Block(
    "order", BlockType.ORDER, (1, 0),
    "OUCH encoder (hdl/order): order numbering and counters.",
    registers=(
        Register("ref_base", 32, Access.RW,
                 "Added to every order number: OUCH 5.0 UserRefNum / OUCH 4.2 token number."),
        Register("sent", 32, Access.RO, "Orders encoded (wraps)."),
        Register("rejected", 32, Access.RO, "Rejected requests consumed without a packet."),
    ),
    tables=(
        Table("symbols", TableId.SYMBOLS, SymbolRow, MAX_SYMBOLS,
              "Subscriptions: the Stock Directory name of each symbol slot, written by the "
              "host (learnt from the feed's R records)."),
    ),
)
