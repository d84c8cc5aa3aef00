"""OUCH 5.0 / SoupBinTCP codec speed against baselines measured in the same process.

- EnterOrder encode/decode through the table-driven codec, against a
  hand-written ``struct`` pack/unpack of the same 47+6 bytes (the floor for
  pure Python) and against scapy's generated layer (the dissector baseline).
- SoupBinTCP framing of a stream of OrderAccepted packets fed in 1460-byte
  segments, against scapy dissecting the same packets one by one.

Usage: ``.venv/bin/python bench/bench_ouch.py [iterations]``
"""

from __future__ import annotations

import struct
import sys
import time

from tick2trade.proto import ouch50, scapy_layers
from tick2trade.proto import soupbintcp as soup


def per_call(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    msg = ouch50.EnterOrder(113, "T", 225, "CVLT", 630200, "0", "Y", "A", "N", "N", "H8FUB8IV",
                            appendage=(ouch50.make_option(ouch50.OptionTag.FIRM, "LIME"),))
    raw = msg.encode()
    layout = struct.Struct("!cIcI8sQccccc14sH")

    def hand_encode():
        return layout.pack(b"O", 113, b"T", 225, b"CVLT    ", 630200, b"0", b"Y", b"A", b"N",
                           b"N", b"H8FUB8IV      ", 6) + b"\x05\x02LIME"

    assert hand_encode() == raw

    def hand_decode():
        return layout.unpack_from(raw), raw[47:]

    layer_cls = scapy_layers.ouch_layer(ouch50.EnterOrder)
    rows = [
        ("encode", per_call(msg.encode, n), per_call(hand_encode, n),
         per_call(lambda: bytes(layer_cls(raw)), n // 20)),
        ("decode", per_call(lambda: ouch50.decode_inbound(raw), n), per_call(hand_decode, n),
         per_call(lambda: layer_cls(raw), n // 20)),
    ]
    print(f"OUCH 5.0 EnterOrder ({len(raw)} bytes), {n} iterations")
    for name, ours, hand, scapy in rows:
        print(f"  {name}: ours {ours:6.2f} us  struct-only {hand:6.2f} us "
              f"({ours / hand:.1f}x the floor)  scapy {scapy:7.1f} us "
              f"(ours {scapy / ours:.0f}x faster)")

    accepted = ouch50.OrderAccepted(1, 7682701, "B", 40, "ADBE", 4777800, "5", "Y", 257340661,
                                    "A", "N", "N", "L", "7682701")
    packet = soup.SequencedData(accepted.encode()).encode()
    count = n
    stream = packet * count
    segments = [stream[i:i + 1460] for i in range(0, len(stream), 1460)]

    def frame_all():
        framer = soup.SoupFramer()
        got = 0
        for seg in segments:
            for _ in framer.feed(seg):
                got += 1
        return got

    start = time.perf_counter()
    assert frame_all() == count
    ours = (time.perf_counter() - start) / count * 1e6
    start = time.perf_counter()
    for _ in range(count // 20):
        scapy_layers.SoupBinTCP(packet)
    scapy = (time.perf_counter() - start) / (count // 20) * 1e6
    print(f"SoupBinTCP framing of {count} x {len(packet)}-byte packets in 1460-byte segments")
    print(f"  ours {ours:6.2f} us/packet ({len(stream) / (ours * count):.0f} MB/s)  "
          f"scapy dissect {scapy:7.1f} us/packet (ours {scapy / ours:.0f}x faster)")


if __name__ == "__main__":
    main()
