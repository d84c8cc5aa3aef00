"""The control port under Verilator + cocotb 2.1 (cocotbext-eth on both XGMII sides) vs the model.

Same scenario as ``test_control_link_xgmii`` at packet level on the Verilog
netlist: requests from two hosts (identity, a register write, a
subscription), order reports into the packer, and the ``events.sent`` count
read back; every frame is the model's, framed by ``sim/model/net_tx``.
"""

from __future__ import annotations

import json
import random

import pytest
from test_control_link import HASH, HOSTS, OWN, OWN_IP, OWN_MAC, PORT, as_ints, request_frame
from test_event_packer import REF_BASE, random_report, report_value

from tick2trade.proto import control as c
from tick2trade.sim.model.control import ControlModel, EventSequencer, RegisterFile, report_event
from tick2trade.sim.model.net import with_fcs
from tick2trade.sim.model.net_tx import udp_frame

pytestmark = [pytest.mark.rtl, pytest.mark.slow]
ALL = sum(1 << int(t) for t in c.EventType)


def test_control_port_under_verilator(tmp_path, request):
    from tick2trade.sim.cocotb.runner import run_cocotb
    from tick2trade.sim.verilator.control_top import ControlPortTop

    top = ControlPortTop(mac=OWN_MAC, ip=OWN_IP, port=PORT, kind=c.DeviceKind.COSIM,
                         build_hash=HASH)
    regmap = top.regmap
    model = ControlModel(RegisterFile(regmap))
    first = [(c.encode(c.Read(c.ID_ADDR, 4), 1), HOSTS[0]),
             (c.encode(c.Write(regmap.register("order.ref_base").addr, (REF_BASE,)), 2),
              HOSTS[0]),
             (c.encode(c.Subscribe(ALL), 3), HOSTS[1])]
    rng = random.Random(3)
    reports = [random_report(rng) for _ in range(3)]
    last = [(c.encode(c.Read(regmap.register("events.sent").addr, 1), 4), HOSTS[2])]

    def replies(requests):
        out = []
        for datagram, host in requests:
            mac, ip, port = as_ints(host)
            out.append(udp_frame(model.handle(datagram, host), dst_mac=mac, dst_ip=ip,
                                 dst_port=port, config=OWN).hex())
        return out

    sub_mac, sub_ip, sub_port = as_ints(HOSTS[1])
    seq = EventSequencer()
    case = {
        "requests": [with_fcs(request_frame(d, h)).hex() for d, h in first],
        "replies": replies(first),
        "reports": [str(report_value(*r).as_value().value) for r in reports],
        "events": [udp_frame(seq.take(report_event(*r, ref_base=REF_BASE), ALL)[1],
                             dst_mac=sub_mac, dst_ip=sub_ip, dst_port=sub_port,
                             config=OWN).hex() for r in reports],
        "last_requests": [with_fcs(request_frame(d, h)).hex() for d, h in last],
    }
    model.registers.set("events.sent", len(reports))
    case["last_replies"] = replies(last)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    run_cocotb(top, "tick2trade.sim.cocotb.control_port", tag=request.node.name,
               extra_env={"T2T_CONTROL_CASE": str(path)})
