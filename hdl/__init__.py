"""Amaranth gateware, one module per job."""
