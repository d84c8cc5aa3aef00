"""cocotb testbenches (run under Verilator through ``cocotb_tools.runner``)."""
