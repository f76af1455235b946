# SPDX-License-Identifier: MIT
"""Hand-written NPU kernels, in NPU assembly shipped next to this file (``*.s``), that prove
the ISA end to end: the matrix unit with double-buffered 2-D DMA, row reductions,
transcendentals and requantisation, on every core.

Each function takes numpy arrays (or anything numpy converts), runs on ``dev`` and returns a
numpy array. Results follow docs/numerics.md bit for bit, so they are reproducible, but
float results differ from numpy's (which sums in other orders) by rounding.

>>> import numpy as np, npu, npu.kernels as K
>>> dev = npu.Device(0)
>>> c = K.matmul(dev, np.ones((3, 4), np.float32), np.ones((4, 5), np.float32))
"""

from __future__ import annotations

import weakref
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import _core

__all__ = ["add", "gelu", "layernorm", "matmul", "softmax", "source"]

_DIR = Path(__file__).resolve().parent
_TILE = 64                     # matmul output tile (matmul.s)
_MAX_COLS_ROWS = 8192          # softmax / layernorm row length (rows.s)
_MAX_COLS_EW = 1024            # elementwise row length (elementwise.s)
_DT_CODES = {"float32": 0, "int8": 3, "float16": 4, "bfloat16": 5}


def source(name: str) -> str:
    """The assembly text of a kernel file shipped with the package, e.g. ``"vadd.s"``."""
    return (_DIR / name).read_text()


@lru_cache(maxsize=None)
def _program(name: str) -> "_core.Program":
    return _core.assemble(source(name), filename=name)


_modules: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _kernel(dev, file: str, name: str):
    """The kernel, from its file loaded once per opening of the device.

    Keyed by the device's live context, not the permanent Device handle: after
    ``dev.close()`` the modules loaded on the old context are gone, and the next call loads
    them again on the new one."""
    mods = _modules.setdefault(dev._context(), {})
    mod = mods.get(file)
    if mod is None:
        mod = mods[file] = dev.load(_program(file))
    return mod[name]


def _grid(dev, work: int) -> int:
    """Enough program instances for every core, never more than there is work."""
    return max(1, min(work, 4 * dev.properties.num_cores))


def matmul(dev, a, b, *, requant: tuple[int, int, int] | None = None) -> np.ndarray:
    """``a @ b`` on the matrix unit.

    - float32 x float32 -> float32; float16 or bfloat16 (``ml_dtypes.bfloat16``) inputs ->
      float32, accumulated in fp32 in increasing k (docs/numerics.md, "Matrix unit");
    - int8 x int8 -> int32 (wrapping), or with ``requant=(mult, shift, zp)`` -> int8:
      ``clamp(rne(acc * mult / 2^shift) + zp, -128, 127)`` (``vrequant.i8``).
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul needs (M, K) x (K, N), got {a.shape} x {b.shape}")
    if a.dtype != b.dtype or a.dtype.name not in _DT_CODES:
        raise TypeError(f"matmul inputs must share one of {sorted(_DT_CODES)}, got "
                        f"{a.dtype} and {b.dtype}")
    if requant is not None and a.dtype != np.int8:
        raise TypeError("requant applies to int8 inputs only")
    m, k = a.shape
    n = b.shape[1]
    out_dtype = np.int8 if requant else (np.int32 if a.dtype == np.int8 else np.float32)
    if m == 0 or n == 0:
        return np.zeros((m, n), out_dtype)
    if k == 0:
        return np.zeros((m, n), np.int32 if a.dtype == np.int8 else np.float32).astype(out_dtype)
    mult, shift, zp = requant or (0, 0, 0)
    da = dev.asarray(np.ascontiguousarray(a).view(np.uint8))
    db = dev.asarray(np.ascontiguousarray(b).view(np.uint8))
    dc = dev.empty((m, n), out_dtype)
    tiles = -(-m // _TILE) * -(-n // _TILE)
    dev.launch(_kernel(dev, "matmul.s", "matmul"), da, db, dc, m, n, k,
               _DT_CODES[a.dtype.name], int(requant is not None), int(mult), int(shift),
               int(zp), grid=tiles)
    return dc.numpy()


def _rows(x, what: str, limit: int) -> np.ndarray:
    x = np.ascontiguousarray(x, np.float32)
    if x.ndim != 2:
        raise ValueError(f"{what} needs a 2-D array, got shape {x.shape}")
    if not 1 <= x.shape[1] <= limit:
        raise ValueError(f"{what}: rows of 1..{limit} elements, got {x.shape[1]}")
    return x


def softmax(dev, x) -> np.ndarray:
    """Softmax over each row of a float32 (R, C) array, C <= 8192."""
    x = _rows(x, "softmax", _MAX_COLS_ROWS)
    if x.shape[0] == 0:
        return x.copy()
    dx, dy = dev.asarray(x), dev.empty(x.shape, np.float32)
    dev.launch(_kernel(dev, "rows.s", "softmax"), dx, dy, x.shape[0], x.shape[1],
               grid=_grid(dev, x.shape[0]))
    return dy.numpy()


def layernorm(dev, x, gamma, beta, eps: float = 1e-5) -> np.ndarray:
    """Layer norm over each row of a float32 (R, C) array, C <= 8192: ``(x - mean) *
    rsqrt(var + eps) * gamma + beta`` with the biased variance, statistics in fp32."""
    x = _rows(x, "layernorm", _MAX_COLS_ROWS)
    c = x.shape[1]
    gamma = np.ascontiguousarray(gamma, np.float32).reshape(-1)
    beta = np.ascontiguousarray(beta, np.float32).reshape(-1)
    if gamma.shape != (c,) or beta.shape != (c,):
        raise ValueError(f"gamma and beta need shape ({c},), got {gamma.shape}, {beta.shape}")
    if x.shape[0] == 0:
        return x.copy()
    dx, dy = dev.asarray(x), dev.empty(x.shape, np.float32)
    dev.launch(_kernel(dev, "rows.s", "layernorm"), dx, dy, dev.asarray(gamma),
               dev.asarray(beta), x.shape[0], c, float(np.float32(1) / np.float32(c)),
               float(eps), grid=_grid(dev, x.shape[0]))
    return dy.numpy()


def _as_rows(x, limit: int, what: str) -> tuple[np.ndarray, tuple]:
    x = np.ascontiguousarray(x, np.float32)
    shape = x.shape
    if x.ndim == 0:
        x = x.reshape(1, 1)
    elif x.ndim == 1:
        x = x.reshape(1, -1)
    else:
        x = x.reshape(-1, shape[-1])
    if x.shape[1] > limit or x.shape[1] == 0:
        x = x.reshape(-1, 1) if x.size else x
        if x.size:   # long rows: any split of a contiguous array into rows works
            cols = max(d for d in range(1, limit + 1) if x.size % d == 0)
            x = x.reshape(-1, cols)
    return x, shape


def gelu(dev, x) -> np.ndarray:
    """GELU (tanh form, ``vgelu.f32``) of a float32 array of any shape."""
    x2, shape = _as_rows(x, _MAX_COLS_EW, "gelu")
    if x2.size == 0:
        return x2.reshape(shape).copy()
    dx, dy = dev.asarray(x2), dev.empty(x2.shape, np.float32)
    dev.launch(_kernel(dev, "elementwise.s", "gelu"), dx, dy, x2.shape[0], x2.shape[1],
               grid=_grid(dev, -(-x2.shape[0] // 16)))
    return dy.numpy().reshape(shape)


def add(dev, x, y) -> np.ndarray:
    """``x + y`` in float32 with numpy broadcasting of y to x's shape. A y that is one row
    (shape ``(C,)`` or ``(1, C)``) is broadcast on the device by a stride-0 2-D DMA; other
    broadcasts are expanded on the host first."""
    x = np.ascontiguousarray(x, np.float32)
    y = np.asarray(y, np.float32)
    if np.broadcast_shapes(x.shape, y.shape) != x.shape:
        raise ValueError(f"y of shape {y.shape} does not broadcast to x's {x.shape}")
    if x.size == 0:
        return x.copy()
    if x.ndim >= 1 and 1 <= x.shape[-1] <= _MAX_COLS_EW and y.size == x.shape[-1] and (
            y.ndim == 0 or y.shape[-1] == x.shape[-1]):
        x2 = x.reshape(-1, x.shape[-1])
        y2, bstride = np.ascontiguousarray(y.reshape(-1)), 0
    else:
        x2, _ = _as_rows(x, _MAX_COLS_EW, "add")
        y2 = np.ascontiguousarray(np.broadcast_to(y, x.shape)).reshape(x2.shape)
        bstride = x2.shape[1]
    dx, dy, db = dev.asarray(x2), dev.empty(x2.shape, np.float32), dev.asarray(y2)
    dev.launch(_kernel(dev, "elementwise.s", "add_row"), dx, dy, x2.shape[0], x2.shape[1], db,
               bstride, grid=_grid(dev, -(-x2.shape[0] // 16)))
    return dy.numpy().reshape(x.shape)
