"""npu: the Python SDK of the open NPU stack.

    import numpy as np, npu
    dev = npu.Device(0)                       # a cheap handle; opened on first use
    prog = npu.assemble(SOURCE)               # NPU assembly -> kernel binary
    x = dev.asarray(np.arange(8, dtype=np.float32))
    dev.launch(prog, x, ..., grid=(4,))       # asynchronous
    x.numpy()                                 # waits, copies back

Layers: this package -> libnpu (C, through cffi) -> driver ioctls -> firmware-sim.
The C SDK ships inside the package: see :func:`get_include` and ``python -m npu
--pkgconfigdir``.
"""

from . import asm, log
from ._core import (
    Device,
    DeviceProperties,
    Kernel,
    Module,
    Program,
    Tensor,
    asarray,
    assemble,
    current_device,
    device_count,
    devices,
    disassemble,
    empty,
    full,
    load_module,
    set_device,
    synchronize,
    version,
    zeros,
)
from ._dtypes import (
    bfloat16,
    bool_,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
)
from ._paths import get_include, get_library_dir, get_pkgconfig_dir
from .asm import AsmError
from .dlpack import from_dlpack
from .errors import (
    DeviceTimeoutError,
    InvalidImageError,
    InvalidValueError,
    KernelFault,
    NoDeviceError,
    NotFoundError,
    NotSupportedError,
    NpuError,
    OutOfMemoryError,
)
from .profiler import profile
from .graph import Graph, GraphInfo
from .stream import Elapsed, Event, Stream, current_stream, stream

__version__ = "0.1.0"

__all__ = [
    "AsmError",
    "Device",
    "DeviceProperties",
    "DeviceTimeoutError",
    "Elapsed",
    "Event",
    "Graph",
    "GraphInfo",
    "InvalidImageError",
    "InvalidValueError",
    "Kernel",
    "KernelFault",
    "Module",
    "NoDeviceError",
    "NotFoundError",
    "NotSupportedError",
    "NpuError",
    "OutOfMemoryError",
    "Program",
    "Stream",
    "Tensor",
    "asarray",
    "asm",
    "assemble",
    "bfloat16",
    "bool_",
    "current_device",
    "current_stream",
    "device_count",
    "devices",
    "disassemble",
    "empty",
    "float16",
    "float32",
    "float64",
    "from_dlpack",
    "full",
    "get_include",
    "get_library_dir",
    "get_pkgconfig_dir",
    "int8",
    "int16",
    "int32",
    "int64",
    "load_module",
    "log",
    "profile",
    "set_device",
    "stream",
    "synchronize",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "version",
    "zeros",
]
