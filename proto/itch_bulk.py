"""Bulk ITCH 5.0 decoding of whole files into numpy structured arrays.

Input is a BinaryFILE, or any concatenation of 2-byte big-endian
length-prefixed messages (ITCH 5.0 §1 "Transports", MoldUDP64 §2). Output is
one structured array per message type plus the feed order.

Finding message boundaries is a sequential walk (each length says where
the next message starts). Instead of walking 5 M prefixes in Python, many
walkers move in lockstep with numpy, each from an arbitrary byte of its
own slice of the buffer; a walker that starts inside a message scans byte by
byte until a plausible frame (zero high length byte, known type, matching
length) and almost always falls onto the true chain within one message.
The speculative chain is then checked exactly: it must start at 0, every
frame must be valid and each must begin where the previous one ends. Where
it does not (a walker that synchronised late), the true walk is continued
in Python from the last proven position until it rejoins the speculative
chain. The result is therefore always exactly the sequential walk, and
bad input raises the same ``ProtocolError`` (naming its offset) as the
per-message path.

:func:`decode_bulk` takes a buffer, :func:`decode_bulk_file` a path
(memory-mapped), and :func:`iter_bulk` decodes a file of any size chunk by
chunk in bounded memory.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from tick2trade.proto.errors import ProtocolError, TruncatedError
from tick2trade.proto.itch import (
    FIELDS,
    LENGTHS,
    MESSAGE_TYPES,
    PREFIX_LENGTH,
    Message,
    check_frame,
    decode,
)

__all__ = ["DTYPES", "BulkMessages", "decode_bulk", "decode_bulk_file", "frame_offsets",
           "iter_bulk"]

_NUMPY_UINT = {1: "u1", 2: ">u2", 4: ">u4", 8: ">u8"}
_TIMESTAMP = "timestamp"


def _record_dtype(type_code: str) -> np.dtype:
    """The whole wire message at its own offsets, then the timestamp as a native uint64."""
    length = LENGTHS[type_code]
    names, formats, offsets = [], [], []
    for field in FIELDS[type_code]:
        names.append(field.name)
        if field.name == _TIMESTAMP:  # 6 bytes on the wire (ITCH 5.0 §1): widened after the copy
            formats.append(np.uint64)
            offsets.append(length)
        elif field.kind == "alpha":
            formats.append(f"S{field.length}")
            offsets.append(field.offset)
        else:
            formats.append(_NUMPY_UINT[field.length])
            offsets.append(field.offset)
    return np.dtype({"names": names, "formats": formats, "offsets": offsets,
                     "itemsize": length + 8})


#: record dtype per type code: every field of ``FIELDS`` at its wire offset (big-endian,
#: Alpha as ``S<n>``, space-padded), except ``timestamp``, which is a native uint64 stored after
#: the wire bytes. ``record.tobytes()[:LENGTH]`` is the exact wire message.
DTYPES: dict[str, np.dtype] = {t: _record_dtype(t) for t in MESSAGE_TYPES}

_TIMESTAMP_FIELD = {t: next(f for f in FIELDS[t] if f.name == _TIMESTAMP) for t in MESSAGE_TYPES}

#: (length byte | type byte << 8) → bytes to the next frame, 0 where the pair is not a valid frame
_STEP = np.zeros(1 << 16, np.int64)
for _code, _length in LENGTHS.items():
    _STEP[_length | ord(_code) << 8] = PREFIX_LENGTH + _length


@cache
def _frame_steps() -> np.ndarray:
    """(length high | length low << 8 | type << 16) → bytes to the next frame, else 0.

    16 MiB of address space, allocated zeroed by the OS; only the pages of the
    23 valid keys and those that garbage happens to hit are ever touched.
    """
    steps = np.zeros(1 << 24, np.uint8)
    steps[np.flatnonzero(_STEP) << 8] = _STEP[_STEP > 0]
    return steps


#: below this many bytes the plain Python walk is faster than setting up the walkers
_SMALL = 1 << 16
#: bytes of buffer given to each lockstep walker (about 270 messages of ~30 bytes); not a
#: power of two, so that walkers do not all map to the same cache sets
_SLICE = 8300
#: walkers moved together: a group's pages stay in the TLB and its lines in cache
_GROUP = 1024


def _as_bytes(buf) -> tuple[memoryview, np.ndarray]:
    view = memoryview(buf).cast("B")
    return view, np.frombuffer(view, np.uint8)


def _speculative_chain(data: np.ndarray) -> np.ndarray:
    """Frame offsets found by lockstep walkers: a guess that :func:`frame_offsets` checks."""
    size = len(data)
    index_type = np.int32 if size < 1 << 31 else np.int64
    walkers = max(1, size // _SLICE)
    starts = ((np.arange(walkers + 1, dtype=np.int64) * size) // walkers).astype(index_type)
    # little-endian u32 at every byte offset: byte 0 = length high, 1 = length low, 2 = type
    words = np.ndarray((size - 3,), "<u4", buffer=data, strides=(1,))
    groups = [(g, min(g + _GROUP, walkers)) for g in range(0, walkers, _GROUP)]
    # groups keep the walkers' cache lines and the matrices of what they saw in cache
    pieces = [_walk_group(words, starts[a:b], starts[a + 1:b + 1]) for a, b in groups]
    chain = np.concatenate(pieces).astype(np.int64)
    # drop frames that would run past the end (only the last few can)
    tail = int(np.searchsorted(chain, size - PREFIX_LENGTH - max(LENGTHS.values())))
    near_end = chain[tail:]
    fits = near_end + _STEP[data[near_end + 1] | data[near_end + 2].astype(np.int64) << 8] <= size
    return chain if fits.all() else np.concatenate((chain[:tail], near_end[fits]))


def _walk_group(words: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Walk each ``[starts[i], stops[i])`` in lockstep; return the frames seen, in order."""
    steps_by_key = _frame_steps()
    last = len(words) - 1
    pos = starts
    seen, steps = [], []
    while not (pos >= stops).all():
        for _ in range(8):  # walkers past their stop run on; what they see is dropped below
            word = words[np.minimum(pos, last)]
            word &= 0xFFFFFF
            step = steps_by_key[word]
            seen.append(pos)
            steps.append(step)
            pos = pos + np.maximum(step, 1)  # follow a valid frame, else scan one byte
    seen_by_walker = np.stack(seen, axis=1)
    valid = (np.stack(steps, axis=1) > 0) & (seen_by_walker < stops[:, None])
    return seen_by_walker[valid]  # row-major: walkers own increasing slices, so this is sorted


def _end_of_frames(view: memoryview, offset: int) -> bool:
    """Whether the zero-length end-of-session record sits at ``offset`` (and ends the input)."""
    size = len(view)
    if offset + PREFIX_LENGTH <= size and view[offset] == 0 and view[offset + 1] == 0:
        end = offset + PREFIX_LENGTH
        if end != size:
            raise ProtocolError(f"end-of-session marker at offset {offset}, then {size - end} "
                                f"more bytes; expected the input to end")
        return True
    return False


def frame_offsets(buf) -> tuple[np.ndarray, bool]:
    """Offsets of every length prefix, in order, and whether an end-of-session record ended it.

    Exactly the sequential walk (ITCH 5.0 §1 "BinaryFILE"); raises the
    ``ProtocolError`` subclass that the per-message path would, naming the offset.
    """
    offsets, ended, _ = _walk(buf, partial=False)
    return offsets, ended


def _cut(view: memoryview, offset: int) -> bool:
    """Whether the frame at ``offset`` runs past the end of ``view`` (by its length prefix)."""
    if offset + PREFIX_LENGTH > len(view):
        return True
    return offset + PREFIX_LENGTH + (view[offset] << 8 | view[offset + 1]) > len(view)


def _walk(buf, partial: bool) -> tuple[np.ndarray, bool, int]:
    """:func:`frame_offsets`, plus the bytes consumed; with ``partial`` a frame cut by the
    end of ``buf`` ends the walk instead of raising (the next chunk starts with it)."""
    view, data = _as_bytes(buf)
    size = len(view)
    pieces: list[np.ndarray] = []
    walked: list[int] = []
    offset, ended = 0, False
    if partial and _cut(view, offset):
        return np.empty(0, np.int64), False, 0
    if size and not _end_of_frames(view, 0):
        check_frame(view, 0)  # input that is not ITCH at all fails here, before any walking
    chain = _speculative_chain(data) if size >= max(_SMALL, 64) else np.empty(0, np.int64)
    following = chain + PREFIX_LENGTH + data[chain + 1] if len(chain) else chain
    breaks = np.flatnonzero(following[:-1] != chain[1:])
    while offset < size:
        if _end_of_frames(view, offset):
            ended = True
            offset += PREFIX_LENGTH
            break
        k = int(np.searchsorted(chain, offset)) if len(chain) else 0
        if k < len(chain) and chain[k] == offset:  # rejoined the speculative chain: take its run
            if walked:
                pieces.append(np.array(walked, np.int64))
                walked = []
            b = int(np.searchsorted(breaks, k))
            run_end = int(breaks[b]) if b < len(breaks) else len(chain) - 1
            pieces.append(chain[k:run_end + 1])
            offset = int(following[run_end])
            continue
        if partial and _cut(view, offset):
            break  # the next chunk starts with this frame
        _type, length = check_frame(view, offset)  # proven position: walk one frame in Python
        walked.append(offset)
        offset += PREFIX_LENGTH + length
    if walked:
        pieces.append(np.array(walked, np.int64))
    if len(pieces) == 1:
        return pieces[0], ended, offset  # the usual case: one proven run, no copy
    return (np.concatenate(pieces) if pieces else np.empty(0, np.int64)), ended, offset


@dataclass(frozen=True)
class BulkMessages:
    """A decoded file: one structured array per type and the feed order.

    ``arrays[t]`` has dtype ``DTYPES[t]`` and holds the messages of type ``t``
    in feed order (every type code is present, possibly empty);
    ``sequence[t]`` gives their positions in the feed. ``types`` is the type
    byte of every message in feed order, so message ``i`` of the file is
    ``arrays[chr(types[i])][index[i]]``; ``offsets[i]`` is the offset of its
    length prefix in the input; ``ended`` says an end-of-session record
    closed the input.
    """

    arrays: dict[str, np.ndarray]
    sequence: dict[str, np.ndarray]
    types: np.ndarray
    offsets: np.ndarray
    ended: bool

    @cached_property
    def index(self) -> np.ndarray:
        """Position of each message (feed order) within ``arrays`` of its type."""
        index = np.empty(len(self.types), np.int64)
        for group in self.sequence.values():
            index[group] = np.arange(len(group))
        return index

    def __len__(self) -> int:
        return len(self.types)

    def counts(self) -> dict[str, int]:
        """Messages per type code, for the types present."""
        return {t: len(a) for t, a in self.arrays.items() if len(a)}

    def raw(self, i: int) -> bytes:
        """The exact wire bytes of message ``i``."""
        type_code = chr(self.types[i])
        return self.arrays[type_code][self.index[i]].tobytes()[:LENGTHS[type_code]]

    def message(self, i: int) -> Message:
        """Message ``i`` as the per-message decoder's dataclass."""
        return decode(self.raw(i))

    def __iter__(self) -> Iterator[Message]:
        for i in range(len(self)):
            yield self.message(i)


def _gather(data: np.ndarray, type_code: str, starts: np.ndarray) -> np.ndarray:
    """Copy the messages of one type (starting at ``starts``) into records of ``DTYPES``."""
    dtype = DTYPES[type_code]
    length = LENGTHS[type_code]
    size = len(data)
    # a record at every byte offset: the message, then 8 bytes that the timestamp overwrites
    fits = size - dtype.itemsize
    if fits >= 0:
        # as plain bytes (V<n>): a structured dtype would be copied field by field, holes skipped
        windows = np.ndarray((fits + 1,), f"V{dtype.itemsize}", buffer=data, strides=(1,))
        near_end = len(starts) and starts[-1] > fits  # starts are sorted
        records = windows[np.minimum(starts, fits) if near_end else starts].view(dtype)
    else:
        records = np.zeros(len(starts), dtype)
    as_bytes = records.view(np.uint8).reshape(len(starts), dtype.itemsize)
    for row in np.flatnonzero(starts > fits):  # the last messages of the input: copy by hand
        as_bytes[row, :length] = data[starts[row]:starts[row] + length]
    field = _TIMESTAMP_FIELD[type_code]
    parts = records.view(np.dtype({"names": ["high", "low"], "formats": [">u2", ">u4"],
                                   "offsets": [field.offset, field.offset + 2],
                                   "itemsize": dtype.itemsize}))
    timestamp = records[_TIMESTAMP]  # in place: no temporaries the size of the column
    timestamp[...] = parts["high"]
    timestamp <<= np.uint64(32)
    timestamp |= parts["low"]
    return records


def decode_bulk(buf) -> BulkMessages:
    """Decode a BinaryFILE (or concatenated length-prefixed messages) into per-type arrays.

    Raises the per-message path's ``ProtocolError`` for the first bad frame.
    """
    offsets, ended = frame_offsets(buf)
    return _bulk(buf, offsets, ended, 0)


def _bulk(buf, offsets: np.ndarray, ended: bool, base: int) -> BulkMessages:
    _view, data = _as_bytes(buf)
    types = data[offsets + PREFIX_LENGTH]
    order = np.argsort(types, kind="stable")
    counts = np.bincount(types, minlength=256)
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    arrays, sequence = {}, {}
    for type_code in MESSAGE_TYPES:
        code = ord(type_code)
        sequence[type_code] = group = order[first[code]:first[code] + counts[code]]
        if not len(group):
            arrays[type_code] = np.empty(0, DTYPES[type_code])
            continue
        starts = offsets[group]
        starts += PREFIX_LENGTH
        arrays[type_code] = _gather(data, type_code, starts)
    if base:
        offsets = offsets + base
    return BulkMessages(arrays, sequence, types, offsets, ended)


def iter_bulk(source, *, chunk_bytes: int = 64 << 20) -> Iterator[BulkMessages]:
    """Decode a BinaryFILE of any size (a path, memory-mapped, or bytes) chunk by chunk.

    Each chunk is a :class:`BulkMessages` of whole messages (about
    ``chunk_bytes`` of input), in file order; its ``offsets`` are offsets in
    the whole file, its ``sequence`` positions within the chunk. Memory stays
    bounded by the chunk, so a full day's file can be processed.
    """
    if chunk_bytes < _SMALL:
        raise ValueError(f"chunk_bytes: expected at least {_SMALL}, found {chunk_bytes}")
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.stat().st_size == 0:
            return
        with open(path, "rb") as file, \
                mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            yield from _chunks(mapped, chunk_bytes)
    else:
        yield from _chunks(source, chunk_bytes)


def _chunks(source, chunk_bytes: int) -> Iterator[BulkMessages]:
    size = len(memoryview(source).cast("B"))
    start = 0
    while start < size:
        bulk, consumed = _decode_chunk(source, start, min(start + chunk_bytes, size), size)
        yield bulk
        if bulk.ended:
            return
        start += consumed


def _decode_chunk(source, start: int, end: int, size: int) -> tuple[BulkMessages, int]:
    """One chunk; every view of ``source`` dies with this call (a map can then close)."""
    window = memoryview(source).cast("B")[start:end]
    try:
        offsets, ended, consumed = _walk(window, partial=end < size)
        if ended and start + consumed != size:
            raise ProtocolError(f"end-of-session marker at offset {consumed - PREFIX_LENGTH}, "
                                f"then {size - start - consumed} more bytes; expected the input "
                                f"to end")
        if not consumed:
            raise TruncatedError(f"frame at offset 0 is longer than the {end - start}-byte chunk")
    except ProtocolError as error:
        raise type(error)(f"{error} (offsets within the chunk at file offset {start})") from None
    return _bulk(window, offsets, ended, start), consumed


def decode_bulk_file(path: str | os.PathLike) -> BulkMessages:
    """:func:`decode_bulk` over a file, memory-mapped rather than read into memory."""
    path = Path(path)
    if path.stat().st_size == 0:
        return decode_bulk(b"")
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        return decode_bulk(mapped)  # every array is a copy, so the map can close
