# SPDX-License-Identifier: MIT
"""Every vector, matrix, 2-D DMA, sync and new scalar instruction through the whole stack
(npu.assemble -> Device.launch -> libnpu -> driver -> firmware-sim), checked bit for bit
against numpy implementations of docs/numerics.md, plus float64 accuracy bounds for the
transcendentals, edge values (NaN, inf, denormals, min/max ints), aliasing, and every new
trap kind followed by a working launch."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import npu

ml_dtypes = pytest.importorskip("ml_dtypes")

SRAM = 1 << 16
F32_NAN = 0x7FC00000

TYPES = {"f32": np.float32, "i32": np.int32, "i16": np.int16, "i8": np.int8,
         "f16": np.float16, "bf16": np.uint16}  # bf16 kept as raw bits
INT_TYPES = ("i32", "i16", "i8")


def harness(body: str, sram: int = SRAM) -> str:
    """Loads SRAM from `inp`, runs `body` (registers r1..r28), stores all of SRAM to `out`."""
    return f"""
.kernel t
.arg inp ptr
.arg out ptr
.sram {sram}
    ldarg r30, inp
    li r29, {sram}
    dma.ld r0, r30, r29, 0
    dma.wait 0
{body}
    ldarg r30, out
    li r29, {sram}
    dma.st r30, r0, r29, 1
    dma.wait 1
    halt
"""


def run(dev, body: str, image: bytes | bytearray | np.ndarray = b"", sram: int = SRAM) -> np.ndarray:
    img = np.zeros(sram, np.uint8)
    raw = np.frombuffer(bytes(image), np.uint8)
    img[:raw.size] = raw
    inp = dev.asarray(img)
    out = dev.empty(sram, np.uint8)
    dev.launch(npu.assemble(harness(body, sram)), inp, out)
    return out.numpy()


def li(reg: int, value: int) -> str:
    """Any 64-bit constant into r<reg>."""
    value &= (1 << 64) - 1
    lo = value & 0xFFFFFFFF
    lo_s = lo - (1 << 32) if lo >> 31 else lo
    hi = value >> 32
    hi_s = hi - (1 << 32) if hi >> 31 else hi
    return f"    li r{reg}, {lo_s}\n    lih r{reg}, {hi_s}\n"


def bits(a: np.ndarray) -> np.ndarray:
    """Raw bits for exact comparison (NaN payloads included)."""
    a = np.ascontiguousarray(a)
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.itemsize])


def canon(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float32).copy()
    a.view(np.uint32)[np.isnan(a)] = F32_NAN
    return a


# --------------------------------------------------------------------------- edge values

def f32_edges(rng, n=512) -> np.ndarray:
    special = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1.5, 2.5, 3.5, -3.5, np.inf, -np.inf,
                        np.nan, 1e-45, -1e-45, 1.17549435e-38, -1.1754942e-38, 3.4028235e38,
                        -3.4028235e38, 65504.0, 65520.0, 65519.99, 6e-8, 3e-8, 2.9802322e-08,
                        2147483520.0, 2147483648.0, -2147483648.0, -2147483904.0, 127.5,
                        128.5, -128.5, -129.0, 32767.5, -32768.5, 88.72, 88.73, -103.9,
                        -104.5, 0.625, -0.625, 0.62500006, 9.0, -9.0, 20.0, -20.0, 1e-20],
                       np.float32)
    payload = np.array([0x7FC00001, 0xFFC00000, 0x7F800001, 0xFFFFFFFF], np.uint32).view(np.float32)
    wide = rng.uniform(-30, 30, n).astype(np.float32)
    tiny = (rng.standard_normal(n // 4) * 1e-39).astype(np.float32)   # denormals
    big = (rng.standard_normal(n // 4) * 1e30).astype(np.float32)
    rbits = rng.integers(0, 1 << 32, n // 4, dtype=np.uint64).astype(np.uint32).view(np.float32)
    return np.concatenate([special, payload, wide, tiny, big, rbits])


def int_edges(t: str, rng, n=512) -> np.ndarray:
    dt = np.dtype(TYPES[t])
    info = np.iinfo(dt)
    special = np.array([0, 1, -1, 2, -2, info.min, info.max, info.min + 1, info.max - 1, 7, 8,
                        31, 32, 33], np.int64)
    special = np.clip(special, info.min, info.max)
    rand = rng.integers(info.min, info.max, n, endpoint=True, dtype=np.int64)
    return np.concatenate([special, rand]).astype(dt)


@np.errstate(all="ignore")
def edges(t: str, rng, n=512) -> np.ndarray:
    if t == "f32":
        return f32_edges(rng, n)
    if t == "f16":
        return f32_edges(rng, n).astype(np.float16)   # numpy: RNE, keeps NaN-ness
    if t == "bf16":
        return f32_edges(rng, n).astype(ml_dtypes.bfloat16).view(np.uint16)
    return int_edges(t, rng, n)


# --------------------------------------------------------------------------- numpy model

def fmax_spec(a, b):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    r = np.where(a > b, a, b)
    eq = a == b
    r = np.where(eq, (bits(a) & bits(b)).view(np.float32), r)
    return canon(np.where(np.isnan(a) | np.isnan(b), np.float32(np.nan), r))


def fmin_spec(a, b):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    r = np.where(a < b, a, b)
    eq = a == b
    r = np.where(eq, (bits(a) | bits(b)).view(np.float32), r)
    return canon(np.where(np.isnan(a) | np.isnan(b), np.float32(np.nan), r))


def pow2(k):
    return ((np.asarray(k, np.int64) + 127) << 23).astype(np.uint32).view(np.float32)


def u32f(v):
    return np.uint32(v).view(np.float32)


def ref_exp(x):
    x = np.asarray(x, np.float32)
    with np.errstate(all="ignore"):
        xc = np.where(x > 100, np.float32(100), x)
        xc = np.where(xc < -104, np.float32(-104), xc).astype(np.float32)
        t = xc * u32f(0x3FB8AA3B)
        nf = np.rint(t).astype(np.float32)
        n = np.where(np.isnan(nf), 0, nf).astype(np.int64)
        r = xc - nf * u32f(0x3F318000)
        r = r - nf * u32f(0xB95E8083)
        z = r * r
        p = np.full_like(r, u32f(0x39506967))
        for c in (0x3AB743CE, 0x3C088908, 0x3D2AA9C1, 0x3E2AAAAA, 0x3F000000):
            p = p * r
            p = p + u32f(c)
        y = p * z
        y = y + r
        y = y + np.float32(1)
        a = n >> 1
        y = y * pow2(a)
        y = y * pow2(n - a)
    return np.where(np.isnan(x), x, y).astype(np.float32)


def ref_tanh(x):
    x = np.asarray(x, np.float32)
    with np.errstate(all="ignore"):
        ax = np.abs(x)
        e = ref_exp(ax + ax)
        yb = np.float32(1) - np.float32(2) / (e + np.float32(1))
        yb = np.copysign(yb, x)
        z = x * x
        p = np.full_like(z, u32f(0xBBBAF0EA))
        for c in (0x3CA9134E, 0xBD5C1E2D, 0x3E088393, 0xBEAAAA99):
            p = p * z
            p = p + u32f(c)
        ys = p * z
        ys = ys * x
        ys = ys + x
    y = np.where(ax > np.float32(0.625), yb, ys)
    return np.where((x == 0) | np.isnan(x), x, y).astype(np.float32)


def ref_sigmoid(x):
    x = np.asarray(x, np.float32)
    with np.errstate(all="ignore"):
        e = ref_exp(-x)
        return (np.float32(1) / (np.float32(1) + e)).astype(np.float32)


def ref_gelu(x):
    x = np.asarray(x, np.float32)
    with np.errstate(all="ignore"):
        u = x * x
        u = u * x
        u = u * u32f(0x3D372713)
        u = x + u
        u = u * u32f(0x3F4C422A)
        t = ref_tanh(u)
        y = t + np.float32(1)
        h = x * np.float32(0.5)
        y = h * y
    return np.where(x == -np.inf, np.float32(-0.0), y).astype(np.float32)


def ref_unary_f32(op, x):
    x = np.asarray(x, np.float32)
    with np.errstate(all="ignore"):
        r = {
            "vabs": lambda: np.abs(x),
            "vneg": lambda: -x,
            "vrelu": lambda: np.where(np.isnan(x), x, np.where(x > 0, x, np.float32(0))),
            "vexp": lambda: ref_exp(x),
            "vtanh": lambda: ref_tanh(x),
            "vsigmoid": lambda: ref_sigmoid(x),
            "vgelu": lambda: ref_gelu(x),
            "vrsqrt": lambda: np.float32(1) / np.sqrt(x),
            "vrecip": lambda: np.float32(1) / x,
            "vsqrt": lambda: np.sqrt(x),
        }[op]()
    return canon(r)


def ref_binary(op, t, a, b):
    if t == "f32":
        with np.errstate(all="ignore"):
            r = {"vadd": np.add, "vsub": np.subtract, "vmul": np.multiply, "vdiv": np.divide,
                 "vmin": fmin_spec, "vmax": fmax_spec}.get(op)
            if r is not None:
                return canon(r(a, b))
            m = {"vcmpeq": a == b, "vcmplt": a < b, "vcmple": a <= b}[op]
            return np.where(m, -1, 0).astype(np.int32)
    dt = np.dtype(TYPES[t])
    w = dt.itemsize * 8
    a64, b64 = a.astype(np.int64), b.astype(np.int64)
    sh = b64 & (w - 1)
    ua = a64 & ((1 << w) - 1)
    r = {
        "vadd": lambda: a64 + b64, "vsub": lambda: a64 - b64, "vmul": lambda: a64 * b64,
        "vmin": lambda: np.minimum(a64, b64), "vmax": lambda: np.maximum(a64, b64),
        "vand": lambda: a64 & b64, "vor": lambda: a64 | b64, "vxor": lambda: a64 ^ b64,
        "vshl": lambda: a64 << sh, "vshr": lambda: ua >> sh, "vsra": lambda: a64 >> sh,
        "vcmpeq": lambda: np.where(a64 == b64, -1, 0), "vcmplt": lambda: np.where(a64 < b64, -1, 0),
        "vcmple": lambda: np.where(a64 <= b64, -1, 0),
    }[op]()
    return (r & ((1 << w) - 1)).astype(np.uint64).astype(dt.str.replace("i", "u")).view(dt)


def to_f32(t, a):
    if t == "f16":
        return a.astype(np.float32)
    if t == "bf16":
        return (a.astype(np.uint32) << 16).view(np.float32)
    return a.astype(np.float32)


@np.errstate(all="ignore")
def ref_cvt(dst, src, x):
    fl = ("f32", "f16", "bf16")
    if src in fl:
        f = to_f32(src, x)
    if src in fl and dst in fl:
        pass
    elif src in fl:
        info = np.iinfo(TYPES[dst])
        with np.errstate(all="ignore"):
            r = np.rint(f).astype(np.float64)
        r = np.where(np.isnan(r), 0, np.clip(r, info.min, info.max))
        return r.astype(TYPES[dst])
    elif dst in fl:
        f = x.astype(np.float32)                          # i32: RNE
    else:
        info = np.iinfo(TYPES[dst])
        return np.clip(x.astype(np.int64), info.min, info.max).astype(TYPES[dst])
    if dst == "f32":
        return canon(f)
    if dst == "f16":
        h = f.astype(np.float16)
        h.view(np.uint16)[np.isnan(h)] = 0x7E00
        return h
    b = f.astype(ml_dtypes.bfloat16).view(np.uint16).copy()
    b[np.isnan(f)] = 0x7FC0
    return b


def ref_requant(x, mult, shift, zp, dst):
    out = []
    info = np.iinfo(TYPES[dst])
    for v in x.tolist():
        p = v * mult
        q = p >> shift
        r = p - (q << shift)
        if shift and (r > (1 << (shift - 1)) or (r == 1 << (shift - 1) and q & 1)):
            q += 1
        out.append(min(max(q + zp, info.min), info.max))
    return np.array(out, TYPES[dst])


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def rng_():
    return np.random.default_rng(20260)


def sz(t):
    return np.dtype(TYPES[t]).itemsize


# --------------------------------------------------------------------------- scalar

def test_mulh_mulhu(dev, rng_):
    vals = [0, 1, -1, 2**63 - 1, -(2**63), 0x123456789ABCDEF, -0x123456789ABCDEF, 2**32 + 7]
    vals += [int(v) for v in rng_.integers(-(2**63), 2**63 - 1, 6, dtype=np.int64)]
    pairs = [(a, b) for a in vals[:8] for b in vals[:8]][:40] + list(zip(vals, reversed(vals)))
    body = ""
    for i, (a, b) in enumerate(pairs):
        body += li(1, a) + li(2, b)
        body += f"    mulh r3, r1, r2\n    sd r3, {16 * i}(r0)\n"
        body += f"    mulhu r3, r1, r2\n    sd r3, {16 * i + 8}(r0)\n"
    out = run(dev, body).view(np.uint64)
    for i, (a, b) in enumerate(pairs):
        m = 1 << 64
        assert int(out[2 * i]) == ((a * b) >> 64) % m, (a, b)
        assert int(out[2 * i + 1]) == (((a % m) * (b % m)) >> 64) % m, (a, b)


def test_csrw_csrr_config_registers(dev):
    from npu import _isa_tables as T

    names = sorted(T.SREG_WRITABLE, key=lambda n: T.SREGS[n][0])
    body = ""
    for i, n in enumerate(names):
        body += f"    csrr r4, {n}\n    sd r4, {8 * i}(r0)\n"        # 0 at the start
        body += li(1, 0x0123456789ABCDEF ^ (i * 0x1111)) + f"    csrw {n}, r1\n"
        body += f"    csrr r4, {n}\n    sd r4, {512 + 8 * i}(r0)\n"
    out = run(dev, body).view(np.uint64)
    for i in range(len(names)):
        assert out[i] == 0
        assert out[64 + i] == 0x0123456789ABCDEF ^ (i * 0x1111)


def test_csrw_read_only_is_illegal(dev):
    with pytest.raises(npu.KernelFault) as ei:
        dev.launch(npu.assemble(".kernel k\n li r1, 5\n csrw CORE_ID, r1\n halt\n"))
        dev.synchronize()
    assert ei.value.trap == "ILLEGAL_INSN" and ei.value.pc == 1
    test_mulh_mulhu(dev, np.random.default_rng(1))   # the device still works


# --------------------------------------------------------------------------- elementwise

def vec_image(*arrays, offs):
    img = bytearray(SRAM)
    for a, o in zip(arrays, offs):
        b = np.ascontiguousarray(a).tobytes()
        img[o:o + len(b)] = b
    return img


BINARY = {
    "vadd": ("f32", "i32", "i16", "i8"), "vsub": ("f32", "i32", "i16", "i8"),
    "vmul": ("f32", "i32", "i16", "i8"), "vmin": ("f32", "i32", "i16", "i8"),
    "vmax": ("f32", "i32", "i16", "i8"), "vdiv": ("f32",),
    "vand": INT_TYPES, "vor": INT_TYPES, "vxor": INT_TYPES,
    "vshl": INT_TYPES, "vshr": INT_TYPES, "vsra": INT_TYPES,
    "vcmpeq": ("f32", "i32", "i16", "i8"), "vcmplt": ("f32", "i32", "i16", "i8"),
    "vcmple": ("f32", "i32", "i16", "i8"),
}


@pytest.mark.parametrize("op,t", [(op, t) for op, ts in BINARY.items() for t in ts])
def test_binary(dev, rng_, op, t):
    a = edges(t, rng_)
    b = edges(t, rng_)
    b = np.concatenate([b[len(b) // 2:], b[:len(b) // 2]])   # mix specials with randoms
    if t == "f32":   # every pair of specials too
        s = a[:51]
        a = np.concatenate([a, np.repeat(s, len(s))])
        b = np.concatenate([b, np.tile(s, len(s))])
    n = len(a)
    e = sz(t)
    A, B, D = 0, 0x4000, 0x8000
    assert n * e <= 0x4000
    body = f"    li r1, {D}\n    li r2, {A}\n    li r3, {B}\n    li r4, {n}\n    {op}.{t} r1, r2, r3, r4\n"
    out = run(dev, body, vec_image(a, b, offs=(A, B)))
    want = ref_binary(op, t, a, b)
    got = out[D:D + n * e].view(want.dtype)
    bad = np.nonzero(bits(got) != bits(want))[0]
    assert bad.size == 0, (op, t, a[bad[:5]], b[bad[:5]], got[bad[:5]], want[bad[:5]])


@pytest.mark.parametrize("t", INT_TYPES)
def test_compare_select(dev, rng_, t):
    a = int_edges(t, rng_, 200)
    b = int_edges(t, rng_, 200)[::-1].copy()
    n, e = len(a), sz(t)
    A, B, M, D = 0, 0x2000, 0x4000, 0x6000
    d0 = np.arange(n).astype(TYPES[t])
    body = (f"    li r1, {M}\n    li r2, {A}\n    li r3, {B}\n    li r4, {n}\n    li r5, {D}\n"
            f"    vcmplt.{t} r1, r2, r3, r4\n    vsel.{t} r5, r1, r2, r4\n")
    out = run(dev, body, vec_image(a, b, d0, offs=(A, B, D)))
    got = out[D:D + n * e].view(TYPES[t])
    assert np.array_equal(got, np.where(a < b, a, d0))


def test_select_f32_keeps_nan_bits(dev):
    src = np.array([0x7FC00123, 0xFFFFFFFF, 0x3F800000, 0x80000000], np.uint32)
    mask = np.array([-1, 1, 0, 5], np.int32)
    dst = np.array([1, 2, 3, 4], np.uint32)
    body = "    li r1, 0x300\n    li r2, 0x100\n    li r3, 0x200\n    li r4, 4\n    vsel.i32 r1, r2, r3, r4\n"
    out = run(dev, body, vec_image(mask, src, dst, offs=(0x100, 0x200, 0x300)))
    assert list(out[0x300:0x310].view(np.uint32)) == [0x7FC00123, 0xFFFFFFFF, 3, 0x80000000]


UNARY_F32 = ("vabs", "vneg", "vrelu", "vexp", "vtanh", "vsigmoid", "vgelu", "vrsqrt", "vrecip",
             "vsqrt")


@pytest.mark.parametrize("op", UNARY_F32)
def test_unary_f32_bit_exact(dev, rng_, op):
    x = np.concatenate([f32_edges(rng_, 1024), rng_.uniform(-110, 110, 1024).astype(np.float32),
                        rng_.uniform(-1, 1, 1024).astype(np.float32)])
    n = len(x)
    body = f"    li r1, 0x8000\n    li r2, 0\n    li r3, {n}\n    {op}.f32 r1, r2, r3\n"
    out = run(dev, body, x.tobytes())
    got = out[0x8000:0x8000 + 4 * n].view(np.float32)
    want = ref_unary_f32(op, x)
    bad = np.nonzero(bits(got) != bits(want))[0]
    assert bad.size == 0, (op, x[bad[:5]], got[bad[:5]], want[bad[:5]])


def ulps(got, want64):
    """|got - want| in units of the last place of the float32 nearest want."""
    w32 = want64.astype(np.float32)
    spacing = np.abs(np.spacing(w32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want64) / spacing


@pytest.mark.parametrize("op,bound", [("vexp", 1.0), ("vtanh", 2), ("vsigmoid", 3)])
def test_transcendental_accuracy(dev, rng_, op, bound):
    """The exact algorithms are also accurate: ulp bound vs float64 where results are normal."""
    x = np.concatenate([rng_.uniform(-87, 88, 6000), rng_.uniform(-3, 3, 6000),
                        rng_.standard_normal(3000) * 1e-3]).astype(np.float32)
    n = len(x)
    body = f"    li r1, 0x10000\n    li r2, 0\n    li r3, {n}\n    {op}.f32 r1, r2, r3\n"
    out = run(dev, body, x.tobytes(), sram=0x20000)
    got = out[0x10000:0x10000 + 4 * n].view(np.float32)
    x64 = x.astype(np.float64)
    want = {"vexp": np.exp, "vtanh": np.tanh, "vsigmoid": lambda v: 1 / (1 + np.exp(-v))}[op](x64)
    normal = np.abs(want) >= 1.1754944e-38
    assert ulps(got[normal], want[normal]).max() <= bound


def test_gelu_accuracy(dev, rng_):
    from math import erf, sqrt
    x = np.concatenate([rng_.uniform(-6, 6, 4000), rng_.standard_normal(1000)]).astype(np.float32)
    body = f"    li r1, 0x8000\n    li r2, 0\n    li r3, {len(x)}\n    vgelu.f32 r1, r2, r3\n"
    got = run(dev, body, x.tobytes())[0x8000:0x8000 + 4 * len(x)].view(np.float32).astype(np.float64)
    x64 = x.astype(np.float64)
    tanh_form = 0.5 * x64 * (1 + np.tanh(np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64 ** 3)))
    # fp32 cancellation in 1 + tanh(u) for negative x bounds the error absolutely
    assert np.max(np.abs(got - tanh_form) / np.maximum(np.abs(x64), 1)) < 2.5e-7
    exact = np.array([0.5 * v * (1 + erf(v / sqrt(2))) for v in x64])
    assert np.max(np.abs(got - exact)) < 1e-3       # the tanh form approximates erf-GELU


@pytest.mark.parametrize("t", INT_TYPES)
@pytest.mark.parametrize("op", ["vabs", "vneg"])
def test_unary_int(dev, rng_, op, t):
    x = int_edges(t, rng_, 300)
    n, e = len(x), sz(t)
    body = f"    li r1, 0x8000\n    li r2, 0\n    li r3, {n}\n    {op}.{t} r1, r2, r3\n"
    out = run(dev, body, x.tobytes())
    got = out[0x8000:0x8000 + n * e].view(TYPES[t])
    w = 8 * e
    x64 = x.astype(np.int64)
    want = (np.abs(x64) if op == "vabs" else -x64) & ((1 << w) - 1)
    assert np.array_equal(bits(got), want.astype(bits(got).dtype))


def test_elementwise_aliasing_is_sequential(dev):
    """Overlapping operands: element i is written before element i + 1 is read."""
    x = np.arange(1, 17, dtype=np.int32)
    body = ("    li r1, 4\n    li r2, 0\n    li r4, 15\n    vadd.i32 r1, r2, r2, r4\n"        # x[i+1] = 2x[i]
            "    li r1, 0x100\n    li r2, 0x102\n    li r4, 8\n    vcvt.i32.i16 r1, r1, r4\n")  # in place widen
    img = bytearray(SRAM)
    img[:64] = x.tobytes()
    h = np.arange(-4, 12, dtype=np.int16)
    img[0x100:0x120] = h.tobytes()
    out = run(dev, body, img)
    assert list(out[:64].view(np.int32)) == [2 ** i for i in range(16)]
    # sequential in-place widening reads element i at 0x100 + 2i after writing 4(i-1)..4i
    ref = bytearray(img[0x100:0x140])
    for i in range(8):
        v = struct.unpack_from("<h", ref, 2 * i)[0]
        struct.pack_into("<i", ref, 4 * i, v)
    assert bytes(out[0x100:0x140]) == bytes(ref)


@pytest.mark.parametrize("t", INT_TYPES)
def test_broadcast(dev, t):
    e = sz(t)
    body = li(1, 0x1234567890ABCDEF) + f"    li r2, 0x1010\n    li r3, 33\n    vbcast.{t} r2, r1, r3\n"
    out = run(dev, body)
    base = 0x1010
    got = out[base:base + 33 * e].view(TYPES[t])
    want = np.array([0x1234567890ABCDEF & ((1 << (8 * e)) - 1)], np.uint64).astype(bits(got).dtype)
    assert np.all(bits(got) == want[0])
    assert out[base + 33 * e:base + 33 * e + 8].sum() == 0 and out[:base].sum() == 0


def test_broadcast_float_literal(dev):
    body = "    li r1, f32(-0.25)\n    li r2, 0x100\n    li r3, 4\n    vbcast.i32 r2, r1, r3\n"
    out = run(dev, body)
    assert list(out[0x100:0x110].view(np.float32)) == [-0.25] * 4


# --------------------------------------------------------------------------- reductions

@pytest.mark.parametrize("t", ["f32", "i32"])
@pytest.mark.parametrize("op", ["vredsum", "vredmax"])
def test_row_reductions(dev, rng_, op, t):
    rows, cols, stride = 13, 37, 40 * 4
    if t == "f32":
        x = rng_.standard_normal((rows, 40)).astype(np.float32) * np.float32(1e3)
        x[3, 5] = np.nan
        x[4, :] = -0.0
        x[5, 7] = np.inf
        x[6, 1] = 1e-40
    else:
        x = rng_.integers(-(2**31), 2**31 - 1, (rows, 40), dtype=np.int64).astype(np.int32)
    body = (f"    li r1, {stride}\n    csrw V_STRIDE, r1\n    li r1, 0x8000\n    li r2, 0\n"
            f"    li r3, {rows}\n    li r4, {cols}\n    {op}.{t} r1, r2, r3, r4\n")
    out = run(dev, body, x.tobytes())
    got = out[0x8000:0x8000 + 4 * rows].view(x.dtype)
    want = []
    for r in range(rows):
        acc = x[r, 0]
        for c in range(1, cols):
            if t == "f32":
                acc = fmax_spec(acc, x[r, c])[()] if op == "vredmax" else np.float32(acc + x[r, c])
            else:
                acc = max(acc, x[r, c]) if op == "vredmax" else np.int32((int(acc) + int(x[r, c]) + 2**31) % 2**32 - 2**31)
        want.append(acc)
    want = canon(np.array(want).reshape(-1)) if t == "f32" else np.array(want, np.int32)
    assert np.array_equal(bits(got), bits(want))


def test_reduction_sum_is_sequential_not_pairwise(dev):
    x = np.array([1e8, 1.0, -1e8, 1.0] + [0.5] * 4, np.float32)
    body = "    li r1, 0x100\n    li r2, 0\n    li r3, 1\n    li r4, 8\n    vredsum.f32 r1, r2, r3, r4\n"
    got = run(dev, body, x.tobytes())[0x100:0x104].view(np.float32)[0]
    acc = np.float32(0)
    for i, v in enumerate(x):
        acc = v if i == 0 else np.float32(acc + v)
    assert got == acc == np.float32(3.0)


# --------------------------------------------------------------------------- conversions

CVT = ["f32", "i32", "i16", "i8", "f16", "bf16"]


@pytest.mark.parametrize("dst,src", [(d, s) for d in CVT for s in CVT if d != s])
def test_convert(dev, rng_, dst, src):
    x = edges(src, rng_, 600)
    if src == "f16":   # every f16 bit pattern's neighbourhood: all exponents
        x = np.concatenate([x, rng_.integers(0, 1 << 16, 600).astype(np.uint16).view(np.float16)])
    n = len(x)
    body = f"    li r1, 0x8000\n    li r2, 0\n    li r3, {n}\n    vcvt.{dst}.{src} r1, r2, r3\n"
    out = run(dev, body, x.tobytes())
    want = ref_cvt(dst, src, x)
    got = out[0x8000:0x8000 + n * sz(dst)].view(want.dtype)
    bad = np.nonzero(bits(got) != bits(want))[0]
    assert bad.size == 0, (dst, src, x[bad[:5]], got[bad[:5]], want[bad[:5]])


def test_f32_to_f16_exhaustive_sample(dev, rng_):
    """Round-to-nearest-even f32 -> f16 on 16k random bit patterns near the f16 range."""
    u = rng_.integers(0x30000000, 0x48000000, 16000, dtype=np.uint64).astype(np.uint32)
    u[::2] |= 0x80000000
    x = u.view(np.float32)
    body = f"    li r1, 0x10000\n    li r2, 0\n    li r3, {len(x)}\n    vcvt.f16.f32 r1, r2, r3\n"
    out = run(dev, body, x.tobytes(), sram=0x20000)
    with np.errstate(over="ignore"):
        want = x.astype(np.float16).view(np.uint16)
    assert np.array_equal(out[0x10000:0x10000 + 2 * len(x)].view(np.uint16), want)


@pytest.mark.parametrize("dst", ["i8", "i16"])
def test_requant(dev, rng_, dst):
    x = np.concatenate([np.array([0, 1, -1, 2**31 - 1, -(2**31), 3, -3, 5, -5], np.int64),
                        rng_.integers(-(2**31), 2**31 - 1, 400)]).astype(np.int32)
    for mult, shift, zp in [(1 << 30, 31, 0), (1, 1, 0), (1234567890, 40, -3), (-(2**31), 62, 7),
                            (3, 0, 100), (1518500250, 38, -128)]:
        n = len(x)
        body = (li(1, mult) + "    csrw RQ_MULT, r1\n" + li(1, shift) + "    csrw RQ_SHIFT, r1\n"
                + li(1, zp) + "    csrw RQ_ZP, r1\n"
                f"    li r1, 0x8000\n    li r2, 0\n    li r3, {n}\n    vrequant.{dst} r1, r2, r3\n")
        out = run(dev, body, x.tobytes())
        got = out[0x8000:0x8000 + n * sz(dst)].view(TYPES[dst])
        assert np.array_equal(got, ref_requant(x, mult, shift, zp, dst)), (mult, shift, zp)


def test_requant_ties_to_even(dev):
    x = np.array([1, 3, 5, -1, -3, -5, 7], np.int32)   # x / 2 = .5 ties
    body = ("    li r1, 1\n    csrw RQ_MULT, r1\n    csrw RQ_SHIFT, r1\n"
            "    li r1, 0x100\n    li r2, 0\n    li r3, 7\n    vrequant.i8 r1, r2, r3\n")
    got = run(dev, body, x.tobytes())[0x100:0x107].view(np.int8)
    assert list(got) == [0, 2, 2, 0, -2, -2, 4]


# --------------------------------------------------------------------------- matrix unit

MM_TYPES = ["f32", "i8", "f16", "bf16"]


def mm_ref(t, A, B, C0, accumulate):
    M, K = A.shape
    N = B.shape[1]
    if t == "i8":
        acc = C0.astype(np.int64) if accumulate else np.zeros((M, N), np.int64)
        r = acc + A.astype(np.int64) @ B.astype(np.int64)
        return ((r + 2**31) % 2**32 - 2**31).astype(np.int32)
    Af, Bf = to_f32(t, A), to_f32(t, B)
    out = np.empty((M, N), np.float32)
    with np.errstate(all="ignore"):
        for m in range(M):
            acc = C0[m].copy() if accumulate else np.zeros(N, np.float32)
            for k in range(K):
                acc = acc + Af[m, k] * Bf[k]
            out[m] = acc
    return canon(out)


def rand_tile(t, rng, shape):
    if t == "i8":
        return rng.integers(-128, 127, shape, endpoint=True).astype(np.int8)
    f = (rng.standard_normal(shape) * 4).astype(np.float32)
    if t == "f16":
        return f.astype(np.float16)
    if t == "bf16":
        return f.astype(ml_dtypes.bfloat16).view(np.uint16)
    return f


@pytest.mark.parametrize("t", MM_TYPES)
@pytest.mark.parametrize("accumulate", [False, True])
def test_matmul(dev, rng_, t, accumulate):
    M, N, K = 19, 70, 23            # N > 64: crosses the simulator's column blocks
    e = sz(t)
    lda, ldb, ldc = K * e + 8, N * e + 4, N * 4 + 12
    A = rand_tile(t, rng_, (M, K))
    B = rand_tile(t, rng_, (K, N))
    if t != "i8":   # edge values in the tiles
        A.reshape(-1)[:4] = np.array([0, 1, 1, 1], A.dtype)
    C0 = (rand_tile("f32", rng_, (M, N)) if t != "i8"
          else rng_.integers(-(2**31), 2**31 - 1, (M, N)).astype(np.int32))
    if t == "f32":
        A[0, 0] = np.inf
        B[0, 1] = 0.0        # inf * 0 = NaN in C[0, 1]
        A[1, 2] = np.nan
        A[2, :] = 1e-30      # denormal products
        B[:, 3] = 1e-10
    img = bytearray(SRAM)
    oa, ob, oc = 0x0, 0x2000, 0x6000
    for r in range(M):
        img[oa + r * lda:oa + r * lda + K * e] = A[r].tobytes()
        img[oc + r * ldc:oc + r * ldc + 4 * N] = C0[r].tobytes()
    for r in range(K):
        img[ob + r * ldb:ob + r * ldb + N * e] = B[r].tobytes()
    body = (f"    li r1, {M}\n    csrw MM_M, r1\n    li r1, {N}\n    csrw MM_N, r1\n"
            f"    li r1, {K}\n    csrw MM_K, r1\n    li r1, {lda}\n    csrw MM_LDA, r1\n"
            f"    li r1, {ldb}\n    csrw MM_LDB, r1\n    li r1, {ldc}\n    csrw MM_LDC, r1\n"
            f"    li r1, {oc}\n    li r2, {oa}\n    li r3, {ob}\n"
            f"    {'mma' if accumulate else 'mm'}.{t} r1, r2, r3\n")
    out = run(dev, body, img)
    got = np.stack([out[oc + r * ldc:oc + r * ldc + 4 * N].view(C0.dtype) for r in range(M)])
    want = mm_ref(t, A, B, C0, accumulate)
    assert np.array_equal(bits(got), bits(want))
    # the padding between C rows is untouched
    assert bytes(out[oc + 4 * N:oc + ldc]) == bytes(img[oc + 4 * N:oc + ldc])


def test_matmul_c_aliases_a(dev, rng_):
    """A and B are read as they were before the instruction even when C overwrites them."""
    M = N = K = 8
    A = rng_.standard_normal((M, K)).astype(np.float32)
    B = rng_.standard_normal((K, N)).astype(np.float32)
    body = ("    li r1, 8\n    csrw MM_M, r1\n    csrw MM_N, r1\n    csrw MM_K, r1\n"
            "    li r1, 32\n    csrw MM_LDA, r1\n    csrw MM_LDB, r1\n    csrw MM_LDC, r1\n"
            "    li r1, 0\n    li r2, 0\n    li r3, 256\n    mm.f32 r1, r2, r3\n")
    out = run(dev, body, A.tobytes() + B.tobytes())
    want = mm_ref("f32", A, B, None, False)
    assert np.array_equal(bits(out[:256].view(np.float32).reshape(M, N)), bits(want))


def test_matmul_zero_dim_is_noop(dev):
    body = ("    li r1, 4\n    csrw MM_M, r1\n    csrw MM_N, r1\n"
            "    li r1, -1\n    li r2, -1\n    li r3, -1\n    mm.f32 r1, r2, r3\n")  # K = 0
    out = run(dev, body, b"\x07" * 64)
    assert bytes(out[:64]) == b"\x07" * 64


# --------------------------------------------------------------------------- 2-D DMA

def test_dma_2d_both_ways(dev, rng_):
    src = rng_.integers(0, 255, (20, 50), dtype=np.uint8)
    dsrc = dev.asarray(src)
    dout = dev.zeros((30, 64), np.uint8)
    prog = npu.assemble("""
.kernel k
.arg s ptr
.arg o ptr
.sram 8192
    ldarg r1, s
    ldarg r2, o
    li r3, 100            ; source stride: every second row
    csrw DMA_SSTRIDE, r3
    li r3, 40             ; SRAM rows of 40 bytes (33 used)
    csrw DMA_DSTRIDE, r3
    addi r1, r1, 5        ; columns 5..38
    li r4, 256
    li r5, 33
    li r6, 10
    dma.ld2 r4, r1, r5, r6, 3
    dma.wait 3
    li r3, 40
    csrw DMA_SSTRIDE, r3
    li r3, 192            ; every third destination row
    csrw DMA_DSTRIDE, r3
    addi r2, r2, 7
    dma.st2 r2, r4, r5, r6, 4
    dma.wait 4
    li r3, 0              ; stride 0 repeats one SRAM row into the last 3 rows
    csrw DMA_SSTRIDE, r3
    li r3, 64
    csrw DMA_DSTRIDE, r3
    ldarg r2, o
    li r7, 1728           ; row 27
    add r2, r2, r7
    li r6, 3
    dma.st2 r2, r4, r5, r6, 5
    dma.wait 5
    halt
""")
    dev.launch(prog, dsrc, dout)
    got = dout.numpy()
    want = np.zeros((30, 64), np.uint8)
    rows = src[0:20:2, 5:38]
    for r in range(10):
        want[3 * r, 7:40] = rows[r]
    want[27:30, 0:33] = rows[0]
    assert np.array_equal(got, want)


def test_dma_2d_checks_before_moving(dev):
    """A 2-D DMA whose last row faults moves nothing; the report names that row's address."""
    t = dev.zeros(4096, np.uint8)
    prog = npu.assemble("""
.kernel k
.arg o ptr
.sram 4096
    ldarg r2, o
    li r3, 1
    li r4, 64
    vbcast.i8 r0, r3, r4
    li r3, 65536          ; destination rows 64 KiB apart: the second is past the buffer
    csrw DMA_DSTRIDE, r3
    li r5, 16
    li r6, 2
    dma.st2 r2, r0, r5, r6, 0
    dma.wait 0
    halt
""")
    with pytest.raises(npu.KernelFault) as ei:
        dev.launch(prog, t)
        dev.synchronize()
    assert ei.value.trap == "PAGE_FAULT"
    assert ei.value.address == t.device_ptr + 65536
    assert ei.value.is_write
    assert not t.numpy().any()


# --------------------------------------------------------------------------- traps

def expect_trap(dev, source, trap, address=None, *args, grid=1):
    with pytest.raises(npu.KernelFault) as ei:
        dev.launch(npu.assemble(source), *args, grid=grid)
        dev.synchronize()
    assert ei.value.trap == trap, ei.value
    if address is not None:
        assert ei.value.address == address
    # the device still works after the trap
    out = run(dev, "    li r1, 0x100\n    li r2, 7\n    li r3, 4\n    vbcast.i32 r1, r2, r3\n")
    assert list(out[0x100:0x110].view(np.int32)) == [7] * 4
    return ei.value


def test_trap_bad_operand_matmul_dims(dev):
    f = expect_trap(dev, ".kernel k\n.sram 64\n li r1, 1025\n csrw MM_N, r1\n li r1, 1\n"
                         " csrw MM_M, r1\n csrw MM_K, r1\n mma.i8 r0, r0, r0\n halt\n",
                    "BAD_OPERAND", 1025)
    assert f.pc == 5


def test_trap_bad_operand_requant_shift(dev):
    expect_trap(dev, ".kernel k\n.sram 64\n li r1, 63\n csrw RQ_SHIFT, r1\n li r2, 1\n"
                     " vrequant.i8 r0, r0, r2\n halt\n", "BAD_OPERAND", 63)


def test_trap_bad_operand_semaphore(dev):
    expect_trap(dev, ".kernel k\n li r1, 16\n sem.signal r1\n halt\n", "BAD_OPERAND", 16)


def test_trap_bad_sync(dev):
    cores = dev.properties.num_cores
    expect_trap(dev, ".kernel k\n barrier\n halt\n", "BAD_SYNC", cores + 1, grid=cores + 1)


def test_trap_deadlock(dev):
    f = expect_trap(dev, ".kernel k\n li r1, 3\n sem.wait r1\n halt\n", "DEADLOCK", 3)
    assert f.pc == 1


def test_trap_deadlock_across_instances(dev):
    """Instance 0 waits for semaphore 1 that nobody signals while the others halt."""
    cores = dev.properties.num_cores
    src = """
.kernel k
    csrr r1, PROGRAM_ID
    bne r1, r0, done
    li r2, 1
    sem.wait r2
done:
    halt
"""
    expect_trap(dev, src, "DEADLOCK", 1, grid=min(cores, 3))


def test_vector_misaligned_and_oob(dev):
    expect_trap(dev, ".kernel k\n.sram 256\n li r1, 2\n li r3, 4\n vexp.f32 r1, r0, r3\n halt\n",
                "MISALIGNED", 2)
    expect_trap(dev, ".kernel k\n.sram 256\n li r1, 200\n li r3, 16\n vcvt.f32.i8 r1, r0, r3\n halt\n",
                "SRAM_OOB", 256)


# --------------------------------------------------------------------------- sync

def test_barrier_and_semaphores(dev):
    """Each instance writes its slot, barrier, then reads every slot; a semaphore chain
    orders a second phase 0 -> 1 -> ... -> n-1."""
    n = dev.properties.num_cores
    if n < 2:
        pytest.skip("needs 2 cores")
    buf = dev.zeros(64, np.int64)
    out = dev.zeros(64, np.int64)
    src = """
.kernel k
.arg buf ptr
.arg out ptr
.sram 1024
    ldarg r1, buf
    ldarg r2, out
    csrr r3, PROGRAM_ID
    csrr r4, NUM_PROGRAMS
    addi r5, r3, 100
    sd r5, 0(r0)
    shli r6, r3, 3
    add r7, r1, r6
    li r8, 8
    dma.st r7, r0, r8, 0
    dma.wait 0
    barrier
    shli r9, r4, 3
    li r10, 64
    dma.ld r10, r1, r9, 1          ; every slot, written by the others before the barrier
    dma.wait 1
    li r11, 0
    li r12, 0
sum:
    ld r13, 64(r11)
    add r12, r12, r13
    addi r11, r11, 8
    bltu r11, r9, sum
    beq r3, r0, first
    sem.wait r3                     ; phase 2: wait for my predecessor
first:
    add r16, r2, r9                 ; &out[n]: a counter each instance increments in turn
    li r17, 32
    dma.ld r17, r16, r8, 2
    dma.wait 2
    ld r15, 32(r0)
    addi r15, r15, 1
    sd r15, 32(r0)
    dma.st r16, r17, r8, 3
    sd r12, 40(r0)
    add r19, r2, r6                 ; out[pid] = the sum of all slots
    li r17, 40
    dma.st r19, r17, r8, 3
    dma.wait 3
    fence
    addi r18, r3, 1
    beq r18, r4, done
    sem.signal r18
done:
    halt
"""
    dev.launch(npu.assemble(src), buf, out, grid=n)
    got = out.numpy()
    total = sum(100 + i for i in range(n))
    assert list(got[:n]) == [total] * n
    assert got[n] == n


def test_barrier_counts_halted_instances(dev):
    n = dev.properties.num_cores
    src = """
.kernel k
    csrr r1, PROGRAM_ID
    beq r1, r0, done           ; instance 0 halts at once
    barrier
    barrier
done:
    halt
"""
    dev.launch(npu.assemble(src), grid=n)
    dev.synchronize()
