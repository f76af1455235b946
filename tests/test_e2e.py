"""End to end through every layer: Python -> libnpu -> driver ioctls -> firmware-sim."""

import numpy as np
import pytest

import npu
from npu import _isa_tables
from kernels import VADD, scalar_binop, scalar_immop, vector_binop

M64 = (1 << 64) - 1
INT64_MIN = -(1 << 63)


def s64(v: int) -> int:
    v &= M64
    return v - (1 << 64) if v >> 63 else v


def u64(v: int) -> int:
    return v & M64


def _div(a, b):
    a, b = s64(a), s64(b)
    if b == 0:
        return -1
    if a == INT64_MIN and b == -1:
        return INT64_MIN
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _rem(a, b):
    a, b = s64(a), s64(b)
    if b == 0:
        return a
    if a == INT64_MIN and b == -1:
        return 0
    return a - _div(a, b) * b


SCALAR_REF = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": _div,
    "divu": lambda a, b: M64 if u64(b) == 0 else u64(a) // u64(b),
    "rem": _rem,
    "remu": lambda a, b: u64(a) if u64(b) == 0 else u64(a) % u64(b),
    "and": lambda a, b: a & b,
    "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b,
    "shl": lambda a, b: u64(a) << (b & 63),
    "shr": lambda a, b: u64(a) >> (b & 63),
    "sra": lambda a, b: s64(a) >> (b & 63),
    "slt": lambda a, b: int(s64(a) < s64(b)),
    "sltu": lambda a, b: int(u64(a) < u64(b)),
}
IMM_REF = {
    "addi": SCALAR_REF["add"], "andi": SCALAR_REF["and"], "ori": SCALAR_REF["or"],
    "xori": SCALAR_REF["xor"], "shli": SCALAR_REF["shl"], "shri": SCALAR_REF["shr"],
    "srai": SCALAR_REF["sra"], "slti": SCALAR_REF["slt"], "sltiu": SCALAR_REF["sltu"],
    "muli": SCALAR_REF["mul"],
}
EDGE = [0, 1, -1, 2, 7, -7, 63, 64, 65, 2**31 - 1, -(2**31), 2**32, 2**63 - 1, INT64_MIN,
        0x0123456789ABCDEF]


def run_scalar(dev, prog, *args):
    out = dev.empty(1, np.int64)
    dev.launch(prog, *args, out)
    return int(out.numpy()[0])


def test_issue_example(dev):
    """The example every new user runs first."""
    k = npu.assemble(VADD)
    x = dev.asarray(np.arange(100_000, dtype=np.float32))
    y = dev.asarray(np.ones(100_000, dtype=np.float32))
    z = dev.empty(100_000, np.float32)
    dev.launch(k, x, y, z, 100_000, grid=(4,))
    assert np.array_equal(z.numpy(), x.numpy() + 1)


@pytest.mark.parametrize("grid", [1, 3, 7, (2, 2), (2, 3, 2)])
def test_vadd_grids(dev, rng, grid):
    n = 12_345
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    x, y, z = dev.asarray(a), dev.asarray(b), dev.empty(n, np.float32)
    dev.launch(npu.assemble(VADD), x, y, z, n, grid=grid)
    np.testing.assert_array_equal(z.numpy(), a + b)


@pytest.mark.parametrize("op", sorted(SCALAR_REF))
def test_scalar_register_ops(dev, op):
    prog = npu.assemble(scalar_binop(op))
    pairs = [(a, b) for a in EDGE for b in EDGE[::3]]
    for a, b in pairs:
        got = run_scalar(dev, prog, a, b)
        assert got == s64(SCALAR_REF[op](a, b)), (op, a, b)


@pytest.mark.parametrize("op", sorted(IMM_REF))
@pytest.mark.parametrize("imm", [0, 1, -1, 5, 63, 2**31 - 1, -(2**31)])
def test_scalar_immediate_ops(dev, op, imm):
    prog = npu.assemble(scalar_immop(op, imm))
    for a in EDGE:
        assert run_scalar(dev, prog, a) == s64(IMM_REF[op](a, imm)), (op, a, imm)


@pytest.mark.parametrize("value", [0, 1, -1, 0x7FFFFFFF, -(2**31), 0x0123456789ABCDEF,
                                   INT64_MIN, 2**63 - 1])
def test_li_lih_build_64bit_constants(dev, value):
    lo = s64(value) & 0xFFFFFFFF
    lo = lo - (1 << 32) if lo >> 31 else lo
    hi = (u64(value) >> 32)
    hi = hi - (1 << 32) if hi >> 31 else hi
    src = f"""
.kernel k
.arg out ptr
.sram 64
    li r4, {lo}
    lih r4, {hi}
    sd r4, 0(r0)
    ldarg r3, out
    li r5, 8
    dma.st r3, r0, r5, 0
    dma.wait 0
    halt
"""
    out = dev.empty(1, np.int64)
    dev.launch(npu.assemble(src), out)
    assert int(out.numpy()[0]) == s64(value)


BRANCH_REF = {
    "beq": lambda a, b: a == b, "bne": lambda a, b: a != b,
    "blt": lambda a, b: s64(a) < s64(b), "bge": lambda a, b: s64(a) >= s64(b),
    "bltu": lambda a, b: u64(a) < u64(b), "bgeu": lambda a, b: u64(a) >= u64(b),
}


@pytest.mark.parametrize("op", sorted(BRANCH_REF))
def test_branches(dev, op):
    src = f"""
.kernel br
.arg a i64
.arg b i64
.arg out ptr
.sram 64
    ldarg r1, a
    ldarg r2, b
    li r4, 0
    {op} r1, r2, taken
    li r4, 2
    jmp store
taken:
    li r4, 1
store:
    sd r4, 0(r0)
    ldarg r3, out
    li r5, 8
    dma.st r3, r0, r5, 0
    dma.wait 0
    halt
"""
    prog = npu.assemble(src)
    for a in (0, 1, -1, 5, INT64_MIN):
        for b in (0, 1, -1, 5):
            expect = 1 if BRANCH_REF[op](u64(a), u64(b)) else 2
            assert run_scalar(dev, prog, a, b) == expect, (op, a, b)


def test_loop_call_and_return(dev):
    """loop counts down; jal/jr call a subroutine that adds the counter to r10."""
    src = """
.kernel sum
.arg n i64
.arg out ptr
.sram 64
    ldarg r1, n
    li r10, 0
again:
    jal r31, addit
    loop r1, again
    sd r10, 0(r0)
    ldarg r3, out
    li r5, 8
    dma.st r3, r0, r5, 0
    dma.wait 0
    halt
addit:
    add r10, r10, r1
    jr r31
"""
    prog = npu.assemble(src)
    for n in (1, 2, 10, 1000):
        assert run_scalar(dev, prog, n) == n * (n + 1) // 2


def test_r0_is_zero(dev):
    src = """
.kernel z
.arg out ptr
.sram 64
    li r0, 77
    addi r0, r0, 5
    sd r0, 0(r0)
    ldarg r3, out
    li r5, 8
    dma.st r3, r0, r5, 0
    dma.wait 0
    halt
"""
    out = dev.asarray(np.array([-1], dtype=np.int64))
    dev.launch(npu.assemble(src), out)
    assert out.numpy()[0] == 0


@pytest.mark.parametrize("store,load,value,expect", [
    ("sb", "lb", 0x1FF, -1), ("sb", "lbu", 0x1FF, 0xFF),
    ("sh", "lh", 0x18000, -0x8000), ("sh", "lhu", 0x18000, 0x8000),
    ("sw", "lw", 0x180000000, -(2**31)), ("sw", "lwu", 0x180000000, 2**31),
    ("sd", "ld", INT64_MIN + 5, INT64_MIN + 5),
])
def test_sram_loads_and_stores(dev, store, load, value, expect):
    src = f"""
.kernel ls
.arg v i64
.arg out ptr
.sram 256
    ldarg r1, v
    li r2, 64
    {store} r1, 8(r2)
    {load} r4, 8(r2)
    sd r4, 0(r0)
    ldarg r3, out
    li r5, 8
    dma.st r3, r0, r5, 0
    dma.wait 0
    halt
"""
    assert run_scalar(dev, npu.assemble(src), value) == expect


SREG_SRC = """
.kernel ids
.arg out ptr
.sram 128
    csrr r1, PROGRAM_ID
    csrr r2, PROGRAM_ID_X
    csrr r3, PROGRAM_ID_Y
    csrr r4, PROGRAM_ID_Z
    csrr r5, GRID_X
    csrr r6, GRID_Y
    csrr r7, GRID_Z
    csrr r8, NUM_PROGRAMS
    csrr r9, NUM_ARGS
    csrr r10, CORE_ID
    csrr r11, NUM_CORES
    csrr r12, SRAM_SIZE
    sd r1, 0(r0)
    sd r2, 8(r0)
    sd r3, 16(r0)
    sd r4, 24(r0)
    sd r5, 32(r0)
    sd r6, 40(r0)
    sd r7, 48(r0)
    sd r8, 56(r0)
    sd r9, 64(r0)
    sd r10, 72(r0)
    sd r11, 80(r0)
    sd r12, 88(r0)
    ldarg r13, out
    muli r14, r1, 96
    add r13, r13, r14
    li r15, 96
    dma.st r13, r0, r15, 0
    dma.wait 0
    halt
"""


def test_special_registers_over_a_3d_grid(dev):
    gx, gy, gz = 3, 2, 2
    n = gx * gy * gz
    out = dev.empty((n, 12), np.int64)
    dev.launch(npu.assemble(SREG_SRC), out, grid=(gx, gy, gz))
    rows = out.numpy()
    cores = dev.properties.num_cores
    for pid, r in enumerate(rows):
        x, y, z = pid % gx, (pid // gx) % gy, pid // (gx * gy)
        assert list(r[:9]) == [pid, x, y, z, gx, gy, gz, n, 1]
        assert 0 <= r[9] < cores
        assert r[10] == cores
        assert r[11] == 128


def test_constants_section_through_const_ptr(dev):
    src = """
.kernel c
.arg out ptr
.sram 64
    csrr r1, CONST_PTR
    li r2, second
    add r1, r1, r2
    li r5, 8
    dma.ld r0, r1, r5, 0
    dma.wait 0
    ldarg r3, out
    dma.st r3, r0, r5, 1
    dma.wait 1
    halt
.const
first:  .dword 11
second: .dword -1234567890123
"""
    out = dev.empty(1, np.int64)
    dev.launch(npu.assemble(src), out)
    assert out.numpy()[0] == -1234567890123


SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1.17e-38,
                    3.4e38, -3.4e38, 0.1, 1e-40], dtype=np.float32)


def _canon(a: np.ndarray) -> np.ndarray:
    bits = a.view(np.uint32).copy()
    bits[np.isnan(a)] = 0x7FC00000
    return bits


@pytest.mark.parametrize("op,fn", [("vadd.f32", np.add), ("vmul.f32", np.multiply)])
def test_vector_fp32_bit_exact(dev, rng, op, fn):
    a = np.concatenate([np.repeat(SPECIAL, len(SPECIAL)), rng.standard_normal(1000)]).astype(np.float32)
    b = np.concatenate([np.tile(SPECIAL, len(SPECIAL)), rng.standard_normal(1000)]).astype(np.float32)
    n = len(a)
    x, y, z = dev.asarray(a), dev.asarray(b), dev.empty(n, np.float32)
    dev.launch(npu.assemble(vector_binop(op)), x, y, z, n)
    with np.errstate(all="ignore"):
        expect = fn(a, b)
    np.testing.assert_array_equal(z.numpy().view(np.uint32), _canon(expect))


@pytest.mark.parametrize("op,fn", [("vadd.i32", np.add), ("vmul.i32", np.multiply)])
def test_vector_int32_wraps(dev, rng, op, fn):
    edge = np.array([0, 1, -1, 2**31 - 1, -(2**31), 65536, 12345], dtype=np.int32)
    a = np.concatenate([np.repeat(edge, len(edge)), rng.integers(-(2**31), 2**31, 1000)]).astype(np.int32)
    b = np.concatenate([np.tile(edge, len(edge)), rng.integers(-(2**31), 2**31, 1000)]).astype(np.int32)
    x, y, z = dev.asarray(a), dev.asarray(b), dev.empty(len(a), np.int32)
    dev.launch(npu.assemble(vector_binop(op)), x, y, z, len(a))
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(z.numpy(), fn(a, b))


def test_tensor_round_trip_dtypes_and_shapes(dev, rng):
    for dtype in (np.float32, np.float64, np.int8, np.uint16, np.int32, np.int64, np.float16):
        a = (rng.standard_normal((3, 5, 7)) * 100).astype(dtype)
        t = dev.asarray(a)
        assert t.shape == (3, 5, 7) and t.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(t.numpy(), a)
    e = dev.empty((0, 4), np.float32)
    assert e.numpy().shape == (0, 4)


def test_new_memory_reads_as_zero_and_fill(dev):
    t = dev.empty(10_000, np.int32)
    assert not t.numpy().any()
    t.fill(7)
    assert (t.numpy() == 7).all()
    t.fill(-1)
    t.free()
    u = dev.empty(10_000, np.int32)
    assert not u.numpy().any()


def test_device_properties(dev):
    p = dev.properties
    assert p.num_cores >= 1 and p.sram_per_core >= 64 * 1024
    assert p.mem_total >= 2**30
    assert p.isa_version == _isa_tables.ISA_VERSION
    assert npu.Device(0) is dev
    assert npu.device_count() >= 1


def test_multi_kernel_module(dev):
    src = scalar_binop("add") + scalar_immop("xori", 5)
    mod = dev.load(npu.assemble(src))
    assert mod.kernels == ["sbin", "simm"]
    out = dev.empty(1, np.int64)
    dev.launch(mod.sbin, 2, 3, out)
    assert out.numpy()[0] == 5
    dev.launch(mod["simm"], 1, out)
    assert out.numpy()[0] == 4
