"""Counter ports of the MAC receiver, exposed for the CSR bank."""

from amaranth.lib import wiring
from amaranth.lib.wiring import Out

__all__ = ["COUNTER_WIDTH", "MAC_RX_COUNTERS", "MacRxStats"]

COUNTER_WIDTH = 32

#: counter name → what one count means (each received frame is counted once)
MAC_RX_COUNTERS = {
    "frames": "frames received with a good FCS and a legal length",
    "crc_errors": "frames whose FCS did not match",
    "runts": "frames shorter than 64 bytes (FCS included)",
    "giants": "frames longer than the configured maximum",
    "ctrl_errors": "frames cut by /E/, an unexpected control character, a bad SFD or a new start",
    "overflows": "frames lost or cut because the output buffer was full",
}


class MacRxStats(wiring.Signature):
    """One wrapping 32-bit counter per name in :data:`MAC_RX_COUNTERS`."""

    def __init__(self):
        super().__init__({name: Out(COUNTER_WIDTH) for name in MAC_RX_COUNTERS})
