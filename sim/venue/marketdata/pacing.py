"""Replay pacing: when each replayed message is due on the wall clock.

A capture replayed "as the market" keeps its own rhythm: real time (speed 1),
N times faster or slower (speed N), or as fast as possible (speed 0). The
timestamps come from the capture (pcap time, ns since the epoch) or from the
ITCH messages themselves (ns since midnight, ITCH 5.0 §1 Timestamp); the
pacer only looks at differences, so either works. Idle stretches longer than
``max_gap_ns`` (of capture time) are shortened to it, so a capture cut from
a whole day does not sit silent for hours.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """Turns message timestamps into wall-clock delays for a replay."""

    def __init__(self, speed: float, *, max_gap_ns: int | None = None,
                 clock: Callable[[], float] = time.monotonic):
        if speed < 0:
            raise ValueError(f"replay speed must be ≥ 0 (0 = as fast as possible), got {speed}")
        if max_gap_ns is not None and max_gap_ns < 0:
            raise ValueError(f"max_gap_ns must be ≥ 0 or None, got {max_gap_ns}")
        self.speed = speed
        self.max_gap_ns = max_gap_ns
        self._clock = clock
        self._last_ts: int | None = None
        self._elapsed_ns = 0      # capture time since the first message, gaps shortened
        self._start: float | None = None

    @property
    def as_fast_as_possible(self) -> bool:
        return self.speed == 0

    def delay(self, ts_ns: int | None) -> float:
        """Seconds to wait before releasing a message stamped ``ts_ns`` (never negative).

        A missing timestamp, or one earlier than the previous message's, is
        released at once without moving the replay clock backwards.
        """
        if self.as_fast_as_possible:
            return 0.0
        now = self._clock()
        if self._start is None:
            self._start = now
        if ts_ns is not None:
            if self._last_ts is not None and ts_ns > self._last_ts:
                step = ts_ns - self._last_ts
                if self.max_gap_ns is not None:
                    step = min(step, self.max_gap_ns)
                self._elapsed_ns += step
            if self._last_ts is None or ts_ns > self._last_ts:
                self._last_ts = ts_ns
        due = self._start + self._elapsed_ns / 1e9 / self.speed
        return max(0.0, due - now)
