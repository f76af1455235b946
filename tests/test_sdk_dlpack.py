"""DLPack round trips between the NPU, numpy and PyTorch (CPU build)."""

import gc

import numpy as np
import pytest

import npu
from npu import dlpack

ml_dtypes = pytest.importorskip("ml_dtypes")

DTYPES = [np.float32, np.float16, np.float64, np.int8, np.uint8, np.int16, np.int32,
          np.int64, np.uint16, np.bool_, np.complex64]


def test_dlpack_device_is_the_npu(dev):
    t = dev.empty((2, 3), np.float32)
    assert t.__dlpack_device__() == (dlpack.kDLNPU, 0) == (12, 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_round_trip(dev, rng, dtype):
    a = (rng.standard_normal((3, 4, 5)) * 20).astype(dtype)
    t = npu.from_dlpack(a)                       # numpy -> NPU (copy)
    assert t.device == npu.current_device() and t.shape == a.shape and t.dtype == a.dtype
    back = np.from_dlpack(t, device="cpu")       # NPU -> numpy: host copy via dl_device
    np.testing.assert_array_equal(back, a)
    assert back.ctypes.data != a.ctypes.data


def test_numpy_non_contiguous_and_legacy_capsule(dev):
    a = np.arange(60, dtype=np.int32).reshape(6, 10)[::2, 1::3]
    t = npu.from_dlpack(a)
    np.testing.assert_array_equal(t.numpy(), a)
    cap = t.__dlpack__(dl_device=(dlpack.kDLCPU, 0))          # legacy (no max_version)
    np.testing.assert_array_equal(np.from_dlpack(_Capsule(cap)), a)
    t2 = npu.from_dlpack(t.__dlpack__(max_version=(1, 0), dl_device=(1, 0)))
    np.testing.assert_array_equal(t2.numpy(), a)


class _Capsule:
    """Hands a ready capsule to np.from_dlpack, which wants an object with __dlpack__."""

    def __init__(self, cap):
        self.cap = cap

    def __dlpack__(self, **kw):
        return self.cap

    def __dlpack_device__(self):
        return (dlpack.kDLCPU, 0)


def test_export_rules(dev):
    t = dev.asarray(np.arange(6, dtype=np.float32))
    with pytest.raises(BufferError, match="needs a copy"):
        t.__dlpack__(dl_device=(dlpack.kDLCPU, 0), copy=False)
    with pytest.raises(BufferError):
        t.__dlpack__(dl_device=(2, 0))          # CUDA
    with pytest.raises(RuntimeError, match="Unsupported device"):
        np.from_dlpack(t)                       # numpy cannot read NPU memory in place
    # Same device: a zero-copy view; copy=True a new allocation.
    v = npu.from_dlpack(t)
    assert v.device_ptr == t.device_ptr
    c = npu.from_dlpack(t, copy=True)
    assert c.device_ptr != t.device_ptr and c.numpy().tolist() == t.numpy().tolist()
    # A capsule keeps the memory alive until it is consumed and released, or collected
    # unconsumed (both capsule kinds).
    for mv in ((1, 0), None):
        gc.collect()
        before = dev.mem_used
        u = dev.empty(1 << 20, np.uint8)
        cap = u.__dlpack__(max_version=mv)
        del u
        gc.collect()
        assert dev.mem_used > before
        del cap
        gc.collect()
        assert dev.mem_used == before


def test_bfloat16_over_dlpack(dev):
    a = np.array([1.0, -2.5, 3.140625, 0.0078125], dtype=ml_dtypes.bfloat16)
    t = dev.asarray(a)
    cap = t.__dlpack__(max_version=(1, 0), dl_device=(dlpack.kDLCPU, 0))
    back = npu.from_dlpack(cap)
    assert back.dtype == npu.bfloat16
    assert back.numpy().view(np.uint16).tolist() == a.view(np.uint16).tolist()


def test_pytorch_round_trip(dev):
    torch = pytest.importorskip("torch")
    for tdtype, ndtype in [(torch.float32, np.float32), (torch.float16, np.float16),
                           (torch.bfloat16, ml_dtypes.bfloat16), (torch.int64, np.int64),
                           (torch.int8, np.int8), (torch.bool, np.bool_)]:
        x = (torch.arange(24) % 7 - 3).reshape(2, 3, 4).to(tdtype)
        t = npu.from_dlpack(x)                                   # torch -> NPU
        assert t.shape == (2, 3, 4) and t.dtype == np.dtype(ndtype)
        y = torch.from_dlpack(t.__dlpack__(max_version=(1, 0),
                                           dl_device=(dlpack.kDLCPU, 0)))  # NPU -> torch
        assert y.dtype == tdtype and torch.equal(x, y)
    # A non-contiguous torch view, and torch's legacy capsule.
    x = torch.arange(40, dtype=torch.float32).reshape(5, 8)[:, ::2]
    np.testing.assert_array_equal(npu.from_dlpack(x).numpy(), x.numpy())
    legacy = torch.utils.dlpack.to_dlpack(torch.ones(3))
    assert npu.from_dlpack(legacy).numpy().tolist() == [1.0, 1.0, 1.0]
    # torch cannot read NPU memory in place and says so.
    with pytest.raises(Exception):
        torch.from_dlpack(dev.empty(3, np.float32))
