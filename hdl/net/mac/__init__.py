"""XGMII MAC receiver (IEEE 802.3 §46)."""

from .xgmii_rx import XgmiiRx

__all__ = ["XgmiiRx"]
