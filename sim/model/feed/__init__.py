"""Bit-exact reference models of the gateware feed blocks (``hdl/feed``)."""
