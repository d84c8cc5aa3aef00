"""XGMII MAC receiver and transmitter (IEEE 802.3 §46)."""

from .xgmii_rx import XgmiiRx
from .xgmii_tx import XgmiiTx

__all__ = ["XgmiiRx", "XgmiiTx"]
