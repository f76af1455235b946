# SPDX-License-Identifier: MIT
"""The exact fp32 algorithms of vexp, vtanh, vsigmoid and vgelu (docs/numerics.md, section
7), as sequences of numpy float32 operations, each rounded once, in the documented order.
Inputs and outputs are float32 arrays; NaN canonicalisation is the caller's."""

from __future__ import annotations

import numpy as np


def _f(bits: int) -> np.float32:
    return np.array([bits], np.uint32).view(np.float32)[0]


LOG2E = _f(0x3FB8AA3B)
C1 = _f(0x3F318000)
C2 = _f(0xB95E8083)
P = [_f(0x39506967), _f(0x3AB743CE), _f(0x3C088908), _f(0x3D2AA9C1), _f(0x3E2AAAAA),
     _f(0x3F000000)]
Q = [_f(0xBBBAF0EA), _f(0x3CA9134E), _f(0xBD5C1E2D), _f(0x3E088393), _f(0xBEAAAA99)]
GC = _f(0x3D372713)
GK = _f(0x3F4C422A)
ONE = np.float32(1.0)
TWO = np.float32(2.0)
HALF = np.float32(0.5)
TANH_SMALL = np.float32(0.625)


def _pow2(k: np.ndarray) -> np.ndarray:
    return ((k.astype(np.int64) + 127) << 23).astype(np.uint32).view(np.float32)


def exp(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    with np.errstate(all="ignore"):
        xc = np.where(x > np.float32(100.0), np.float32(100.0),
                      np.where(x < np.float32(-104.0), np.float32(-104.0), x))
        xc = np.where(np.isnan(x), np.float32(0.0), xc).astype(np.float32)
        t = xc * LOG2E
        n = np.rint(t)
        r = xc - n * C1
        r = r - n * C2
        z = r * r
        p = np.full_like(r, P[0])
        for c in P[1:]:
            p = p * r
            p = p + c
        y = p * z
        y = y + r
        y = y + ONE
        ni = n.astype(np.int64)
        a = ni >> 1
        b = ni - a
        y = y * _pow2(a)
        y = y * _pow2(b)
    return np.where(np.isnan(x), x, y).astype(np.float32)


def tanh(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    with np.errstate(all="ignore"):
        ax = np.abs(x)
        e = exp(ax + ax)
        big = ONE - TWO / (e + ONE)
        big = np.copysign(big, x)
        z = x * x
        p = np.full_like(x, Q[0])
        for c in Q[1:]:
            p = p * z
            p = p + c
        y = p * z
        y = y * x
        small = y + x
        res = np.where(ax > TANH_SMALL, big, small)
    return np.where(np.isnan(x) | (x == 0), x, res).astype(np.float32)


def sigmoid(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    with np.errstate(all="ignore"):
        neg = (x.view(np.uint32) ^ np.uint32(0x80000000)).view(np.float32)
        e = exp(neg)
        d = ONE + e
        return (ONE / d).astype(np.float32)


def gelu(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    with np.errstate(all="ignore"):
        u = x * x
        u = u * x
        u = u * GC
        u = x + u
        u = u * GK
        t = tanh(u)
        y = t + ONE
        h = x * HALF
        res = h * y
    return np.where(x == -np.inf, np.float32(-0.0), res).astype(np.float32)
