"""Order number generator: wire number and its hex text (see ``template`` docstring)."""

from amaranth.hdl import Cat, Const, Mux, Value

from .template import TOKEN_DIGITS

__all__ = ["as_bytes", "hex_text", "wire_number"]


def wire_number(ref_base: Value, token: Value) -> Value:
    """OUCH 5.0 §4.1 UserRefNum / the OUCH 4.2 token's number: ``ref_base + token`` mod 2**32."""
    return (ref_base + token)[:32]


def hex_text(number: Value) -> list[Value]:
    """The ``TOKEN_DIGITS`` upper-case hex characters of ``number``, most significant first."""
    digits = []
    for i in reversed(range(TOKEN_DIGITS)):
        nibble = number[4 * i:4 * i + 4]
        char = Mux(nibble < 10, nibble + ord("0"), nibble + (ord("A") - 10))
        digits.append(Cat(char, Const(0, 8 - len(char))))  # exactly 8 bits for Cat
    return digits


def as_bytes(value: Value, length: int) -> list[Value]:
    """``value`` as ``length`` big-endian bytes (zero-extended), most significant first."""
    value = Value.cast(value).as_unsigned()
    assert len(value) <= 8 * length, f"{len(value)} bits do not fit {length} bytes"
    if len(value) < 8 * length:
        value = Cat(value, Const(0, 8 * length - len(value)))
    return [value[8 * i:8 * i + 8] for i in reversed(range(length))]
