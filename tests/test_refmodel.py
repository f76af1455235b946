# SPDX-License-Identifier: MIT
"""The reference model (npu.testing.refmodel) against the documents: every instruction of
the spec has semantics and a generator, and the model gives the results docs/isa.md and
docs/numerics.md define (checked against independent computations: numpy's own casts,
math, the documents' pseudo-code written out literally), with the documented traps.
No device is involved."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest
from npu import _isa_tables as T
from npu import asm
from npu.testing import generate as G
from npu.testing import refmodel as rm

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    tomllib = pytest.importorskip("tomli")

SPEC = Path(__file__).resolve().parents[1] / "firmware-sim" / "isa" / "npu-isa.toml"
MASK64 = (1 << 64) - 1
BASE = 1 << 32  # where run() maps its device buffer


def spec_names() -> list[str]:
    with open(SPEC, "rb") as f:
        return [i["name"] for i in tomllib.load(f)["insn"]]


def test_every_spec_instruction_has_semantics_and_a_generator():
    # Against the spec in the source tree and the tables this package was built with: a new
    # instruction without reference semantics or a strategy fails here.
    for names in (spec_names(), [d["name"] for d in T.INSNS]):
        assert [n for n in names if n not in rm.SEMANTICS] == []
        assert [n for n in names if n not in G.VALID] == []
    assert sorted(set(rm.SEMANTICS) - {d["name"] for d in T.INSNS}) == []


def test_every_trap_a_program_can_raise_has_a_generator():
    launch_level = {"BAD_LAUNCH", "BAD_PACKET", "ABORTED"}  # the command processor's
    assert sorted(set(T.TRAPS) - launch_level - set(G.TRAPS)) == []


# --------------------------------------------------------------------------- helpers


def run(src: str, *, sram: int = 4096, mem: bytes | int = 65536, args=(), grid=1,
        num_cores: int = 1, max_insns: int = 0, regs=None):
    """Assembles ``src`` (the body of one kernel) and runs it on the model; device memory
    is one writable buffer at BASE (passed as argument 0) with an unmapped page after."""
    text = f".kernel k\n.arg buf ptr\n.arg a u64\n.arg b u64\n.sram {sram}\n{src}\n"
    prog = rm.Program.from_binary(asm.assemble(text))
    m = rm.DeviceMemory()
    m.map(BASE, mem)
    args = [BASE, *args] + [0] * (3 - 1 - len(args))
    if regs is None:
        res = rm.run_launch(prog, m, args, grid, num_cores=num_cores, max_insns=max_insns)
        return res, m
    st = rm.State(bytearray(sram), regs=list(regs), pc=prog.entry)
    rm.run(prog, st, m, args, max_insns=max_insns)
    return rm.LaunchResult(st.trap, 0 if st.trap else None, [st]), m


def sram_of(res, off: int, dtype, n: int, inst: int = 0) -> np.ndarray:
    return np.frombuffer(bytes(res.instances[inst].sram), dtype, n, off).copy()


def load_sram(values: dict[int, np.ndarray]) -> str:
    """Assembly that writes arrays into SRAM (bytes, with sb)."""
    out = []
    for off, arr in values.items():
        for i, b in enumerate(np.asarray(arr).tobytes()):
            out.append(f"li r31, {b}\nsb r31, {off + i}(r0)")
    return "\n".join(out)


def f32(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def bits32(x) -> np.ndarray:
    return np.asarray(x, np.float32).view(np.uint32)


# --------------------------------------------------------------------------- scalar


@pytest.mark.parametrize("insn, a, b, want", [
    ("div", 7, 0, MASK64), ("div", 1 << 63, MASK64, 1 << 63), ("div", -7 & MASK64, 2,
                                                                -3 & MASK64),
    ("divu", 7, 0, MASK64), ("rem", -7 & MASK64, 2, -1 & MASK64), ("rem", 5, 0, 5),
    ("rem", 1 << 63, MASK64, 0), ("remu", 9, 0, 9),
    ("mulh", MASK64, MASK64, 0), ("mulh", 1 << 63, 1 << 63, 1 << 62),
    ("mulhu", MASK64, MASK64, MASK64 - 1), ("mulh", MASK64, 5, MASK64),
    ("sra", 1 << 63, 65, 0xC000000000000000), ("shl", 1, 64, 1),
])
def test_scalar_alu_edges(insn, a, b, want):
    regs = [0, a, b] + [0] * 29
    res, _ = run(f"{insn} r3, r1, r2\nhalt", regs=regs)
    assert res.trap is None
    assert res.instances[0].regs[3] == want


def test_r0_and_lih_and_loop_r0():
    res, _ = run("li r0, 5\nli r1, -1\nlih r1, 0x1234\nli r2, 3\nloop r0, 0\n"
                 "add r3, r0, r1\nhalt")
    st = res.instances[0]
    assert st.regs[3] == 0x00001234FFFFFFFF and st.reg(0) == 0


def test_config_registers_start_at_zero_and_read_back():
    res, _ = run("csrr r1, MM_K\nli r2, -2\ncsrw MM_K, r2\ncsrr r3, MM_K\nhalt")
    assert res.instances[0].regs[1] == 0 and res.instances[0].regs[3] == MASK64 - 1


def test_csrw_of_a_read_only_register_is_illegal():
    word = asm.encode("csrw", sreg=T.SREGS["CORE_ID"][0], rs1=1)
    assert rm.decode(word) is None
    assert rm.decode(asm.encode("csrw", sreg=T.SREGS["RQ_ZP"][0], rs1=1)) is not None
    res, _ = run(f".word {word:#x}\nhalt")
    assert res.trap.key() == ("ILLEGAL_INSN", 0, 0, False)


def test_cycle_counts_follow_the_timing_classes():
    # li, li: 2 cycles; vadd.f32 of 33 elements: 4 + ceil(33/16) = 7; dma.ld of 100
    # bytes: 64 + ceil(100/64) = 66; mm of 4x4x20: 16 + ceil(320/256) = 18.
    src = """
        li r1, 33
        li r2, 0
        vadd.f32 r2, r2, r2, r1
        csrr r10, CYCLE
        ldarg r3, 0
        li r4, 100
        dma.ld r2, r3, r4, 0
        csrr r11, CYCLE
        li r5, 4
        csrw MM_M, r5
        csrw MM_N, r5
        li r5, 20
        csrw MM_K, r5
        mm.f32 r2, r2, r2
        csrr r12, CYCLE
        halt
    """
    st = run(src)[0].instances[0]
    assert st.regs[10] == 2 + 7
    assert st.regs[11] == 9 + 1 + 1 + 1 + 66
    assert st.regs[12] == st.regs[11] + 1 + 1 + 1 + 1 + 1 + 1 + 18


# --------------------------------------------------------------------------- vector


def vec(op: str, a: np.ndarray, b: np.ndarray | None = None, count: int | None = None,
        out_dtype=None, setup: str = ""):
    """Runs ``op`` on a at 0 (and b at 1024) into 2048; returns the result array."""
    count = len(a) if count is None else count
    init = {0: a} if b is None else {0: a, 1024: b}
    if b is None:
        body = f"li r1, 0\nli r3, 2048\nli r4, {count}\n{setup}\n{op} r3, r1, r4\nhalt"
    else:
        body = (f"li r1, 0\nli r2, 1024\nli r3, 2048\nli r4, {count}\n{setup}\n"
                f"{op} r3, r1, r2, r4\nhalt")
    res, _ = run(load_sram(init) + "\n" + body)
    assert res.trap is None, res.trap
    dt = np.dtype(out_dtype or a.dtype)
    return sram_of(res, 2048, dt, count)


SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-40,
                    3.4028235e38, -3.4028235e38, 0.5, 1.5, 2.5, -2.5], np.float32)


def canon(x: np.ndarray) -> np.ndarray:
    b = bits32(x).copy()
    b[np.isnan(np.asarray(x, np.float32))] = 0x7FC00000
    return b


@pytest.mark.parametrize("op, fn", [("vadd.f32", np.add), ("vsub.f32", np.subtract),
                                    ("vmul.f32", np.multiply), ("vdiv.f32", np.divide)])
def test_vector_f32_arithmetic_is_ieee_with_canonical_nan(op, fn):
    a = np.repeat(SPECIAL, len(SPECIAL))
    b = np.tile(SPECIAL, len(SPECIAL))[:len(a)]
    a, b = a[:240], b[:240]
    with np.errstate(all="ignore"):
        want = canon(fn(a, b))
    assert np.array_equal(vec(op, a, b).view(np.uint32), want)


def test_vector_min_max_nan_and_signed_zero():
    a = np.array([-0.0, 0.0, np.nan, 1.0, -np.inf], np.float32)
    b = np.array([0.0, -0.0, 1.0, np.nan, 3.0], np.float32)
    mn = vec("vmin.f32", a, b).view(np.uint32)
    mx = vec("vmax.f32", a, b).view(np.uint32)
    assert list(mn) == [0x80000000, 0x80000000, 0x7FC00000, 0x7FC00000, bits32(-np.inf)]
    assert list(mx) == [0, 0, 0x7FC00000, 0x7FC00000, bits32(3.0)]


def test_vector_unary_f32():
    x = np.array([-0.0, 0.0, -2.0, 3.0, np.nan, -np.inf, f32(0x7FA00000)], np.float32)
    assert list(vec("vrelu.f32", x).view(np.uint32)) == [0, 0, 0, bits32(3.0), 0x7FC00000,
                                                        0, 0x7FC00000]
    assert list(vec("vabs.f32", x).view(np.uint32)[[0, 2, 4, 6]]) == [0, bits32(2.0),
                                                                     0x7FC00000, 0x7FC00000]
    assert list(vec("vneg.f32", x).view(np.uint32)[:3]) == [0, 0x80000000, bits32(2.0)]
    s = vec("vsqrt.f32", np.array([-0.0, 4.0, -1.0, 2.0], np.float32)).view(np.uint32)
    assert list(s) == [0x80000000, bits32(2.0), 0x7FC00000, bits32(np.sqrt(np.float32(2)))]
    r = vec("vrsqrt.f32", np.array([4.0, 0.0, -0.0, 3.0], np.float32)).view(np.uint32)
    assert list(r) == [bits32(0.5), bits32(np.inf), bits32(-np.inf),
                       bits32(np.float32(1) / np.sqrt(np.float32(3)))]


@pytest.mark.parametrize("t, dt, w", [("i32", np.int32, 32), ("i16", np.int16, 16),
                                      ("i8", np.int8, 8)])
def test_vector_integers_wrap_and_shift_mod_width(t, dt, w):
    info = np.iinfo(dt)
    a = np.array([info.max, info.min, -1, 5, info.min, 3], dt)
    b = np.array([1, -1, -1, w + 2, 0, -1], dt)
    with np.errstate(all="ignore"):
        assert np.array_equal(vec(f"vadd.{t}", a, b), (a.astype(np.int64) + b).astype(dt))
        assert np.array_equal(vec(f"vmul.{t}", a, b), (a.astype(np.int64) * b).astype(dt))
    assert np.array_equal(vec(f"vabs.{t}", a)[:2], np.array([info.max, info.min], dt))
    assert np.array_equal(vec(f"vneg.{t}", a)[1:2], np.array([info.min], dt))
    sh = vec(f"vshl.{t}", a, b).view(f"u{a.itemsize}")
    # shift amounts are b mod W: w + 2 -> 2, -1 -> W - 1
    assert sh[3] == 5 << 2 and sh[5] == (3 << (w - 1)) & ((1 << w) - 1)
    assert vec(f"vshr.{t}", a, b)[2] == 1  # logical: all ones >> (W - 1)
    assert vec(f"vsra.{t}", a, b)[2] == -1
    cmp = vec(f"vcmplt.{t}", a, b)
    assert list(cmp) == [0, -1, 0, -1 if 5 < dt(w + 2) else 0, -1, 0]


def test_vector_compare_f32_masks_and_select_keeps_bits():
    a = np.array([1.0, np.nan, -0.0, 2.0], np.float32)
    b = np.array([1.0, np.nan, 0.0, 1.0], np.float32)
    assert list(vec("vcmpeq.f32", a, b, out_dtype=np.int32)) == [-1, 0, -1, 0]
    assert list(vec("vcmple.f32", a, b, out_dtype=np.int32)) == [-1, 0, -1, 0]
    # vsel: mask at 0, source at 1024, destination at 2048 keeps unmasked elements.
    mask = np.array([0, -1, 0, 7], np.int32)
    src = np.array([0x7FA00001, 0x7FA00002, 3, 4], np.uint32)
    res, _ = run(load_sram({0: mask, 1024: src, 2048: np.array([9, 9, 9, 9], np.uint32)})
                 + "\nli r1, 0\nli r2, 1024\nli r3, 2048\nli r4, 4\nvsel.i32 r3, r1, r2, r4"
                 "\nhalt")
    assert list(sram_of(res, 2048, np.uint32, 4)) == [9, 0x7FA00002, 9, 4]


def test_overlapping_operands_give_the_sequential_result():
    # docs/numerics.md: `vadd.i32 r1+4, r1, r1` doubles each element into the next.
    a = np.array([1, 5, 5, 5, 5], np.int32)
    res, _ = run(load_sram({0: a}) + "\nli r1, 0\nli r2, 4\nli r4, 4\n"
                 "vadd.i32 r2, r1, r1, r4\nhalt")
    assert list(sram_of(res, 0, np.int32, 5)) == [1, 2, 4, 8, 16]
    # widening in place: each i8 -> i32 overwrites the bytes the next elements come from
    b = np.array([1, 2, 3, 4, 5, 6, 7, 8], np.int8)
    res, _ = run(load_sram({0: b}) + "\nli r1, 0\nli r4, 3\nvcvt.i32.i8 r1, r1, r4\nhalt")
    # element 0 reads 1, writes 1 into bytes 0..3; element 1 reads byte 1 (now 0); ...
    assert list(sram_of(res, 0, np.int32, 3)) == [1, 0, 0]


def test_broadcast_and_count_zero():
    res, _ = run("li r1, -2\nli r2, 8\nli r3, 3\nvbcast.i16 r2, r1, r3\nhalt")
    assert list(sram_of(res, 8, np.uint16, 4)) == [0xFFFE, 0xFFFE, 0xFFFE, 0]
    # count 0 checks nothing: misaligned, out-of-range addresses are fine
    res, _ = run("li r1, -1\nli r2, 3\nvadd.f32 r1, r2, r1, r0\nvbcast.i32 r2, r1, r0\n"
                 "vcvt.f32.i8 r1, r1, r0\nhalt")
    assert res.trap is None


# --------------------------------------------------------------------------- conversions


def cvt(name: str, src: np.ndarray, out_dtype) -> np.ndarray:
    return vec(name, src, out_dtype=out_dtype)


def test_f32_to_f16_matches_an_independent_rounding():
    rng = np.random.default_rng(1)
    x = np.concatenate([SPECIAL, rng.integers(0x30000000, 0x48000000, 200, dtype=np.int64)
                        .astype(np.uint32).view(np.float32),
                        np.array([2.0 ** -25, np.nextafter(np.float32(2.0 ** -25), 1),
                                  65519.996, 65520.0, -65520.0], np.float32)])[:250]
    with np.errstate(all="ignore"):
        want = x.astype(np.float16).view(np.uint16).copy()  # numpy's own rounding
    want[np.isnan(x)] = 0x7E00
    got = cvt("vcvt.f16.f32", x, np.uint16)
    assert np.array_equal(got, want)
    assert got[-5] == 0 and got[-4] == 1 and got[-2] == 0x7C00 and got[-1] == 0xFC00


def test_f32_to_bf16_and_back():
    x = np.array([1.0, np.nan, 3.4028235e38, f32(0x3F808000), f32(0x3F818000), -0.0,
                  1e-40], np.float32)
    got = cvt("vcvt.bf16.f32", x, np.uint16)
    u = bits32(x).astype(np.int64)
    want = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)  # numerics.md formula
    want[1] = 0x7FC0
    assert np.array_equal(got, want)
    assert got[2] == 0x7F80 and got[3] == 0x3F80 and got[4] == 0x3F82
    back = vec("vcvt.f32.bf16", got, out_dtype=np.uint32)
    assert np.array_equal(back, got.astype(np.uint32) << 16)


def test_float_to_int_rounds_half_even_and_saturates():
    x = np.array([2.5, -2.5, 3.5, 2147483648.0, -3e9, np.inf, -np.inf, np.nan, 127.5, -0.5],
                 np.float32)
    assert list(cvt("vcvt.i32.f32", x, np.int32)) == [2, -2, 4, 2147483647, -2147483648,
                                                      2147483647, -2147483648, 0, 128, 0]
    assert list(cvt("vcvt.i8.f32", x, np.int8)) == [2, -2, 4, 127, -128, 127, -128, 0, 127,
                                                    0]


def test_int_conversions():
    a = np.array([70000, -70000, 200, -129, 5], np.int32)
    assert list(cvt("vcvt.i16.i32", a, np.int16)) == [32767, -32768, 200, -129, 5]
    assert list(cvt("vcvt.i8.i32", a, np.int8)) == [127, -128, 127, -128, 5]
    big = np.array([16777217, -16777219, 2147483647], np.int32)  # rounds to nearest even
    assert list(cvt("vcvt.f32.i32", big, np.float32)) == [16777216.0, -16777220.0,
                                                         2147483648.0]
    # i32 -> f16 rounds twice (to f32, then to f16), as the documents define
    v = np.array([2049, 65519, 70000], np.int32)
    with np.errstate(over="ignore"):
        want = v.astype(np.float32).astype(np.float16).view(np.uint16)
    assert np.array_equal(cvt("vcvt.f16.i32", v, np.uint16), want)


# --------------------------------------------------------------------------- requantise


def requant_doc(x: int, M: int, S: int, Z: int, lo: int, hi: int) -> int:
    """docs/numerics.md section 5, literally."""
    p = x * M
    q = p >> S
    r = p - q * (1 << S)
    if S > 0 and (r > (1 << (S - 1)) or (r == (1 << (S - 1)) and q % 2 == 1)):
        q = q + 1
    return min(max(q + Z, lo), hi)


@pytest.mark.parametrize("t, lo, hi, dt", [("i8", -128, 127, np.int8),
                                           ("i16", -32768, 32767, np.int16)])
@pytest.mark.parametrize("M, S, Z", [(1 << 30, 31, 0), (-(1 << 31), 0, 5), (1518500250, 40, -3),
                                     (3, 1, 0), (-7, 62, 127), (0x7FFFFFFF, 33, -100)])
def test_requantisation_follows_the_document(t, lo, hi, dt, M, S, Z):
    rng = np.random.default_rng(S)
    x = np.concatenate([np.array([0, 1, -1, 2, 3, -3, 2**31 - 1, -2**31, 5, -5], np.int32),
                        rng.integers(-2**31, 2**31, 100).astype(np.int32)])
    # the upper 32 bits of RQ_MULT and RQ_ZP are ignored
    setup = (f"li r5, {M}\nlih r5, 0x7654\ncsrw RQ_MULT, r5\n"
             f"li r5, {S}\ncsrw RQ_SHIFT, r5\nli r5, {Z}\nlih r5, -3\ncsrw RQ_ZP, r5")
    got = vec(f"vrequant.{t}", x, setup=setup, out_dtype=dt)
    want = [requant_doc(int(v), M, S, Z, lo, hi) for v in x]
    assert list(got) == want


def test_requantisation_checks_the_shift_first():
    res, _ = run("li r5, 63\ncsrw RQ_SHIFT, r5\nli r1, 3\nli r2, 1\nvrequant.i8 r1, r1, r2"
                 "\nhalt")
    assert res.trap.key() == ("BAD_OPERAND", 4, 63, False)
    res, _ = run("li r5, 63\ncsrw RQ_SHIFT, r5\nvrequant.i8 r1, r1, r0\nhalt")
    assert res.trap is None  # count 0: no check


# --------------------------------------------------------------------------- transcendental


def ulps(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    sp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - ref) / sp


def test_transcendentals_within_the_documented_bounds():
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(250) * 4).astype(np.float32)
    x64 = x.astype(np.float64)
    e = vec("vexp.f32", x)
    assert ulps(e, np.exp(x64)).max() <= 1.0
    th = vec("vtanh.f32", x)
    assert ulps(th, np.tanh(x64)).max() <= 1.5
    sg = vec("vsigmoid.f32", x)
    assert ulps(sg, 1 / (1 + np.exp(-x64))).max() <= 2.6
    ge = vec("vgelu.f32", x)
    ref = 0.5 * x64 * (1 + np.tanh(math.sqrt(2 / math.pi) * (x64 + 0.044715 * x64 ** 3)))
    assert (np.abs(ge - ref) / np.maximum(1, np.abs(x64))).max() <= 1.3e-7


def test_transcendental_special_values():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 89.0, -110.0], np.float32)
    assert list(vec("vexp.f32", x).view(np.uint32)) == [
        0x7F800000, 0, 0x7FC00000, bits32(1.0), bits32(1.0), 0x7F800000, 0]
    assert list(vec("vtanh.f32", x).view(np.uint32)[:5]) == [
        bits32(1.0), bits32(-1.0), 0x7FC00000, 0, 0x80000000]
    assert list(vec("vsigmoid.f32", x).view(np.uint32)[:2]) == [bits32(1.0), 0]
    assert list(vec("vgelu.f32", x).view(np.uint32)[:3]) == [0x7F800000, 0x80000000,
                                                            0x7FC00000]


# --------------------------------------------------------------------------- reductions


def test_row_reductions_accumulate_in_order():
    rows = np.array([[1e8, 1.0, -1e8, 1.0], [1.0, np.nan, 2.0, 3.0], [-0.0, -0.0, 0.0, -0.0]],
                    np.float32)
    src = load_sram({0: rows})
    res, _ = run(src + "\nli r1, 16\ncsrw V_STRIDE, r1\nli r1, 0\nli r2, 3\nli r3, 4\n"
                 "li r5, 1024\nvredsum.f32 r5, r1, r2, r3\nli r6, 1040\n"
                 "vredmax.f32 r6, r1, r2, r3\nhalt")
    s = sram_of(res, 1024, np.uint32, 3)
    # ((1e8 + 1) - 1e8) + 1 in fp32 is 1, not 2
    assert list(s) == [bits32(1.0), 0x7FC00000, 0]
    m = sram_of(res, 1040, np.uint32, 3)
    assert list(m) == [bits32(1e8), 0x7FC00000, 0]


def test_reduction_rows_may_be_overwritten_by_earlier_results():
    # V_STRIDE -8 walks down; results of row r land on the source of later rows.
    a = np.arange(1, 20, dtype=np.int32)
    src = load_sram({0: a})
    res, _ = run(src + "\nli r1, -8\ncsrw V_STRIDE, r1\nli r1, 48\nli r2, 3\nli r3, 2\n"
                 "li r5, 32\nvredsum.i32 r5, r1, r2, r3\nhalt")
    # row 0 = [13, 14] -> 27 at 32; row 1 = bytes 40.. = [11, 12] -> 23 at 36;
    # row 2 = bytes 32.. = [27, 23] (just written) -> 50 at 40
    assert list(sram_of(res, 32, np.int32, 3)) == [27, 23, 50]


# --------------------------------------------------------------------------- matmul


def matmul_doc(A, B, C=None):
    """docs/numerics.md section 8's numpy definition."""
    M, N = A.shape[0], B.shape[1]
    out = np.zeros((M, N), np.float32) if C is None else C.copy()
    for m in range(M):
        acc = out[m].copy()
        for k in range(A.shape[1]):
            acc = acc + np.float32(A[m, k]) * B[k]
        out[m] = acc
    return out


def mm_setup(M, N, K, lda, ldb, ldc):
    return "\n".join(f"li r9, {v}\ncsrw {n}, r9" for n, v in
                     (("MM_M", M), ("MM_N", N), ("MM_K", K), ("MM_LDA", lda), ("MM_LDB", ldb),
                      ("MM_LDC", ldc)))


def test_matmul_f32_is_the_documented_loop():
    rng = np.random.default_rng(3)
    M, N, K = 5, 6, 7
    A = (rng.standard_normal((M, K)) * 1e3).astype(np.float32)
    B = (rng.standard_normal((K, N)) * 1e-3).astype(np.float32)
    C = rng.standard_normal((M, N)).astype(np.float32)
    src = load_sram({0: A, 512: B, 1024: C}) + "\n" + mm_setup(M, N, K, 4 * K, 4 * N, 4 * N)
    res, _ = run(src + "\nli r1, 0\nli r2, 512\nli r3, 1024\nmma.f32 r3, r1, r2\n"
                 "li r4, 2048\nmm.f32 r4, r1, r2\nhalt")
    with np.errstate(all="ignore"):
        assert np.array_equal(sram_of(res, 1024, np.float32, M * N).reshape(M, N),
                              matmul_doc(A, B, C))
        assert np.array_equal(sram_of(res, 2048, np.float32, M * N).reshape(M, N),
                              matmul_doc(A, B))


def test_matmul_i8_wraps_and_bf16_is_exact():
    A = np.full((2, 3), -128, np.int8)
    B = np.full((3, 2), -128, np.int8)
    C = np.array([[2**31 - 1, 0], [0, 0]], np.int32)
    src = load_sram({0: A, 64: B, 128: C}) + "\n" + mm_setup(2, 2, 3, 3, 2, 8)
    res, _ = run(src + "\nli r1, 0\nli r2, 64\nli r3, 128\nmma.i8 r3, r1, r2\nhalt")
    want = (C.astype(np.int64) + 3 * 128 * 128).astype(np.int32)  # wraps mod 2^32
    assert np.array_equal(sram_of(res, 128, np.int32, 4).reshape(2, 2), want)
    a = np.array([[0x3F80, 0x4000]], np.uint16)  # bf16 [1, 2]
    b = np.array([[0x4040], [0xC080]], np.uint16)  # [3], [-4]
    res, _ = run(load_sram({0: a, 64: b}) + "\n" + mm_setup(1, 1, 2, 4, 2, 4)
                 + "\nli r2, 64\nli r3, 128\nmm.bf16 r3, r0, r2\nhalt")
    assert sram_of(res, 128, np.float32, 1)[0] == -5.0


def test_matmul_checks_dimensions_first_and_overlapping_c_rows():
    res, _ = run(mm_setup(2000, 5000, 0, 0, 0, 0) + "\nmm.f32 r0, r0, r0\nhalt")
    assert res.trap.name == "BAD_OPERAND" and res.trap.address == 2000
    res, _ = run(mm_setup(1, 1025, 0, 0, 0, 0) + "\nmm.f32 r0, r0, r0\nhalt")
    assert res.trap.address == 1025
    res, _ = run(mm_setup(3, 3, 0, 0, 0, 0) + "\nli r1, 1\nmm.f32 r1, r1, r1\nhalt")
    assert res.trap is None  # K = 0 does nothing, not even the alignment check
    # MM_LDC = 0: every row of C is the same memory; mma rows see the earlier rows' sums.
    A = np.ones((3, 1), np.float32)
    B = np.ones((1, 1), np.float32)
    res, _ = run(load_sram({0: A, 64: B}) + "\n" + mm_setup(3, 1, 1, 4, 4, 0)
                 + "\nli r2, 64\nli r3, 128\nmma.f32 r3, r0, r2\nhalt")
    assert sram_of(res, 128, np.float32, 1)[0] == 3.0


# --------------------------------------------------------------------------- traps


def test_alignment_is_checked_before_bounds():
    res, _ = run("li r1, 4095\nlw r2, 0(r1)\nhalt", sram=1024)
    assert res.trap.key() == ("MISALIGNED", 1, 4095, False)
    res, _ = run("li r1, 1022\nsw r2, 0(r1)\nhalt", sram=1024)
    assert res.trap.key() == ("MISALIGNED", 1, 1022, True)
    res, _ = run("li r1, 1020\nld r2, 4(r1)\nhalt", sram=1024)
    assert res.trap.key() == ("SRAM_OOB", 1, 1024, False)
    res, _ = run("li r1, 1016\nsd r2, 0(r1)\nli r1, 1020\nsd r2, 4(r1)\nhalt", sram=1024)
    assert res.trap.key() == ("SRAM_OOB", 3, 1024, True)


def test_vector_checks_operands_in_order_and_reports_the_first_bad_byte():
    # rs1 fine, rs2 partly outside (-> SRAM_SIZE), rd misaligned: the rs2 check comes first
    res, _ = run("li r1, 0\nli r2, 1000\nli r3, 2\nli r4, 10\nvadd.i32 r3, r1, r2, r4\nhalt",
                 sram=1024)
    assert res.trap.key() == ("SRAM_OOB", 4, 1024, False)
    res, _ = run("li r1, 0\nli r2, 2000\nli r3, 2\nli r4, 1\nvadd.i32 r3, r1, r1, r4\nhalt",
                 sram=1024)
    assert res.trap.key() == ("MISALIGNED", 4, 2, True)
    # a count whose byte size overflows 64 bits
    res, _ = run("li r1, -1\nshri r1, r1, 2\naddi r1, r1, 1\nvneg.f32 r0, r0, r1\nhalt")
    assert res.trap.key() == ("SRAM_OOB", 3, 4096, False)


def test_dma_checks_everything_before_moving_a_byte():
    mem = bytes(range(256)) * 256
    # 2-D load: rows 0, 1 fine, row 2 crosses the end of the buffer (page fault at the
    # first unmapped byte of that row); SRAM must stay untouched.
    src = """
        li r1, 32000
        csrw DMA_SSTRIDE, r1
        li r1, 8
        csrw DMA_DSTRIDE, r1
        ldarg r2, 0
        li r3, 1530
        add r2, r2, r3
        li r4, 8
        li r5, 3
        li r6, 16
        dma.ld2 r6, r2, r4, r5, 3
        halt
    """
    res, _ = run(src, mem=mem)
    # row 2 covers 65530..65537 of the buffer: the first unmapped byte is its end
    assert res.trap.key() == ("PAGE_FAULT", 10, BASE + 65536, False)
    assert bytes(res.instances[0].sram) == bytes(4096)
    # strides 0: one source row copied to every destination row; rows go in order.
    res, m = run("csrw DMA_SSTRIDE, r0\nli r1, 4\ncsrw DMA_DSTRIDE, r1\nldarg r2, 0\n"
                 "li r4, 4\nli r5, 3\nli r6, 100\ndma.ld2 r6, r2, r4, r5, 0\nhalt", mem=mem)
    assert bytes(res.instances[0].sram[100:112]) == bytes([0, 1, 2, 3]) * 3
    res, m = run("li r6, 7\nsb r6, 0(r0)\nli r6, 9\nsb r6, 1(r0)\nli r1, 1\n"
                 "csrw DMA_SSTRIDE, r1\ncsrw DMA_DSTRIDE, r0\nldarg r2, 0\nli r4, 1\n"
                 "li r5, 2\ndma.st2 r2, r0, r4, r5, 15\nhalt", mem=mem)
    assert m.read(BASE, 2) == bytes([9, 1])  # the later row wins


def test_zero_strides_with_enormous_row_counts_do_not_hang_the_model():
    # Rows that all pass their checks: a DMA that would move 2^64 bytes is beyond the model
    with pytest.raises(rm.ModelLimit):
        run("ldarg r2, 0\nli r4, 8\nli r5, -1\ndma.ld2 r0, r2, r4, r5, 0\nhalt")
    # a reduction's destination check bounds it: 2^62 results do not fit
    res, _ = run("li r5, -1\nshri r5, r5, 2\nli r3, 4\nvredsum.i32 r0, r0, r5, r3\nhalt")
    assert res.trap.key() == ("SRAM_OOB", 3, 4096, True)
    # a nonzero stride leaves the SRAM quickly, whatever the row count
    res, _ = run("li r1, 8\ncsrw DMA_DSTRIDE, r1\nldarg r2, 0\nli r4, 8\nli r5, -1\n"
                 "dma.ld2 r0, r2, r4, r5, 0\nhalt")
    assert res.trap.key() == ("SRAM_OOB", 5, 4096, True)


def test_dma_tags_and_sreg_numbers_are_decided_by_the_word():
    assert rm.decode(asm.encode("dma.wait", imm=15)) is not None
    assert rm.decode(asm.encode("dma.wait", imm=0) | (16 << 32)) is None
    assert rm.decode(asm.encode("dma.ld2", rd=1, rs1=2, rs2=3, rs3=4, imm=0) | (99 << 32)) \
        is None
    assert rm.decode(asm.encode("csrr", rd=1, sreg=0) | (len(T.SREGS) << 32)) is None


def test_pc_bad_arg_and_watchdog():
    res, _ = run("nop\njmp -5\nhalt")
    assert res.trap.key() == ("PC_OOB", 1, MASK64 - 3, False)
    res, _ = run("ldarg r1, 3\nhalt")
    assert res.trap.key() == ("BAD_ARG", 0, 3, False)
    res, _ = run("l: addi r1, r1, 1\njmp l", max_insns=11)
    assert res.trap.key() == ("WATCHDOG", 1, 0, False)
    assert res.instances[0].regs[1] == 6  # exactly 11 retired
    res, _ = run("nop")
    assert res.trap.key() == ("PC_OOB", 0, 1, False)


# --------------------------------------------------------------------------- sync


EXCHANGE = """
    csrr r1, PROGRAM_ID
    addi r2, r1, 100
    sd r2, 0(r0)            ; my value
    ldarg r3, 0
    shli r4, r1, 3
    add r4, r3, r4
    li r5, 8
    dma.st r4, r0, r5, 1
    dma.wait 1
    {sync}
    addi r6, r1, 1          ; neighbour (mod 3)
    li r7, 3
    remu r6, r6, r7
    shli r6, r6, 3
    add r6, r3, r6
    li r8, 64
    dma.ld r8, r6, r5, 2
    dma.wait 2
    ld r10, 64(r0)
    halt
"""


def test_barrier_exchanges_data_between_instances():
    res, _ = run(EXCHANGE.format(sync="barrier"), grid=3, num_cores=4)
    assert res.trap is None
    assert [st.regs[10] for st in res.instances] == [101, 102, 100]


def test_semaphores_order_producers_and_consumers():
    # slot l is read by instance l - 1: tell it, then wait until slot l + 1 is ready
    ring = "addi r6, r1, 2\nli r7, 3\nremu r6, r6, r7\nsem.signal r6\nsem.wait r1"
    res, _ = run(EXCHANGE.format(sync=ring), grid=3, num_cores=3)
    assert res.trap is None
    assert [st.regs[10] for st in res.instances] == [101, 102, 100]


def test_halted_instances_count_as_arrived():
    src = "csrr r1, PROGRAM_ID\nbne r1, r0, 2\nhalt\nbarrier\nbarrier\nli r2, 1\nhalt"
    res, _ = run(src, grid=3, num_cores=3)
    assert res.trap is None and [st.regs[2] for st in res.instances] == [0, 1, 1]


def test_launch_from_a_given_state():
    text = ".kernel k\n.arg buf ptr\n.sram 64\nadd r3, r1, r2\nld r4, 8(r0)\ncsrr r5, MM_N\nhalt\n"
    prog = rm.Program.from_binary(asm.assemble(text))

    def initial(pid):
        sram = bytearray(64)
        sram[8:16] = (1000 + pid).to_bytes(8, "little")
        return rm.State(sram, regs=[0, pid, 10] + [0] * 29, csr={"MM_N": 7 * pid})
    res = rm.run_launch(prog, rm.DeviceMemory(), [0], (2, 2), num_cores=4, initial=initial)
    assert [(s.regs[3], s.regs[4], s.regs[5]) for s in res.instances] == [
        (10, 1000, 0), (11, 1001, 7), (12, 1002, 14), (13, 1003, 21)]


def test_sync_traps():
    res, _ = run("li r1, 4\nsem.wait r1\nhalt", grid=1)
    assert res.trap.key() == ("DEADLOCK", 1, 4, False)
    res, _ = run("barrier\nhalt", grid=3, num_cores=2)
    assert res.trap.key() == ("BAD_SYNC", 0, 3, False)
    res, _ = run("li r1, 16\nsem.wait r1\nhalt", grid=3, num_cores=2)
    assert res.trap.key() == ("BAD_OPERAND", 1, 16, False)  # before BAD_SYNC
    res, _ = run("li r1, 2\nsem.signal r1\nhalt", grid=5, num_cores=2)
    assert res.trap is None  # signals are fine in any launch
    # one instance waits in a barrier, the other in sem.wait: a deadlock
    res, _ = run("csrr r1, PROGRAM_ID\nbeq r1, r0, 3\nsem.wait r0\nhalt\nbarrier\nhalt",
                 grid=2, num_cores=2)
    assert res.trap.key() == ("DEADLOCK", 2, 0, False)
