"""DLPack interchange: ``npu.from_dlpack`` and ``Tensor.__dlpack__`` / ``__dlpack_device__``.

NPU memory is described with device type ``kDLNPU`` (DLPack's ``kDLExtDev``, 12) and the
device index. Consumers that only know the CPU (numpy, PyTorch's CPU build) ask for a host
copy: ``np.from_dlpack(t, device="cpu")`` passes ``dl_device=(kDLCPU, 0)``, and for PyTorch
``torch.from_dlpack(t.__dlpack__(dl_device=(npu.dlpack.kDLCPU, 0)))``. In the other
direction ``npu.from_dlpack(x)`` copies any CPU DLPack producer (numpy, PyTorch, ...) into a
new device tensor; bfloat16 travels as DLPack's kDLBfloat.

Both the versioned protocol (DLPack 1.x, capsule ``"dltensor_versioned"``) and the legacy one
(``"dltensor"``) are produced and consumed. Capsules are built with ctypes, off the hot path.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from . import _dtypes

kDLCPU = 1
kDLExtDev = 12
kDLNPU = kDLExtDev  # the NPU's device type in DLPack
DLPACK_VERSION = (1, 0)
_FLAG_READ_ONLY = 1 << 0
_FLAG_IS_COPIED = 1 << 1

# DLDataTypeCode
_kDLInt, _kDLUInt, _kDLFloat, _kDLBfloat, _kDLComplex, _kDLBool = 0, 1, 2, 4, 5, 6


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", _DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", _DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class _DLManagedTensor(ctypes.Structure):
    pass


_DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_DLManagedTensor._fields_ = [
    ("dl_tensor", _DLTensor),
    ("manager_ctx", ctypes.c_void_p),
    ("deleter", ctypes.c_void_p),
]


class _DLPackVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class _DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [
        ("version", _DLPackVersion),
        ("manager_ctx", ctypes.c_void_p),
        ("deleter", ctypes.c_void_p),
        ("flags", ctypes.c_uint64),
        ("dl_tensor", _DLTensor),
    ]


_api = ctypes.pythonapi
_api.PyCapsule_New.restype = ctypes.py_object
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_IsValid.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_SetName.restype = ctypes.c_int
_api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]

_NAME = b"dltensor"
_USED = b"used_dltensor"
_NAME_V = b"dltensor_versioned"
_USED_V = b"used_dltensor_versioned"

_api.Py_IncRef.argtypes = [ctypes.py_object]
_api.Py_IncRef.restype = None


def _c_function(name: str) -> int:
    # Deleters and the capsule destructor are C (in npu._npu): consumers may call them with
    # a Python exception pending, where no Python code can run.
    from ._npu import ffi, lib
    return int(ffi.cast("uintptr_t", ffi.addressof(lib, name)))


_DELETER_V = _c_function("npu_dlpack_deleter_versioned")
_DELETER_LEGACY = _c_function("npu_dlpack_deleter_legacy")
_CAPSULE_DESTRUCTOR = _c_function("npu_dlpack_capsule_destructor")


def _dl_dtype(dt: np.dtype) -> tuple[int, int]:
    if _dtypes.bfloat16 is not None and dt == _dtypes.bfloat16:
        return _kDLBfloat, 16
    code = {"b": _kDLBool, "i": _kDLInt, "u": _kDLUInt, "f": _kDLFloat,
            "c": _kDLComplex}.get(dt.kind)
    if code is None:
        raise BufferError(f"dtype {dt} has no DLPack equivalent")
    return code, dt.itemsize * 8


def _np_dtype(code: int, bits: int, lanes: int) -> np.dtype:
    if lanes != 1:
        raise BufferError(f"DLPack vector dtypes (lanes={lanes}) are not supported")
    if code == _kDLBfloat and bits == 16:
        if _dtypes.bfloat16 is None:
            raise BufferError("bfloat16 needs the ml_dtypes package")
        return _dtypes.bfloat16
    kind = {_kDLInt: "i", _kDLUInt: "u", _kDLFloat: "f", _kDLComplex: "c", _kDLBool: "b"}.get(code)
    if kind is None or bits % 8:
        raise BufferError(f"unsupported DLPack dtype code {code} bits {bits}")
    return np.dtype(f"{kind}{bits // 8}") if kind != "b" else np.dtype(np.bool_)


def _capsule(data: int, device: tuple[int, int], shape: tuple[int, ...], dtype: np.dtype,
             owner: Any, versioned: bool, copied: bool):
    ndim = len(shape)
    shape_arr = (ctypes.c_int64 * max(ndim, 1))(*shape)
    strides, step = [], 1
    for s in reversed(shape):
        strides.append(step)
        step *= max(s, 1)
    strides_arr = (ctypes.c_int64 * max(ndim, 1))(*reversed(strides))
    code, bits = _dl_dtype(dtype)
    m = _DLManagedTensorVersioned() if versioned else _DLManagedTensor()
    t = m.dl_tensor
    t.data = data or None
    t.device = _DLDevice(*device)
    t.ndim = ndim
    t.dtype = _DLDataType(code, bits, 1)
    t.shape = ctypes.cast(shape_arr, ctypes.POINTER(ctypes.c_int64))
    t.strides = ctypes.cast(strides_arr, ctypes.POINTER(ctypes.c_int64))
    t.byte_offset = 0
    if versioned:
        m.version = _DLPackVersion(*DLPACK_VERSION)
        m.flags = _FLAG_IS_COPIED if copied else 0
    # The struct, its shape and strides and the data's owner live as long as this tuple; the
    # C deleter drops the one reference taken here.
    keep = (m, shape_arr, strides_arr, owner)
    _api.Py_IncRef(keep)
    m.manager_ctx = id(keep)
    m.deleter = _DELETER_V if versioned else _DELETER_LEGACY
    return _api.PyCapsule_New(ctypes.addressof(m), _NAME_V if versioned else _NAME,
                              _CAPSULE_DESTRUCTOR)


def export(t, *, stream: Any = None, max_version: tuple[int, int] | None = None,
           dl_device: tuple[int, int] | None = None, copy: bool | None = None):
    """Tensor.__dlpack__: the tensor itself (kDLNPU) or, with ``dl_device=(kDLCPU, 0)``, a
    host copy. ``copy=True`` always copies; ``copy=False`` raises BufferError when a copy
    would be needed."""
    from ._core import Tensor
    from .stream import Stream
    assert isinstance(t, Tensor)
    t._live()
    own = (kDLNPU, t.device.index)
    target = own if dl_device is None else (int(dl_device[0]), int(dl_device[1]))
    versioned = max_version is not None and int(max_version[0]) >= 1
    if stream is not None and not isinstance(stream, (Stream, int)):
        raise TypeError("stream must be None, an int or an npu.Stream, not "
                        f"{type(stream).__name__}")
    if target == (kDLCPU, 0):
        if copy is False:
            raise BufferError("the tensor is in NPU memory: exporting to the CPU needs a copy")
        host = t.numpy()
        return _capsule(host.ctypes.data, (kDLCPU, 0), host.shape, host.dtype, host,
                        versioned, True)
    if target != own:
        raise BufferError(f"cannot export an npu:{own[1]} tensor to DLPack device {target}")
    if copy:
        t = t.clone()
    if isinstance(stream, Stream):
        # The consumer will use the tensor on `stream`: order it after work so far.
        stream.wait_event(t.device.event().record())
    return _capsule(t.device_ptr, own, t.shape, t.dtype, t, versioned, bool(copy))


def _host_view(capsule) -> tuple[np.ndarray, int, tuple[int, int], bool]:
    """Parses a DLPack capsule of host memory: (numpy view, managed struct address,
    device, versioned). The caller calls _release() when done."""
    if _api.PyCapsule_IsValid(capsule, _NAME_V):
        addr = _api.PyCapsule_GetPointer(capsule, _NAME_V)
        m = _DLManagedTensorVersioned.from_address(addr)
        if m.version.major != 1:
            raise BufferError(f"DLPack version {m.version.major}.{m.version.minor} is not 1.x")
        versioned = True
    elif _api.PyCapsule_IsValid(capsule, _NAME):
        addr = _api.PyCapsule_GetPointer(capsule, _NAME)
        m = _DLManagedTensor.from_address(addr)
        versioned = False
    else:
        raise BufferError("not an unconsumed DLPack capsule")
    dl = m.dl_tensor
    device = (dl.device.device_type, dl.device.device_id)
    dt = _np_dtype(dl.dtype.code, dl.dtype.bits, dl.dtype.lanes)
    shape = tuple(dl.shape[i] for i in range(dl.ndim))
    if dl.strides:
        strides = tuple(dl.strides[i] * dt.itemsize for i in range(dl.ndim))
    else:
        strides = tuple(np.empty(0, dt).strides) if not shape else _c_strides(shape, dt.itemsize)
    base = (dl.data or 0) + dl.byte_offset
    size = int(np.prod(shape, dtype=np.int64))
    if size == 0 or device[0] != kDLCPU:
        arr = np.empty(shape, dt)
    else:
        lo = sum(min(0, (n - 1) * s) for n, s in zip(shape, strides))
        hi = sum(max(0, (n - 1) * s) for n, s in zip(shape, strides)) + dt.itemsize
        buf = (ctypes.c_char * (hi - lo)).from_address(base + lo)
        arr = np.ndarray(shape, dt, buffer=buf, offset=-lo, strides=strides)
    _api.PyCapsule_SetName(capsule, _USED_V if versioned else _USED)
    return arr, addr, device, versioned


def _c_strides(shape, itemsize):
    out, step = [], itemsize
    for s in reversed(shape):
        out.append(step)
        step *= max(s, 1)
    return tuple(reversed(out))


def _release(addr: int, versioned: bool) -> None:
    m = (_DLManagedTensorVersioned if versioned else _DLManagedTensor).from_address(addr)
    if m.deleter:
        _DELETER(m.deleter)(addr)


def from_dlpack(x: Any, *, device: Any = None, copy: bool | None = None):
    """A device tensor from any DLPack producer (or a DLPack capsule).

    An ``npu.Tensor`` already on ``device`` comes back as a view of the same memory (a copy
    with ``copy=True``). Host data (numpy arrays, PyTorch CPU tensors, ...) is copied to
    ``device`` (default: the current device); ``copy=False`` then raises BufferError.
    """
    from ._core import Tensor, _dev
    if isinstance(x, Tensor):
        target = x.device if device is None else _dev(device)
        if target == x.device:
            return x.clone() if copy else x._view(x.shape, x.dtype, x._offset)
        if copy is False:
            raise BufferError(f"moving a tensor from {x.device} to {target} needs a copy")
        return target.asarray(x.numpy())
    target = _dev(device)
    if copy is False:
        raise BufferError("host data must be copied to the NPU (copy=False)")
    if type(x).__name__ == "PyCapsule":
        capsule = x
    elif hasattr(x, "__dlpack__"):
        dev_type = tuple(x.__dlpack_device__()) if hasattr(x, "__dlpack_device__") else (kDLCPU, 0)
        kwargs: dict[str, Any] = {"max_version": DLPACK_VERSION}
        if dev_type[0] != kDLCPU:
            kwargs.update(dl_device=(kDLCPU, 0), copy=True)
        try:
            capsule = x.__dlpack__(**kwargs)
        except TypeError:  # a producer of the legacy protocol
            if dev_type[0] != kDLCPU:
                raise BufferError(f"{type(x).__name__} on DLPack device {dev_type} cannot "
                                  "export a host copy") from None
            capsule = x.__dlpack__()
    else:
        raise TypeError(f"{type(x).__name__} does not support DLPack (__dlpack__)")
    arr, addr, dl_dev, versioned = _host_view(capsule)
    try:
        if dl_dev[0] != kDLCPU:
            raise BufferError(f"DLPack device {dl_dev} is not host memory")
        return target.asarray(arr)
    finally:
        _release(addr, versioned)
