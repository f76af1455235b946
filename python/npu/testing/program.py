# SPDX-License-Identifier: MIT
"""Test cases and how they become kernels: the harness around a generated program.

A :class:`Case` is an initial architectural state (registers r1..r31, an SRAM image, the
contents of a device-memory region) plus a body of instructions. :func:`compose` turns one
case, or a batch of cases, into a single kernel whose program instance ``i`` runs case ``i``:

* a *dispatcher* (batches only) jumps to the case selected by ``PROGRAM_ID``;
* the *prologue* records the instance's environment (``CORE_ID``, ``CONST_PTR``) into the
  output buffer, loads the SRAM image from the constant section and sets every register;
* the *body* runs;
* the *epilogue* waits for every DMA tag, stores all 32 registers into SRAM and copies the
  whole SRAM into the output buffer.

The reference model executes exactly the same kernel, harness included, so the harness's own
effects are accounted for on both sides; the final registers and SRAM are read back from
the output buffer, and the data region is compared as device memory.

Layout (all sizes in bytes)::

    SRAM   [0, TEST_SRAM)             what the body may use
           [REG_DUMP, +256)           r0..r31 after the body (epilogue)
           [ENV_DUMP, +24)            CORE_ID, CONST_PTR (prologue), DONE_MARK (epilogue)
    arg 0  mem: REGION bytes per case at mem + PROGRAM_ID * REGION
    arg 1  out: SRAM_BYTES per case at out + PROGRAM_ID * SRAM_BYTES
    arg 2.. EXTRA_ARGS (u64 constants for ldarg)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .. import _isa_tables as T
from .. import asm

TEST_SRAM = 1024
REG_DUMP = TEST_SRAM
ENV_DUMP = TEST_SRAM + 8 * T.NUM_REGS
SRAM_BYTES = ENV_DUMP + 64
DONE_MARK = 0x600D  # the epilogue ran
REGION = 4096
PAGE_SIZE = T.PAGE_SIZE
# Buffer sizes of a single-case launch: whole pages, so the page after each is unmapped.
SINGLE_MEM = PAGE_SIZE
EXTRA_ARGS = (0xDEADBEEFCAFEF00D, 0xFFFFFFFFFFFFFFFF, 0, 0x8000000000000000)
ARG_NAMES = ("mem", "out") + tuple(f"a{i}" for i in range(len(EXTRA_ARGS)))
NARGS = len(ARG_NAMES)
KERNEL_NAME = "fuzz"
MASK64 = (1 << 64) - 1

_SYNTAX = {d["name"]: [s.strip() for s in d["syntax"].split(",") if s.strip()]
           for d in T.INSNS}
_SREG_NAMES = {sid: name for name, (sid, _doc) in T.SREGS.items()}


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class Label:
    """A code label (names the next instruction)."""
    name: str


@dataclass(frozen=True)
class CodeRef:
    """An immediate that is the absolute instruction index of a code label (for ``jr``)."""
    name: str


@dataclass(frozen=True)
class ConstRef:
    """An immediate that is the byte offset of the case's constant block."""
    name: str = "sram_image"


@dataclass(frozen=True)
class EndRef:
    """A branch target ``k`` instructions past the end of the whole code (to leave it)."""
    k: int = 0


@dataclass(frozen=True)
class Op:
    """One instruction: mnemonic and operand fields by name. A target may be a label name
    (str) or an :class:`EndRef`; an ``imm`` may be a :class:`CodeRef` or :class:`ConstRef`."""
    name: str
    ops: tuple  # ((field, value), ...) in the spec's operand order

    @classmethod
    def make(cls, name: str, **ops) -> "Op":
        order = [d["operands"] for d in T.INSNS if d["name"] == name][0]
        return cls(name, tuple((f, ops[f]) for f in order))

    def get(self, f: str):
        return dict(self.ops)[f]


@dataclass(frozen=True)
class Word:
    """A raw instruction word (``.word``), e.g. an illegal one."""
    value: int


Line = Label | Op | Word


def op(name: str, **ops) -> Op:
    return Op.make(name, **ops)


# --------------------------------------------------------------------------- cases


def fill_bytes(seed: int, nbytes: int) -> bytes:
    """Deterministic contents for SRAM images and memory regions: 0 gives zeros; other
    seeds mix the interesting fp32/int32 bit patterns with random data."""
    if seed == 0:
        return bytes(nbytes)
    rng = np.random.default_rng(seed)
    nw = (nbytes + 3) // 4
    mode = seed % 4
    if mode == 0:
        pool = np.array(F32_SPECIAL, np.uint32)
        words = np.where(rng.random(nw) < 0.6, rng.choice(pool, nw),
                         rng.standard_normal(nw).astype(np.float32).view(np.uint32))
    elif mode == 1:
        pool = np.array(I32_SPECIAL, np.uint32)
        words = np.where(rng.random(nw) < 0.6, rng.choice(pool, nw),
                         rng.integers(0, 1 << 32, nw, dtype=np.uint64).astype(np.uint32))
    elif mode == 2:
        words = rng.integers(0, 1 << 32, nw, dtype=np.uint64).astype(np.uint32)
    else:
        words = (rng.integers(-64, 64, nw) / 8.0).astype(np.float32).view(np.uint32)
    return words.astype("<u4").tobytes()[:nbytes]


F32_SPECIAL = [
    0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000, 0x7FC00000,
    0x7FA00000, 0xFFC00001, 0x7F800001, 0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF,
    0x00800000, 0x80800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x3F800001, 0x33800000, 0x4B800000,
    0x5F000000, 0x3F000000, 0x40000000, 0x00400000, 0x34000000,
]
I32_SPECIAL = [
    0, 1, 0xFFFFFFFF, 2, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFE, 0x7F, 0x80, 0xFF,
    0xFFFFFF80, 0x7FFF, 0x8000, 0xFFFF, 0xFFFF8000, 0x10000, 31, 32, 63,
]


@dataclass
class Case:
    """One generated test: initial state plus body. ``expect`` names the trap the
    generator meant the body to raise (None: the program must run to completion)."""

    regs: list[int]  # initial r0..r31 (r0 is ignored)
    body: list  # Lines
    sram_seed: int = 0  # initial SRAM [0, TEST_SRAM): fill_bytes(sram_seed, TEST_SRAM)
    mem_seed: int = 0  # initial data region: fill_bytes(mem_seed, REGION)
    expect: str | None = None
    max_insns: int = 0  # the watchdog budget of the launch (0: the default)
    epilogue: bool = True  # False: the body runs off the end of the code

    @property
    def sram_image(self) -> bytes:
        return fill_bytes(self.sram_seed, TEST_SRAM)

    @property
    def region(self) -> bytes:
        return fill_bytes(self.mem_seed, REGION)

    def mnemonics(self) -> set[str]:
        return {ln.name for ln in self.body if isinstance(ln, Op)}

    def __repr__(self) -> str:
        n = sum(isinstance(ln, (Op, Word)) for ln in self.body)
        return (f"Case({n} instructions, expect={self.expect}, sram_seed={self.sram_seed}, "
                f"mem_seed={self.mem_seed}, max_insns={self.max_insns})")


# --------------------------------------------------------------------------- harness code


def set_reg(r: int, value: int) -> list[Op]:
    """li (+ lih) that put a 64-bit ``value`` in ``r``."""
    value &= MASK64
    lo = value & 0xFFFFFFFF
    lo_s = lo - (1 << 32) if lo >> 31 else lo
    out = [op("li", rd=r, imm=lo_s)]
    if (lo_s & MASK64) != value:
        hi = value >> 32
        out.append(op("lih", rd=r, imm=hi - (1 << 32) if hi >> 31 else hi))
    return out


def prologue(case: Case) -> list:
    out = [
        op("csrr", rd=1, sreg=T.SREGS["CORE_ID"][0]),
        op("sd", rs2=1, rs1=0, imm=ENV_DUMP),
        op("csrr", rd=1, sreg=T.SREGS["CONST_PTR"][0]),
        op("sd", rs2=1, rs1=0, imm=ENV_DUMP + 8),
        op("ldarg", rd=2, arg=1),
        op("csrr", rd=3, sreg=T.SREGS["PROGRAM_ID"][0]),
        op("muli", rd=3, rs1=3, imm=SRAM_BYTES),
        op("add", rd=2, rs1=2, rs2=3),
        op("addi", rd=2, rs1=2, imm=ENV_DUMP),
        op("li", rd=4, imm=ENV_DUMP),
        op("li", rd=5, imm=16),
        op("dma.st", rd=2, rs1=4, rs2=5, imm=0),
        op("dma.wait", imm=0),
    ]
    if case.sram_seed:
        out += [
            op("li", rd=4, imm=ConstRef()),
            op("add", rd=1, rs1=1, rs2=4),
            op("li", rd=5, imm=TEST_SRAM),
            op("dma.ld", rd=0, rs1=1, rs2=5, imm=0),
            op("dma.wait", imm=0),
        ]
    for r in range(1, T.NUM_REGS):
        out += set_reg(r, case.regs[r])
    return out


def epilogue() -> list:
    out = [op("dma.wait", imm=t) for t in range(16)]
    out += [op("sd", rs2=r, rs1=0, imm=REG_DUMP + 8 * r) for r in range(T.NUM_REGS)]
    out += [
        op("li", rd=1, imm=DONE_MARK),
        op("sd", rs2=1, rs1=0, imm=ENV_DUMP + 16),
        op("ldarg", rd=1, arg=1),
        op("csrr", rd=2, sreg=T.SREGS["PROGRAM_ID"][0]),
        op("muli", rd=2, rs1=2, imm=SRAM_BYTES),
        op("add", rd=1, rs1=1, rs2=2),
        op("li", rd=3, imm=SRAM_BYTES),
        op("dma.st", rd=1, rs1=0, rs2=3, imm=0),
        op("dma.wait", imm=0),
        op("halt"),
    ]
    return out


_EPILOGUE = epilogue()


# --------------------------------------------------------------------------- composing


@dataclass
class Composed:
    """A batch of cases as one kernel."""

    cases: list[Case]
    code: list[int]
    consts: bytes
    entry: int
    sram_bytes: int
    case_start: list[int]  # code index where each case's prologue begins
    body_range: list[tuple[int, int]]  # [first, end) code index of each body
    lines: list = field(default_factory=list)  # (case, Line, pc or None), for the text
    marks: dict = field(default_factory=dict)  # line number -> comment before it

    @property
    def grid(self) -> int:
        return len(self.cases)

    def kbin(self) -> asm.KernelBinary:
        args = [asm.ArgInfo("mem", "ptr"), asm.ArgInfo("out", "ptr")] + [
            asm.ArgInfo(n, "u64") for n in ARG_NAMES[2:]]
        k = asm.KernelInfo(KERNEL_NAME, self.entry, self.sram_bytes, args)
        return asm.KernelBinary(asm.ISA_VERSION, list(self.code), self.consts, [k])

    def binary(self) -> bytes:
        return asm.write_kbin(self.kbin())

    def source(self) -> str:
        return to_source(self)


@functools.lru_cache(maxsize=1 << 16)
def _encode(name: str, ops: tuple) -> int:
    return asm.encode(name, **dict(ops))


def compose(cases: Sequence[Case]) -> Composed:
    """One kernel running ``cases[i]`` as program instance ``i`` (see the module doc)."""
    cases = list(cases)
    lines: list = []  # (case index or None, Line)
    batch = len(cases) > 1
    if batch:
        lines += [
            (None, op("csrr", rd=1, sreg=T.SREGS["PROGRAM_ID"][0])),
            (None, op("li", rd=2, imm=CodeRef("__table"))),
            (None, op("add", rd=1, rs1=1, rs2=2)),
            (None, op("jr", rs1=1)),
            (None, Label("__table")),
        ]
        lines += [(None, op("jmp", target=f"__case{i}")) for i in range(len(cases))]
    consts = bytearray()
    const_off: dict[int, int] = {}
    spans = []
    for i, c in enumerate(cases):
        lines.append((i, Label(f"__case{i}")))
        if c.sram_seed:
            const_off[i] = len(consts)
            consts += c.sram_image
        start = len(lines)
        lines += [(i, ln) for ln in prologue(c)]
        b0 = len(lines)
        lines += [(i, ln) for ln in c.body]
        b1 = len(lines)
        lines.append((i, Label("__end")))
        if c.epilogue:
            lines += [(i, ln) for ln in _EPILOGUE]
        spans.append((start, b0, b1))
    if not consts:
        consts = bytearray(8)  # a constant section always exists (CONST_PTR is mapped)

    # Pass 1: instruction indices of the labels (scoped per case).
    labels: dict[tuple, int] = {}
    index: list[int | None] = []
    pc = 0
    for ci, ln in lines:
        if isinstance(ln, Label):
            key = (None if ln.name.startswith("__case") or ln.name == "__table" else ci,
                   ln.name)
            labels[key] = pc
            index.append(None)
        else:
            index.append(pc)
            pc += 1
    n_code = pc

    def label(ci, name):
        try:
            return labels[(ci, name)] if (ci, name) in labels else labels[(None, name)]
        except KeyError:
            raise ValueError(f"undefined label {name!r} in case {ci}") from None

    # Pass 2: encode.
    code = []
    for (ci, ln), pc in zip(lines, index):
        if pc is None:
            continue
        if isinstance(ln, Word):
            code.append(ln.value & MASK64)
            continue
        ops = []
        for f, v in ln.ops:
            if isinstance(v, str):
                v = label(ci, v) - pc
            elif isinstance(v, EndRef):
                v = n_code + v.k - pc
            elif isinstance(v, CodeRef):
                v = label(ci, v.name)
            elif isinstance(v, ConstRef):
                v = const_off.get(ci, 0)
            ops.append((f, v))
        code.append(_encode(ln.name, tuple(ops)))

    marks = {}
    for i, (s, b0, b1) in enumerate(spans):
        marks[s] = f"case {i}: prologue (environment, SRAM image, registers)"
        marks[b0] = f"case {i}: body"
        marks[b1] = f"case {i}: epilogue (registers and SRAM to out)"

    def first_pc(k):
        return next((p for p in index[k:] if p is not None), n_code)

    return Composed(
        cases, code, bytes(consts), 0, SRAM_BYTES,
        [first_pc(s) for s, _, _ in spans],
        [(first_pc(b0), first_pc(b1)) for _, b0, b1 in spans],
        [(ci, ln, pc) for (ci, ln), pc in zip(lines, index)],
        marks,
    )


# --------------------------------------------------------------------------- assembly text


def format_line(ln, pc=None, ci=None, resolve=None) -> str:
    if isinstance(ln, Label):
        return f"{label_text(ln.name, ci)}:"
    if isinstance(ln, Word):
        return f"    .word {ln.value:#018x}"
    vals = dict(ln.ops)
    parts = []
    for item in _SYNTAX[ln.name]:
        if "(" in item:
            f, base = item.rstrip(")").split("(")
            parts.append(f"{_value(f, vals[f], ci, resolve)}(r{vals[base]})")
        else:
            parts.append(_value(item, vals[item], ci, resolve))
    return f"    {ln.name}" + (" " + ", ".join(parts) if parts else "")


def label_text(name: str, ci) -> str:
    if name.startswith("__case") or name == "__table" or ci is None:
        return name.lstrip("_")
    return f"c{ci}_{name.lstrip('_')}"


def _value(f: str, v, ci, resolve) -> str:
    kind = T.FIELDS[f][2]
    if isinstance(v, str):
        return label_text(v, ci)
    if isinstance(v, CodeRef):
        return label_text(v.name, ci)
    if isinstance(v, (ConstRef, EndRef)):
        return str(resolve(v))
    if kind == "reg":
        return f"r{v}"
    if kind == "sreg":
        return _SREG_NAMES.get(v, str(v))
    return str(v)


def to_source(comp: Composed) -> str:
    """The kernel as assembly text; ``npu.assemble`` of it gives ``comp.binary()``."""
    out = [f".kernel {KERNEL_NAME}"]
    out += [f".arg {n} {'ptr' if i < 2 else 'u64'}" for i, n in enumerate(ARG_NAMES)]
    out.append(f".sram {comp.sram_bytes}")
    const_off = {}
    off = 0
    for i, c in enumerate(comp.cases):
        if c.sram_seed:
            const_off[i] = off
            off += TEST_SRAM
    n_code = len(comp.code)
    for k, (ci, ln, pc) in enumerate(comp.lines):
        if k in comp.marks:
            out.append(f"    ; ---- {comp.marks[k]}")

        def resolve(v, pc=pc, ci=ci):
            if isinstance(v, ConstRef):
                return const_off.get(ci, 0)
            return n_code + v.k - pc
        out.append(format_line(ln, pc, ci, resolve))
    out.append(".const")
    consts = comp.consts
    for i in range(0, len(consts), 16):
        out.append("    .byte " + ", ".join(str(b) for b in consts[i:i + 16]))
    return "\n".join(out) + "\n"
