"""Wire-format errors shared by every decoder in ``tick2trade.proto``.

Every error says what was expected and what was found (type, offset,
lengths), so a dropped frame can be counted and explained (DESIGN.md,
principle 10). All are ``ValueError`` subclasses, so callers that only know
"bad input" can catch ``ValueError``.
"""

from __future__ import annotations


class ProtocolError(ValueError):
    """Base class for every malformed-input error in ``tick2trade.proto``."""


class TruncatedError(ProtocolError):
    """The input ended before a complete header, prefix or message."""


class LengthMismatchError(ProtocolError):
    """A message's length differs from the fixed length its type requires."""


class UnknownTypeError(ProtocolError):
    """A type byte (message, packet or opcode) is not defined by the spec."""


class FieldError(ProtocolError):
    """A field value cannot be represented on the wire (range, charset, width)."""


__all__ = [
    "FieldError",
    "LengthMismatchError",
    "ProtocolError",
    "TruncatedError",
    "UnknownTypeError",
]
