"""Reference models the gateware is checked against."""
