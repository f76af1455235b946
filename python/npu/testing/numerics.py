# SPDX-License-Identifier: MIT
"""Element types and the numerics of the vector and matrix units, in numpy, from the spec
(``docs/isa.md``) and ``docs/numerics.md``: IEEE binary32 arithmetic rounded to nearest
even with denormals kept, the canonical NaN, wrapping or saturating integers, the
conversions among the six element types and int8/int16 requantisation.

Values travel as numpy arrays: f32 as ``float32``, the integers as their signed types, and
f16 / bf16 as their 16-bit patterns (``uint16``), so no NaN payload is ever lost on the way.
The conversions to f16 and bf16 are done on the bit patterns with integer arithmetic, not
by numpy's casts, so that the model does not rest on how a host library rounds.
"""

from __future__ import annotations

import numpy as np

CANONICAL_NAN32 = 0x7FC00000
CANONICAL_NAN16 = 0x7E00  # f16
CANONICAL_NANBF16 = 0x7FC0  # bf16

# How an element of each type is stored in SRAM (as read by the model) and its raw bits.
DTYPE = {"f32": "<f4", "i32": "<i4", "i16": "<i2", "i8": "i1", "f16": "<u2", "bf16": "<u2"}
UTYPE = {"f32": "<u4", "i32": "<u4", "i16": "<u2", "i8": "u1", "f16": "<u2", "bf16": "<u2"}
ESIZE = {"f32": 4, "i32": 4, "i16": 2, "i8": 1, "f16": 2, "bf16": 2}
BITS = {"i32": 32, "i16": 16, "i8": 8}
IRANGE = {t: (-(1 << (b - 1)), (1 << (b - 1)) - 1) for t, b in BITS.items()}
FLOATS = ("f32", "f16", "bf16")


def canon(x: np.ndarray) -> np.ndarray:
    """float32 values with every NaN replaced by the canonical quiet NaN."""
    x = np.asarray(x, np.float32)
    nan = np.isnan(x)
    if not nan.any():
        return x
    bits = x.view(np.uint32).copy()
    bits[nan] = CANONICAL_NAN32
    return bits.view(np.float32)


def _f32(fn):
    def op(a, b, t):
        with np.errstate(all="ignore"):
            return canon(fn(a, b))
    return op


# ---- binary element-wise ops: (a, b, element type) -> result ----

def add(a, b, t):
    return _f32(np.add)(a, b, t) if t == "f32" else a + b  # numpy integers wrap


def sub(a, b, t):
    return _f32(np.subtract)(a, b, t) if t == "f32" else a - b


def mul(a, b, t):
    return _f32(np.multiply)(a, b, t) if t == "f32" else a * b


def div(a, b, t):
    return _f32(np.divide)(a, b, t)


def _minmax(a, b, t, smaller: bool):
    if t != "f32":
        return np.minimum(a, b) if smaller else np.maximum(a, b)
    pick_a = (a < b) if smaller else (a > b)
    r = np.where(pick_a, a, b)
    both_zero = (a == 0) & (b == 0)
    if both_zero.any():  # -0 < +0: min takes a set sign bit, max a clear one
        ab, bb = a.view(np.uint32), b.view(np.uint32)
        z = (ab | bb) if smaller else (ab & bb)
        r = np.where(both_zero, z.view(np.float32), r)
    r = np.where(np.isnan(a) | np.isnan(b), np.float32(np.nan), r)
    return canon(r)


def vmin(a, b, t):
    return _minmax(a, b, t, True)


def vmax(a, b, t):
    return _minmax(a, b, t, False)


def band(a, b, t):
    return a & b


def bor(a, b, t):
    return a | b


def bxor(a, b, t):
    return a ^ b


def _amount(b, t):
    # b mod W for the element width W (a power of two): the low bits of b.
    return (b.astype(np.int64) & (BITS[t] - 1)).astype(UTYPE[t])


def shl(a, b, t):
    u = a.view(UTYPE[t])
    return (u << _amount(b, t)).astype(UTYPE[t]).view(DTYPE[t])


def shr(a, b, t):
    u = a.view(UTYPE[t])
    return (u >> _amount(b, t)).astype(UTYPE[t]).view(DTYPE[t])


def sra(a, b, t):
    return (a >> _amount(b, t).astype(np.int64)).astype(DTYPE[t])


def _mask(cond, t):
    rt = "i32" if t == "f32" else t
    return np.where(cond, -1, 0).astype(DTYPE[rt])


def cmpeq(a, b, t):
    return _mask(a == b, t)


def cmplt(a, b, t):
    return _mask(a < b, t)


def cmple(a, b, t):
    return _mask(a <= b, t)


# ---- unary element-wise ops: (x, element type) -> result ----

def vabs(x, t):
    if t == "f32":
        return canon((x.view(np.uint32) & np.uint32(0x7FFFFFFF)).view(np.float32))
    return np.abs(x)  # wraps: |MIN| = MIN


def vneg(x, t):
    if t == "f32":
        return canon((x.view(np.uint32) ^ np.uint32(0x80000000)).view(np.float32))
    return -x


def relu(x, t):
    r = np.where(x > 0, x, np.float32(0)).astype(np.float32)  # -0 and NaN fail x > 0
    return canon(np.where(np.isnan(x), np.float32(np.nan), r))


def sqrt(x, t):
    with np.errstate(all="ignore"):
        return canon(np.sqrt(x))


def recip(x, t):
    with np.errstate(all="ignore"):
        return canon(np.float32(1) / x)


def rsqrt(x, t):
    with np.errstate(all="ignore"):
        return canon(np.float32(1) / np.sqrt(x))


def exp(x, t):
    from . import transcendental as TR
    return canon(TR.exp(x))


def tanh(x, t):
    from . import transcendental as TR
    return canon(TR.tanh(x))


def sigmoid(x, t):
    from . import transcendental as TR
    return canon(TR.sigmoid(x))


def gelu(x, t):
    from . import transcendental as TR
    return canon(TR.gelu(x))


# ---- conversions ----

def f16_to_f32(bits: np.ndarray) -> np.ndarray:
    """f16 bit patterns to float32, exactly (every f16 is an f32)."""
    h = bits.astype(np.uint32)
    sign = (h & 0x8000) << 16
    e = (h >> 10) & 0x1F
    f = h & 0x3FF
    out = np.empty(h.shape, np.uint32)
    normal = (e > 0) & (e < 31)
    out[normal] = ((e[normal] + 112) << 23) | (f[normal] << 13)
    special = e == 31
    out[special] = 0x7F800000 | (f[special] << 13)
    sub = (e == 0)
    if sub.any():  # 0 and subnormals: f * 2^-24, exact in binary32
        vals = f[sub].astype(np.float64) * 2.0 ** -24
        out[sub] = vals.astype(np.float32).view(np.uint32)
    return (out | sign).view(np.float32)


def bf16_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _round_bits(u: np.ndarray, drop: np.ndarray) -> np.ndarray:
    """u >> drop rounded to nearest, ties to even (u >= 0, 1 <= drop < 63, elementwise)."""
    q = u >> drop
    r = u & ((1 << drop) - 1)
    half = 1 << (drop - 1)
    return q + ((r > half) | ((r == half) & ((q & 1) == 1)))


def f32_to_f16(x: np.ndarray) -> np.ndarray:
    """binary32 -> binary16 bits: nearest, ties to even; overflow -> inf; subnormals kept;
    NaN -> the canonical 0x7e00."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.int64)
    sign = (u >> 16) & 0x8000
    e = (u >> 23) & 0xFF
    f = u & 0x7FFFFF
    # |x| = sig * 2^(ex - 150); its f16 binade E (clamped to the subnormal one, -14) has
    # the quantum 2^(E - 10), so the f16 significand is round(sig / 2^drop).
    sig = np.where(e > 0, f | 0x800000, f)
    ex = np.maximum(e, 1)
    E = np.maximum(ex - 127, -14)
    drop = np.minimum(E - ex + 140, 40)  # beyond ~26 bits everything rounds to 0
    n = _round_bits(sig, drop)
    # Encodings are monotone: a carry to 2048 lands on the next binade, one past the
    # largest finite value on inf, and in the subnormal binade the encoding is n itself.
    enc = np.where(E == -14, n, ((E + 15) << 10) + (n - 0x400))
    enc = np.minimum(enc, 0x7C00)
    enc = np.where(e == 0xFF, np.where(f != 0, CANONICAL_NAN16, 0x7C00), enc)
    return np.where((e == 0xFF) & (f != 0), CANONICAL_NAN16, enc | sign).astype(np.uint16)


def f32_to_bf16(x: np.ndarray) -> np.ndarray:
    """binary32 -> bfloat16 bits: nearest, ties to even; overflow -> inf; NaN -> 0x7fc0."""
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.int64)
    r = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return np.where(np.isnan(np.asarray(x, np.float32)), CANONICAL_NANBF16, r).astype(np.uint16)


def to_f32(x: np.ndarray, t: str) -> np.ndarray:
    """Values of type ``t`` as float32 (ints rounded to nearest even, floats exactly)."""
    if t == "f32":
        return x
    if t == "f16":
        return f16_to_f32(x)
    if t == "bf16":
        return bf16_to_f32(x)
    with np.errstate(all="ignore"):
        return x.astype(np.float32)  # i32: round to nearest even; i16/i8: exact


def convert(x: np.ndarray, st: str, dt: str) -> np.ndarray:
    """vcvt.dt.st on an array of ``st`` elements."""
    if dt in BITS:
        lo, hi = IRANGE[dt]
        if st in BITS:
            return np.clip(x.astype(np.int64), lo, hi).astype(DTYPE[dt])
        with np.errstate(all="ignore"):  # signalling NaNs are inputs like any other
            f = to_f32(x, st).astype(np.float64)
        nan = np.isnan(f)
        r = np.rint(np.where(nan, 0.0, f))  # ties to even
        return np.where(nan, 0, np.clip(r, lo, hi)).astype(np.int64).astype(DTYPE[dt])
    f = to_f32(x, st)
    if dt == "f32":
        return canon(f)
    if dt == "f16":
        return f32_to_f16(f)
    return f32_to_bf16(f)


def requant(x: np.ndarray, mult: int, shift: int, zp: int, t: str) -> np.ndarray:
    """clamp(rne(x * M / 2^S) + Z) on int32 ``x``; the product is exact (|x*M| < 2^62)."""
    p = x.astype(np.int64) * np.int64(mult)
    if shift:
        q = p >> shift  # floor
        r = p & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        p = q + ((r > half) | ((r == half) & ((q & 1) == 1)))
    lo, hi = IRANGE[t]
    return np.clip(p + zp, lo, hi).astype(DTYPE[t])


# ---- reductions and matmul ----

def reduce_rows(kind: str, x: np.ndarray, t: str) -> np.ndarray:
    """One result per row of ``x`` (rows x cols), accumulating c = 0, 1, ... in order."""
    if t == "i32":
        if kind == "sum":
            return x.astype(np.int64).sum(axis=1).astype(np.int32)
        return x.max(axis=1).astype(np.int32)
    acc = x[:, 0].copy()
    with np.errstate(all="ignore"):
        for c in range(1, x.shape[1]):
            acc = (acc + x[:, c]) if kind == "sum" else _minmax(acc, x[:, c], t, False)
    return canon(acc)


def matmul(A: np.ndarray, B: np.ndarray, C0: np.ndarray | None, t: str) -> np.ndarray:
    """C0 + A x B (C0 None: from +0), k ascending; f32 products and sums each rounded."""
    if t == "i8":
        acc = A.astype(np.int64) @ B.astype(np.int64)
        if C0 is not None:
            acc = acc + C0.astype(np.int64)
        return acc.astype(np.int32)  # wraps mod 2^32
    a, b = to_f32(A, t), to_f32(B, t)
    acc = np.zeros((a.shape[0], b.shape[1]), np.float32) if C0 is None else C0.copy()
    with np.errstate(all="ignore"):
        for k in range(a.shape[1]):
            acc = acc + a[:, k:k + 1] * b[k:k + 1, :]
    return canon(acc)
