"""C++ Verilator harness: long XGMII replays with no Python per cycle."""
