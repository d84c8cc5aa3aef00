"""tick2trade: an open FPGA trading NIC (gateware, model, venue, host)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tick2trade")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
