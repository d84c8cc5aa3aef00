"""MoldUDP64 receiver sequencing model: gaps, duplicates, overlaps (MoldUDP64 §2, §4).

One expected sequence number is kept per session (all 10 session bytes
compared exactly, MoldUDP64 §5). For a packet carrying messages ``S`` to
``S + N - 1`` against an expected ``next``:

* ``S == next``: every message is delivered, ``next = S + N``;
* ``S + N <= next``: a duplicate (or late retransmission), dropped and counted;
* ``S < next < S + N``: an overlap, the first ``next - S`` messages are
  dropped as duplicates, the rest delivered;
* ``S > next``: a gap ``[next, S - 1]``, recorded; with no re-request yet,
  the model skips the gap and delivers the packet.

Heartbeats (count 0) and end-of-session packets (count 0xFFFF) carry the next
expected number (MoldUDP64 §2.3, §2.4): one above ``next`` records a tail gap.
The first packet of a session sets ``next`` (a receiver that joins a running
session, e.g. a capture cut mid-day, has not missed anything it could know
about) unless ``first_sequence`` says where the session must begin.

MoldUDP64 numbers messages from 1, so a packet with sequence number 0 can
only come from a capture whose sequence numbers were zeroed (anonymised
captures do this): such packets are *unsequenced*, delivered whole in arrival
order with sequence ``None``, and counted; they do not move ``next``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: gap ranges kept per sequencer; further gaps are only counted
MAX_GAP_RANGES = 10_000


@dataclass
class SessionState:
    """Where one MoldUDP64 session stands."""

    next_sequence: int
    ended: bool = False


@dataclass
class SequencerStats:
    """Counters of :class:`MoldSequencer` (MoldUDP64 §5)."""

    packets: int = 0
    data_packets: int = 0
    delivered: int = 0
    gaps: int = 0
    missing: int = 0
    gap_ranges: list[tuple[bytes, int, int]] = field(default_factory=list)
    duplicate_packets: int = 0
    duplicate_messages: int = 0
    overlaps: int = 0
    heartbeats: int = 0
    end_of_session: int = 0
    after_end_of_session: int = 0
    unsequenced_packets: int = 0
    sessions: int = 0


class MoldSequencer:
    """Per-session expected sequence; :meth:`accept` says what to process."""

    def __init__(self, *, first_sequence: int | None = None):
        if first_sequence is not None and first_sequence < 1:
            raise ValueError(f"MoldUDP64 sequence numbers start at 1, got {first_sequence}")
        self.first_sequence = first_sequence
        self.sessions: dict[bytes, SessionState] = {}
        self.stats = SequencerStats()

    def expected(self, session: bytes) -> int | None:
        """The next sequence number expected on ``session`` (None before its first packet)."""
        state = self.sessions.get(session)
        return None if state is None else state.next_sequence

    def accept(self, packet) -> list[tuple[int | None, bytes]]:
        """``(sequence, message)`` for each message of ``packet`` to process, in order.

        ``packet`` is a ``tick2trade.proto.moldudp64.MoldPacket``.
        """
        first, messages = self.deliverable(packet)
        if first is None:
            return [(None, m) for m in messages]
        return [(first + i, m) for i, m in enumerate(messages)]

    def deliverable(self, packet) -> tuple[int | None, tuple[bytes, ...]]:
        """Like :meth:`accept`, as ``(sequence of the first, messages)`` without copying.

        The sequence is None for unsequenced (sequence 0) packets.
        """
        st = self.stats
        st.packets += 1
        seq = packet.sequence
        control = packet.is_heartbeat or packet.is_end_of_session
        if control:
            if packet.is_heartbeat:
                st.heartbeats += 1
            else:
                st.end_of_session += 1
        else:
            st.data_packets += 1
        messages = packet.messages
        if seq == 0:
            if control:
                return None, ()
            st.unsequenced_packets += 1
            st.delivered += len(messages)
            return None, messages
        state = self._session(packet.session, seq)
        if control:
            self._check_gap(packet.session, state, seq)
            if packet.is_end_of_session:
                state.ended = True
            return seq, ()
        if state.ended:
            st.after_end_of_session += 1
        end = seq + len(messages)
        if end <= state.next_sequence:
            st.duplicate_packets += 1
            st.duplicate_messages += len(messages)
            return seq, ()
        skip = 0
        if seq < state.next_sequence:
            skip = state.next_sequence - seq
            st.overlaps += 1
            st.duplicate_messages += skip
            messages = messages[skip:]
        else:
            self._check_gap(packet.session, state, seq)
        state.next_sequence = end
        st.delivered += len(messages)
        return seq + skip, messages

    def _session(self, session: bytes, seq: int) -> SessionState:
        state = self.sessions.get(session)
        if state is None:
            self.stats.sessions += 1
            start = self.first_sequence if self.first_sequence is not None else seq
            state = self.sessions[session] = SessionState(start)
        return state

    def _check_gap(self, session: bytes, state: SessionState, seq: int) -> None:
        if seq <= state.next_sequence:
            return
        st = self.stats
        st.gaps += 1
        st.missing += seq - state.next_sequence
        if len(st.gap_ranges) < MAX_GAP_RANGES:
            st.gap_ranges.append((session, state.next_sequence, seq - 1))
        state.next_sequence = seq
