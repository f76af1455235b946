# SPDX-License-Identifier: MIT
"""The assembly kernels of npu.kernels against numpy on random shapes: tiled matmul (f32,
bf16, f16, int8 -> int32 and int8 with requantisation), softmax, layer norm, gelu and
broadcasting add; they use double-buffered 2-D DMA and a grid over every core."""

from __future__ import annotations

import numpy as np
import pytest

import npu
import npu.kernels as K

ml_dtypes = pytest.importorskip("ml_dtypes")

SHAPES = [(1, 1, 1), (3, 5, 7), (64, 64, 64), (65, 63, 129), (130, 70, 200), (7, 300, 33)]


def seq_matmul(a32, b32):
    """docs/numerics.md's order: acc from +0, products and sums in fp32, k ascending."""
    acc = np.zeros((a32.shape[0], b32.shape[1]), np.float32)
    for k in range(a32.shape[1]):
        acc = acc + a32[:, k:k + 1] * b32[k]
    return acc


@pytest.mark.parametrize("m,k,n", SHAPES)
def test_matmul_f32_bit_exact(dev, rng, m, k, n):
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    c = K.matmul(dev, a, b)
    assert c.dtype == np.float32 and c.shape == (m, n)
    assert np.array_equal(c, seq_matmul(a, b))
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dt", [ml_dtypes.bfloat16, np.float16])
@pytest.mark.parametrize("m,k,n", SHAPES[1:4])
def test_matmul_half_types(dev, rng, dt, m, k, n):
    a = rng.standard_normal((m, k)).astype(dt)
    b = rng.standard_normal((k, n)).astype(dt)
    c = K.matmul(dev, a, b)
    assert c.dtype == np.float32
    assert np.array_equal(c, seq_matmul(a.astype(np.float32), b.astype(np.float32)))


@pytest.mark.parametrize("m,k,n", SHAPES)
def test_matmul_int8(dev, rng, m, k, n):
    a = rng.integers(-128, 127, (m, k), endpoint=True).astype(np.int8)
    b = rng.integers(-128, 127, (k, n), endpoint=True).astype(np.int8)
    c = K.matmul(dev, a, b)
    assert c.dtype == np.int32
    assert np.array_equal(c, a.astype(np.int32) @ b.astype(np.int32))


@pytest.mark.parametrize("m,k,n", SHAPES[1:])
def test_matmul_int8_requant(dev, rng, m, k, n):
    a = rng.integers(-128, 127, (m, k), endpoint=True).astype(np.int8)
    b = rng.integers(-128, 127, (k, n), endpoint=True).astype(np.int8)
    mult, shift, zp = 1518500250, 44, -3   # scale ~ 8.6e-5
    c = K.matmul(dev, a, b, requant=(mult, shift, zp))
    acc = a.astype(np.int64) @ b.astype(np.int64)
    p = acc * mult
    q = p >> shift
    r = p - (q << shift)
    half = 1 << (shift - 1)
    q = q + ((r > half) | ((r == half) & (q & 1 == 1)))
    assert c.dtype == np.int8
    assert np.array_equal(c, np.clip(q + zp, -128, 127).astype(np.int8))


def test_matmul_rejects_bad_input(dev):
    with pytest.raises(ValueError, match=r"\(M, K\) x \(K, N\)"):
        K.matmul(dev, np.ones((2, 3), np.float32), np.ones((4, 2), np.float32))
    with pytest.raises(TypeError):
        K.matmul(dev, np.ones((2, 3), np.float64), np.ones((3, 2), np.float64))
    with pytest.raises(TypeError, match="requant"):
        K.matmul(dev, np.ones((2, 3), np.float32), np.ones((3, 2), np.float32), requant=(1, 1, 0))


@pytest.mark.parametrize("r,c", [(1, 1), (5, 17), (33, 1000), (9, 8192)])
def test_softmax(dev, rng, r, c):
    x = (rng.standard_normal((r, c)) * 5).astype(np.float32)
    x[0, 0] = 80.0
    y = K.softmax(dev, x)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(1, keepdims=True), rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("r,c", [(1, 2), (6, 31), (40, 768)])
def test_layernorm(dev, rng, r, c):
    x = (rng.standard_normal((r, c)) * 3 + 1).astype(np.float32)
    g = rng.standard_normal(c).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    y = K.layernorm(dev, x, g, b, eps=1e-5)
    x64 = x.astype(np.float64)
    mu = x64.mean(1, keepdims=True)
    want = (x64 - mu) / np.sqrt(x64.var(1, keepdims=True) + 1e-5) * g + b
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(1,), (1000,), (37, 19), (3, 4, 1500), (70001,)])
def test_gelu(dev, rng, shape):
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    y = K.gelu(dev, x)
    x64 = x.astype(np.float64)
    want = 0.5 * x64 * (1 + np.tanh(np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64 ** 3)))
    assert y.shape == x.shape
    np.testing.assert_allclose(y, want, rtol=0, atol=3e-6)


@pytest.mark.parametrize("xs,ys", [((40, 100), (100,)), ((40, 100), (1, 100)),
                                   ((40, 100), (40, 100)), ((3, 7, 5), (7, 1)),
                                   ((17,), ()), ((5, 2000), (2000,))])
def test_add_broadcasting(dev, rng, xs, ys):
    x = rng.standard_normal(xs).astype(np.float32)
    y = rng.standard_normal(ys).astype(np.float32)
    assert np.array_equal(K.add(dev, x, y), x + y)     # one fp32 add: exact


def test_kernels_use_all_cores(dev, rng):
    """A grid of many tiles spreads over the cores and still gives the exact result."""
    a = rng.standard_normal((300, 40)).astype(np.float32)
    b = rng.standard_normal((40, 300)).astype(np.float32)
    assert np.array_equal(K.matmul(dev, a, b), seq_matmul(a, b))


def test_kernels_work_again_after_the_device_is_closed(rng):
    """Modules loaded for npu.kernels belong to one opening of the device: after close()
    the next call loads them on the new one instead of reusing dead handles."""
    dev = npu.Device(0)
    x = rng.standard_normal((4, 16)).astype(np.float32)
    first = K.gelu(dev, x)
    dev.close()
    np.testing.assert_array_equal(K.gelu(dev, x), first)
