"""Bit-exact model of the gateware, venue simulator, testbenches."""
