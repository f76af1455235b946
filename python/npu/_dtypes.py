"""Element types of device tensors: numpy dtypes, with bfloat16 from ml_dtypes."""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import ml_dtypes

    bfloat16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is a dependency
    ml_dtypes = None
    bfloat16 = None

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
uint16 = np.dtype(np.uint16)
uint32 = np.dtype(np.uint32)
uint64 = np.dtype(np.uint64)
bool_ = np.dtype(np.bool_)

_ALIASES = {
    "bf16": "bfloat16", "fp16": "float16", "half": "float16", "f16": "float16",
    "fp32": "float32", "f32": "float32", "float": "float32",
    "fp64": "float64", "f64": "float64", "double": "float64",
    "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64",
    "u8": "uint8", "u16": "uint16", "u32": "uint32", "u64": "uint64",
}


def as_dtype(dtype: Any) -> np.dtype:
    """A numpy dtype a device tensor can hold; TypeError for anything else."""
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype.lower(), dtype)
        if name.lower() == "bfloat16":
            if bfloat16 is None:
                raise TypeError("bfloat16 needs the ml_dtypes package")
            return bfloat16
        dtype = name
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"{dtype!r} is not a dtype: {e}") from None
    if dt.hasobject or dt.kind in "OSUVMm" and dt != bfloat16 or dt.fields is not None:
        raise TypeError(f"dtype {dt} cannot live on the device (numbers only)")
    return dt


def name_of(dt: np.dtype) -> str:
    return "bfloat16" if bfloat16 is not None and dt == bfloat16 else dt.name
