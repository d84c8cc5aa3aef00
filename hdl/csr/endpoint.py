"""The control-plane endpoint: ``proto/control`` datagrams in, CSR bus accesses, replies out.

Serves READ, WRITE, TABLE_WRITE and SUBSCRIBE exactly as the Python model
(``sim/model/control``) does, checks in the same order, ERROR replies with
the same codes (and no detail text), so the host tells the two apart only by
the ID register. Control traffic is rare: a datagram is buffered whole, then
served word by word (a few cycles per word) while ``rx`` is held not ready.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tick2trade.proto import control as c

from ..layouts import BYTES_PER_BEAT, beat_stream
from .builder import WORD_BYTES, RegisterMap
from .ports import bus_signature

__all__ = ["ControlEndpoint"]

#: beats of the largest datagram
BUFFER_BEATS = -(-c.MAX_DATAGRAM // BYTES_PER_BEAT)
#: first byte of the word list / row bytes of WRITE, READ_REPLY and TABLE_WRITE
WORDS_AT = c.HEADER.size + 6


def _be_bytes(value, n: int) -> list:
    """``value`` as ``n`` big-endian bytes, first byte first."""
    return [value[8 * (n - 1 - i):8 * (n - i)] for i in range(n)]


def _lanes(data, first: int, n: int):
    """Bytes ``first``..``first+n-1`` of a beat as a big-endian value."""
    return Cat(*reversed([data[8 * (first + i):8 * (first + i + 1)] for i in range(n)]))


class ControlEndpoint(wiring.Component):
    """One control datagram at a time, against the CSR bank of ``regmap``.

    Ports
    -----
    rx : In(beat_stream())
        Request datagrams (UDP payloads), lane 0 first.
    tx : Out(beat_stream())
        Reply datagrams.
    bus : Out(bus_signature(...))
        To :class:`~tick2trade.hdl.csr.CsrBank` ``bus``.
    errors : Out(32)
        Refused datagrams (wire to the ``events.errors`` register).
    mask, subscribed : Out(32), Out(1)
        Event mask of the last SUBSCRIBE, and a one-cycle strobe when it
        arrives (the UDP layer then takes its sender as the subscriber).
    """

    def __init__(self, regmap: RegisterMap, addr_width: int):
        self.regmap = regmap
        super().__init__({
            "rx": In(beat_stream()), "tx": Out(beat_stream()),
            "bus": Out(bus_signature(addr_width)),
            "errors": Out(32), "mask": Out(32), "subscribed": Out(1),
        })

    def _bitmap(self, addrs) -> Const:
        words = -(-self.regmap.size // WORD_BYTES)
        return Const(sum(1 << (a // WORD_BYTES) for a in addrs), words)

    def elaborate(self, platform):
        m = Module()
        regmap = self.regmap
        bus = self.bus
        size_words = -(-regmap.size // WORD_BYTES)
        mapped = self._bitmap({a for p in regmap.registers for a in p.word_addrs()}
                              | {t.row_addr + WORD_BYTES * i for t in regmap.tables
                                 for i in range(t.table.words)}
                              | {t.commit_addr for t in regmap.tables})
        commits = self._bitmap({t.commit_addr for t in regmap.tables})

        m.submodules.rx_buf = rx_buf = Memory(shape=64, depth=BUFFER_BEATS, init=[])
        rx_wr, rx_rd = rx_buf.write_port(), rx_buf.read_port(domain="sync")
        m.submodules.tx_buf = tx_buf = Memory(shape=64, depth=BUFFER_BEATS, init=[])
        tx_wr, tx_rd = tx_buf.write_port(granularity=8), tx_buf.read_port(domain="sync")

        # --- received datagram ---------------------------------------------------------------
        beat_no = Signal(range(BUFFER_BEATS + 2))
        total = Signal(16)            # bytes received
        too_long = Signal()           # more than MAX_DATAGRAM bytes (the buffer is exact)
        too_short = Signal()          # fewer than a header
        head = Signal(64)             # beat 0: the header
        body0 = Signal(64)            # beat 1: the first 8 body bytes
        magic, version = _lanes(head, 0, 2), head[16:24]
        opcode, tag, length = head[24:32], _lanes(head, 4, 2), _lanes(head, 6, 2)
        f_addr, f_count = _lanes(body0, 0, 4), _lanes(body0, 4, 2)      # READ / WRITE
        f_table, f_row = _lanes(body0, 0, 2), _lanes(body0, 2, 4)       # TABLE_WRITE
        # the opcode decoded, registered (valid from the cycle after CHECK)
        op_read, op_write, op_table, op_subscribe = Signal(), Signal(), Signal(), Signal()
        m.d.sync += [op_read.eq(opcode == c.Opcode.READ), op_write.eq(opcode == c.Opcode.WRITE),
                     op_table.eq(opcode == c.Opcode.TABLE_WRITE),
                     op_subscribe.eq(opcode == c.Opcode.SUBSCRIBE)]
        # the header checks, registered the same way (``head`` settles in RECEIVE)
        op_request, op_reply, bad_magic, bad_version = Signal(), Signal(), Signal(), Signal()
        length_differs = Signal()     # LENGTHS
        m.d.sync += [op_request.eq(opcode.matches(*[int(op) for op in c.REQUESTS])),
                     op_reply.eq(opcode.matches(*[int(op) for op in c.Opcode
                                                  if op not in c.REQUESTS])),
                     bad_magic.eq(magic != c.MAGIC), bad_version.eq(version != c.PROTOCOL_VERSION)]
        count = Signal(4)             # bytes of the last beat received
        body_len = Signal(17)         # total - header (MEASURE; may wrap if short)
        write_len_ok, row_len_ok, row_ok = Signal(), Signal(), Signal()  # set in CHECK
        read_len_ok, subscribe_len_ok, body_short, count_ok = (Signal(), Signal(), Signal(),
                                                               Signal())

        # --- the current request ---------------------------------------------------------------
        index = Signal(16)            # word number within the request
        err_code = Signal(8)
        reply_op = Signal(8)
        reply_fixed = Signal(48)      # the body's first 6 bytes, big-endian
        reply_len = Signal(16)        # body bytes of the reply
        address = Signal(34)          # byte address of word ``index`` (no wrap), kept with it

        def bump():
            return [index.eq(index + 1), address.eq(address + WORD_BYTES)]

        def rewind():
            return [index.eq(0), address.eq(f_addr)]
        # where ``address`` falls, registered (used at least a cycle after it changes)
        in_map, is_mapped, is_commit = Signal(), Signal(), Signal()
        word_no = address[2:2 + max(1, (size_words - 1).bit_length())]
        inside = (address[:2] == 0) & (address < regmap.size)
        m.d.sync += [in_map.eq(inside), is_mapped.eq(inside & mapped.bit_select(word_no, 1)),
                     is_commit.eq(inside & commits.bit_select(word_no, 1))]

        # table of a TABLE_WRITE
        t_known, t_row_addr, t_commit = Signal(), Signal(16), Signal(16)
        t_last, t_row_bytes, t_depth = Signal(8), Signal(16), Signal(17)
        t_last_bytes, t_last_bits = Signal(32), Signal(32)
        m.d.sync += t_known.eq(0)  # registered: body0 settles long before they are used
        with m.Switch(f_table):
            for placed in regmap.tables:
                t = placed.table
                with m.Case(t.table_id):
                    m.d.sync += [t_known.eq(1), t_row_addr.eq(placed.row_addr),
                                 t_commit.eq(placed.commit_addr), t_last.eq(t.words - 1),
                                 t_row_bytes.eq(t.row_bytes), t_depth.eq(t.depth),
                                 t_last_bytes.eq((1 << (8 * (t.row_bytes - 4 * (t.words - 1))))
                                                 - 1),
                                 t_last_bits.eq((1 << (t.width - 32 * (t.words - 1))) - 1)]

        # word generator over the received bytes from WORDS_AT (beats 1, 2, ...)
        gen_beat = Signal(range(BUFFER_BEATS + 1))
        prev = Signal(64)
        cur = Signal(64)
        fetched = Signal(64)
        odd = Signal()
        word = Signal(32)
        m.d.comb += rx_rd.addr.eq(gen_beat)
        table_pass = Signal()         # TABLE_WRITE: 0 checks every row word, 1 writes them
        staged = Signal(32)           # row word: little-endian bytes, masked to the row
        fits = Signal()
        byte_mask = Signal(32)        # registered with ``word`` (state GEN): the last row
        bit_mask = Signal(32)         # word keeps the row's bytes, and must fit its bits
        next_byte_mask = Mux(index == t_last, t_last_bytes, 0xFFFF_FFFF)
        next_bit_mask = Mux(index == t_last, t_last_bits, 0xFFFF_FFFF)
        m.d.comb += staged.eq(Cat(*_be_bytes(word, 4)) & byte_mask)

        # reply buffer writes and streaming
        out_beat = Signal(range(BUFFER_BEATS + 1))
        last_beat = Signal(range(BUFFER_BEATS + 1))
        last_keep = Signal(8)
        m.d.comb += tx_rd.addr.eq(out_beat)
        reply_total = Signal(17)      # header + body bytes of the reply (REPLY_HEAD)

        def header_beat():
            fields = [Const(c.MAGIC >> 8, 8), Const(c.MAGIC & 0xFF, 8),
                      Const(c.PROTOCOL_VERSION, 8), reply_op, *_be_bytes(tag, 2),
                      *_be_bytes(reply_len, 2)]
            return Cat(*fields)

        # bus accesses are requested here and issued registered (one cycle later), so the
        # bank's address decode starts from flip-flops; replies come the cycle after that
        req_addr, req_data = Signal(len(bus.addr)), Signal(32)
        req_r, req_w = Signal(), Signal()
        m.d.sync += [bus.addr.eq(req_addr), bus.w_data.eq(req_data), bus.r_stb.eq(req_r),
                     bus.w_stb.eq(req_w)]

        def error(code):
            return [err_code.eq(code), reply_op.eq(c.Opcode.ERROR)]

        with m.FSM():
            with m.State("RECEIVE"):
                m.d.comb += self.rx.ready.eq(1)
                data = self.rx.payload
                with m.If(self.rx.valid):
                    # the beat's byte count is registered and added with the next beat (and
                    # the last one in TALLY): a count and a sum in one cycle are too slow
                    m.d.sync += count.eq(sum(data.keep[i] for i in range(BYTES_PER_BEAT)))
                    with m.If(data.first):
                        m.d.sync += [beat_no.eq(1), too_long.eq(0), total.eq(0),
                                     head.eq(data.data)]
                        m.d.comb += [rx_wr.addr.eq(0), rx_wr.data.eq(data.data), rx_wr.en.eq(1)]
                    with m.Else():
                        m.d.sync += [beat_no.eq(beat_no + 1), total.eq(total + count)]
                        with m.If(beat_no < BUFFER_BEATS):
                            m.d.comb += [rx_wr.addr.eq(beat_no), rx_wr.data.eq(data.data),
                                         rx_wr.en.eq(1)]
                        with m.Else():
                            m.d.sync += too_long.eq(1)
                        with m.If(beat_no == 1):
                            m.d.sync += body0.eq(data.data)
                    with m.If(data.last):
                        m.next = "TALLY"

            # the checks, one carry chain per cycle: the byte count, the body length, then
            # every length and field check into a flag, then their priority (CHECK)
            with m.State("TALLY"):
                m.d.sync += total.eq(total + count)
                m.next = "MEASURE"
            with m.State("MEASURE"):
                m.d.sync += [body_len.eq(total - c.HEADER.size),
                             too_short.eq(total < c.HEADER.size)]
                m.next = "LENGTHS"
            with m.State("LENGTHS"):
                m.d.sync += [length_differs.eq(body_len != length),
                             write_len_ok.eq(body_len == 6 + (f_count << 2)),
                             row_len_ok.eq(body_len - 6 == t_row_bytes),
                             row_ok.eq(f_row < t_depth), read_len_ok.eq(body_len == 6),
                             subscribe_len_ok.eq(body_len == 4), body_short.eq(body_len < 6),
                             count_ok.eq(f_count <= c.MAX_WORDS)]
                m.next = "CHECK"

            with m.State("CHECK"):  # the order of sim/model/control.handle
                m.d.sync += [*rewind(), reply_op.eq(opcode | 0x80), err_code.eq(0),
                             gen_beat.eq(2), prev.eq(body0), odd.eq(0), table_pass.eq(0)]
                m.next = "DISPATCH"
                with m.If(too_long):
                    m.d.sync += [*error(c.ErrorCode.TOO_LONG), head.eq(0)]
                    m.next = "ERROR"
                with m.Elif(too_short):
                    m.d.sync += [*error(c.ErrorCode.BAD_LENGTH), head.eq(0)]
                    m.next = "ERROR"
                with m.Elif(bad_magic):
                    m.d.sync += [*error(c.ErrorCode.BAD_MAGIC), head.eq(0)]
                    m.next = "ERROR"
                with m.Elif(bad_version):
                    m.d.sync += error(c.ErrorCode.BAD_VERSION)
                    m.next = "ERROR"
                with m.Elif(length_differs):
                    m.d.sync += error(c.ErrorCode.BAD_LENGTH)
                    m.next = "ERROR"
                with m.Elif(op_reply):
                    m.d.sync += error(c.ErrorCode.NOT_A_REQUEST)
                    m.next = "ERROR"
                with m.Elif(~op_request):
                    m.d.sync += error(c.ErrorCode.UNKNOWN_OPCODE)
                    m.next = "ERROR"

            with m.State("DISPATCH"):  # opcode is a request (CHECK)
                with m.If(op_read):
                    with m.If(~read_len_ok):
                        m.d.sync += error(c.ErrorCode.BAD_LENGTH)
                        m.next = "ERROR"
                    with m.Elif(~count_ok):
                        m.d.sync += error(c.ErrorCode.TOO_LONG)
                        m.next = "ERROR"
                    with m.Else():
                        m.d.sync += [reply_fixed.eq(Cat(f_count, f_addr)),
                                     reply_len.eq(6 + (f_count << 2))]
                        m.next = "READ_CHECK"
                with m.Elif(op_write):
                    with m.If(body_short | ~write_len_ok):
                        m.d.sync += error(c.ErrorCode.BAD_LENGTH)
                        m.next = "ERROR"
                    with m.Else():
                        m.d.sync += [reply_fixed.eq(Cat(f_count, f_addr)), reply_len.eq(6)]
                        m.next = "WRITE_NEXT"
                with m.Elif(op_table):
                    with m.If(body_short):
                        m.d.sync += error(c.ErrorCode.BAD_LENGTH)
                        m.next = "ERROR"
                    with m.Elif(~t_known):
                        m.d.sync += error(c.ErrorCode.BAD_TABLE)
                        m.next = "ERROR"
                    with m.Elif(~row_len_ok):
                        m.d.sync += error(c.ErrorCode.BAD_LENGTH)
                        m.next = "ERROR"
                    with m.Elif(~row_ok):
                        m.d.sync += error(c.ErrorCode.BAD_ROW)
                        m.next = "ERROR"
                    with m.Else():
                        m.d.sync += [reply_fixed.eq(Cat(f_row, f_table)), reply_len.eq(6)]
                        m.next = "TABLE_FETCH"
                with m.Elif(op_subscribe):
                    with m.If(~subscribe_len_ok):
                        m.d.sync += error(c.ErrorCode.BAD_LENGTH)
                        m.next = "ERROR"
                    with m.Else():
                        m.d.sync += [self.mask.eq(f_addr), reply_fixed.eq(f_addr << 16),
                                     reply_len.eq(4)]
                        m.d.comb += self.subscribed.eq(1)
                        m.next = "REPLY_HEAD"

            # READ: every address first, then word by word into the reply buffer
            with m.State("READ_CHECK"):
                m.next = "READ_EVAL"
            with m.State("READ_EVAL"):
                m.next = "READ_CHECK"
                with m.If(index == f_count):
                    m.d.sync += rewind()
                    m.next = "READ_WORD"
                with m.Elif(~is_mapped):
                    m.d.sync += error(c.ErrorCode.BAD_ADDRESS)
                    m.next = "ERROR"
                with m.Else():
                    m.d.sync += bump()
            with m.State("READ_WORD"):
                with m.If(index == f_count):
                    m.next = "REPLY_HEAD"
                with m.Else():
                    m.d.comb += [req_addr.eq(address), req_r.eq(1)]
                    m.next = "READ_WAIT"
            with m.State("READ_WAIT"):       # the access is issued (registered) now
                m.next = "READ_WAIT2"
            with m.State("READ_WAIT2"):      # the bank decodes; r_data next cycle
                m.next = "READ_STORE"
            with m.State("READ_STORE"):
                # word i at reply byte WORDS_AT + 4i: lanes 6-7 and 0-1 (i even) or 2-5 (odd)
                at = WORDS_AT + (index << 2)
                b = _be_bytes(bus.r_data, 4)
                m.d.comb += tx_wr.addr.eq(at[3:])
                with m.If(index[0]):
                    m.d.comb += [tx_wr.data.eq(Cat(Const(0, 16), *b, Const(0, 16))),
                                 tx_wr.en.eq(0b0011_1100)]
                    m.d.sync += bump()
                    m.next = "READ_WORD"
                with m.Else():
                    m.d.comb += [tx_wr.data.eq(Cat(Const(0, 48), b[0], b[1])),
                                 tx_wr.en.eq(0b1100_0000)]
                    m.d.sync += word.eq(bus.r_data)
                    m.next = "READ_STORE2"
            with m.State("READ_STORE2"):
                at = WORDS_AT + (index << 2)
                b = _be_bytes(word, 4)
                m.d.comb += [tx_wr.addr.eq(at[3:] + 1), tx_wr.data.eq(Cat(b[2], b[3],
                                                                          Const(0, 48))),
                             tx_wr.en.eq(0b0000_0011)]
                m.d.sync += bump()
                m.next = "READ_WORD"

            # word generator: beat ``gen_beat`` arrives; even words straddle two beats
            with m.State("WRITE_NEXT"):
                with m.If(index == f_count):
                    m.next = "REPLY_HEAD"
                with m.Else():
                    m.next = "GEN_LOAD"
            with m.State("TABLE_FETCH"):
                m.next = "GEN_LOAD"
            with m.State("GEN_LOAD"):         # the buffer's output, registered (slow BRAM)
                m.d.sync += fetched.eq(rx_rd.data)
                m.next = "GEN"
            with m.State("GEN"):
                with m.If(~odd):
                    m.d.sync += [cur.eq(fetched),
                                 word.eq(Cat(_lanes(fetched, 0, 2), _lanes(prev, 6, 2)))]
                with m.Else():
                    m.d.sync += [word.eq(_lanes(cur, 2, 4)), prev.eq(cur),
                                 gen_beat.eq(gen_beat + 1)]
                m.d.sync += [odd.eq(~odd), byte_mask.eq(next_byte_mask),
                             bit_mask.eq(next_bit_mask)]
                m.next = "FIT"
            with m.State("FIT"):              # registered: the row word has no bit past the row
                m.d.sync += fits.eq((staged & ~bit_mask) == 0)
                m.next = "USE"
            with m.State("USE"):
                with m.If(op_write):
                    with m.If(~in_map):
                        m.d.sync += error(c.ErrorCode.BAD_ADDRESS)
                        m.next = "ERROR"
                    with m.Else():
                        m.d.comb += [req_addr.eq(address), req_data.eq(word), req_w.eq(1)]
                        m.next = "WRITE_WAIT"
                with m.Elif(~table_pass):
                    with m.If(~fits):
                        m.d.sync += error(c.ErrorCode.BAD_ROW)
                        m.next = "ERROR"
                    with m.Elif(index == t_last):
                        m.d.sync += [*rewind(), table_pass.eq(1), gen_beat.eq(2),
                                     prev.eq(body0), odd.eq(0)]
                        m.next = "TABLE_FETCH"
                    with m.Else():
                        m.d.sync += bump()
                        m.next = "TABLE_FETCH"
                with m.Else():
                    m.d.comb += [req_addr.eq(t_row_addr + (index << 2)), req_data.eq(staged),
                                 req_w.eq(1)]
                    with m.If(index == t_last):
                        m.next = "TABLE_COMMIT"
                    with m.Else():
                        m.d.sync += bump()
                        m.next = "TABLE_FETCH"
            with m.State("WRITE_WAIT"):
                m.next = "WRITE_WAIT2"
            with m.State("WRITE_WAIT2"):
                m.next = "WRITE_CHECK"
            with m.State("WRITE_CHECK"):
                with m.If(bus.error):
                    with m.If(is_commit):
                        m.d.sync += error(c.ErrorCode.BAD_ROW)
                    with m.Elif(is_mapped):
                        m.d.sync += error(c.ErrorCode.READ_ONLY)
                    with m.Else():
                        m.d.sync += error(c.ErrorCode.BAD_ADDRESS)
                    m.next = "ERROR"
                with m.Else():
                    m.d.sync += bump()
                    m.next = "WRITE_NEXT"
            with m.State("TABLE_COMMIT"):
                m.d.comb += [req_addr.eq(t_commit), req_data.eq(f_row), req_w.eq(1)]
                m.next = "REPLY_HEAD"

            with m.State("ERROR"):
                m.d.sync += [self.errors.eq(self.errors + 1), reply_len.eq(6),
                             reply_fixed.eq(Cat((self.errors + 1)[:32], opcode, err_code))]
                m.next = "REPLY_HEAD"

            # reply: header beat, the fixed six body bytes, then the buffer streams out
            with m.State("REPLY_HEAD"):
                m.d.comb += [tx_wr.addr.eq(0), tx_wr.data.eq(header_beat()),
                             tx_wr.en.eq(0xFF)]
                m.d.sync += reply_total.eq(c.HEADER.size + reply_len)
                m.next = "REPLY_FIXED"
            with m.State("REPLY_FIXED"):
                m.d.comb += [tx_wr.addr.eq(1), tx_wr.data.eq(Cat(*_be_bytes(reply_fixed, 6))),
                             tx_wr.en.eq(0b0011_1111)]
                m.d.sync += [out_beat.eq(0), last_beat.eq(((reply_total + 7) >> 3) - 1),
                             last_keep.eq(Mux(reply_total[:3] != 0,
                                              (Const(1, 9) << reply_total[:3]) - 1, 0xFF))]
                m.next = "SEND_FETCH"
            with m.State("SEND_FETCH"):
                m.next = "SEND"
            with m.State("SEND"):
                last = out_beat == last_beat
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.data.eq(tx_rd.data),
                             self.tx.payload.first.eq(out_beat == 0),
                             self.tx.payload.last.eq(last),
                             self.tx.payload.keep.eq(Mux(last, last_keep, 0xFF))]
                with m.If(self.tx.ready):
                    m.d.sync += out_beat.eq(out_beat + 1)
                    m.next = "SEND_FETCH"
                    with m.If(last):
                        m.next = "RECEIVE"
        return m
