"""Nasdaq BinaryFILE: ITCH messages each behind a 2-byte big-endian length.

A zero-length record marks the end of the session; a file without one is
incomplete (ITCH 5.0 §1, "BinaryFILE"). Reading stops at that marker and
refuses bytes after it; a file that simply ends (like a cut sample) is read
to its end.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from tick2trade.proto.errors import FieldError, ProtocolError
from tick2trade.proto.itch import PREFIX_LENGTH, Message, encode, iter_frames

__all__ = ["END_OF_SESSION", "encode_binaryfile", "load_binaryfile", "read_binaryfile",
           "write_binaryfile"]

#: the zero-length record that ends a session (ITCH 5.0 §1, "BinaryFILE")
END_OF_SESSION = b"\x00\x00"

MAX_MESSAGE = (1 << (8 * PREFIX_LENGTH)) - 1

Source = str | os.PathLike | bytes | bytearray | memoryview


def load_binaryfile(source: Source) -> bytes | bytearray | memoryview:
    """The raw bytes of a BinaryFILE given as a path or as bytes already in memory."""
    if isinstance(source, bytes | bytearray | memoryview):
        return source
    return Path(source).read_bytes()


def read_binaryfile(source: Source) -> Iterator[bytes]:
    """Yield each raw ITCH message of a BinaryFILE (path or bytes), in file order.

    Raises ``TruncatedError`` naming the offset of a trailing record cut short
    and ``ProtocolError`` if bytes follow the end-of-session marker.
    """
    data = load_binaryfile(source)
    size = len(memoryview(data).cast("B"))
    for offset, message in iter_frames(data):
        if not len(message):
            end = offset + PREFIX_LENGTH
            if end != size:
                raise ProtocolError(f"BinaryFILE: end-of-session marker at offset {offset}, "
                                    f"then {size - end} more bytes; expected the file to end")
            return
        yield bytes(message)


def _framed(messages: Iterable[bytes | bytearray | memoryview | Message]) -> Iterator[bytes]:
    for item in messages:
        raw = encode(item) if isinstance(item, Message) else bytes(item)
        if not raw or len(raw) > MAX_MESSAGE:
            raise FieldError(f"BinaryFILE record: expected 1..{MAX_MESSAGE} bytes, "
                             f"found {len(raw)}")
        yield len(raw).to_bytes(PREFIX_LENGTH, "big")
        yield raw


def encode_binaryfile(messages: Iterable[bytes | bytearray | memoryview | Message], *,
                      end_of_session: bool = True) -> bytes:
    """Frame messages (raw bytes or ``Message`` objects) as one BinaryFILE in memory."""
    body = b"".join(_framed(messages))
    return body + END_OF_SESSION if end_of_session else body


def write_binaryfile(path: str | os.PathLike,
                     messages: Iterable[bytes | bytearray | memoryview | Message], *,
                     end_of_session: bool = True) -> int:
    """Write messages as a BinaryFILE at ``path``; returns the number of messages written."""
    count = 0
    with open(path, "wb") as out:
        chunk: list[bytes] = []
        for piece in _framed(messages):
            chunk.append(piece)
            if len(chunk) >= 65536:
                out.write(b"".join(chunk))
                count += len(chunk) // 2
                chunk.clear()
        out.write(b"".join(chunk))
        count += len(chunk) // 2
        if end_of_session:
            out.write(END_OF_SESSION)
    return count
