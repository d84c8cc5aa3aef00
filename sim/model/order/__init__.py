"""Bit-exact model of the OUCH encoder (``hdl/order``)."""

from .encoder import OuchEncoderModel, Request

__all__ = ["OuchEncoderModel", "Request"]
