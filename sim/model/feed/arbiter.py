"""Reference model of :class:`~tick2trade.hdl.feed.arbiter.MoldArbiter`.

MoldUDP64 sequencing (MoldUDP64 §2, §5) over one or two lines carrying the
same stream (A/B arbitration). The model sees each line's queue of
committed packets; the gateware sees the same queues as they fill. Given
the documented policy below the outcome does not depend on arrival timing
as long as the skew between lines stays under the gateware's ``timeout``:

* one action per step, line A before line B;
* ``seq_check`` off, or a data packet with sequence number 0 (numbers start
  at 1, so 0 marks an unsequenced packet, as in anonymised captures):
  delivered whole, in arrival order, state untouched (``unsequenced``);
* not yet synchronised, or another session (10 bytes compared exactly):
  adopt the session and expect the packet's sequence number
  (``session_changes`` counts adoptions after the first);
* data ending at or before the expected number: duplicate, dropped;
  starting before it: overlap, the old blocks skipped; starting at it:
  delivered; heartbeat / end of session at or before it: counted;
* a cut-through packet that died while streaming (:attr:`Buffered.cut`)
  delivers its header and whole blocks only (``cut_short``); the expected
  number then covers just those, so its other messages come from the other
  line's copy (an overlap) or become a gap like any lost packet;
* a packet starting after the expected number is *ahead*: it waits while
  the other line may still bring the missing messages. A gap (first, count)
  is declared when both lines' heads are ahead, when only one line is in
  use, or when the wait times out; the expected number then jumps to the
  lowest waiting sequence number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tick2trade.proto.moldudp64 import END_OF_SESSION, HEARTBEAT

from .itch import Delivery
from .moldudp64 import Buffered

__all__ = ["ArbiterCounters", "MoldArbiterModel"]

_MASK64 = (1 << 64) - 1


@dataclass
class ArbiterCounters:
    delivered: int = 0
    duplicates: int = 0
    overlaps: int = 0
    gaps: int = 0
    missing: int = 0
    heartbeats: int = 0
    end_of_session: int = 0
    session_changes: int = 0
    unsequenced: int = 0
    cut_short: int = 0


@dataclass
class MoldArbiterModel:
    lines: int = 2
    seq_check: bool = True
    b_enable: bool = True
    counters: ArbiterCounters = field(default_factory=ArbiterCounters)
    expected: int = 0
    session: bytes = b"\0" * 10
    synced: bool = False
    ended: bool = False
    delivered: list[Delivery] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)

    def _unsequenced(self, p: Buffered) -> bool:
        return not self.seq_check or (p.is_data and p.seq == 0)

    def _resync(self, p: Buffered) -> bool:
        return not self._unsequenced(p) and (not self.synced or p.session != self.session)

    def _ahead(self, p: Buffered) -> bool:
        return not self._unsequenced(p) and not self._resync(p) and p.seq > self.expected

    def _act(self, p: Buffered) -> bool:
        """Apply the head packet ``p``; True if it was consumed."""
        c = self.counters
        if self._unsequenced(p):
            if p.is_data:
                c.delivered += 1
                c.unsequenced += 1
                c.cut_short += p.cut is not None
                self.delivered.append(Delivery(p.delivered_payload, p.seq, 0, p.line,
                                               p.timestamp))
            else:
                self._control(p)
            return True
        if self._resync(p):
            if self.synced:
                c.session_changes += 1
            self.session, self.expected, self.synced, self.ended = p.session, p.seq, True, False
            return False
        if not p.is_data:
            self._control(p)
            return True
        end = (p.seq + p.count) & _MASK64
        if end <= self.expected:
            c.duplicates += 1
            return True
        skip = self.expected - p.seq
        if skip:
            c.overlaps += 1
        c.delivered += 1
        self.delivered.append(Delivery(p.delivered_payload, p.seq, skip, p.line, p.timestamp))
        self.expected = end
        if p.cut is not None:  # died while streaming: only its whole blocks were delivered
            c.cut_short += 1
            self.expected = (p.seq + max(skip, p.cut[1])) & _MASK64
        return True

    def _control(self, p: Buffered) -> None:
        if p.count == HEARTBEAT:
            self.counters.heartbeats += 1
        elif p.count == END_OF_SESSION:
            self.counters.end_of_session += 1
            self.ended = True

    def run(self, queues: list[list[Buffered]], *, final: bool = True) -> None:
        """Consume the line queues (index 0 = A, 1 = B) as far as the policy allows.

        ``final`` means no more packets will come: waiting heads are then
        released by a gap, as the gateware's timeout would.
        """
        queues = [list(q) for q in queues] + [[] for _ in range(2 - len(queues))]
        heads = [0, 0]
        single = self.lines == 1 or not self.b_enable
        while True:
            live = [q[h] if h < len(q) else None for q, h in zip(queues, heads, strict=True)]
            if single and live[1] is not None:
                heads[1] += 1  # line B disabled: its packets are discarded
                continue
            acted = False
            for line, p in enumerate(live):
                if p is not None and not self._ahead(p):
                    if self._act(p):
                        heads[line] += 1
                    acted = True
                    break
            if acted:
                continue
            ahead = [p for p in live if p is not None]
            if not ahead:
                return
            if single or len(ahead) == 2 or final:
                lowest = min(p.seq for p in ahead)
                self.counters.gaps += 1
                self.counters.missing += lowest - self.expected
                self.gaps.append((self.expected, lowest - self.expected))
                self.expected = lowest
                continue
            return
