"""cocotb smoke test: the Timestamp counter counts one per clock under Verilator."""

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge


@cocotb.test()
async def counts_cycles(dut):
    cocotb.start_soon(Clock(dut.clk, 6.4, unit="ns").start())
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    start = int(dut.count.value)
    await ClockCycles(dut.clk, 100)
    assert int(dut.count.value) - start == 100
