"""Frames to XGMII receive columns, as a PHY would deliver them (IEEE 802.3 §46.2, §46.3).

Each frame (bytes as on the wire after the SFD, FCS included) becomes a
start column (``/S/`` + preamble + SFD), data columns, and a ``/T/`` in the
lane after its last byte; frames are separated by at least ``ipg`` bytes
counting the ``/T/``. Starts go in lane 0, or in lane 4 when ``lane4`` allows
and the gap is already met there.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from tick2trade.hdl.net.mac.xgmii import IDLE, LANES, PREAMBLE, SFD, START, TERMINATE

__all__ = ["Column", "columns_to_lanes", "encode_xgmii"]

#: one XGMII column: (data as a little-endian 64-bit int, 8 control bits)
Column = tuple[int, int]

_PREAMBLE = bytes([PREAMBLE] * 6 + [SFD])


def encode_xgmii(frames: Iterable[bytes], *, ipg: int = 12, lane4: bool = False,
                 extra_idle: int = 0, rng: random.Random | None = None,
                 lead_idle: int = 2) -> list[Column]:
    """XGMII columns for ``frames``.

    ``extra_idle`` adds up to that many idle bytes after each gap (uniformly at
    random with ``rng``, exactly that many without). With ``lane4`` a start
    may fall in lane 4.
    """
    lanes: list[tuple[int, bool]] = [(IDLE, True)] * (LANES * lead_idle)
    for frame in frames:
        pad = LANES // 2 if lane4 else LANES
        while len(lanes) % pad:
            lanes.append((IDLE, True))
        lanes.append((START, True))
        lanes += [(b, False) for b in _PREAMBLE]
        lanes += [(b, False) for b in frame]
        lanes.append((TERMINATE, True))
        gap = ipg - 1 + (rng.randint(0, extra_idle) if rng and extra_idle else extra_idle)
        lanes += [(IDLE, True)] * gap
    while len(lanes) % LANES:
        lanes.append((IDLE, True))
    lanes += [(IDLE, True)] * (LANES * 2)
    return lanes_to_columns(lanes)


def lanes_to_columns(lanes: list[tuple[int, bool]]) -> list[Column]:
    """Group (byte, is_control) lanes by 8 into columns."""
    columns = []
    for at in range(0, len(lanes), LANES):
        data = ctrl = 0
        for i, (byte, is_ctrl) in enumerate(lanes[at:at + LANES]):
            data |= byte << (8 * i)
            ctrl |= int(is_ctrl) << i
        columns.append((data, ctrl))
    return columns


def columns_to_lanes(columns: Iterable[Column]) -> list[tuple[int, bool]]:
    """The inverse of :func:`lanes_to_columns`."""
    return [((data >> (8 * i)) & 0xFF, bool((ctrl >> i) & 1))
            for data, ctrl in columns for i in range(LANES)]
