"""Decode flat stream payload vectors (as Verilog ports carry them) into named fields."""

from __future__ import annotations

from amaranth.lib import data

__all__ = ["payload_width", "unpack_payload"]


def payload_width(layout) -> int:
    """Bits of ``layout`` (a ``data.Struct`` subclass or layout)."""
    return data.Layout.cast(layout).size


def unpack_payload(layout, value: int) -> dict[str, int]:
    """Field name → integer for a flat ``value`` of ``layout`` (nested structs flattened
    with ``.``)."""
    fields = {}
    for name, field in data.Layout.cast(layout):
        raw = (value >> field.offset) & ((1 << field.width) - 1)
        shape = field.shape
        if isinstance(shape, data.Layout) and isinstance(shape, data.StructLayout):
            for sub, sub_value in unpack_payload(shape, raw).items():
                fields[f"{name}.{sub}"] = sub_value
        else:
            fields[name] = raw
    return fields
