"""Devices, tensors, programs, modules and kernels over libnpu (cffi, API mode).

Every libnpu call goes through :func:`_check`, which turns a negative result into the
matching :mod:`npu.errors` exception with libnpu's precise message.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from . import asm, errors
from ._npu import ffi, lib

_ARG_TYPES = {1: "ptr", 2: "i32", 3: "u32", 4: "i64", 5: "u64", 6: "f32", 7: "f64"}
_INT_RANGES = {
    "i32": (-(2**31), 2**31 - 1),
    "u32": (0, 2**32 - 1),
    "i64": (-(2**63), 2**63 - 1),
    "u64": (0, 2**64 - 1),
}


def _string(p) -> str:
    return ffi.string(p).decode("utf-8", "replace") if p != ffi.NULL else ""


def _check(ret: int, call: str, dev: "Device | None" = None, **extra) -> None:
    if ret == 0:
        return
    name = _string(lib.npu_error_name(ret))
    message = _string(lib.npu_last_error_message()) or _string(lib.npu_error_string(ret))
    if name == "NPU_ERROR_KERNEL_FAULT" and dev is not None:
        info = ffi.new("struct npu_fault_info *")
        info.struct_size = ffi.sizeof("struct npu_fault_info")
        if lib.npu_device_get_last_fault(dev._handle, info) == 0:
            raise errors.KernelFault(
                ret, name, call, _string(info.message),
                trap=_string(info.trap_name), kernel=_string(info.kernel), core=info.core,
                pc=info.pc, insn=info.insn, disasm=_string(info.disasm), address=info.addr,
                is_write=bool(info.is_write), has_insn=bool(info.has_insn))
    cls = errors.error_class(name)
    if cls is errors.OutOfMemoryError:
        raise cls(ret, name, call, message, **extra)
    raise cls(ret, name, call, message)


def device_count() -> int:
    """Number of NPU devices present."""
    n = ffi.new("int *")
    _check(lib.npu_device_count(n), "npu_device_count")
    return n[0]


@dataclass(frozen=True)
class DeviceProperties:
    name: str
    ordinal: int
    num_cores: int
    sram_per_core: int
    mem_total: int
    mem_used: int
    clock_khz: int
    fw_version: tuple[int, int]
    isa_version: tuple[int, int]
    max_kernel_args: int
    page_size: int


class Device:
    """An NPU. ``Device(i)`` returns the same object for the same ordinal while it is open.

    Work (launches, device copies) runs asynchronously in submission order; :meth:`synchronize`
    and host copies (``Tensor.numpy()``) wait for it and raise a :class:`npu.KernelFault` if a
    kernel faulted. A fault affects only the work that caused it.
    """

    _open: dict[int, "Device"] = {}
    _lock = threading.Lock()

    def __new__(cls, ordinal: int = 0):
        if not isinstance(ordinal, int) or isinstance(ordinal, bool):
            raise TypeError(f"device ordinal must be an int, not {type(ordinal).__name__}")
        with cls._lock:
            dev = cls._open.get(ordinal)
            if dev is None:
                dev = super().__new__(cls)
                out = ffi.new("npu_device_t **")
                _check(lib.npu_device_open(ordinal, out), "npu_device_open")
                dev._handle = out[0]
                dev.ordinal = ordinal
                dev._modules = {}
                cls._open[ordinal] = dev
            return dev

    def __repr__(self) -> str:
        return f"<npu.Device {self.ordinal}>" if self._handle else "<npu.Device closed>"

    @property
    def properties(self) -> DeviceProperties:
        p = ffi.new("struct npu_device_props *")
        p.struct_size = ffi.sizeof("struct npu_device_props")
        _check(lib.npu_device_get_props(self._live(), p), "npu_device_get_props")
        return DeviceProperties(
            name=_string(p.name), ordinal=p.ordinal, num_cores=p.num_cores,
            sram_per_core=p.sram_per_core, mem_total=p.mem_total, mem_used=p.mem_used,
            clock_khz=p.clock_khz, fw_version=(p.fw_version >> 16, p.fw_version & 0xFFFF),
            isa_version=(p.isa_version >> 16, p.isa_version & 0xFFFF),
            max_kernel_args=p.max_kernel_args, page_size=p.page_size)

    def _live(self):
        if not self._handle:
            raise errors.InvalidValueError(-22, "NPU_ERROR_INVALID_VALUE", "Device",
                                           "the device has been closed")
        return self._handle

    def close(self) -> None:
        """Waits for outstanding work and releases the device and everything on it."""
        with Device._lock:
            if self._handle:
                lib.npu_device_close(self._handle)
                self._handle = None
                self._modules.clear()
                Device._open.pop(self.ordinal, None)

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- memory ------------------------------------------------------------------------
    def empty(self, shape: int | Sequence[int], dtype: Any = np.float32) -> "Tensor":
        """A new tensor in device memory (zero-filled, as every new allocation is)."""
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise ValueError(f"negative dimension in shape {shape}")
        return Tensor._allocate(self, shape, np.dtype(dtype))

    def zeros(self, shape: int | Sequence[int], dtype: Any = np.float32) -> "Tensor":
        return self.empty(shape, dtype)

    def asarray(self, array: Any, dtype: Any = None) -> "Tensor":
        """Copies a numpy array (or anything numpy accepts) to a new device tensor."""
        host = np.ascontiguousarray(array, dtype=dtype)
        t = Tensor._allocate(self, host.shape, host.dtype)
        t.copy_from(host)
        return t

    # ---- kernels -----------------------------------------------------------------------
    def load(self, program: "Program | bytes") -> "Module":
        """Loads a kernel binary onto the device."""
        binary = program.binary if isinstance(program, Program) else bytes(program)
        out = ffi.new("npu_module_t **")
        _check(lib.npu_module_load_data(self._live(), binary, len(binary), out),
               "npu_module_load_data")
        return Module(self, out[0])

    def launch(self, kernel: "Kernel | Program", *args: Any, grid: int | Sequence[int] = 1,
               max_insns: int = 0, timeout: float | None = None) -> None:
        """Launches ``kernel`` over ``grid`` program instances, asynchronously.

        ``kernel`` is a :class:`Kernel` or a single-kernel :class:`Program` (loaded on first
        use). Arguments are checked against the kernel's signature: a tensor for ``ptr``,
        an int for integer types, a float for ``f32``/``f64``. ``max_insns`` bounds each
        program instance's instructions and ``timeout`` (seconds) the launch; 0/None take
        the device defaults.
        """
        if isinstance(kernel, Program):
            kernel = self._program_kernel(kernel)
        elif not isinstance(kernel, Kernel):
            raise TypeError(f"launch() needs a Kernel or Program, not {type(kernel).__name__}")
        if kernel.module.device is not self:
            raise ValueError(f"kernel '{kernel.name}' was loaded on {kernel.module.device!r}")
        g = _grid(grid)
        if len(args) != len(kernel.args):
            sig = ", ".join(f"{n}: {t}" for n, t in kernel.args)
            raise TypeError(f"kernel '{kernel.name}({sig})' takes {len(kernel.args)} "
                            f"arguments, {len(args)} given")
        if not isinstance(max_insns, int) or max_insns < 0:
            raise ValueError(f"max_insns must be a non-negative int, not {max_insns!r}")
        timeout_us = 0 if timeout is None else int(timeout * 1e6)
        if timeout is not None and not 0 < timeout_us < 2**32:
            raise ValueError(f"timeout {timeout!r} s is out of range")
        n = len(args)
        vals = ffi.new("uint64_t[]", max(n, 1))
        ptrs = ffi.new("void *[]", max(n, 1))
        sizes = ffi.new("size_t[]", max(n, 1))
        for i, ((name, typ), a) in enumerate(zip(kernel.args, args)):
            vals[i], sizes[i] = _arg_value(kernel.name, i, name, typ, a, self)
            ptrs[i] = vals + i
        cfg = ffi.new("struct npu_launch_config *")
        cfg.struct_size = ffi.sizeof("struct npu_launch_config")
        cfg.grid = g
        cfg.max_insns = max_insns
        cfg.timeout_us = timeout_us
        _check(lib.npu_launch_kernel(self._live(), kernel._handle, cfg, ptrs, sizes, n),
               "npu_launch_kernel", self)

    def _program_kernel(self, program: "Program") -> "Kernel":
        mod = self._modules.get(program.binary)
        if mod is None:
            mod = self._modules[program.binary] = self.load(program)
        if len(mod.kernels) != 1:
            raise ValueError(f"the program has kernels {mod.kernels}; load it with "
                             "Device.load() and pick one")
        return mod[mod.kernels[0]]

    def synchronize(self) -> None:
        """Waits for all submitted work; raises KernelFault for a fault not yet reported."""
        _check(lib.npu_device_synchronize(self._live()), "npu_device_synchronize", self)


def _grid(grid: int | Sequence[int]) -> list[int]:
    g = [grid] if isinstance(grid, (int, np.integer)) else list(grid)
    if not 1 <= len(g) <= 3:
        raise ValueError(f"grid must have 1 to 3 dimensions, got {grid!r}")
    for d in g:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"grid dimensions must be ints, got {grid!r}")
        if not 1 <= d < 2**32:
            raise ValueError(f"grid dimensions must be in [1, 2^32), got {grid!r}")
    g = [int(d) for d in g] + [1] * (3 - len(g))
    if g[0] * g[1] * g[2] >= 2**32:
        raise ValueError(f"grid {tuple(g)} has 2^32 or more program instances")
    return g


def _arg_value(kname: str, i: int, name: str, typ: str, a: Any, dev: Device) -> tuple[int, int]:
    where = f"kernel '{kname}' argument {i} ('{name}', {typ})"
    if typ == "ptr":
        if isinstance(a, Tensor):
            if a.device is not dev:
                raise ValueError(f"{where}: tensor lives on {a.device!r}")
            return a.device_ptr, 8
        raise TypeError(f"{where}: expected an npu.Tensor, got {type(a).__name__}")
    if typ in _INT_RANGES:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{where}: expected an int, got {type(a).__name__}")
        lo, hi = _INT_RANGES[typ]
        if not lo <= int(a) <= hi:
            raise OverflowError(f"{where}: {a} does not fit in {typ}")
        size = 4 if typ in ("i32", "u32") else 8
        return int(a) & ((1 << (8 * size)) - 1), size
    if isinstance(a, bool) or not isinstance(a, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: expected a float, got {type(a).__name__}")
    if typ == "f32":
        return int(np.array(a, dtype=np.float32).view(np.uint32)), 4
    return int(np.array(a, dtype=np.float64).view(np.uint64)), 8


# ---- tensors --------------------------------------------------------------------------------

class _Allocation:
    """Owns one device allocation; freed when the last tensor using it goes away."""

    def __init__(self, dev: Device, nbytes: int):
        self.device = dev
        out = ffi.new("npu_deviceptr_t *")
        size = max(nbytes, 1)
        ret = lib.npu_mem_alloc(dev._live(), size, out)
        if ret:
            free = None
            try:
                p = dev.properties
                free = p.mem_total - p.mem_used
            except errors.NpuError:
                pass
            _check(ret, "npu_mem_alloc", requested=size, free=free)
        self.ptr = out[0]
        self.nbytes = nbytes

    def free(self) -> None:
        if self.ptr and self.device._handle:
            lib.npu_mem_free(self.device._handle, self.ptr)
        self.ptr = 0

    def __del__(self):
        try:
            self.free()
        except Exception:  # interpreter shutdown
            pass


class Tensor:
    """A dense, C-contiguous n-d array in device memory."""

    __slots__ = ("device", "shape", "dtype", "device_ptr", "_alloc", "__weakref__")

    def __init__(self):
        raise TypeError("create tensors with Device.empty() or Device.asarray()")

    @classmethod
    def _allocate(cls, dev: Device, shape: tuple[int, ...], dtype: np.dtype) -> "Tensor":
        if dtype.hasobject:
            raise TypeError(f"dtype {dtype} cannot live on the device")
        t = object.__new__(cls)
        t.device = dev
        t.shape = shape
        t.dtype = dtype
        t._alloc = _Allocation(dev, int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)
        t.device_ptr = t._alloc.ptr
        return t

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"<npu.Tensor shape={self.shape} dtype={self.dtype} on {self.device!r}>"

    def _require_live(self):
        if self._alloc is None or not self._alloc.ptr:
            raise ValueError("the tensor's memory has been freed")
        return self.device._live()

    def numpy(self) -> np.ndarray:
        """Copies the tensor to a new numpy array (waits for earlier device work)."""
        out = np.empty(self.shape, self.dtype)
        if self.nbytes:
            h = self._require_live()
            _check(lib.npu_memcpy_dtoh(h, ffi.from_buffer(out), self.device_ptr, self.nbytes),
                   "npu_memcpy_dtoh", self.device)
        return out

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def copy_from(self, array: Any) -> "Tensor":
        """Copies host data of the same shape into the tensor (waits for earlier work)."""
        host = np.ascontiguousarray(array, dtype=self.dtype)
        if host.shape != self.shape:
            raise ValueError(f"shape {host.shape} does not match the tensor's {self.shape}")
        if self.nbytes:
            h = self._require_live()
            _check(lib.npu_memcpy_htod(h, self.device_ptr, ffi.from_buffer(host), self.nbytes),
                   "npu_memcpy_htod", self.device)
        return self

    def fill(self, value: Any) -> "Tensor":
        """Fills the tensor with ``value`` on the device (asynchronous; 4-byte dtypes)."""
        if self.dtype.itemsize != 4:
            raise TypeError(f"fill() supports 4-byte dtypes, not {self.dtype}")
        bits = int(np.array(value, dtype=self.dtype).view(np.uint32))
        if self.size:
            _check(lib.npu_memset_d32(self._require_live(), self.device_ptr, bits, self.size),
                   "npu_memset_d32", self.device)
        return self

    def free(self) -> None:
        """Releases the device memory now (also happens when the tensor is collected)."""
        if self._alloc is not None:
            self._alloc.free()
            self._alloc = None

    def __enter__(self) -> "Tensor":
        return self

    def __exit__(self, *exc) -> None:
        self.free()


# ---- programs, modules, kernels ----------------------------------------------------------------

class Program:
    """A kernel binary (NPUKBIN container) held on the host, e.g. from :func:`assemble`."""

    def __init__(self, binary: bytes):
        self.binary = bytes(binary)
        self.info = asm.read_kbin(self.binary)

    @classmethod
    def from_file(cls, path) -> "Program":
        with open(path, "rb") as f:
            return cls(f.read())

    @property
    def kernels(self) -> list[str]:
        return [k.name for k in self.info.kernels]

    def disassemble(self) -> str:
        return asm.disassemble(self.binary)

    def __repr__(self) -> str:
        return f"<npu.Program kernels={self.kernels} {len(self.binary)} bytes>"


def assemble(source: str, *, filename: str = "<asm>") -> Program:
    """Assembles NPU assembly text into a :class:`Program` (raises ``asm.AsmError``)."""
    return Program(asm.assemble(source, filename=filename))


def disassemble(binary: "bytes | Program") -> str:
    """Disassembles a kernel binary to assembly text that re-assembles to the same bytes."""
    return asm.disassemble(binary.binary if isinstance(binary, Program) else bytes(binary))


class Module:
    """A kernel binary loaded on a device. Kernels by name: ``mod["vadd"]`` or ``mod.vadd``."""

    def __init__(self, dev: Device, handle):
        self.device = dev
        self._handle = handle
        count = ffi.new("uint32_t *")
        _check(lib.npu_module_kernel_count(handle, count), "npu_module_kernel_count")
        self._kernels: dict[str, Kernel] = {}
        for i in range(count[0]):
            kp = ffi.new("npu_kernel_t **")
            _check(lib.npu_module_get_kernel_by_index(handle, i, kp),
                   "npu_module_get_kernel_by_index")
            k = Kernel(self, kp[0])
            self._kernels[k.name] = k

    @property
    def kernels(self) -> list[str]:
        return list(self._kernels)

    def __getitem__(self, name: str) -> "Kernel":
        try:
            return self._kernels[name]
        except KeyError:
            raise KeyError(f"module has no kernel {name!r}; it has {self.kernels}") from None

    def __getattr__(self, name: str) -> "Kernel":
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._kernels[name]
        except KeyError:
            raise AttributeError(f"module has no kernel {name!r}") from None

    def unload(self) -> None:
        if self._handle is not None and self.device._handle:
            lib.npu_module_unload(self._handle)
        self._handle = None

    def __del__(self):
        try:
            self.unload()
        except Exception:
            pass


class Kernel:
    """One kernel of a loaded module, with its argument signature."""

    def __init__(self, module: Module, handle):
        self.module = module
        self._handle = handle
        info = ffi.new("struct npu_kernel_info *")
        info.struct_size = ffi.sizeof("struct npu_kernel_info")
        _check(lib.npu_kernel_get_info(handle, info), "npu_kernel_get_info")
        self.name = _string(info.name)
        self.sram_bytes = info.sram_bytes
        self.args = [(_string(info.arg_names[i]), _ARG_TYPES[info.arg_types[i]])
                     for i in range(info.num_args)]

    def __repr__(self) -> str:
        sig = ", ".join(f"{n}: {t}" for n, t in self.args)
        return f"<npu.Kernel {self.name}({sig})>"
