# SPDX-License-Identifier: MIT
"""Program generators, written once over a source of choices.

The same generator code serves hypothesis (``strategies.py`` wraps a hypothesis
``data.draw`` as a :class:`Source`, so examples shrink) and the fast random campaign
(``fuzz.py`` uses :class:`RandomSource`, seeded, so a seed reproduces a run).

* :data:`VALID` maps every mnemonic to a generator of a short, valid use of it (operand
  set-up included) with interesting operands: zero, +-1, min/max integers, NaN, Inf,
  denormals, aliased source and destination registers and overlapping SRAM ranges.
* :data:`TRAPS` maps trap names to generators of an instruction that raises it.
* :func:`gen_case` builds whole programs: random initial registers, SRAM and device memory,
  then a body of nested blocks (forward branches, counted loops, calls) that terminates
  and stays inside the case's SRAM and memory region.
"""

from __future__ import annotations

import random
from typing import Callable, Sequence

from .. import _isa_tables as T
from . import program as P
from .program import EndRef, Label, Op, Word, op, set_reg

MASK64 = (1 << 64) - 1
SREG = {name: sid for name, (sid, _d) in T.SREGS.items()}


class Source:
    """Where a generator's choices come from."""

    def int(self, lo: int, hi: int) -> int:  # inclusive
        raise NotImplementedError

    def choice(self, seq: Sequence):
        return seq[self.int(0, len(seq) - 1)]

    def bool(self, p: float = 0.5) -> bool:
        """True with probability about ``p`` (shrinks to False)."""
        return self.int(0, 999) >= 1000 - int(p * 1000)

    def weighted(self, table: Sequence[tuple[float, object]]):
        """An item of ``[(weight, item), ...]``, the first being the simplest."""
        total = sum(w for w, _ in table)
        x = self.int(0, 9999) * total / 10000
        for w, item in table:
            if x < w:
                return item
            x -= w
        return table[-1][1]


class RandomSource(Source):
    def __init__(self, seed):
        self.r = random.Random(seed)

    def int(self, lo, hi):
        return self.r.randint(lo, hi)

    def choice(self, seq):
        return seq[self.r.randrange(len(seq))]

    def bool(self, p=0.5):
        return self.r.random() < p


# --------------------------------------------------------------------------- values


INT64_SPECIAL = [
    0, 1, MASK64, 2, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0x7FFFFFFF, 0x80000000,
    0xFFFFFFFF, 0xFFFFFFFF80000000, 0x100000000, 63, 64, 65, 0x80, 0xFF, 0xFFFF, 0x8000,
    0xFFFFFFFFFFFFFFFE, 0x8000000000000001, 3, 7, 31, 32,
]
IMM_SPECIAL = [0, 1, -1, 2, 0x7FFFFFFF, -0x80000000, 63, 64, 65, 31, 32, -64, -2, 0xFF,
               0x7FFF, -0x8000, 0x10000]


def value64(src: Source) -> int:
    kind = src.weighted([(4, "special"), (2, "small"), (2, "s32"), (2, "any")])
    if kind == "special":
        return src.choice(INT64_SPECIAL)
    if kind == "small":
        return src.int(-16, 16) & MASK64
    if kind == "s32":
        return src.int(-(1 << 31), (1 << 31) - 1) & MASK64
    return src.int(0, MASK64)


def imm32(src: Source) -> int:
    if src.bool(0.6):
        return src.choice(IMM_SPECIAL)
    return src.int(-(1 << 31), (1 << 31) - 1)


def seed(src: Source) -> int:
    return 0 if src.bool(0.2) else src.int(1, (1 << 31) - 1)


# --------------------------------------------------------------------------- context


class Ctx:
    """Generation state: registers that must not be written (live loop counters and link
    registers), nesting depth, label numbering and the functions to place after the body."""

    def __init__(self, src: Source, depth: int = 0, reserved=(), in_function=False,
                 shared=None):
        self.src = src
        self.depth = depth
        self.reserved = frozenset(reserved)
        self.in_function = in_function
        self.shared = shared if shared is not None else {"labels": 0, "funcs": []}

    def sub(self, reserve=(), function=None) -> "Ctx":
        return Ctx(self.src, self.depth + 1, self.reserved | set(reserve),
                   self.in_function if function is None else function, self.shared)

    def label(self) -> str:
        self.shared["labels"] += 1
        return f"L{self.shared['labels']}"

    def rd(self, allow_zero=True) -> int:
        """A destination register (r0 sometimes: its writes are dropped)."""
        if allow_zero and self.src.bool(0.05):
            return 0
        return self.tmp()

    def tmp(self, avoid=()) -> int:
        """A writable register other than r0."""
        regs = [r for r in range(1, 32) if r not in self.reserved and r not in avoid]
        return self.src.choice(regs)

    def rs(self) -> int:
        return self.src.int(0, 31)


# --------------------------------------------------------------------------- valid uses


VALID: dict[str, Callable[[Ctx], list]] = {}


def gen(*names):
    def reg(fn):
        for n in names:
            VALID[n] = fn
        return fn
    return reg


def _setup_operand(ctx: Ctx, avoid=()) -> tuple[int, list]:
    """A source register, sometimes freshly set to an interesting value."""
    if ctx.src.bool(0.5):
        r = ctx.tmp(avoid)
        return r, set_reg(r, value64(ctx.src))
    return ctx.rs(), []


def _rr(name):
    def fn(ctx):
        a, pre_a = _setup_operand(ctx)
        b, pre_b = _setup_operand(ctx, avoid=(a,) if pre_a else ())
        rd = ctx.src.choice([ctx.rd(), a if a and a not in ctx.reserved else ctx.rd(),
                             b if b and b not in ctx.reserved else ctx.rd()])
        return pre_a + pre_b + [op(name, rd=rd, rs1=a, rs2=b)]
    return fn


def _ri(name):
    def fn(ctx):
        a, pre = _setup_operand(ctx)
        rd = a if a and a not in ctx.reserved and ctx.src.bool(0.3) else ctx.rd()
        return pre + [op(name, rd=rd, rs1=a, imm=imm32(ctx.src))]
    return fn


for _n in ("add", "sub", "mul", "div", "divu", "rem", "remu", "and", "or", "xor", "shl",
           "shr", "sra", "slt", "sltu"):
    VALID[_n] = _rr(_n)
for _n in ("addi", "andi", "ori", "xori", "shli", "shri", "srai", "slti", "sltiu", "muli"):
    VALID[_n] = _ri(_n)


for _n in ("li", "lih"):
    VALID[_n] = (lambda name: lambda ctx: [op(name, rd=ctx.rd(), imm=imm32(ctx.src))])(_n)


def items(ctx: Ctx, lo: int, hi: int, simple: bool = False) -> list:
    """``lo``..``hi`` random items; ``simple`` keeps to straight-line code."""
    out = []
    for _ in range(ctx.src.int(lo, hi)):
        out += item(ctx, simple)
    return out


_CONTROL = ("beq", "bne", "blt", "bge", "bltu", "bgeu", "jmp", "jal", "jr", "loop", "halt")


def item(ctx: Ctx, simple: bool = False) -> list:
    names = STRAIGHT if simple or ctx.depth >= 2 else ALL_VALID
    name = ctx.src.choice(names)
    if name == "halt" and not ctx.src.bool(0.15):
        name = "nop"  # an early halt ends the program before the epilogue: keep it rare
    return VALID[name](ctx)


def _branch(name):
    def fn(ctx):
        a, pre_a = _setup_operand(ctx)
        if ctx.src.bool(0.3):  # equal operands: the other outcome
            b, pre_b = a, []
        else:
            b, pre_b = _setup_operand(ctx, avoid=(a,))
        skip = ctx.label()
        if ctx.src.bool(0.2) and ctx.depth < 2:
            # A backward branch closing a counted loop: c = n; L: ...; c -= 1; bne/blt
            c = ctx.tmp()
            top = ctx.label()
            n = ctx.src.int(1, 3)
            body = items(ctx.sub(reserve=(c,)), 0, 3)
            cond = {"bne": ("bne", c, 0), "blt": ("blt", 0, c), "bltu": ("bltu", 0, c),
                    "bge": ("bge", c, 1), "bgeu": ("bgeu", c, 1), "beq": None}[name]
            if cond is not None:
                tail = [op("addi", rd=c, rs1=c, imm=-1),
                        op(cond[0], rs1=cond[1], rs2=cond[2], target=top)]
                return set_reg(c, n) + [Label(top)] + body + tail
        body = items(ctx.sub(), 0, 3) if ctx.depth < 2 else items(ctx.sub(), 0, 2, True)
        return pre_a + pre_b + [op(name, rs1=a, rs2=b, target=skip)] + body + [Label(skip)]
    return fn


for _n in ("beq", "bne", "blt", "bge", "bltu", "bgeu"):
    VALID[_n] = _branch(_n)


@gen("jmp")
def _g_jmp(ctx):
    skip = ctx.label()
    dead = [Word(ctx.src.int(0, MASK64)) if ctx.src.bool(0.5) else op("halt")]
    return [op("jmp", target=skip)] + dead + [Label(skip)]


@gen("jal")
def _g_jal(ctx):
    link = ctx.tmp()
    if ctx.in_function or ctx.depth >= 2 or ctx.src.bool(0.2):
        return [op("jal", rd=link, target=1)]  # to the next instruction: only links
    f = ctx.label()
    body = items(ctx.sub(reserve=(link,), function=True), 0, 4)
    ctx.shared["funcs"].append([Label(f)] + body + [op("jr", rs1=link)])
    return [op("jal", rd=link, target=f)]


@gen("jr")
def _g_jr(ctx):
    r = ctx.tmp()
    skip = ctx.label()
    return [op("li", rd=r, imm=P.CodeRef(skip)), op("jr", rs1=r), op("halt"), Label(skip)]


@gen("loop")
def _g_loop(ctx):
    c = ctx.tmp()
    top = ctx.label()
    body = items(ctx.sub(reserve=(c,)), 0, 3) if ctx.depth < 2 else []
    return set_reg(c, ctx.src.int(1, 4)) + [Label(top)] + body + [op("loop", rd=c, target=top)]


@gen("halt")
def _g_halt(ctx):
    return [op("halt")]


@gen("nop")
def _g_nop(ctx):
    return [op("nop")]


@gen("csrr")
def _g_csrr(ctx):
    return [op("csrr", rd=ctx.rd(), sreg=ctx.src.choice(sorted(SREG.values())))]


@gen("ldarg")
def _g_ldarg(ctx):
    return [op("ldarg", rd=ctx.rd(), arg=ctx.src.int(0, P.NARGS - 1))]


_LOAD_SIZE = {"lb": 1, "lbu": 1, "lh": 2, "lhu": 2, "lw": 4, "lwu": 4, "ld": 8}
_STORE_SIZE = {"sb": 1, "sh": 2, "sw": 4, "sd": 8}


def _address(ctx: Ctx, addr: int, base: int) -> tuple[list, int]:
    """Set-up making ``imm(base)`` address ``addr``: the immediate is interesting and the
    base register holds the rest (wrapping modulo 2^64)."""
    if base == 0:
        return [], addr
    imm = ctx.src.choice([0, 0, 8, -8, 1, -1, 0x7FFFFFFF, -0x80000000, ctx.src.int(-64, 64)])
    return set_reg(base, (addr - imm) & MASK64), imm


def _mem(name):
    def fn(ctx):
        size = _LOAD_SIZE.get(name) or _STORE_SIZE[name]
        addr = ctx.src.choice([0, P.TEST_SRAM - size, ctx.src.int(0, P.TEST_SRAM // size - 1)
                               * size])
        use_zero = ctx.src.bool(0.15)
        base = 0 if use_zero else ctx.tmp()
        pre, imm = _address(ctx, addr, base)
        if name in _LOAD_SIZE:
            rd = base if base and ctx.src.bool(0.3) else ctx.rd()
            return pre + [op(name, rd=rd, rs1=base, imm=imm)]
        rs2 = base if ctx.src.bool(0.2) else ctx.rs()
        return pre + [op(name, rs2=rs2, rs1=base, imm=imm)]
    return fn


for _n in list(_LOAD_SIZE) + list(_STORE_SIZE):
    VALID[_n] = _mem(_n)


def region_address(ctx: Ctx, reg: int, offset: int, tmp: int) -> list:
    """reg = this case's device-memory region + offset (PROGRAM_ID picks the region)."""
    return [
        op("ldarg", rd=reg, arg=0),
        op("csrr", rd=tmp, sreg=SREG["PROGRAM_ID"]),
        op("muli", rd=tmp, rs1=tmp, imm=P.REGION),
        op("add", rd=reg, rs1=reg, rs2=tmp),
        op("addi", rd=reg, rs1=reg, imm=offset),
    ]


def _dma_size(ctx: Ctx, limit: int) -> int:
    return min(limit, ctx.src.choice([0, 1, 7, 8, 64, 65, limit, ctx.src.int(0, limit)]))


def _dma(name):
    def fn(ctx):
        s = ctx.src
        n = _dma_size(ctx, P.TEST_SRAM)
        sram = s.int(0, P.TEST_SRAM - n)
        off = s.int(0, P.REGION - n)
        va_r = ctx.tmp()
        t = ctx.tmp(avoid=(va_r,))
        sram_r = ctx.tmp(avoid=(va_r,))
        n_r = ctx.tmp(avoid=(va_r, sram_r))
        pre = region_address(ctx, va_r, off, t)
        if sram == n and s.bool(0.5):  # one register for both the SRAM address and size
            n_r = sram_r
            pre += set_reg(sram_r, sram)
        else:
            pre += set_reg(sram_r, sram) + set_reg(n_r, n)
        tag = s.int(0, 15)
        if name == "dma.ld":
            insn = op(name, rd=sram_r, rs1=va_r, rs2=n_r, imm=tag)
        else:
            insn = op(name, rd=va_r, rs1=sram_r, rs2=n_r, imm=tag)
        # Between issue and wait only register work that leaves the operands alone.
        mid = items(ctx.sub(reserve=(va_r, sram_r, n_r)), 0, 2, simple=True) \
            if s.bool(0.3) else []
        mid = [x for x in mid if not _touches_memory(x)]
        return pre + [insn] + mid + [op("dma.wait", imm=tag)]
    return fn


def _touches_memory(x) -> bool:
    return isinstance(x, Op) and (x.name in _LOAD_SIZE or x.name in _STORE_SIZE
                                  or x.name.startswith(("dma.", "v")) or x.name == "halt")


VALID["dma.ld"] = _dma("dma.ld")
VALID["dma.st"] = _dma("dma.st")


@gen("dma.wait")
def _g_wait(ctx):
    return [op("dma.wait", imm=ctx.src.int(0, 15))]


def vector_count(ctx: Ctx, esize: int, limit_bytes: int) -> int:
    most = limit_bytes // esize
    return min(most, ctx.src.choice([0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 33,
                                     ctx.src.int(0, most), most]))


def vector_addresses(ctx: Ctx, n_src: int, esize: int, count: int) -> list[int]:
    """Sources then destination, ``esize``-aligned, in the test SRAM; sometimes equal or
    overlapping (shifted by a few elements either way)."""
    span = count * esize
    top = (P.TEST_SRAM - span) // esize
    addrs = [ctx.src.int(0, top) * esize for _ in range(n_src + 1)]
    mode = ctx.src.weighted([(3, "apart"), (1, "dst=src"), (1, "src=src"), (1, "shifted")])
    if mode == "dst=src":
        addrs[-1] = addrs[ctx.src.int(0, n_src - 1)]
    elif mode == "src=src" and n_src > 1:
        addrs[1] = addrs[0]
    elif mode == "shifted":
        k = ctx.src.choice([-2, -1, 1, 2]) * esize
        a = addrs[ctx.src.int(0, n_src - 1)]
        addrs[-1] = min(max(a + k, 0), top * esize)
    return addrs


def vector_op(ctx: Ctx, name: str, n_src: int, esize: int, out_esize: int | None = None,
              count_field: str = "rs3") -> list:
    """Set-up and a vector instruction ``name rd, rs1[, rs2], count`` over SRAM."""
    out_esize = out_esize or esize
    count = vector_count(ctx, max(esize, out_esize), P.TEST_SRAM)
    addrs = vector_addresses(ctx, n_src, max(esize, out_esize), count)
    regs: dict[int, int] = {}  # address -> register (equal addresses may share one)
    pre = []
    fields = ["rs1", "rs2"][:n_src] + ["rd"]
    ops = {}
    used: set[int] = set()
    for f, a in zip(fields, addrs):
        if a in regs and ctx.src.bool(0.5):
            ops[f] = regs[a]
            continue
        r = 0 if a == 0 and ctx.src.bool(0.3) else ctx.tmp(avoid=used)
        if r:
            used.add(r)
            pre += set_reg(r, a)
        regs[a] = r
        ops[f] = r
    c = ctx.tmp(avoid=used) if count else (0 if ctx.src.bool(0.5) else ctx.tmp(avoid=used))
    if c:
        pre += set_reg(c, count)
    ops[count_field] = c
    return pre + [op(name, **ops)]


for _n in ("vadd.f32", "vadd.i32", "vmul.f32", "vmul.i32"):
    VALID[_n] = (lambda name: lambda ctx: vector_op(ctx, name, 2, 4))(_n)


# --------------------------------------------------------------------------- traps


TRAPS: dict[str, Callable[[Ctx], list]] = {}


def trap(name):
    def reg(fn):
        TRAPS[name] = fn
        return fn
    return reg


def _illegal_word(src: Source) -> int:
    from . import refmodel as rm
    for _ in range(100):
        kind = src.weighted([(2, "random"), (2, "flip"), (1, "sreg"), (1, "tag"),
                             (1, "opcode")])
        if kind == "random":
            w = src.int(0, MASK64)
        elif kind == "flip":
            d = src.choice(T.INSNS)
            free = [b for b in range(64) if (d["mask"] >> b) & 1 and not (d["match"] >> b) & 1]
            w = d["match"] | (1 << src.choice(free)) if free else src.int(0, MASK64)
        elif kind == "sreg":
            w = (op_word("csrr", rd=src.int(0, 31), sreg=0)
                 | (src.choice([len(SREG), len(SREG) + 1, 0xFFFF, 0xFFFFFFFF,
                                src.int(len(SREG), 0xFFFFFFFF)]) << 32))
        elif kind == "tag":
            tag = src.choice([16, 17, 0xFFFFFFFF, 0x80000000, src.int(16, 0xFFFFFFFF)])
            w = op_word(src.choice(["dma.ld", "dma.st", "dma.wait"])) | (tag << 32)
        else:
            used = {d["opcode"] for d in T.INSNS}
            free_ops = [o for o in range(256) if o not in used]
            w = src.choice(free_ops) | (src.int(0, MASK64) & ~0xFF if src.bool() else 0)
        if rm.decode(w) is None:
            return w
    return 0  # the all-zero word is illegal (opcode 0 is never assigned)


def op_word(name: str, **ops) -> int:
    d = next(d for d in T.INSNS if d["name"] == name)
    w = d["match"]
    for f, v in ops.items():
        lsb, width, _k = T.FIELDS[f]
        w |= (v & ((1 << width) - 1)) << lsb
    return w


@trap("ILLEGAL_INSN")
def _t_illegal(ctx):
    return [Word(_illegal_word(ctx.src))]


def _oob_addr(ctx: Ctx, size: int, align: int) -> int:
    """An ``align``-aligned address whose ``size`` bytes do not fit in the SRAM (some
    where address + size overflows 64 bits)."""
    sram = P.SRAM_BYTES
    a = ctx.src.choice([sram, sram - align, 1 << 63, (1 << 64) - align, 1 << 32,
                        ctx.src.int(sram, 1 << 40), ctx.src.int(0, MASK64)])
    a -= a % align
    return sram if a + size <= sram else a


@trap("SRAM_OOB")
def _t_sram_oob(ctx):
    kind = ctx.src.weighted([(2, "scalar"), (1, "vector"), (1, "dma")])
    if kind == "scalar":
        name = ctx.src.choice(list(_LOAD_SIZE) + list(_STORE_SIZE))
        size = _LOAD_SIZE.get(name) or _STORE_SIZE[name]
        base = ctx.tmp()
        pre, imm = _address(ctx, _oob_addr(ctx, size, size), base)
        if name in _LOAD_SIZE:
            return pre + [op(name, rd=ctx.rd(), rs1=base, imm=imm)]
        return pre + [op(name, rs2=ctx.rs(), rs1=base, imm=imm)]
    if kind == "vector":
        return vector_trap(ctx, "SRAM_OOB")
    n = ctx.src.choice([1, 8, P.SRAM_BYTES, P.SRAM_BYTES + 1, 1 << 63, MASK64])
    sram = ctx.src.choice([P.SRAM_BYTES - 1, P.SRAM_BYTES, 0, MASK64, 1 << 40])
    if sram + n <= P.SRAM_BYTES:
        sram = P.SRAM_BYTES
    return _dma_with(ctx, ctx.src.choice(["dma.ld", "dma.st"]), sram, n, 0)


def _dma_with(ctx: Ctx, name: str, sram: int, n: int, region_off: int | None,
              va: int | None = None) -> list:
    va_r, t = ctx.tmp(), None
    t = ctx.tmp(avoid=(va_r,))
    s_r = ctx.tmp(avoid=(va_r,))
    n_r = ctx.tmp(avoid=(va_r, s_r))
    pre = region_address(ctx, va_r, region_off, t) if va is None else set_reg(va_r, va)
    pre += set_reg(s_r, sram) + set_reg(n_r, n)
    tag = ctx.src.int(0, 15)
    if name == "dma.ld":
        return pre + [op(name, rd=s_r, rs1=va_r, rs2=n_r, imm=tag)]
    return pre + [op(name, rd=va_r, rs1=s_r, rs2=n_r, imm=tag)]


@trap("MISALIGNED")
def _t_misaligned(ctx):
    if ctx.src.bool(0.25):
        return vector_trap(ctx, "MISALIGNED")
    name = ctx.src.choice(["lh", "lhu", "lw", "lwu", "ld", "sh", "sw", "sd"])
    size = _LOAD_SIZE.get(name) or _STORE_SIZE[name]
    a = ctx.src.choice([ctx.src.int(0, P.TEST_SRAM), P.SRAM_BYTES + 1, MASK64,
                        ctx.src.int(0, MASK64)])
    if a % size == 0:
        a += ctx.src.int(1, size - 1)
    a &= MASK64
    base = ctx.tmp()
    pre, imm = _address(ctx, a, base)
    if name in _LOAD_SIZE:
        return pre + [op(name, rd=ctx.rd(), rs1=base, imm=imm)]
    return pre + [op(name, rs2=ctx.rs(), rs1=base, imm=imm)]


def vector_trap(ctx: Ctx, want: str, name: str | None = None) -> list:
    """A 4-byte-element vector instruction whose operand ``k`` (rs1, rs2, rd) is misaligned
    or outside the SRAM while the operands before it are fine; some counts make the byte
    size overflow 64 bits."""
    s = ctx.src
    name = name or s.choice(["vadd.f32", "vadd.i32", "vmul.f32", "vmul.i32"])
    sram = P.SRAM_BYTES
    count = s.choice([1, 4, 64, sram // 4, sram // 4 + 1, 1 << 62, (1 << 62) + 1, 1 << 63,
                      MASK64])
    fits = 4 * count <= sram
    k = s.int(0, 2) if fits else 0
    addrs = []
    for i in range(3):
        if i < k:
            addrs.append(4 * s.int(0, (sram - 4 * count) // 4))
        elif i == k and want == "MISALIGNED":
            addrs.append(s.choice([1, 2, 3, sram + 2, MASK64, 4 * s.int(0, 255) + s.int(1, 3)]))
        elif i == k and fits:
            addrs.append(s.choice([sram - 4 * count + 4 * s.int(1, count), 1 << 63,
                                   (1 << 64) - 4, 1 << 40]))
        elif i == k:
            addrs.append(s.choice([0, 4, sram - 4, sram, 1 << 62]))
        else:
            addrs.append(s.int(0, MASK64))
    regs: list[int] = []
    pre = []
    for a in addrs:
        r = ctx.tmp(avoid=regs)
        regs.append(r)
        pre += set_reg(r, a)
    c = ctx.tmp(avoid=regs)
    pre += set_reg(c, count)
    return pre + [op(name, rs1=regs[0], rs2=regs[1], rd=regs[2], rs3=c)]


@trap("PAGE_FAULT")
def _t_page_fault(ctx):
    s = ctx.src
    name = s.choice(["dma.ld", "dma.st"])
    kind = s.weighted([(2, "guard"), (1, "high"), (1, "const")])
    n = s.choice([1, 8, 64, 100, P.TEST_SRAM])
    sram = s.int(0, P.TEST_SRAM - n)
    if kind == "guard":  # running into the unmapped page after the case's buffer
        off = s.choice([P.SINGLE_MEM, P.SINGLE_MEM - n // 2, P.SINGLE_MEM - 1,
                        P.SINGLE_MEM + s.int(0, P.PAGE_SIZE - 1)])
        if off + n <= P.SINGLE_MEM:
            off = P.SINGLE_MEM
        return _dma_with(ctx, name, sram, n, off)
    if kind == "high":  # beyond the 40-bit device address space
        return _dma_with(ctx, name, sram, n, None,
                         s.choice([1 << 40, (1 << 40) + 8, 1 << 63, MASK64 - 7,
                                   s.int(1 << 40, MASK64)]))
    # a write into the read-only constant section
    r, s_r, n_r = ctx.tmp(), None, None
    s_r = ctx.tmp(avoid=(r,))
    n_r = ctx.tmp(avoid=(r, s_r))
    return ([op("csrr", rd=r, sreg=SREG["CONST_PTR"]), op("addi", rd=r, rs1=r,
                                                           imm=s.choice([0, 8, 1]))]
            + set_reg(s_r, sram) + set_reg(n_r, n)
            + [op("dma.st", rd=r, rs1=s_r, rs2=n_r, imm=0)])


@trap("BAD_ARG")
def _t_bad_arg(ctx):
    return [op("ldarg", rd=ctx.rd(), arg=ctx.src.choice(
        [P.NARGS, P.NARGS + 1, 31, 32, 0xFFFFFFFF, ctx.src.int(P.NARGS, 0xFFFFFFFF)]))]


@trap("PC_OOB")
def _t_pc_oob(ctx):
    s = ctx.src
    kind = s.choice(["jmp", "branch", "jr", "jal", "loop", "back"])
    k = s.choice([0, 1, 2, 1000, s.int(0, 1 << 20)])
    if kind == "jmp":
        return [op("jmp", target=EndRef(k))]
    if kind == "back":  # before instruction 0: the pc wraps
        return [op("jmp", target=-(1 << 31))]
    if kind == "branch":
        a = ctx.tmp()
        return set_reg(a, 5) + [op(s.choice(["beq", "bge", "bgeu"]), rs1=a, rs2=a,
                                   target=EndRef(k))]
    if kind == "jal":
        return [op("jal", rd=ctx.rd(), target=EndRef(k))]
    if kind == "loop":
        c = ctx.tmp()
        return set_reg(c, s.int(2, 5)) + [op("loop", rd=c, target=EndRef(k))]
    r = ctx.tmp()
    return set_reg(r, s.choice([1 << 24, 1 << 63, MASK64, s.int(1 << 24, MASK64)])) + [
        op("jr", rs1=r)]


@trap("WATCHDOG")
def _t_watchdog(ctx):
    top = ctx.label()
    kind = ctx.src.choice(["jmp", "loop0", "self"])
    if kind == "self":
        return [Label(top), op("jmp", target=top)]
    body = items(ctx.sub(), 0, 3, simple=True)
    if kind == "loop0":  # a counted loop from 0 runs 2^64 times
        c = ctx.tmp()
        body = items(ctx.sub(reserve=(c,)), 0, 3, simple=True)
        return [op("li", rd=c, imm=0), Label(top)] + body + [op("loop", rd=c, target=top)]
    return [Label(top)] + body + [op("jmp", target=top)]


# --------------------------------------------------------------------------- cases


def initial_regs(src: Source) -> list[int]:
    if src.bool(0.1):
        return [0] * 32
    return [0] + [value64(src) for _ in range(31)]


def gen_body(src: Source, lo: int = 1, hi: int = 24, names: Sequence[str] | None = None,
             ctx: Ctx | None = None) -> list:
    ctx = ctx or Ctx(src)
    if names:
        body = []
        for n in names:
            body += VALID[n](ctx)
    else:
        body = items(ctx, lo, hi)
    funcs = ctx.shared["funcs"]
    if funcs:
        end = "__end"
        body.append(op("jmp", target=end))
        for f in funcs:
            body += f
    return body


def gen_case(src: Source, lo: int = 1, hi: int = 24) -> P.Case:
    """A whole valid program: it terminates and stays inside its SRAM and memory."""
    return P.Case(initial_regs(src), gen_body(src, lo, hi), seed(src), seed(src))


def gen_insn_case(src: Source, name: str | None = None) -> P.Case:
    """One instruction (with its operand set-up) of the given or a random mnemonic."""
    name = name or src.choice(ALL_VALID)
    return P.Case(initial_regs(src), gen_body(src, names=[name]), seed(src), seed(src))


def gen_trap_case(src: Source, trap_name: str | None = None) -> P.Case:
    """A program that traps on purpose: a valid prefix, then an instruction raising
    ``trap_name`` (random if None), then code that must never run."""
    trap_name = trap_name or src.choice(sorted(TRAPS))
    ctx = Ctx(src)
    prefix = _no_halt(items(ctx, 0, 6))
    body = prefix + TRAPS[trap_name](ctx)
    body += [Word(src.int(0, MASK64)) if src.bool(0.3) else op("halt")]
    funcs = ctx.shared["funcs"]
    if funcs:
        body.append(op("jmp", target="__end"))
        for f in funcs:
            body += _no_halt(f)
    case = P.Case(initial_regs(src), body, seed(src), seed(src), expect=trap_name)
    if trap_name == "WATCHDOG":
        case.max_insns = src.choice([200, 1000, src.int(150, 3000)])
    if trap_name == "PC_OOB" and not funcs and src.bool(0.2):
        case.body = prefix  # no halt and no epilogue: run off the end of the code
        case.epilogue = False
    return case


def _no_halt(lines: list) -> list:
    return [op("nop") if isinstance(x, Op) and x.name == "halt" else x for x in lines]


def _straight() -> list[str]:
    return sorted(n for n in VALID if n not in _CONTROL)


ALL_VALID: list[str] = sorted(VALID)
STRAIGHT: list[str] = _straight()


def refresh() -> None:
    """Recomputes the mnemonic lists after generators are added."""
    global ALL_VALID, STRAIGHT
    ALL_VALID = sorted(VALID)
    STRAIGHT = _straight()
