"""Devices, tensors, programs, modules and kernels over libnpu (cffi, API mode).

Every libnpu call goes through :func:`_check`, which turns a negative result into the
matching :mod:`npu.errors` exception with libnpu's precise message.

A :class:`Device` is a cheap handle (an index). The libnpu device behind it (a
:class:`_Context`) is opened on first use and shared by every handle of that index in the
process; :meth:`Device.close` releases it and everything allocated on it.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from . import _dtypes, asm, errors
from ._npu import ffi, lib
from .log import logger

if TYPE_CHECKING:  # pragma: no cover
    from .stream import Event, Stream

_ARG_TYPES = {1: "ptr", 2: "i32", 3: "u32", 4: "i64", 5: "u64", 6: "f32", 7: "f64"}
_INT_RANGES = {
    "i32": (-(2**31), 2**31 - 1),
    "u32": (0, 2**32 - 1),
    "i64": (-(2**63), 2**63 - 1),
    "u64": (0, 2**64 - 1),
}

# Set by npu.profiler while a profile is being recorded: gets host-side API spans.
_tracer: Any = None


def _string(p) -> str:
    return ffi.string(p).decode("utf-8", "replace") if p != ffi.NULL else ""


def _check(ret: int, call: str, ctx: "_Context | None" = None, **extra) -> None:
    if ret == 0:
        return
    name = _string(lib.npu_error_name(ret))
    message = _string(lib.npu_last_error_message()) or _string(lib.npu_error_string(ret))
    if name == "NPU_ERROR_KERNEL_FAULT" and ctx is not None and ctx.handle is not None:
        info = ffi.new("struct npu_fault_info *")
        info.struct_size = ffi.sizeof("struct npu_fault_info")
        if lib.npu_device_get_last_fault(ctx.handle, info) == 0:
            fault = errors.KernelFault(
                ret, name, call, _string(info.message),
                trap=_string(info.trap_name), kernel=_string(info.kernel), core=info.core,
                pc=info.pc, insn=info.insn, disasm=_string(info.disasm), address=info.addr,
                is_write=bool(info.is_write), has_insn=bool(info.has_insn))
            logger.info("kernel fault: %s", fault.message)
            raise fault
    cls = errors.error_class(name)
    if cls is errors.OutOfMemoryError:
        raise cls(ret, name, call, message, **extra)
    raise cls(ret, name, call, message)


def version() -> tuple[int, int, int]:
    """The version of the libnpu this package runs on, (major, minor, patch)."""
    v = lib.npu_get_version()
    return v // 10000, v // 100 % 100, v % 100


# ---- which devices this process sees ------------------------------------------------------------

_visible_lock = threading.Lock()
_visible_map: list[int] | None = None


def _parse_visible(value: str | None, physical: int) -> list[int]:
    """NPU_VISIBLE_DEVICES, with CUDA_VISIBLE_DEVICES semantics: unset = all devices; a comma
    list of physical indices in the order they get visible indices 0, 1, ...; the list stops
    at the first invalid entry (not an index, out of range, or a repeat); empty = none."""
    if value is None:
        return list(range(physical))
    out: list[int] = []
    for item in value.split(","):
        item = item.strip()
        if not item or not item.isdigit():
            break
        i = int(item)
        if i >= physical or i in out:
            break
        out.append(i)
    return out


def _physical_count() -> int:
    n = ffi.new("int *")
    _check(lib.npu_device_count(n), "npu_device_count")
    return n[0]


def _visible() -> list[int]:
    global _visible_map
    if _visible_map is None:
        with _visible_lock:
            if _visible_map is None:
                value = os.environ.get("NPU_VISIBLE_DEVICES")
                # Counting needs no device when none is visible.
                phys = 0 if value is not None and not value.strip() else _physical_count()
                _visible_map = _parse_visible(value, phys)
                logger.debug("visible devices %s of %d (NPU_VISIBLE_DEVICES=%r)",
                             _visible_map, phys, value)
    return _visible_map


def device_count() -> int:
    """Number of NPU devices this process can use (after ``NPU_VISIBLE_DEVICES``)."""
    return len(_visible())


# ---- the libnpu device behind a Device handle ---------------------------------------------------

class _Context:
    """One open libnpu device (``npu_device_t``). Objects made on it keep it as ``ctx`` and
    check ``handle`` before use, so nothing touches a closed device."""

    __slots__ = ("handle", "index", "physical", "props", "programs", "__weakref__")

    def __init__(self, index: int, physical: int):
        out = ffi.new("npu_device_t **")
        _check(lib.npu_device_open(physical, out), "npu_device_open")
        self.handle = out[0]
        self.index = index
        self.physical = physical
        self.programs: dict[bytes, Module] = {}
        p = ffi.new("struct npu_device_props *")
        p.struct_size = ffi.sizeof("struct npu_device_props")
        _check(lib.npu_device_get_props(self.handle, p), "npu_device_get_props")
        self.props = p
        logger.debug("opened device %d (physical %d): %s", index, physical, _string(p.name))
        if _tracer is not None:
            _tracer.attach(self)

    def live(self, what: str = "the device"):
        if self.handle is None:
            raise errors.misuse("npu", f"{what} belongs to a device that has been closed")
        return self.handle

    def close(self) -> None:
        if self.handle is not None:
            h, self.handle = self.handle, None
            self.programs.clear()
            lib.npu_device_close(h)


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


_current_device: contextvars.ContextVar["Device | None"] = contextvars.ContextVar(
    "npu_current_device", default=None)


class _CurrentStreams:
    """The current stream per device index: a ContextVar of a copy-on-write dict, so it is
    per context / task. ``used`` says whether any was ever set in the process; until then
    a launch skips the ContextVar lookup, which costs a tenth of a launch."""

    __slots__ = ("var", "used")

    def __init__(self):
        self.var: contextvars.ContextVar[dict] = contextvars.ContextVar(
            "npu_current_streams", default={})
        self.used = False

    def get(self) -> dict:
        return self.var.get()

    def set(self, value: dict) -> contextvars.Token:
        self.used = True
        return self.var.set(value)

    def reset(self, token: contextvars.Token) -> None:
        self.var.reset(token)


_current_streams = _CurrentStreams()


def _index_of(device: Any) -> int:
    if isinstance(device, Device):
        return device.index
    if isinstance(device, str):
        s = device.strip().lower()
        for prefix in ("npu:", "npu"):
            if s.startswith(prefix) and s[len(prefix):].isdigit():
                return int(s[len(prefix):])
        raise ValueError(f"device {device!r} is not 'npu:N'")
    if isinstance(device, bool) or not isinstance(device, (int, np.integer)):
        raise TypeError(f"device must be an int, 'npu:N' or a Device, not {type(device).__name__}")
    return int(device)


class Device:
    """An NPU, by index: ``npu.Device(0)``, ``npu.Device("npu:1")``.

    A cheap handle: making one opens nothing, and ``Device(i)`` is the same object for the
    same index. The device is opened on first use (the first open of the process boots the
    embedded simulated NPU). ``with dev:`` makes it the current device (:func:`current_device`)
    for the block; :meth:`close` releases it and everything allocated on it.

    Work (launches, device copies) runs asynchronously in stream order; :meth:`synchronize`
    and host copies (``Tensor.numpy()``) wait for it and raise :class:`npu.KernelFault` if a
    kernel faulted. A fault affects only the work that caused it.
    """

    _interned: dict[int, "Device"] = {}
    _lock = threading.RLock()
    __slots__ = ("index", "_ctx", "_tokens", "__weakref__")

    def __new__(cls, index: Any = 0):
        if isinstance(index, Device):
            return index
        i = _index_of(index)
        n = device_count()
        if not 0 <= i < n:
            raise errors.NoDeviceError(
                -19, "NPU_ERROR_NO_DEVICE", "Device",
                f"no device {i}: {n} visible" + (
                    f" (NPU_VISIBLE_DEVICES={os.environ['NPU_VISIBLE_DEVICES']!r})"
                    if "NPU_VISIBLE_DEVICES" in os.environ else ""))
        with cls._lock:
            dev = cls._interned.get(i)
            if dev is None:
                dev = super().__new__(cls)
                dev.index = i
                dev._ctx = None
                dev._tokens = []
                cls._interned[i] = dev
            return dev

    def __reduce__(self):
        return (Device, (self.index,))

    @property
    def ordinal(self) -> int:
        """Same as :attr:`index`."""
        return self.index

    def __repr__(self) -> str:
        return f"npu.Device({self.index})"

    def __str__(self) -> str:
        return f"npu:{self.index}"

    def __eq__(self, other) -> bool:
        return isinstance(other, Device) and other.index == self.index

    def __hash__(self) -> int:
        return hash(("npu.Device", self.index))

    # ---- the context ---------------------------------------------------------------------
    def _context(self) -> _Context:
        ctx = self._ctx
        if ctx is None or ctx.handle is None:
            with Device._lock:
                ctx = self._ctx
                if ctx is None or ctx.handle is None:
                    ctx = self._ctx = _Context(self.index, _visible()[self.index])
        return ctx

    @property
    def _handle(self):
        return self._context().handle

    @property
    def is_open(self) -> bool:
        """Whether the device is open in this process (it opens on first use)."""
        return self._ctx is not None and self._ctx.handle is not None

    def close(self) -> None:
        """Waits for outstanding work and releases the device and everything on it. Tensors,
        modules, streams and events made on it become unusable; the handle itself stays
        valid and opens the device again on next use."""
        with Device._lock:
            if self._ctx is not None:
                self._ctx.close()
                self._ctx = None

    def __enter__(self) -> "Device":
        self._tokens.append(_current_device.set(self))
        return self

    def __exit__(self, *exc) -> None:
        _current_device.reset(self._tokens.pop())

    # ---- properties ----------------------------------------------------------------------
    @property
    def properties(self) -> DeviceProperties:
        ctx = self._context()
        p = ctx.props
        return DeviceProperties(
            name=_string(p.name), ordinal=self.index, num_cores=p.num_cores,
            sram_per_core=p.sram_per_core, mem_total=p.mem_total, mem_used=self.mem_used,
            clock_khz=p.clock_khz, fw_version=(p.fw_version >> 16, p.fw_version & 0xFFFF),
            isa_version=(p.isa_version >> 16, p.isa_version & 0xFFFF),
            max_kernel_args=p.max_kernel_args, page_size=p.page_size)

    @property
    def name(self) -> str:
        return _string(self._context().props.name)

    @property
    def num_cores(self) -> int:
        return self._context().props.num_cores

    @property
    def sram_per_core(self) -> int:
        return self._context().props.sram_per_core

    @property
    def mem_total(self) -> int:
        return self._context().props.mem_total

    @property
    def mem_used(self) -> int:
        """Bytes of device memory allocated now, by every client of the device."""
        return self.stats()["mem_used"]

    @property
    def clock_khz(self) -> int:
        return self._context().props.clock_khz

    @property
    def fw_version(self) -> tuple[int, int]:
        v = self._context().props.fw_version
        return v >> 16, v & 0xFFFF

    @property
    def isa_version(self) -> tuple[int, int]:
        v = self._context().props.isa_version
        return v >> 16, v & 0xFFFF

    @property
    def max_kernel_args(self) -> int:
        return self._context().props.max_kernel_args

    @property
    def page_size(self) -> int:
        return self._context().props.page_size

    def stats(self) -> dict[str, Any]:
        """Live counters (npu_device_get_stats): memory, and this process's jobs, faults and
        busy time; device resets; clients is None until the driver reports it."""
        ctx = self._context()
        s = ffi.new("struct npu_device_stats *")
        s.struct_size = ffi.sizeof("struct npu_device_stats")
        _check(lib.npu_device_get_stats(ctx.handle, s), "npu_device_get_stats")
        return {
            "mem_used": s.mem_used, "mem_total": s.mem_total,
            "jobs_submitted": s.jobs_submitted, "jobs_completed": s.jobs_completed,
            "faults": s.faults, "busy_ns": s.busy_ns, "uptime_ns": s.uptime_ns,
            "resets": s.resets if s.flags & lib.NPU_STATS_RESETS else None,
            "clients": s.clients if s.flags & lib.NPU_STATS_CLIENTS else None,
            "last_job": s.last_job, "queues": s.queues,
        }

    # ---- memory --------------------------------------------------------------------------
    def empty(self, shape: int | Sequence[int], dtype: Any = np.float32) -> "Tensor":
        """A new tensor in device memory (zero-filled, as every new allocation is)."""
        return Tensor._allocate(self._context(), _shape(shape), _dtypes.as_dtype(dtype))

    def zeros(self, shape: int | Sequence[int], dtype: Any = np.float32) -> "Tensor":
        return self.empty(shape, dtype)

    def full(self, shape: int | Sequence[int], value: Any, dtype: Any = np.float32, *,
             stream: "Stream | None" = None) -> "Tensor":
        return self.empty(shape, dtype).fill(value, stream=stream)

    def asarray(self, array: Any, dtype: Any = None, *, stream: "Stream | None" = None
                ) -> "Tensor":
        """Copies a numpy array (or anything numpy accepts, or a tensor of another device)
        to a new tensor on this device."""
        if isinstance(array, Tensor):
            if array.device == self and (dtype is None or _dtypes.as_dtype(dtype) == array.dtype):
                return array.clone(stream=stream)
            array = array.numpy()
        dt = None if dtype is None else _dtypes.as_dtype(dtype)
        host = np.ascontiguousarray(array, dtype=dt)
        t = Tensor._allocate(self._context(), host.shape, _dtypes.as_dtype(host.dtype))
        t.copy_from(host, stream=stream)
        return t

    # ---- kernels -------------------------------------------------------------------------
    def load(self, program: "Program | bytes | str | os.PathLike") -> "Module":
        """Loads a kernel binary onto the device: a :class:`Program`, the bytes of a binary,
        or the path of a binary file (as written by ``npu-as``)."""
        if isinstance(program, Program):
            binary = program.binary
        elif isinstance(program, (str, os.PathLike)):
            binary = Path(program).read_bytes()
        else:
            binary = bytes(program)
        ctx = self._context()
        out = ffi.new("npu_module_t **")
        _check(lib.npu_module_load_data(ctx.handle, binary, len(binary), out),
               "npu_module_load_data")
        mod = Module(self, ctx, out[0])
        logger.debug("loaded %d-byte binary on %s: kernels %s", len(binary), self, mod.kernels)
        return mod

    def launch(self, kernel: "Kernel | Program", *args: Any, grid: int | Sequence[int] = 1,
               stream: "Stream | None" = None, max_insns: int = 0,
               timeout: float | None = None) -> None:
        """Launches ``kernel`` over ``grid`` program instances, asynchronously.

        ``kernel`` is a :class:`Kernel` or a single-kernel :class:`Program` (loaded on first
        use). Arguments are checked against the kernel's signature: a tensor for ``ptr``,
        an int for integer types, a float for ``f32``/``f64``; a mismatch raises TypeError
        naming the argument. Everything after the arguments is keyword-only: ``grid`` (1 to
        3 dimensions), ``stream`` (default: the current stream), ``max_insns`` bounds each
        program instance's instructions and ``timeout`` (seconds) the launch; 0/None take
        the device defaults.
        """
        # The hot path (issue 5): a kernel of this device's open context, launched with the
        # same grid and limits (the same objects) as its previous launch, on the default
        # stream or a live stream of this device, nobody profiling. The kernel's record
        # checks and converts the arguments inline (anything unusual goes to converters that
        # raise naming the argument) and makes one C call. The rest takes _launch.
        if type(kernel) is Kernel:
            rec = kernel._rec
            if rec is not None and rec.ctx is self._ctx and _tracer is None:
                g, m, t, launch = rec.last
                if grid is g and max_insns is m and timeout is t and len(args) == rec.n:
                    if stream is None:
                        sh = (_NULL if not _current_streams.used
                              or not _current_streams.var.get() else None)
                    elif type(stream) is _stream_type and stream._ctx is rec.ctx:
                        sh = stream._handle
                    else:
                        sh = None
                    if sh is not None:
                        ret = rec.go(launch, sh, args)
                        if ret:
                            _check(ret, "npu_launch_kernel", rec.ctx)
                        try:
                            if _log_cache[10]:  # logging.DEBUG
                                _log_launch(kernel, launch, stream)
                        except KeyError:
                            _log_launch(kernel, launch, stream)
                        return
        self._launch(kernel, args, grid, stream, max_insns, timeout)

    def _launch(self, kernel: Any, args: tuple, grid: Any, stream: Any, max_insns: Any,
                timeout: Any) -> None:
        ctx = self._context()
        if type(kernel) is not Kernel:
            if isinstance(kernel, Program):
                kernel = self._program_kernel(ctx, kernel)
            elif not isinstance(kernel, Kernel):
                raise TypeError(f"launch() needs a Kernel or Program, not "
                                f"{type(kernel).__name__}")
        rec = kernel._rec
        if rec is None:
            raise errors.misuse("npu_launch_kernel",
                                f"kernel '{kernel.name}' belongs to a module that has been "
                                "unloaded")
        if rec.ctx is not ctx:
            raise errors.misuse("npu_launch_kernel",
                                f"kernel '{kernel.name}' was loaded on {kernel.module.device!r}"
                                if kernel.module.device != self else
                                f"kernel '{kernel.name}' was loaded before {self!r} was closed")
        launch = rec.config(grid, max_insns, timeout)
        if len(args) != rec.n:
            sig = ", ".join(f"{an}: {t}" for an, t in kernel.args)
            raise TypeError(f"kernel '{kernel.name}({sig})' takes {len(kernel.args)} "
                            f"arguments, {len(args)} given")
        s = _stream_for(self, stream) if stream is not None or _current_streams.get() else None
        t0 = time.monotonic_ns() if _tracer is not None else 0
        ret = rec.go(launch, ffi.NULL if s is None else s._live(), args)
        if ret:
            _check(ret, "npu_launch_kernel", ctx)
        if s is not None and s._graph is not None:  # captured: the graph keeps them alive
            s._graph._hold((kernel, args))
        if t0:
            _tracer.api(self, "launch", kernel.name, t0, time.monotonic_ns(),
                        {"grid": list(launch.cfg.grid), "stream": 0 if s is None else s.id})
        _log_launch(kernel, launch, s)

    def _program_kernel(self, ctx: _Context, program: "Program") -> "Kernel":
        mod = ctx.programs.get(program.binary)
        if mod is None:
            mod = ctx.programs[program.binary] = self.load(program)
        if len(mod.kernels) != 1:
            raise ValueError(f"the program has kernels {mod.kernels}; load it with "
                             "Device.load() and pick one")
        return mod[mod.kernels[0]]

    def synchronize(self) -> None:
        """Waits for all submitted work on every stream; raises KernelFault for a fault not
        yet reported."""
        ctx = self._ctx
        if ctx is None or ctx.handle is None:
            ctx = self._context()
        if _tracer is None:  # the common case in few steps: half of an idle synchronize
            ret = lib.npu_device_synchronize(ctx.handle)
            if ret:
                _check(ret, "npu_device_synchronize", ctx)
            return
        t0 = time.monotonic_ns()
        _check(lib.npu_device_synchronize(ctx.handle), "npu_device_synchronize", ctx)
        if t0:
            _tracer.api(self, "sync", "synchronize", t0, time.monotonic_ns(), {})

    async def synchronize_async(self) -> None:
        """``await dev.synchronize_async()``: waits in a worker thread (libnpu releases the
        GIL while it sleeps), so the event loop keeps running."""
        import asyncio
        await asyncio.get_running_loop().run_in_executor(None, self.synchronize)

    # ---- streams and events --------------------------------------------------------------
    def stream(self, *, priority: int = 0, copy: bool = False) -> "Stream":
        from .stream import Stream
        return Stream(self, priority=priority, copy=copy)

    def event(self, *, timing: bool = True) -> "Event":
        from .stream import Event
        return Event(self, timing=timing)

    @property
    def current_stream(self) -> "Stream | None":
        """The stream work on this device goes to by default (None: the default stream)."""
        return _current_streams.get().get(self.index)


def current_device() -> Device:
    """The device of the innermost ``with dev:`` block of this thread / task, else device 0."""
    d = _current_device.get()
    return d if d is not None else Device(0)


def set_device(device: Any) -> Device:
    """Makes ``device`` the current device of this thread / task (outside any ``with``)."""
    d = Device(device)
    _current_device.set(d)
    return d


def devices() -> list[Device]:
    """Every visible device, as handles (nothing is opened)."""
    return [Device(i) for i in range(device_count())]


def _stream_for(dev: Device, stream: "Stream | None") -> "Stream | None":
    if stream is None:
        return _current_streams.get().get(dev.index)
    global _stream_type
    from .stream import Stream
    _stream_type = Stream
    if not isinstance(stream, Stream):
        raise TypeError(f"stream must be an npu.Stream, not {type(stream).__name__}")
    if stream.device != dev:
        raise errors.misuse("npu", f"{stream!r} belongs to {stream.device!r}, not {dev!r}")
    return stream


def _shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    else:
        try:
            shape = tuple(shape)
        except TypeError:
            raise TypeError(f"shape must be an int or a sequence of ints, not {shape!r}") from None
        for s in shape:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
                raise TypeError(f"shape must contain ints, got {shape!r}")
        shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"negative dimension in shape {shape}")
    return shape


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


def _arg_converter(kname: str, i: int, name: str, typ: str):
    """A function (value, ctx) -> the 64-bit slot of argument i, raising TypeError /
    ValueError / OverflowError that name the argument."""
    where = f"kernel '{kname}' argument {i} ('{name}', {typ})"
    if typ == "ptr":
        def conv(a, ctx):
            if type(a) is not Tensor and not isinstance(a, Tensor):
                raise TypeError(f"{where}: expected an npu.Tensor, got {type(a).__name__}")
            al = a._alloc
            if al is None or al.ctx is not ctx or not al.ptr:
                raise ValueError(f"{where}: tensor lives on {a.device!r}"
                                 if al is not None and al.ctx.index != ctx.index else
                                 f"{where}: the tensor's memory has been freed")
            return al.ptr + a._offset
        return conv, 8
    if typ in _INT_RANGES:
        lo, hi = _INT_RANGES[typ]
        size = 4 if typ in ("i32", "u32") else 8
        mask = (1 << (8 * size)) - 1

        def conv(a, ctx):
            if type(a) is not int and (isinstance(a, bool) or
                                       not isinstance(a, (int, np.integer))):
                raise TypeError(f"{where}: expected an int, got {type(a).__name__}")
            if not lo <= a <= hi:
                raise OverflowError(f"{where}: {a} does not fit in {typ}")
            return int(a) & mask
        return conv, size
    np_type, bits = (np.float32, np.uint32) if typ == "f32" else (np.float64, np.uint64)

    def conv(a, ctx):
        if isinstance(a, bool) or not isinstance(a, (int, float, np.integer, np.floating)):
            raise TypeError(f"{where}: expected a float, got {type(a).__name__}")
        return int(np.array(a, dtype=np_type).view(bits))
    return conv, 4 if typ == "f32" else 8


# Rows shorter than this go through a contiguous copy: a call per tiny row costs more.
_MIN_ROW = 64


def _rows(a: np.ndarray) -> tuple[int, int, int] | None:
    """(height, width bytes, pitch bytes) if the array is rows of contiguous bytes at a
    constant positive pitch, in C order (a 2-D strided view such as ``m[:, 2:10]`` or
    ``m[::2]``); None otherwise."""
    shape, strides = a.shape, a.strides
    # Trailing dimensions that are contiguous make up one row.
    width = a.itemsize
    i = a.ndim
    while i > 0 and (shape[i - 1] == 1 or strides[i - 1] == width):
        width *= shape[i - 1]
        i -= 1
    # The leading ones must form one evenly spaced sequence of rows.
    height, pitch = 1, None
    for d in range(i - 1, -1, -1):
        if shape[d] == 1:
            continue
        if pitch is None:
            pitch = strides[d]
        elif strides[d] != pitch * height:
            return None
        height *= shape[d]
    if pitch is None or pitch < width or width == 0:
        return None
    return height, width, pitch


# ---- the launch record of a kernel ----------------------------------------------------------

# npu.stream.Stream once _stream_for has seen one (stream.py imports this module).
_stream_type: Any = None
_NULL = ffi.NULL

# logging's per-level cache of the "npu" logger (cleared in place when levels change). A
# launch reads it instead of calling isEnabledFor, a tenth of a launch's cost; anything but a
# cached False goes to _log_launch, which asks logging properly.
_log_cache: dict = getattr(logger, "_cache", {})


def _log_launch(kernel: "Kernel", launch: Any, s: "Stream | None") -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("launch %s grid %s on %s", kernel.name, tuple(launch.cfg.grid),
                     s or "default stream")


# Launchers generated per signature, shared by every kernel that has it (as dataclasses and
# namedtuple generate code): unrolled argument checks cost a fraction of a loop calling one
# converter per argument. Each check is the common case only, exactly typed; anything else
# goes to the argument's converter, which converts it or raises naming the argument.
_launcher_factories: dict[tuple[str, ...], Any] = {}


def _launcher_factory(types: tuple[str, ...]):
    fac = _launcher_factories.get(types)
    if fac is not None:
        return fac
    n = len(types)
    fast, slow = [], [f"c{i}(a{i}, ctx)" for i in range(n)]
    for i, typ in enumerate(types):
        a = f"a{i}"
        if typ == "ptr":
            # a freed tensor (_alloc None) raises AttributeError: the converters then say so
            fast.append(f"{a}._addr if type({a}) is Tensor and {a}._alloc.live_ctx is ctx "
                        f"else {slow[i]}")
        elif typ in _INT_RANGES:
            lo, hi = _INT_RANGES[typ]
            wrap = f" & {(1 << (32 if typ == 'i32' else 64)) - 1:#x}" if lo else ""
            fast.append(f"{a}{wrap} if type({a}) is int and {lo} <= {a} <= {hi} else {slow[i]}")
        else:  # floats: rare enough for the converter
            fast.append(slow[i])

    def call(vals: list[str]) -> str:
        if n <= lib.NPUPY_LAUNCH_MAX_FIXED:
            return "fn(launch, sh" + "".join(f", {v}" for v in vals) + ")"
        return f"fn(launch, sh, {n}, [" + ", ".join(vals) + "])"
    src = ("def factory(Tensor, fn, ctx" + "".join(f", c{i}" for i in range(n)) + "):\n"
           "    def go(launch, sh, args):\n"
           + ("        " + "".join(f"a{i}, " for i in range(n)) + "= args\n" if n else "")
           + "        try:\n"
           f"            return {call(fast)}\n"
           "        except AttributeError:\n"
           "            pass\n"
           f"        return {call(slow)}\n"
           "    return go\n")
    ns: dict[str, Any] = {}
    exec(compile(src, f"<npu launcher ({', '.join(types)})>", "exec"), ns)
    fac = _launcher_factories[types] = ns["factory"]
    return fac


class _LaunchRecord:
    """What every launch of a kernel needs, prepared once: its launch structs (handles,
    argument sizes and config, one per grid and limits, cached by value) and its signature's
    launcher ``go(launch, stream handle, args)``. A launch writes nothing here but
    ``last`` (one tuple, replaced whole), so threads need no lock."""

    __slots__ = ("ctx", "n", "dev", "kernel", "sizes", "go", "launches", "last")

    def __init__(self, kernel: "Kernel", ctx: _Context):
        self.ctx = ctx
        self.n = n = len(kernel.args)
        self.dev, self.kernel = ctx.handle, kernel._handle
        convs, self.sizes = [], []
        for i, (name, typ) in enumerate(kernel.args):
            conv, size = _arg_converter(kernel.name, i, name, typ)
            convs.append(conv)
            self.sizes.append(size)
        fn = (getattr(lib, f"npupy_launch{n}") if n <= lib.NPUPY_LAUNCH_MAX_FIXED
              else lib.npupy_launch_v)
        self.go = _launcher_factory(tuple(t for _, t in kernel.args))(Tensor, fn, ctx, *convs)
        self.launches: dict[tuple, Any] = {}
        self.last = (1, 0, None, self._launch((1, 1, 1), 0, 0))

    def _launch(self, g: tuple[int, int, int], max_insns: int, timeout_us: int):
        key = (g, max_insns, timeout_us)
        launch = self.launches.get(key)
        if launch is None:
            if len(self.launches) >= 64:  # many grids: keep the cache small
                self.launches.clear()
            launch = ffi.new("struct npupy_launch *")
            launch.dev = self.dev
            launch.kernel = self.kernel
            launch.num_args = self.n
            launch.sizes[0:self.n] = self.sizes
            cfg = launch.cfg
            cfg.struct_size = ffi.sizeof("struct npu_launch_config")
            cfg.grid = g
            cfg.max_insns = max_insns
            cfg.timeout_us = timeout_us
            self.launches[key] = launch
        return launch

    def config(self, grid: Any, max_insns: Any, timeout: Any):
        """The launch struct of these options (ValueError / TypeError if they are bad). It
        becomes ``last`` if all three are immutable, so that the next launch with the same
        objects skips this."""
        if type(grid) is int and 0 < grid < 2**32:
            g = (grid, 1, 1)
        else:
            g = tuple(_grid(grid))
        if type(max_insns) is not int or max_insns < 0:
            raise ValueError(f"max_insns must be a non-negative int, not {max_insns!r}")
        timeout_us = 0 if timeout is None else int(timeout * 1e6)
        if timeout is not None and not 0 < timeout_us < 2**32:
            raise ValueError(f"timeout {timeout!r} s is out of range")
        launch = self._launch(g, max_insns, timeout_us)
        if type(grid) in (int, tuple) and type(timeout) in (int, float, type(None)):
            self.last = (grid, max_insns, timeout, launch)
        return launch


# ---- tensors --------------------------------------------------------------------------------

class _Allocation:
    """Owns one device allocation; freed when the last tensor (view) using it goes away."""

    # live_ctx: ctx while the memory is allocated, None once freed (one test for launches).
    __slots__ = ("ctx", "ptr", "nbytes", "live_ctx", "__weakref__")

    def __init__(self, ctx: _Context, nbytes: int):
        self.ctx = ctx
        self.ptr = 0
        self.live_ctx = None
        out = ffi.new("npu_deviceptr_t *")
        size = max(nbytes, 1)
        ret = lib.npu_mem_alloc(ctx.live(), size, out)
        if ret:
            free = None
            s = ffi.new("struct npu_device_stats *")
            s.struct_size = ffi.sizeof("struct npu_device_stats")
            if lib.npu_device_get_stats(ctx.handle, s) == 0:
                free = s.mem_total - s.mem_used
            _check(ret, "npu_mem_alloc", requested=size, free=free)
        self.ptr = out[0]
        self.nbytes = nbytes
        self.live_ctx = ctx

    def free(self) -> None:
        self.live_ctx = None
        if self.ptr and self.ctx.handle is not None:
            lib.npu_mem_free(self.ctx.handle, self.ptr)
        self.ptr = 0

    def __del__(self):
        try:
            self.free()
        except Exception:  # interpreter shutdown
            pass


class Tensor:
    """A dense, C-contiguous n-d array in device memory.

    Views (``t[2:5]``, ``t[3]``, ``t.reshape(...)``, ``t.view(dtype)``) share the memory;
    the allocation is freed when the last view is collected, or at once by :meth:`free`.
    """

    # _addr: the device address of the first element, for launches (valid while _alloc
    # is live).
    __slots__ = ("shape", "dtype", "_alloc", "_offset", "_addr", "__weakref__")

    def __init__(self):
        raise TypeError("create tensors with Device.empty() / npu.empty() or asarray()")

    @classmethod
    def _allocate(cls, ctx: _Context, shape: tuple[int, ...], dtype: np.dtype) -> "Tensor":
        t = object.__new__(cls)
        t.shape = shape
        t.dtype = dtype
        t._alloc = _Allocation(ctx, int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)
        t._offset = 0
        t._addr = t._alloc.ptr
        return t

    def _view(self, shape: tuple[int, ...], dtype: np.dtype, offset: int) -> "Tensor":
        t = object.__new__(Tensor)
        t.shape = shape
        t.dtype = dtype
        t._alloc = self._alloc
        t._offset = offset
        t._addr = self._addr - self._offset + offset
        return t

    # ---- facts -----------------------------------------------------------------------------
    @property
    def device(self) -> Device:
        return Device._interned[self._alloc.ctx.index] if self._alloc else _dead_device()

    @property
    def device_ptr(self) -> int:
        """The device address of the first element (an integer device pointer)."""
        return self._alloc.ptr + self._offset if self._alloc and self._alloc.ptr else 0

    def data_ptr(self) -> int:
        return self.device_ptr

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def strides(self) -> tuple[int, ...]:
        """Byte strides (always C-contiguous)."""
        out, step = [], self.dtype.itemsize
        for s in reversed(self.shape):
            out.append(step)
            step *= max(s, 1)
        return tuple(reversed(out))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        state = "" if self._alloc is not None and self._alloc.ptr else " (freed)"
        return (f"<npu.Tensor shape={self.shape} dtype={_dtypes.name_of(self.dtype)} "
                f"on npu:{self._alloc.ctx.index if self._alloc else '?'}{state}>")

    def _live(self, what: str = "tensor"):
        if self._alloc is None or not self._alloc.ptr:
            raise errors.misuse("npu", "the tensor's memory has been freed")
        return self._alloc.ctx.live(f"the {what}")

    # ---- views -----------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> "Tensor":
        """Cheap views only: an int or a step-1 slice on the first axis, optionally followed
        by full slices (``t[2]``, ``t[1:3]``, ``t[1:3, :]``). Anything else raises IndexError
        (copy to the host with ``t.numpy()[key]`` instead)."""
        keys = key if isinstance(key, tuple) else (key,)
        if keys and keys[-1] is Ellipsis:
            keys = keys[:-1]
        if not self.shape:
            raise IndexError("a 0-d tensor cannot be indexed")
        if len(keys) > self.ndim:
            raise IndexError(f"too many indices ({len(keys)}) for a {self.ndim}-d tensor")
        for k in keys[1:]:
            if not (isinstance(k, slice) and k == slice(None)):
                raise IndexError(f"only the first axis can be indexed without a copy, got {key!r}")
        if not keys:
            return self._view(self.shape, self.dtype, self._offset)
        k, row = keys[0], self.nbytes // self.shape[0] if self.shape[0] else 0
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            i = int(k) + (self.shape[0] if k < 0 else 0)
            if not 0 <= i < self.shape[0]:
                raise IndexError(f"index {int(k)} is out of bounds for axis 0 with size "
                                 f"{self.shape[0]}")
            return self._view(self.shape[1:], self.dtype, self._offset + i * row)
        if isinstance(k, slice):
            start, stop, step = k.indices(self.shape[0])
            if step != 1:
                raise IndexError(f"slice step {step} would not be contiguous; only step 1 "
                                 "views are cheap")
            n = max(0, stop - start)
            return self._view((n,) + self.shape[1:], self.dtype, self._offset + start * row)
        raise IndexError(f"unsupported index {key!r}: use ints and step-1 slices")

    def __setitem__(self, key: Any, value: Any) -> None:
        """``t[a:b] = array`` copies into the view (waits like :meth:`copy_from`)."""
        view = self[key]
        if isinstance(value, Tensor):
            view.copy_from(value)
        else:
            arr = np.asarray(value, dtype=self.dtype)
            view.copy_from(np.broadcast_to(arr, view.shape))

    def reshape(self, *shape: Any) -> "Tensor":
        """A view with another shape of the same size; one dimension may be -1."""
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        shape = tuple(int(s) for s in shape)
        if shape.count(-1) > 1:
            raise ValueError("only one dimension can be -1")
        if -1 in shape:
            known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
            if known == 0 or self.size % known:
                raise ValueError(f"cannot reshape {self.shape} into {shape}")
            shape = tuple(self.size // known if s == -1 else s for s in shape)
        if any(s < 0 for s in shape) or int(np.prod(shape, dtype=np.int64)) != self.size:
            raise ValueError(f"cannot reshape size {self.size} {self.shape} into {shape}")
        return self._view(shape, self.dtype, self._offset)

    def flatten(self) -> "Tensor":
        return self.reshape(-1) if self.size else self.reshape(0)

    ravel = flatten

    def view(self, dtype: Any) -> "Tensor":
        """Reinterprets the bytes as another dtype; the last dimension scales by the ratio of
        item sizes (as ``numpy.ndarray.view``)."""
        dt = _dtypes.as_dtype(dtype)
        if dt.itemsize == self.dtype.itemsize:
            return self._view(self.shape, dt, self._offset)
        if not self.shape or (self.shape[-1] * self.dtype.itemsize) % dt.itemsize:
            raise ValueError(f"cannot view {self.shape} {self.dtype} as {dt}: the last "
                             "dimension's bytes do not divide")
        last = self.shape[-1] * self.dtype.itemsize // dt.itemsize
        return self._view(self.shape[:-1] + (last,), dt, self._offset)

    # ---- copies ----------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """Copies the tensor to a new numpy array (waits for all earlier device work)."""
        out = np.empty(self.shape, self.dtype)
        if self.nbytes:
            h = self._live()
            t0 = time.monotonic_ns() if _tracer is not None else 0
            _check(lib.npu_memcpy_dtoh(h, ffi.from_buffer(out), self.device_ptr, self.nbytes),
                   "npu_memcpy_dtoh", self._alloc.ctx)
            if t0:
                _tracer.api(self.device, "copy", "copy D2H", t0, time.monotonic_ns(),
                            {"bytes": self.nbytes})
        return out

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("a device tensor cannot be viewed as a numpy array without a copy")
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def copy_to_host(self, out: np.ndarray | None = None, *, stream: "Stream | None" = None
                     ) -> np.ndarray:
        """Copies into ``out`` (a new array if None) in stream order and returns it. With a
        stream the copy is asynchronous: read ``out`` after the stream (or an event recorded
        after the copy) has completed."""
        rows = None
        if out is None:
            out = np.empty(self.shape, self.dtype)
        elif (not isinstance(out, np.ndarray) or out.dtype != self.dtype or out.size != self.size
              or not out.flags.writeable):
            raise ValueError(f"out must be a writeable {self.dtype} array of {self.size} "
                             "elements")
        elif not out.flags.c_contiguous:
            rows = _rows(out)
            s = _stream_for(self.device, stream)
            if (rows is None or rows[1] < _MIN_ROW) and s is None:
                # Not rows (or rows too short for a copy each): through a contiguous copy.
                np.copyto(out, self.numpy().reshape(out.shape))
                return out
            if rows is None:
                raise ValueError("an asynchronous copy needs out C-contiguous or with rows "
                                 "evenly spaced (a 2-D strided view)")
        if rows is not None and self.nbytes:
            self._copy_2d(out, rows, to_device=False, stream=stream)
        elif self.nbytes:
            s = _stream_for(self.device, stream)
            h = self._live()
            t0 = time.monotonic_ns() if _tracer is not None else 0
            if s is None:
                ret = lib.npu_memcpy_dtoh(h, ffi.from_buffer(out), self.device_ptr, self.nbytes)
            else:
                ret = lib.npu_memcpy_dtoh_async(h, ffi.from_buffer(out), self.device_ptr,
                                                self.nbytes, s._live())
                s._keep(out)
            _check(ret, "npu_memcpy_dtoh_async" if s else "npu_memcpy_dtoh", self._alloc.ctx)
            if t0:
                _tracer.api(self.device, "copy", "copy D2H", t0, time.monotonic_ns(),
                            {"bytes": self.nbytes, "stream": s.id if s else 0})
        return out

    def copy_from(self, src: Any, *, stream: "Stream | None" = None) -> "Tensor":
        """Copies ``src`` (host data of the same shape, or a tensor of the same device and
        size) into the tensor, in stream order. Host data is copied synchronously unless a
        stream is given; ``src`` must then stay unchanged until the stream gets there."""
        s = _stream_for(self.device, stream)
        if isinstance(src, Tensor):
            if src.nbytes != self.nbytes:
                raise ValueError(f"source has {src.nbytes} bytes, the tensor {self.nbytes}")
            if src._alloc is None or src._alloc.ctx is not self._alloc.ctx:
                return self.copy_from(src.numpy(), stream=stream)
            if self.nbytes:
                h = self._live()
                src._live("source tensor")
                t0 = time.monotonic_ns() if _tracer is not None else 0
                _check(lib.npu_memcpy_dtod_async(h, self.device_ptr, src.device_ptr, self.nbytes,
                                                 ffi.NULL if s is None else s._live()),
                       "npu_memcpy_dtod_async", self._alloc.ctx)
                if t0:
                    _tracer.api(self.device, "copy", "copy D2D", t0, time.monotonic_ns(),
                                {"bytes": self.nbytes, "stream": s.id if s else 0})
            return self
        capturing = s is not None and s._graph is not None
        if capturing and not (isinstance(src, np.ndarray) and src.dtype == self.dtype and
                              src.shape == self.shape and (src.flags.c_contiguous or
                                                           _rows(src) is not None)):
            # A replay reads the array itself, so it cannot be a converted temporary.
            raise ValueError(f"a captured copy reads the array at every replay: src must be "
                             f"a {self.dtype} ndarray of shape {self.shape}, C-contiguous or "
                             "with rows evenly spaced")
        if (isinstance(src, np.ndarray) and src.dtype == self.dtype and
                not src.flags.c_contiguous and src.shape == self.shape and self.nbytes and
                (rows := _rows(src)) is not None and (rows[1] >= _MIN_ROW or capturing)):
            return self._copy_2d(src, rows, to_device=True, stream=stream)
        host = np.ascontiguousarray(src, dtype=self.dtype)
        if host.shape != self.shape:
            raise ValueError(f"shape {host.shape} does not match the tensor's {self.shape}")
        if self.nbytes:
            h = self._live()
            t0 = time.monotonic_ns() if _tracer is not None else 0
            if s is None:
                ret = lib.npu_memcpy_htod(h, self.device_ptr, ffi.from_buffer(host), self.nbytes)
            else:
                ret = lib.npu_memcpy_htod_async(h, self.device_ptr, ffi.from_buffer(host),
                                                self.nbytes, s._live())
                s._keep(host)
            _check(ret, "npu_memcpy_htod_async" if s else "npu_memcpy_htod", self._alloc.ctx)
            if t0:
                _tracer.api(self.device, "copy", "copy H2D", t0, time.monotonic_ns(),
                            {"bytes": self.nbytes, "stream": s.id if s else 0})
        return self

    def _copy_2d(self, host: np.ndarray, rows: tuple[int, int, int], *, to_device: bool,
                 stream: "Stream | None") -> "Tensor":
        """One 2-D copy between the tensor and a strided numpy view of `rows` (height rows of
        width bytes, pitch apart)."""
        height, width, pitch = rows
        s = _stream_for(self.device, stream)
        h = self._live()
        # The buffer starts at the view's first byte; a negative pitch is excluded by _rows.
        buf = ffi.cast("uint8_t *", host.__array_interface__["data"][0])
        t0 = time.monotonic_ns() if _tracer is not None else 0
        if to_device:
            call = "npu_memcpy_2d_htod_async" if s else "npu_memcpy_2d_htod"
            ret = (lib.npu_memcpy_2d_htod(h, self.device_ptr, width, buf, pitch, width, height)
                   if s is None else
                   lib.npu_memcpy_2d_htod_async(h, self.device_ptr, width, buf, pitch, width,
                                                height, s._live()))
        else:
            call = "npu_memcpy_2d_dtoh_async" if s else "npu_memcpy_2d_dtoh"
            ret = (lib.npu_memcpy_2d_dtoh(h, buf, pitch, self.device_ptr, width, width, height)
                   if s is None else
                   lib.npu_memcpy_2d_dtoh_async(h, buf, pitch, self.device_ptr, width, width,
                                                height, s._live()))
        if s is not None:
            s._keep(host)
        _check(ret, call, self._alloc.ctx)
        if t0:
            _tracer.api(self.device, "copy", "copy H2D" if to_device else "copy D2H", t0,
                        time.monotonic_ns(), {"bytes": self.nbytes, "stream": s.id if s else 0})
        return self

    def clone(self, *, stream: "Stream | None" = None) -> "Tensor":
        """A new tensor with a copy of the data, copied on the device."""
        t = Tensor._allocate(self._alloc.ctx, self.shape, self.dtype)
        return t.copy_from(self, stream=stream)

    def fill(self, value: Any, *, stream: "Stream | None" = None) -> "Tensor":
        """Fills the tensor with ``value`` on the device (asynchronous, in stream order)."""
        s = _stream_for(self.device, stream)
        if not self.size:
            return self
        raw = np.array(value, dtype=self.dtype).tobytes()
        pattern = raw * (4 // len(raw)) if len(raw) < 4 else raw
        aligned = self.device_ptr % 4 == 0 and self.nbytes % 4 == 0
        if len(pattern) == 4 and aligned or (len(raw) == 8 and raw[:4] == raw[4:] and aligned):
            h = self._live()
            bits = int.from_bytes(pattern[:4], "little")
            t0 = time.monotonic_ns() if _tracer is not None else 0
            _check(lib.npu_memset_d32_async(h, self.device_ptr, bits, self.nbytes // 4,
                                            ffi.NULL if s is None else s._live()),
                   "npu_memset_d32_async", self._alloc.ctx)
            if t0:
                _tracer.api(self.device, "copy", "fill", t0, time.monotonic_ns(),
                            {"bytes": self.nbytes, "stream": s.id if s else 0})
        else:  # a pattern the fill engine cannot express: write it from the host
            self.copy_from(np.full(self.shape, value, dtype=self.dtype), stream=stream)
        return self

    # ---- interchange -----------------------------------------------------------------------
    def __dlpack__(self, *, stream: Any = None, max_version: tuple[int, int] | None = None,
                   dl_device: tuple[int, int] | None = None, copy: bool | None = None):
        from . import dlpack
        return dlpack.export(self, stream=stream, max_version=max_version,
                             dl_device=dl_device, copy=copy)

    def __dlpack_device__(self) -> tuple[int, int]:
        from . import dlpack
        return (dlpack.kDLNPU, self._alloc.ctx.index if self._alloc else 0)

    # ---- lifetime --------------------------------------------------------------------------
    def free(self) -> None:
        """Releases the device memory now (every view of it too); also happens when the last
        view is collected."""
        if self._alloc is not None:
            self._alloc.free()
            self._alloc = None

    close = free

    def __enter__(self) -> "Tensor":
        return self

    def __exit__(self, *exc) -> None:
        self.free()


def _dead_device() -> Device:
    raise errors.misuse("npu", "the tensor's memory has been freed")


# ---- module-level conveniences on the current device ----------------------------------------

def _dev(device: Any) -> Device:
    return current_device() if device is None else Device(device)


def empty(shape: int | Sequence[int], dtype: Any = np.float32, *, device: Any = None) -> Tensor:
    """A new zero-filled tensor on ``device`` (default: the current device)."""
    return _dev(device).empty(shape, dtype)


def zeros(shape: int | Sequence[int], dtype: Any = np.float32, *, device: Any = None) -> Tensor:
    return _dev(device).empty(shape, dtype)


def full(shape: int | Sequence[int], value: Any, dtype: Any = np.float32, *,
         device: Any = None) -> Tensor:
    return _dev(device).full(shape, value, dtype)


def asarray(array: Any, dtype: Any = None, *, device: Any = None) -> Tensor:
    """Copies host data (or a tensor) to a new tensor on ``device`` (default: current)."""
    return _dev(device).asarray(array, dtype)


def synchronize(device: Any = None) -> None:
    _dev(device).synchronize()


def load_module(program: "Program | bytes | str | os.PathLike", *, device: Any = None
                ) -> "Module":
    """Loads a kernel binary (a Program, bytes, or a file path) on ``device``."""
    return _dev(device).load(program)


# ---- programs, modules, kernels ----------------------------------------------------------------

class Program:
    """A kernel binary (NPUKBIN container) held on the host, e.g. from :func:`assemble`."""

    def __init__(self, binary: bytes):
        self.binary = bytes(binary)
        self.info = asm.read_kbin(self.binary)

    @classmethod
    def from_file(cls, path: "str | os.PathLike") -> "Program":
        return cls(Path(path).read_bytes())

    def save(self, path: "str | os.PathLike") -> None:
        """Writes the binary to a file (what ``npu-as -o`` writes)."""
        Path(path).write_bytes(self.binary)

    @property
    def kernels(self) -> list[str]:
        return [k.name for k in self.info.kernels]

    def signature(self, kernel: str | None = None) -> list[tuple[str, str]]:
        """[(name, type), ...] of a kernel's arguments (the only kernel by default)."""
        ks = self.info.kernels if kernel is None else [k for k in self.info.kernels
                                                       if k.name == kernel]
        if len(ks) != 1:
            raise KeyError(f"pick one of {self.kernels}" if kernel is None else kernel)
        return [(a.name, a.type) for a in ks[0].args]

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
    """A kernel binary loaded on a device. Kernels by name: ``mod["vadd"]`` or ``mod.vadd``.
    Unloaded by :meth:`unload` / :meth:`close`, at the end of a ``with`` block, or when
    collected."""

    def __init__(self, dev: Device, ctx: _Context, handle):
        self.device = dev
        self._ctx = ctx
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

    def __iter__(self) -> Iterator["Kernel"]:
        return iter(self._kernels.values())

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

    def __repr__(self) -> str:
        return f"<npu.Module kernels={self.kernels} on {self.device!r}>"

    def unload(self) -> None:
        for k in self._kernels.values():
            k._rec = None
            k._handle = None
        if self._handle is not None and self._ctx.handle is not None:
            lib.npu_module_unload(self._handle)
        self._handle = None

    close = unload

    def __enter__(self) -> "Module":
        return self

    def __exit__(self, *exc) -> None:
        self.unload()

    def __del__(self):
        try:
            self.unload()
        except Exception:
            pass


class Kernel:
    """One kernel of a loaded module, with its argument signature. Calling it launches it:
    ``kernel(x, y, n, grid=(4,), stream=s)``."""

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
        # None once the module is unloaded: the handle then points at freed memory.
        self._rec: _LaunchRecord | None = _LaunchRecord(self, module._ctx)

    def __call__(self, *args: Any, grid: int | Sequence[int] = 1,
                 stream: "Stream | None" = None, max_insns: int = 0,
                 timeout: float | None = None) -> None:
        self.module.device.launch(self, *args, grid=grid, stream=stream, max_insns=max_insns,
                                  timeout=timeout)

    def __repr__(self) -> str:
        sig = ", ".join(f"{n}: {t}" for n, t in self.args)
        return f"<npu.Kernel {self.name}({sig})>"
