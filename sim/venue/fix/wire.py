"""FIX tag=value framing in pure Python (FIX 4.x message format).

Every QuickFIX call from Python crosses the binding and hands the GIL over
(two threads take turns: QuickFIX's and the asyncio loop's), so the venue
moves whole messages across instead of single fields: one ``toString`` to
read a message, one ``Message(text)`` to build one.
"""

from __future__ import annotations

SOH = "\x01"


def frame(begin_string: str, fields: list[tuple[int, str]]) -> str:
    """``8=…|9=…|`` + ``fields`` in the order given + ``10=…|`` (BodyLength, CheckSum)."""
    body = "".join(f"{tag}={value}{SOH}" for tag, value in fields)
    head = f"8={begin_string}{SOH}9={len(body.encode())}{SOH}"
    text = head + body
    return f"{text}10={sum(text.encode()) % 256:03d}{SOH}"


def first_values(text: str) -> dict[int, str]:
    """Tag → value of a framed message; a tag that repeats keeps its first value."""
    values: dict[int, str] = {}
    for field in text.split(SOH):
        tag, sep, value = field.partition("=")
        if sep and tag.isdigit():
            values.setdefault(int(tag), value)
    return values
