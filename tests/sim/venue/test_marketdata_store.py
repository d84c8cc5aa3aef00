"""Retransmit store and re-request answers (MoldUDP64 §3), without sockets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tick2trade.proto.moldudp64 import HEADER_LEN, MoldPacket, MoldRequest
from tick2trade.sim.venue.marketdata.rerequest import RerequestServer
from tick2trade.sim.venue.marketdata.store import RetransmitStore

SESSION = b"TESTSESS01"


def _store(n: int, size: int = 10, **kw) -> RetransmitStore:
    store = RetransmitStore(SESSION, **kw)
    for i in range(n):
        store.append(bytes([65 + i % 26]) * size)
    return store


def test_sequence_numbers_start_at_one_and_run_on():
    store = RetransmitStore(SESSION)
    assert store.next_sequence == 1 and store.first_available == 1
    assert store.append(b"a") == 1
    assert store.extend([b"b", b"c"]) == 2
    assert store.next_sequence == 4
    assert store.get(2, 5, 1472) == [b"b", b"c"]


def test_get_returns_only_whole_messages_that_fit():
    store = _store(10, size=100)
    # 20 header + 3 × (2 + 100) = 326 bytes: a 330-byte payload holds 3, not 4
    assert len(store.get(1, 10, 330)) == 3
    assert len(store.get(1, 2, 330)) == 2
    assert store.get(1, 10, 100) == []          # the first message alone does not fit
    assert store.get(0, 1, 1472) == []          # sequence numbers start at 1
    assert store.get(11, 1, 1472) == []         # not published yet
    assert store.get(1, 0, 1472) == []


def test_bounded_store_forgets_the_oldest():
    store = _store(100, max_messages=16)
    assert len(store) <= 16
    assert store.next_sequence == 101
    assert store.first_available == 101 - len(store)
    assert store.get(1, 1, 1472) == []
    assert store.get(100, 1, 1472) == [bytes([65 + 99 % 26]) * 10]


def test_bad_construction_is_refused():
    with pytest.raises(ValueError, match="10 bytes"):
        RetransmitStore(b"short")
    with pytest.raises(ValueError, match="≥ 1"):
        RetransmitStore(SESSION, first_sequence=0)


@pytest.mark.parametrize("max_payload", [HEADER_LEN + 12, 200, 1472])
def test_answer_is_a_downstream_packet_starting_at_the_request(max_payload):
    store = _store(50)
    server = RerequestServer(store, max_payload=max_payload)
    reply = server.answer(MoldRequest(SESSION, 7, 30).encode())
    packet = MoldPacket.decode(reply)
    assert packet.session == SESSION and packet.sequence == 7
    assert len(reply) <= max_payload
    expected = [store.get(s, 1, 1472)[0] for s in range(7, 7 + len(packet.messages))]
    assert list(packet.messages) == expected
    assert 1 <= len(packet.messages) <= 30
    if max_payload == 1472:
        assert len(packet.messages) == 30


@pytest.mark.parametrize("datagram, counter", [
    (b"", "malformed"),
    (b"x" * 19, "malformed"),
    (b"x" * 21, "malformed"),
    (MoldRequest(b"OTHERSESS1", 1, 1).encode(), "unknown_session"),
    (MoldRequest(SESSION, 1, 0).encode(), "empty"),
    (MoldRequest(SESSION, 51, 1).encode(), "future"),
    (MoldRequest(SESSION, 10**12, 5).encode(), "future"),
    (MoldRequest(SESSION, 0, 5).encode(), "expired"),
])
def test_bad_requests_are_counted_not_answered(datagram, counter):
    server = RerequestServer(_store(50))
    assert server.answer(datagram) is None
    assert server.stats[counter] == 1
    assert server.stats["replies"] == 0


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(0, 300), min_size=1, max_size=60),
       sequence=st.integers(0, 70), count=st.integers(0, 0xFFFF),
       max_payload=st.integers(HEADER_LEN + 2, 1500))
def test_reply_is_the_longest_run_of_whole_messages_that_fits(sizes, sequence, count,
                                                              max_payload):
    store = RetransmitStore(SESSION)
    messages = [bytes([i % 256]) * n for i, n in enumerate(sizes)]
    store.extend(messages)
    got = store.get(sequence, count, max_payload)
    if not 1 <= sequence <= len(messages) or count == 0:
        assert got == []
        return
    start = sequence - 1
    assert got == messages[start:start + len(got)]
    used = HEADER_LEN + sum(2 + len(m) for m in got)
    assert used <= max_payload
    stop = start + len(got)
    if len(got) < count and stop < len(messages):
        assert used + 2 + len(messages[stop]) > max_payload  # the next one would not fit
