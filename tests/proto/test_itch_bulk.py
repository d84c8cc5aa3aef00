"""Bulk decoder agrees with the per-message decoder, boundary for boundary and field for field."""

from __future__ import annotations

import random
import re
from unittest import mock

import numpy as np
import pytest
from conftest import CAPTURES, itch_pcaps
from hypothesis import given, settings
from hypothesis import strategies as st

from tick2trade.proto import itch, itch_bulk
from tick2trade.proto.binaryfile import END_OF_SESSION, encode_binaryfile
from tick2trade.proto.capture import iter_mold
from tick2trade.proto.errors import (
    LengthMismatchError,
    ProtocolError,
    TruncatedError,
    UnknownTypeError,
)

MIX = dict(A=30, D=25, E=8, X=8, U=6, F=3, C=2, P=2, I=1, Q=1, S=1, R=1, H=1, Y=1, L=1, V=1,
           W=1, K=1, J=1, h=1, B=1, N=1, O=1)


def random_message(rng: random.Random, code: str, alphabet: str) -> itch.Message:
    values = []
    for field in itch.FIELDS[code]:
        if field.kind == "alpha":
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, field.length)))
            values.append(text if field.length == 1 else text.rstrip(" "))
        else:
            bits = rng.choice([8, 16, 8 * field.length])
            values.append(rng.getrandbits(min(bits, 8 * field.length)))
    return itch.MESSAGE_TYPES[code](*values)


def random_file(count: int, seed: int, alphabet: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ -=.",
                end_of_session: bool = False) -> tuple[bytes, list[bytes]]:
    rng = random.Random(seed)
    codes = rng.choices(list(MIX), list(MIX.values()), k=count)
    raws = [itch.encode(random_message(rng, code, alphabet)) for code in codes]
    return encode_binaryfile(raws, end_of_session=end_of_session), raws


def reference_walk(buf: bytes) -> list[int]:
    """Prefix offsets by the plain sequential walk, raising what the per-message path raises."""
    offsets = []
    for offset, message in itch.iter_frames(buf):
        if not len(message):
            break
        itch.check_frame(memoryview(buf), offset)
        offsets.append(offset)
    return offsets


def record_message(code: str, record: np.void) -> itch.Message:
    """A message built from a bulk record's fields alone (not from its raw bytes)."""
    values = []
    for field in itch.FIELDS[code]:
        value = record[field.name]
        if field.kind == "alpha":
            text = bytes(value).ljust(field.length, b"\x00").decode("latin-1")
            values.append(text.rstrip(" ") if field.length > 1 else text)
        else:
            values.append(int(value))
    return itch.MESSAGE_TYPES[code](*values)


def assert_agrees(bulk: itch_bulk.BulkMessages, buf: bytes, raws: list[bytes]) -> None:
    assert len(bulk) == len(raws)
    assert bulk.offsets.tolist() == reference_walk(buf)
    assert bytes(bulk.types) == b"".join(raw[:1] for raw in raws)
    for i, raw in enumerate(raws):
        code = raw[:1].decode()
        record = bulk.arrays[code][bulk.index[i]]
        assert bulk.sequence[code][bulk.index[i]] == i
        assert bulk.raw(i) == raw
        assert record_message(code, record) == itch.decode(raw), (i, code)


# --- dtypes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", sorted(itch.MESSAGE_TYPES))
def test_dtypes_follow_fields(code):
    dtype = itch_bulk.DTYPES[code]
    assert dtype.itemsize == itch.LENGTHS[code] + 8
    for field in itch.FIELDS[code]:
        sub, offset = dtype.fields[field.name]
        if field.name == "timestamp":
            assert (sub, offset) == (np.dtype(np.uint64), itch.LENGTHS[code])
        elif field.kind == "alpha":
            assert (sub, offset) == (np.dtype(f"S{field.length}"), field.offset)
        else:
            assert (sub.itemsize, offset) == (field.length, field.offset)
            assert sub.byteorder in (">", "|")


# --- agreement -----------------------------------------------------------------------------------

def test_sample_file_agrees(monkeypatch):
    sample = CAPTURES / "sample.itch"
    if not sample.exists():
        pytest.skip(f"third-party data not present: {sample}")
    data = sample.read_bytes()
    raws = [bytes(m) for _, m in itch.iter_frames(data)]
    assert_agrees(itch_bulk.decode_bulk(data), data, raws)
    assert itch_bulk.decode_bulk_file(sample).counts() == dict(S=1, R=993, H=3, Y=3)
    monkeypatch.setattr(itch_bulk, "_SMALL", 0)  # force the lockstep walkers on a small file
    monkeypatch.setattr(itch_bulk, "_SLICE", 512)
    assert_agrees(itch_bulk.decode_bulk(data), data, raws)


def test_pcap_messages_agree():
    raws = [m for path in itch_pcaps() for c in iter_mold(path, strict=True)
            for m in c.packet.messages]
    if not raws:
        pytest.skip("no ITCH captures present")
    data = encode_binaryfile(raws, end_of_session=False)
    assert_agrees(itch_bulk.decode_bulk(data), data, raws)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_mixed_file_agrees(seed):
    data, raws = random_file(20_000, seed)
    bulk = itch_bulk.decode_bulk(data)
    assert not bulk.ended
    assert_agrees(bulk, data, raws)
    assert set(bulk.counts()) == set(MIX)
    assert sum(bulk.counts().values()) == len(raws)


@pytest.mark.parametrize("slice_bytes", [64, 300, 8192])
def test_walkers_resynchronise_on_hostile_bytes(monkeypatch, slice_bytes):
    # Alpha fields made of NULs, length bytes and type letters look like frames
    # everywhere, so walkers start on false chains and must be repaired.
    hostile = "".join(map(chr, [0, 0, 0, 0x24, 0x13, 0x1F, 0x17, 0x23])) + "ADEXU"
    data, raws = random_file(6_000, 3, alphabet=hostile)
    monkeypatch.setattr(itch_bulk, "_SMALL", 0)
    monkeypatch.setattr(itch_bulk, "_SLICE", slice_bytes)
    offsets, ended = itch_bulk.frame_offsets(data)
    assert offsets.tolist() == reference_walk(data) and not ended
    bulk = itch_bulk.decode_bulk(data)
    assert [bulk.raw(i) for i in range(len(bulk))] == raws


def test_end_of_session_and_empty_input():
    data, raws = random_file(3_000, 4, end_of_session=True)
    bulk = itch_bulk.decode_bulk(data)
    assert bulk.ended and len(bulk) == len(raws)
    empty = itch_bulk.decode_bulk(b"")
    assert len(empty) == 0 and not empty.ended and all(len(a) == 0 for a in empty.arrays.values())
    assert itch_bulk.decode_bulk(END_OF_SESSION).ended


def test_iteration_yields_messages_in_feed_order():
    data, raws = random_file(500, 5)
    assert [itch.encode(m) for m in itch_bulk.decode_bulk(data)] == raws


def test_decode_bulk_file_maps_the_file(tmp_path):
    data, raws = random_file(5_000, 6)
    path = tmp_path / "f.itch"
    path.write_bytes(data)
    assert_agrees(itch_bulk.decode_bulk_file(path), data, raws)
    (tmp_path / "empty.itch").write_bytes(b"")
    assert len(itch_bulk.decode_bulk_file(tmp_path / "empty.itch")) == 0


# --- bad input: the same error, at the same offset, as the sequential path ------------------------

def _corrupt(kind: str, data: bytes, offsets: list[int], victim: int) -> bytes:
    at = offsets[victim]
    out = bytearray(data)
    if kind == "unknown type":
        out[at + 2] = ord("Z")
    elif kind == "length mismatch":
        out[at + 1] += 1
    elif kind == "zero length inside":
        out[at:at + 2] = b"\x00\x00"
    elif kind == "truncated tail":
        del out[len(out) - 5:]
    elif kind == "garbage tail":
        out += b"\x07"
    return bytes(out)


@pytest.mark.parametrize(("kind", "error"), [
    ("unknown type", UnknownTypeError), ("length mismatch", LengthMismatchError),
    ("zero length inside", ProtocolError), ("truncated tail", TruncatedError),
    ("garbage tail", TruncatedError),
])
def test_bad_frames_raise_like_the_sequential_path(kind, error):
    data, _ = random_file(8_000, 7)
    offsets = reference_walk(data)
    bad = _corrupt(kind, data, offsets, victim=5_000)
    with pytest.raises(error) as expected:
        reference_walk(bad) if kind != "zero length inside" else _reference_binaryfile(bad)
    with pytest.raises(error) as found:
        itch_bulk.decode_bulk(bad)
    assert type(found.value) is type(expected.value)
    assert re.findall(r"offset (\d+)", str(found.value)) == \
        re.findall(r"offset (\d+)", str(expected.value))
    if kind != "garbage tail":
        victim = offsets[5_000] if "tail" not in kind else offsets[-1]
        assert f"offset {victim}" in str(found.value)


def _reference_binaryfile(data: bytes) -> None:
    from tick2trade.proto.binaryfile import read_binaryfile
    list(read_binaryfile(data))


@pytest.mark.parametrize("size", range(0, 40))
def test_any_short_input_gives_a_protocol_error_or_messages(size):
    rng = random.Random(size)
    data = bytes(rng.getrandbits(8) for _ in range(size))
    try:
        bulk = itch_bulk.decode_bulk(data)
    except ProtocolError:
        return
    assert b"".join(len(r).to_bytes(2, "big") + r for r in (bulk.raw(i) for i in range(len(bulk)))
                    ) + (END_OF_SESSION if bulk.ended else b"") == data


# --- chunked decoding of large files ----------------------------------------------------------

def _joined(chunks: list[itch_bulk.BulkMessages]) -> tuple[list[int], list[bytes]]:
    offsets = [int(o) for c in chunks for o in c.offsets]
    raws = [c.raw(i) for c in chunks for i in range(len(c))]
    return offsets, raws


@pytest.mark.parametrize("end_of_session", [False, True])
def test_iter_bulk_chunks_agree_with_the_whole(tmp_path, end_of_session):
    data, raws = random_file(12_000, 8, end_of_session=end_of_session)
    whole = itch_bulk.decode_bulk(data)
    path = tmp_path / "big.itch"
    path.write_bytes(data)
    for source in (data, path, str(path)):
        chunks = list(itch_bulk.iter_bulk(source, chunk_bytes=itch_bulk._SMALL + 7))
        assert len(chunks) >= len(data) // (itch_bulk._SMALL + 7)
        assert _joined(chunks) == (whole.offsets.tolist(), raws)
        assert [c.ended for c in chunks] == [False] * (len(chunks) - 1) + [end_of_session]
        for code in itch.MESSAGE_TYPES:
            assert np.array_equal(np.concatenate([c.arrays[code] for c in chunks]),
                                  whole.arrays[code])


def test_iter_bulk_refuses_data_after_end_of_session_across_chunks():
    first, _ = random_file(3_000, 9, end_of_session=True)
    second, _ = random_file(100, 10)
    chunk = len(first)  # the marker ends exactly at the end of the first chunk
    with pytest.raises(ProtocolError, match="end-of-session marker") as found:
        list(itch_bulk.iter_bulk(first + second, chunk_bytes=chunk))
    assert f"then {len(second)} more bytes" in str(found.value)


def test_iter_bulk_errors_name_the_chunk():
    data, _ = random_file(12_000, 11)
    offsets = reference_walk(data)
    bad = bytearray(data)
    bad[offsets[9_000] + 2] = ord("Z")
    with pytest.raises(UnknownTypeError, match="chunk at file offset") as found:
        list(itch_bulk.iter_bulk(bytes(bad), chunk_bytes=itch_bulk._SMALL))
    chunk_start = int(re.search(r"file offset (\d+)", str(found.value)).group(1))
    assert f"offset {offsets[9_000] - chunk_start})" in str(found.value)
    with pytest.raises(TruncatedError):
        list(itch_bulk.iter_bulk(data[:-3], chunk_bytes=itch_bulk._SMALL))
    with pytest.raises(ValueError, match="chunk_bytes"):
        list(itch_bulk.iter_bulk(data, chunk_bytes=100))


@pytest.mark.parametrize("seed", [12, 13])
def test_garbage_after_valid_frames_fails_cleanly(seed):
    data, _ = random_file(2_000, seed)
    rng = random.Random(seed)
    garbage = bytes(rng.getrandbits(8) for _ in range(100_000))
    with pytest.raises(ProtocolError, match=f"offset {len(data)}"):
        itch_bulk.decode_bulk(data + garbage)
    with pytest.raises(ProtocolError, match="offset 0"):
        itch_bulk.decode_bulk(garbage)


@settings(max_examples=150, deadline=None)
@given(codes=st.lists(st.sampled_from(sorted(MIX)), min_size=1, max_size=60),
       seed=st.integers(0, 2**32), damage=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)),
                                                   max_size=3),
       slice_bytes=st.sampled_from([16, 48, 100, 8300]))
def test_fuzzed_files_match_the_sequential_walk(codes, seed, damage, slice_bytes):
    rng = random.Random(seed)
    raws = [itch.encode(random_message(rng, code, "AB \x00\x13\x24D")) for code in codes]
    data = bytearray(encode_binaryfile(raws, end_of_session=rng.random() < 0.3))
    for where, byte in damage:
        data[min(int(where * len(data)), len(data) - 1)] = byte
    data = bytes(data)
    try:
        expected = (_reference_binaryfile_offsets(data), None)
    except ProtocolError as error:
        expected = (None, type(error))
    with mock.patch.object(itch_bulk, "_SMALL", 0), \
            mock.patch.object(itch_bulk, "_SLICE", slice_bytes):
        try:
            found = (itch_bulk.frame_offsets(data)[0].tolist(), None)
        except ProtocolError as error:
            found = (None, type(error))
    assert found == expected


def _reference_binaryfile_offsets(data: bytes) -> list[int]:
    """The sequential walk, frame by frame, with BinaryFILE's end-of-session rule."""
    offsets = []
    for offset, message in itch.iter_frames(data):
        if not len(message):
            if offset + 2 != len(data):
                raise ProtocolError(f"data after the end-of-session marker at offset {offset}")
            break
        itch.check_frame(memoryview(data), offset)
        offsets.append(offset)
    return offsets
