"""BinaryFILE framing: read, write, end of session, truncation (ITCH 5.0 §1 "BinaryFILE")."""

from __future__ import annotations

import pytest
from conftest import CAPTURES

from tick2trade.proto import itch
from tick2trade.proto.binaryfile import (
    END_OF_SESSION,
    encode_binaryfile,
    read_binaryfile,
    write_binaryfile,
)
from tick2trade.proto.errors import FieldError, ProtocolError, TruncatedError

MESSAGES = [
    itch.SystemEvent(0, 0, 1, "O"),
    itch.AddOrder(7, 0, 2, 11, "S", 300, "MSFT", 3_301_200),
    itch.OrderExecuted(7, 0, 3, 11, 100, 9),
    itch.OrderDelete(7, 0, 4, 11),
    itch.SystemEvent(0, 0, 5, "C"),
]
RAW = [itch.encode(m) for m in MESSAGES]


def test_write_then_read_round_trips(tmp_path):
    path = tmp_path / "day.itch"
    assert write_binaryfile(path, MESSAGES) == len(MESSAGES)
    data = path.read_bytes()
    assert data.endswith(END_OF_SESSION)
    assert data[:2] == b"\x00\x0c" and data[2:3] == b"S"
    assert list(read_binaryfile(path)) == RAW
    assert list(read_binaryfile(str(path))) == RAW
    assert list(read_binaryfile(data)) == RAW
    assert list(read_binaryfile(memoryview(data))) == RAW


def test_raw_bytes_and_messages_mix(tmp_path):
    path = tmp_path / "mixed.itch"
    write_binaryfile(path, [RAW[0], MESSAGES[1], bytearray(RAW[2])], end_of_session=False)
    assert path.read_bytes() == encode_binaryfile(RAW[:3], end_of_session=False)
    assert list(read_binaryfile(path)) == RAW[:3]


def test_file_without_end_of_session_is_read_to_its_end():
    assert list(read_binaryfile(encode_binaryfile(RAW, end_of_session=False))) == RAW


def test_empty_file_has_no_messages():
    assert list(read_binaryfile(b"")) == []
    assert list(read_binaryfile(END_OF_SESSION)) == []


@pytest.mark.parametrize("cut", [1, 2, 5, 12])
def test_truncated_trailing_record_names_its_offset(cut):
    data = encode_binaryfile(RAW, end_of_session=False)
    last = len(data) - (2 + len(RAW[-1]))
    with pytest.raises(TruncatedError, match=f"offset {last}"):
        list(read_binaryfile(data[:-cut]))


def test_bytes_after_end_of_session_are_refused():
    data = encode_binaryfile(RAW[:2]) + encode_binaryfile(RAW[2:])
    with pytest.raises(ProtocolError, match="marker at offset 52, then 70 more bytes"):
        list(read_binaryfile(data))


def test_unwritable_records_are_refused(tmp_path):
    with pytest.raises(FieldError, match="found 0"):
        encode_binaryfile([b""])
    with pytest.raises(FieldError, match="found 65536"):
        write_binaryfile(tmp_path / "x.itch", [bytes(65536)])


def test_sample_file_reads_and_rewrites_identically(tmp_path):
    sample = CAPTURES / "sample.itch"
    if not sample.exists():
        pytest.skip(f"third-party data not present: {sample}")
    raws = list(read_binaryfile(sample))
    assert len(raws) == 1000
    copy = tmp_path / "copy.itch"
    write_binaryfile(copy, (itch.decode(r) for r in raws), end_of_session=False)
    assert copy.read_bytes() == sample.read_bytes()


def test_long_streams_are_written_in_chunks(tmp_path):
    path = tmp_path / "long.itch"
    raws = [itch.encode(itch.OrderDelete(1, 0, i, i)) for i in range(40_000)]
    assert write_binaryfile(path, iter(raws)) == len(raws)
    assert list(read_binaryfile(path)) == raws
