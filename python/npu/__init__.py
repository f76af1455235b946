"""npu: the Python SDK of the open NPU stack.

    import numpy as np, npu
    dev = npu.Device(0)                       # the embedded simulated NPU
    prog = npu.assemble(SOURCE)               # NPU assembly -> kernel binary
    x = dev.asarray(np.arange(8, dtype=np.float32))
    dev.launch(prog, x, ..., grid=(4,))       # asynchronous
    x.numpy()                                 # waits, copies back

Layers: this package -> libnpu (C, through cffi) -> driver ioctls -> firmware-sim.
"""

from . import asm
from ._core import (
    Device,
    DeviceProperties,
    Kernel,
    Module,
    Program,
    Tensor,
    assemble,
    device_count,
    disassemble,
)
from .asm import AsmError
from .errors import (
    DeviceTimeoutError,
    InvalidImageError,
    InvalidValueError,
    KernelFault,
    NoDeviceError,
    NotFoundError,
    NpuError,
    OutOfMemoryError,
)

__version__ = "0.1.0"

__all__ = [
    "AsmError",
    "Device",
    "DeviceProperties",
    "DeviceTimeoutError",
    "InvalidImageError",
    "InvalidValueError",
    "Kernel",
    "KernelFault",
    "Module",
    "NoDeviceError",
    "NotFoundError",
    "NpuError",
    "OutOfMemoryError",
    "Program",
    "Tensor",
    "asm",
    "assemble",
    "device_count",
    "disassemble",
]
