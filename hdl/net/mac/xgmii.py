"""XGMII receive interface: 64 data bits and 8 control bits per cycle (IEEE 802.3 §46.2).

Lane ``i`` is ``data[8*i : 8*i+8]`` with control bit ``ctrl[i]``; lane 0 is
first on the wire. A start character only appears in lane 0 or lane 4.
"""

from amaranth.lib import wiring
from amaranth.lib.wiring import Out

__all__ = ["ERROR", "IDLE", "LANES", "PREAMBLE", "SFD", "START", "TERMINATE", "XgmiiSignature"]

LANES = 8
#: control characters (IEEE 802.3 Table 46-3)
IDLE = 0x07
START = 0xFB
TERMINATE = 0xFD
ERROR = 0xFE
#: preamble data byte and start-of-frame delimiter (IEEE 802.3 §3.2.1, §3.2.2)
PREAMBLE = 0x55
SFD = 0xD5


class XgmiiSignature(wiring.Signature):
    """One XGMII direction, from the PHY's point of view (``Out`` = PHY drives)."""

    def __init__(self):
        super().__init__({"data": Out(8 * LANES), "ctrl": Out(LANES)})
