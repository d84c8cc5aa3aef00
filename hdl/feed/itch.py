"""ITCH 5.0 decoder: split message blocks, emit one normalized record each.

Input: sequenced MoldUDP64 packets (:class:`~.layouts.MoldBeat`, header
included). From byte 20 on, the packet is a run of message blocks, each a
2-byte big-endian length and an ITCH message (MoldUDP64 §2.2); blocks start
at any byte offset of the 64-bit beat and span beats. The decoder walks
them at one beat per cycle, gathers each message's beats in an 8-word
window, and when the message ends, aligns it (shift by its start lane) and
latches it; the record fields are then fixed byte slices chosen by type,
taken from ``proto.itch.FIELDS`` through
:func:`~.layouts.record_fields` (ITCH 5.0 §3).

Output: one :class:`~.layouts.FeedRecord` per message of a record type
(A F E C X D U, ITCH 5.0 §3.11–§3.17; R and H, §3.2, §3.3), numbered with
its MoldUDP64 sequence number (packet sequence + block index, MoldUDP64
§2.1). Blocks before the beat's ``skip`` (old, MoldUDP64 §5 overlap) are
walked but not emitted. Counters, shared with the model
:class:`tick2trade.sim.model.feed.itch.ItchDecoderModel`:

* ``records``; ``skipped`` (known types that make no record); ``unknown``
  (type letters not in ITCH 5.0 §2, stepped over by their length);
* ``malformed`` — a block shorter than the shortest ITCH message, or a
  known type whose length is not its ITCH 5.0 §2 length: the rest of the
  packet is dropped and decoding resumes at the next packet;
* ``truncated`` — a block running past the end of the packet.

Throughput: messages are at least 12 bytes, so at most one block starts
and one ends in any beat, and one record per cycle is enough. The input is
stalled only while the output register is full and not ready.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tick2trade.proto.itch import LENGTHS
from tick2trade.proto.moldudp64 import HEADER_LEN

from .layouts import ASCII_FIELDS, RECORD_TYPES, mold_stream, record_fields, record_stream

__all__ = ["ItchDecoder", "COUNTERS"]

#: the decoder's counters (names shared with the model)
COUNTERS = ("records", "skipped", "unknown", "malformed", "truncated")

#: the window holds a message of up to 57 bytes at any start lane
_WINDOW_WORDS = 8
_KEEP_BYTES = max(LENGTHS[t] for t in RECORD_TYPES)


class ItchDecoder(wiring.Component):
    """MoldUDP64 message blocks → normalized ITCH records (ITCH 5.0 §3)."""

    def __init__(self, *, min_message_len: int | None = None):
        if min_message_len is None:
            min_message_len = min(LENGTHS.values())
        if min_message_len < 7:
            raise ValueError("min_message_len must be >= 7 (one block boundary per beat)")
        self._min_len = min_message_len
        super().__init__({
            "i": In(mold_stream()),
            "o": Out(record_stream()),
            **{name: Out(32) for name in COUNTERS},
        })

    def _count(self, m, name):
        counter = getattr(self, name)
        m.d.sync += counter.eq(counter + 1)

    def elaborate(self, platform):
        m = Module()
        beat = self.i.payload
        lanes = [beat.data[8 * i:8 * i + 8] for i in range(8)]

        # ---- output register ---------------------------------------------
        out_valid = Signal()
        msg = Signal(8 * _KEEP_BYTES)
        out_type = Signal(8)
        m.d.comb += [self.o.valid.eq(out_valid), self.i.ready.eq(~out_valid | self.o.ready)]
        with m.If(self.o.ready):
            m.d.sync += out_valid.eq(0)
        fire = self.i.valid & self.i.ready

        # ---- walk state (reset by ``first``) -------------------------------
        idx_reg = Signal(14)
        nxt_reg = Signal(18)
        straddle_reg = Signal()
        hi_reg = Signal(8)
        in_msg_reg = Signal()
        drop_reg = Signal()
        blk_reg = Signal(16)
        ds = Signal(18)         # offset of the current message's first byte
        last_byte = Signal(18)  # offset of its last byte
        length = Signal(16)
        started_reg = Signal()  # its first byte has arrived
        type_reg = Signal(8)    # its first byte (the type), latched as it arrives
        fresh_reg = Signal()    # its block index >= skip (MoldUDP64 §5 overlap)
        slot_reg = Signal(4)    # window word of the next beat (8 = past the window)
        window = [Signal(64, name=f"window{j}") for j in range(_WINDOW_WORDS)]

        first = beat.first
        index = Mux(first, 0, idx_reg)
        nxt = Mux(first, HEADER_LEN, nxt_reg)
        straddle = Mux(first, 0, straddle_reg)
        in_msg = Mux(first, 0, in_msg_reg)
        drop = Mux(first, 0, drop_reg)
        blk = Mux(first, 0, blk_reg)

        nbytes = Signal(4)
        m.d.comb += nbytes.eq(sum(beat.keep[i] for i in range(8)))
        last = beat.last

        # ---- the message in progress ---------------------------------------
        # (timing: beat positions are compared for equality with the beat
        # index, never by magnitude on byte offsets)
        started = in_msg & (started_reg | (ds[3:] == index))
        slot = Signal(4)
        m.d.comb += slot.eq(Mux(started_reg, slot_reg, 0))
        in_window = started & (slot < _WINDOW_WORDS)
        ends_here = in_msg & (last_byte[3:] == index)
        overruns = last & ends_here & (last_byte[:3] >= nbytes)

        current = [Mux(in_window & (slot == j), beat.data, window[j]) for j in range(_WINDOW_WORDS)]
        flat = Cat(*current)
        aligned = Signal(8 * _KEEP_BYTES)
        with m.Switch(ds[:3]):
            for lane in range(8):
                with m.Case(lane):
                    m.d.comb += aligned.eq(flat[8 * lane:8 * (lane + _KEEP_BYTES)])
        # the type is latched when it arrives, so its checks come from registers
        # (a message is >= 12 bytes: it never ends in the beat its type arrives in)
        msg_type = type_reg
        known = Signal()
        spec_len = Signal(16)
        is_record = Signal()
        with m.Switch(msg_type):
            for code, spec in LENGTHS.items():
                with m.Case(ord(code)):
                    m.d.comb += [known.eq(1), spec_len.eq(spec),
                                 is_record.eq(code in RECORD_TYPES)]
        completes = fire & ~drop & ends_here & ~overruns
        bad_length = known & (length != spec_len)
        fresh = fresh_reg
        drop_now = Signal()
        m.d.comb += drop_now.eq(drop | (ends_here & (overruns | bad_length)))

        in_msg_new = Signal()
        blk_new = Signal(16)
        m.d.comb += [in_msg_new.eq(in_msg & ~ends_here), blk_new.eq(blk)]
        with m.If(completes):
            m.d.comb += blk_new.eq(blk + 1)
            with m.If(bad_length):
                self._count(m, "malformed")
            with m.Elif(fresh & ~known):
                self._count(m, "unknown")
            with m.Elif(fresh & ~is_record):
                self._count(m, "skipped")
            with m.Elif(fresh):
                self._count(m, "records")
                m.d.sync += [out_valid.eq(1), msg.eq(aligned), out_type.eq(msg_type),
                             self.o.payload.seq.eq(beat.seq + blk),
                             self.o.payload.line.eq(beat.line),
                             self.o.payload.hw_ts.eq(beat.timestamp)]
        with m.If(fire & ~drop & overruns):
            self._count(m, "truncated")

        # ---- the next block's length prefix --------------------------------
        lane = Signal(3)
        m.d.comb += lane.eq(nxt[:3])
        lane_byte = Signal(8)
        lane_next = Signal(8)
        with m.Switch(lane):
            for ln in range(8):
                with m.Case(ln):
                    m.d.comb += lane_byte.eq(lanes[ln])
                    if ln < 7:
                        m.d.comb += lane_next.eq(lanes[ln + 1])

        nxt_new = Signal(18)
        straddle_new = Signal()
        hi_new = Signal(8)
        start = Signal()
        new_len = Signal(16)
        truncated_prefix = Signal()
        m.d.comb += [nxt_new.eq(nxt), straddle_new.eq(0), hi_new.eq(hi_reg)]
        with m.If(straddle):
            m.d.comb += [start.eq(1), new_len.eq(Cat(lanes[0], hi_reg))]
        with m.Elif((nxt[3:] == index) & (lane < nbytes)):
            with m.If(lane == 7):
                m.d.comb += [straddle_new.eq(1), hi_new.eq(lanes[7])]
                with m.If(last):
                    m.d.comb += truncated_prefix.eq(1)
            with m.Elif(last & (lane + 1 >= nbytes)):
                m.d.comb += truncated_prefix.eq(1)
            with m.Else():
                m.d.comb += [start.eq(1), new_len.eq(Cat(lane_next, lane_byte))]

        new_ds = Signal(18)
        new_de = Signal(18)
        new_last = Signal(18)
        m.d.comb += [new_ds.eq(nxt + 2), new_de.eq(nxt + 2 + new_len),
                     new_last.eq(nxt + 1 + new_len)]
        ds_here = straddle | (lane <= 5)  # the message's first byte is in this beat
        short = start & (new_len < self._min_len)
        with m.If(fire & ~drop_now):
            with m.If(truncated_prefix):
                self._count(m, "truncated")
            with m.Elif(short):
                self._count(m, "malformed")
            with m.Elif(start):
                m.d.comb += [in_msg_new.eq(1), nxt_new.eq(new_de)]
            with m.If(last & in_msg_new & ~truncated_prefix & ~short):
                self._count(m, "truncated")

        with m.If(fire):
            m.d.sync += [
                idx_reg.eq(index + 1),
                nxt_reg.eq(nxt_new),
                straddle_reg.eq(straddle_new),
                hi_reg.eq(hi_new),
                in_msg_reg.eq(in_msg_new),
                drop_reg.eq(drop_now | truncated_prefix | short),
                blk_reg.eq(blk_new),
            ]
            with m.If(in_window & ~ends_here):
                for j in range(_WINDOW_WORDS):
                    with m.If(slot == j):
                        m.d.sync += window[j].eq(beat.data)
            with m.If(started & ~started_reg):  # the type arrives in this beat
                with m.Switch(ds[:3]):
                    for ln in range(8):
                        with m.Case(ln):
                            m.d.sync += type_reg.eq(lanes[ln])
            with m.If(started & ~ends_here & ~start):
                m.d.sync += [started_reg.eq(1), slot_reg.eq(Mux(in_window, slot + 1, slot))]
            # a new message's registers load on any start (timing: not gated by the
            # length checks; when those drop the packet, ``in_msg`` stays low)
            with m.If(start):
                m.d.sync += [ds.eq(new_ds), last_byte.eq(new_last), length.eq(new_len),
                             started_reg.eq(ds_here), slot_reg.eq(ds_here),
                             # both candidates compared in parallel (timing)
                             fresh_reg.eq(Mux(completes, blk + 1 >= beat.skip,
                                              blk >= beat.skip))]
                with m.If(ds_here):
                    m.d.sync += window[0].eq(beat.data)
                    with m.Switch((lane + 2)[:3]):
                        for ln in range(8):
                            with m.Case(ln):
                                m.d.sync += type_reg.eq(lanes[ln])

        # ---- record fields from the latched message, by type ---------------
        rec = self.o.payload
        m.d.comb += rec.type.eq(out_type)
        with m.Switch(out_type):
            for code in RECORD_TYPES:
                with m.Case(ord(code)):
                    for name, field in record_fields(code).items():
                        raw = [msg[8 * b:8 * b + 8]
                               for b in range(field.offset, field.offset + field.length)]
                        value = Cat(*raw) if name in ASCII_FIELDS else Cat(*reversed(raw))
                        m.d.comb += getattr(rec, name).eq(value)
        return m
