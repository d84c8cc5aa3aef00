"""Retransmit store: every message of one MoldUDP64 session, by sequence number.

The re-request server answers from here (MoldUDP64 §3): a request names the
session, the first sequence number and a count, and the reply carries the
messages that fit *completely* in one downstream packet, starting at the
requested number. Sequence numbers start at 1 and each message takes the next
one (MoldUDP64 §2.1).

Memory can be bounded with ``max_messages``: the oldest messages are then
forgotten and requests for them are answered with nothing (the caller counts
them as expired).
"""

from __future__ import annotations

from collections.abc import Iterable

from tick2trade.proto.moldudp64 import (
    BLOCK_PREFIX_LEN,
    HEADER_LEN,
    MAX_MESSAGE_LEN,
    MAX_MESSAGES,
    SESSION_LEN,
)


class RetransmitStore:
    """Append-only message log of one session, addressable by sequence number."""

    def __init__(self, session: bytes, *, first_sequence: int = 1,
                 max_messages: int | None = None):
        if len(session) != SESSION_LEN:
            raise ValueError(f"MoldUDP64 session must be 10 bytes, got {len(session)}: "
                             f"{session!r}")
        if first_sequence < 1:
            raise ValueError(f"first sequence number must be ≥ 1, got {first_sequence}")
        if max_messages is not None and max_messages < 1:
            raise ValueError(f"max_messages must be ≥ 1 or None, got {max_messages}")
        self.session = bytes(session)
        self.max_messages = max_messages
        self._messages: list[bytes] = []
        self._base = first_sequence  # sequence number of self._messages[0]

    @property
    def next_sequence(self) -> int:
        """The sequence number the next appended message will take."""
        return self._base + len(self._messages)

    @property
    def first_available(self) -> int:
        """The oldest sequence number still held (== next_sequence when empty)."""
        return self._base

    def __len__(self) -> int:
        return len(self._messages)

    def append(self, message: bytes) -> int:
        """Store one message; return its sequence number."""
        if len(message) > MAX_MESSAGE_LEN:
            raise ValueError(f"message of {len(message)} bytes exceeds the MoldUDP64 block "
                             f"limit of {MAX_MESSAGE_LEN}")
        sequence = self.next_sequence
        self._messages.append(bytes(message))
        self._trim()
        return sequence

    def extend(self, messages: Iterable[bytes]) -> int:
        """Store several messages; return the sequence number of the first."""
        first = self.next_sequence
        for message in messages:
            self.append(message)
        return first

    def get(self, sequence: int, count: int, max_payload: int) -> list[bytes]:
        """Messages from ``sequence`` on, at most ``count``, that fit one packet.

        ``max_payload`` is the UDP payload limit (header included). Only whole
        messages are returned (MoldUDP64 §3, partial replies); an empty list
        means nothing is held at ``sequence`` (expired or not yet published)
        or the first message alone does not fit.
        """
        if sequence < self._base or sequence >= self.next_sequence or count <= 0:
            return []
        start = sequence - self._base
        stop = min(len(self._messages), start + count, start + MAX_MESSAGES)
        room = max_payload - HEADER_LEN
        out: list[bytes] = []
        for index in range(start, stop):
            message = self._messages[index]
            room -= BLOCK_PREFIX_LEN + len(message)
            if room < 0:
                break
            out.append(message)
        return out

    def _trim(self) -> None:
        limit = self.max_messages
        if limit is None or len(self._messages) <= limit:
            return
        # drop in chunks so a bounded store stays O(1) amortised per append
        excess = len(self._messages) - limit
        chunk = max(excess, limit // 8)
        chunk = min(chunk, len(self._messages) - 1)
        del self._messages[:chunk]
        self._base += chunk
