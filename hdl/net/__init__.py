"""Network receive path: XGMII MAC RX, Ethernet/IPv4/UDP parser (issue 4, part A)."""
