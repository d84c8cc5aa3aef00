"""CSR bank: registers declared once, addresses by a builder, self-describing blocks."""

from .bank import CsrBank
from .builder import RegisterMap
from .registers import Access, Block, Register, Table

__all__ = ["Access", "Block", "CsrBank", "Register", "RegisterMap", "Table"]
