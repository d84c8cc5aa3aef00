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

Timing: three registered stages, each reading flip-flops.

1. *walk* — where the next length prefix is, kept relative to the current
   beat (``rel``; "in this beat" is a registered flag). The next position
   for each possible prefix lane is worked out in parallel from the beat's
   bytes, so the loop is a select, never an add after a select.
2. *gather* — the message in progress: its window of beats, its type byte,
   a count of beats to its last one; when it ends, the message is aligned.
3. *decide* — drops (MoldUDP64 §2.2 malformed or truncated blocks end the
   packet), block index against ``skip``, counters (counted a cycle late),
   the record.

A record leaves 3 cycles after the beat holding the message's last byte
(one more than the single-stage decoder this replaced).
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from tick2trade.proto.itch import LENGTHS
from tick2trade.proto.moldudp64 import HEADER_LEN

from .layouts import (
    ASCII_FIELDS,
    RECORD_TYPES,
    MoldBeat,
    mold_stream,
    record_fields,
    record_stream,
)

__all__ = ["ItchDecoder", "COUNTERS"]

#: the decoder's counters (names shared with the model)
COUNTERS = ("records", "skipped", "unknown", "malformed", "truncated")

#: the window holds a message of up to 57 bytes at any start lane
_WINDOW_WORDS = 8
_KEEP_BYTES = max(LENGTHS[t] for t in RECORD_TYPES)
_LANES = 8
_REL_BITS = 18

#: what the walk stage says about one beat (registered)
_Walked = data.StructLayout({
    "valid": 1, "beat": MoldBeat,
    "start": 1,        # a block's length prefix completes in this beat (not cut by the end)
    "length": 16,      # ... its length
    "ms": 4,           # ... its message's first byte, relative to this beat (1..8)
    "end_beats": 14,   # ... beats after this one to its last byte
    "end_one": 1,      # end_beats == 1
    "end_lane": 3,     # ... lane of its last byte
    "short": 1,        # ... shorter than the shortest message
    "trunc": 1,        # a length prefix cut by the packet's end
})

#: what the gather stage says about one beat (registered)
_Gathered = data.StructLayout({
    "valid": 1, "first": 1, "last": 1, "seq": 64, "skip": 16, "skip_zero": 1, "line": 1,
    "timestamp": 64,
    "ends": 1,         # the message in progress ends in this beat
    "overruns": 1,     # ... past the packet's last byte
    "msg": 8 * _KEEP_BYTES,   # ... aligned (its first byte in msg[0:8])
    "type": 8, "known": 1, "is_record": 1, "bad_length": 1,
    "start": 1, "short": 1, "trunc": 1,
    "unfinished": 1,   # the packet ends inside a message (or right after a whole prefix)
})


def _decode_type(m, type_byte, length):
    """(known, is_record, bad_length) of a message from its type byte and block length."""
    known, is_record, bad_length = Signal(), Signal(), Signal()
    with m.Switch(type_byte):
        for code, spec in LENGTHS.items():
            with m.Case(ord(code)):
                m.d.comb += [known.eq(1), is_record.eq(code in RECORD_TYPES),
                             bad_length.eq(length != spec)]
    return known, is_record, bad_length


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

    def elaborate(self, platform):
        m = Module()
        # every stage moves when the output register can take a record
        out_valid = Signal()
        advance = ~out_valid | self.o.ready
        m.d.comb += [self.o.valid.eq(out_valid), self.i.ready.eq(advance)]
        with m.If(self.o.ready):
            m.d.sync += out_valid.eq(0)

        walked = Signal(_Walked)
        gathered = Signal(_Gathered)
        msg = Signal(8 * _KEEP_BYTES)
        out_type = Signal(8)
        # counters take their increments a cycle late (off the decision path)
        counts = {name: Signal(name=f"count_{name}") for name in COUNTERS}
        m.d.sync += [inc.eq(0) for inc in counts.values()]
        for name, inc in counts.items():
            counter = getattr(self, name)
            m.d.sync += counter.eq(counter + inc)
        with m.If(advance):
            self._walk(m, walked)
            self._gather(m, walked, gathered)
            self._decide(m, gathered, counts, out_valid, msg, out_type)
        self._fields(m, msg, out_type)
        return m

    # ---- stage 1: the length prefixes (MoldUDP64 §2.2) ------------------------------------
    def _walk(self, m, walked):
        beat = self.i.payload
        lanes = [beat.data[8 * k:8 * k + 8] for k in range(_LANES)]
        keep = beat.keep
        first, last = beat.first, beat.last

        rel = Signal(_REL_BITS)      # next prefix, bytes from this beat's lane 0
        at = Signal(_LANES)          # ... one-hot: its lane, when it is in this beat
        straddle_reg = Signal()      # the prefix's high byte was lane 7 of the last beat
        hi = Signal(8)

        # each candidate prefix lane, in parallel from the beat's bytes: (length, message's
        # first byte, next prefix relative to the next beat, last byte relative to this beat)
        def candidate(name, length, ms):
            c = {"length": Signal(16, name=f"{name}_length"), "ms": ms,
                 "next": Signal(_REL_BITS, name=f"{name}_next"),
                 "end": Signal(_REL_BITS, name=f"{name}_end"),
                 "next_at": Signal(_LANES, name=f"{name}_next_at"),
                 "short": Signal(name=f"{name}_short"), "end_one": Signal(name=f"{name}_end_one")}
            # (for a block that is not short, length >= 12 > 8 - ms: "the next prefix is in
            # the next beat" and "its last byte is in the next beat" are compares of the
            # length with constants, not of sums)
            small = length[4:] == 0
            m.d.comb += [c["length"].eq(length), c["next"].eq(length + (ms - _LANES)),
                         c["end"].eq(length + (ms - 1)),
                         c["next_at"].eq(Mux(small & (length[:4] < 2 * _LANES - ms),
                                             1 << (length[:3] + ms)[:3], 0)),
                         c["short"].eq(length < self._min_len),
                         c["end_one"].eq(small & (length[:4] < 2 * _LANES + 1 - ms))]
            return c
        cands = [candidate(f"lane{ln}", Cat(lanes[ln + 1], lanes[ln]), ln + 2)
                 for ln in range(_LANES - 1)]
        straddled = candidate("straddled", Cat(lanes[0], hi), 1)

        # the decisions are ANDs of one-hot registers and the beat's ``keep``/``last`` (timing:
        # no lane decode, no add inside the loop); the first beat holds no prefix (byte 20)
        straddle = straddle_reg & ~first
        sel = [at[ln] & keep[ln] & ~first for ln in range(_LANES)]
        cut = [last & ~keep[ln + 1] for ln in range(_LANES - 1)] + [last]
        go = [sel[ln] & ~cut[ln] for ln in range(_LANES - 1)]
        chosen = [(straddle, straddled)] + list(zip(go, cands, strict=True))
        starts = straddle | Cat(*go).any()

        def pick(key, default=0):
            """The chosen candidate's ``key`` (an AND-OR of one-hot selects)."""
            value = Mux(starts, 0, default)
            for cond, c in chosen:
                value = value | Mux(cond, c[key], 0)
            return value

        w = walked
        m.d.sync += [w.valid.eq(self.i.valid), w.beat.eq(beat)]
        end = Signal(_REL_BITS)
        length = Signal(16)
        m.d.comb += [end.eq(pick("end")), length.eq(pick("length"))]
        with m.If(self.i.valid):
            m.d.sync += [
                w.start.eq(starts),
                w.trunc.eq(Cat(*(s & c for s, c in zip(sel, cut, strict=True))).any()),
                w.length.eq(length),
                w.ms.eq(pick("ms")),
                w.end_beats.eq(end[3:]), w.end_one.eq(pick("end_one")), w.end_lane.eq(end[:3]),
                w.short.eq(pick("short")),
                straddle_reg.eq(sel[_LANES - 1] & ~last), hi.eq(lanes[_LANES - 1]),
                rel.eq(Mux(first, HEADER_LEN - _LANES, pick("next", rel - _LANES))),
                at.eq(Mux(first, 0,     # the first prefix is in beat 2 (byte 20)
                          pick("next_at", Mux(rel[3:] == 1, 1 << rel[:3], 0)))),
            ]
        with m.Else():
            m.d.sync += [w.start.eq(0), w.trunc.eq(0)]

    # ---- stage 2: the message in progress -------------------------------------------------
    def _gather(self, m, w, g):
        beat = w.beat
        lanes = [beat.data[8 * k:8 * k + 8] for k in range(_LANES)]
        in_msg_reg = Signal()
        in_msg = Mux(beat.first, 0, in_msg_reg)
        end_now = Signal()           # the message's last byte is in the next beat in
        end_count = Signal(14)       # beats after the next one to its last byte
        end_lane = Signal(3)
        ds_lane = Signal(3)          # its first byte's lane
        length = Signal(16)
        type_reg = Signal(8)
        type_next = Signal()         # its first byte is lane 0 of the next beat
        slot = Signal(4)             # window word of the next beat (8 = past the window)
        window = [Signal(64, name=f"window{j}") for j in range(_WINDOW_WORDS)]

        ends = in_msg & end_now
        in_window = in_msg & (slot < _WINDOW_WORDS)
        # the message as it would be if it ended here (only used when it does: no "in a
        # message" or "first beat" term on this wide path)
        current = [Mux(slot == j, beat.data, window[j]) for j in range(_WINDOW_WORDS)]
        flat = Cat(*current)
        aligned = Signal(8 * _KEEP_BYTES)
        with m.Switch(ds_lane):
            for ln in range(_LANES):
                with m.Case(ln):
                    m.d.comb += aligned.eq(flat[8 * ln:8 * (ln + _KEEP_BYTES)])
        known, is_record, bad_length = _decode_type(m, type_reg, length)
        in_msg_new = (in_msg & ~ends) | (w.start & ~w.short)

        m.d.sync += [
            g.valid.eq(w.valid), g.first.eq(beat.first), g.last.eq(beat.last),
            g.seq.eq(beat.seq), g.skip.eq(beat.skip), g.skip_zero.eq(beat.skip == 0),
            g.line.eq(beat.line),
            g.timestamp.eq(beat.timestamp),
            g.ends.eq(w.valid & ends),
            g.overruns.eq(beat.last & ~beat.keep.bit_select(end_lane, 1)),
            g.msg.eq(aligned), g.type.eq(type_reg), g.known.eq(known),
            g.is_record.eq(is_record), g.bad_length.eq(bad_length),
            g.start.eq(w.valid & w.start), g.short.eq(w.valid & w.start & w.short),
            g.trunc.eq(w.valid & w.trunc),
            g.unfinished.eq(w.valid & beat.last & in_msg_new),
        ]

        with m.If(w.valid):
            with m.If(in_msg & ~ends):
                m.d.sync += [end_count.eq(end_count - 1), end_now.eq(end_count == 0)]
                with m.If(in_window):
                    m.d.sync += slot.eq(slot + 1)
                    for j in range(_WINDOW_WORDS):
                        with m.If(slot == j):
                            m.d.sync += window[j].eq(beat.data)
                with m.If(type_next):
                    m.d.sync += [type_reg.eq(lanes[0]), type_next.eq(0)]
            with m.If(ends | beat.first):
                m.d.sync += in_msg_reg.eq(0)
            # a new message's registers load on any start (when the walk is garbage after
            # a drop, the decide stage ignores what follows)
            with m.If(w.start):
                ds_here = ~w.ms[3]
                m.d.sync += [in_msg_reg.eq(1), length.eq(w.length), ds_lane.eq(w.ms[:3]),
                             end_now.eq(w.end_one), end_count.eq(w.end_beats - 2),
                             end_lane.eq(w.end_lane), slot.eq(ds_here), type_next.eq(~ds_here)]
                with m.If(ds_here):
                    m.d.sync += window[0].eq(beat.data)
                    with m.Switch(w.ms[:3]):
                        for ln in range(_LANES):
                            with m.Case(ln):
                                m.d.sync += type_reg.eq(lanes[ln])

    # ---- stage 3: drops, block index, counters, the record --------------------------------
    def _decide(self, m, g, counts, out_valid, msg, out_type):
        drop_reg = Signal()
        blk_reg = Signal(16)
        fresh_reg = Signal()         # block ``blk_reg`` is at or after ``skip``
        drop = Mux(g.first, 0, drop_reg)
        blk = Mux(g.first, 0, blk_reg)
        fresh = Mux(g.first, g.skip_zero, fresh_reg)

        # the record register loads on every step (timing: no decision on its enable); it is
        # only valid when a record was decided
        m.d.sync += [msg.eq(g.msg), out_type.eq(g.type), self.o.payload.seq.eq(g.seq + blk),
                     self.o.payload.line.eq(g.line), self.o.payload.hw_ts.eq(g.timestamp)]
        completes = g.ends & ~g.overruns & ~drop
        drop_now = drop | (g.ends & (g.overruns | g.bad_length))
        with m.If(g.valid):
            m.d.sync += [drop_reg.eq(drop_now | g.trunc | g.short), blk_reg.eq(blk),
                         fresh_reg.eq(fresh)]
            with m.If(completes):
                m.d.sync += [blk_reg.eq(blk + 1), fresh_reg.eq(blk + 1 >= g.skip)]
                with m.If(g.bad_length):
                    m.d.sync += counts["malformed"].eq(1)
                with m.Elif(fresh & ~g.known):
                    m.d.sync += counts["unknown"].eq(1)
                with m.Elif(fresh & ~g.is_record):
                    m.d.sync += counts["skipped"].eq(1)
                with m.Elif(fresh):
                    m.d.sync += [counts["records"].eq(1), out_valid.eq(1)]
            with m.If(g.ends & g.overruns & ~drop):
                m.d.sync += counts["truncated"].eq(1)
            with m.If(~drop_now):
                with m.If(g.trunc):
                    m.d.sync += counts["truncated"].eq(1)
                with m.Elif(g.start & g.short):
                    m.d.sync += counts["malformed"].eq(1)
                with m.Elif(g.unfinished):
                    m.d.sync += counts["truncated"].eq(1)

    # ---- record fields from the latched message, by type ----------------------------------
    def _fields(self, m, msg, out_type):
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
