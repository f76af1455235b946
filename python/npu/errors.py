"""Exceptions of the NPU SDK.

Every failure of a libnpu call raises :class:`NpuError` (or a subclass), carrying the
negative errno-style ``code``, its ``name`` (``"NPU_ERROR_KERNEL_FAULT"``), the failing
``call`` and libnpu's precise message. Subclasses also derive from the matching built-in
exception, so ``except MemoryError`` or ``except ValueError`` work as users expect.
"""

from __future__ import annotations


class NpuError(Exception):
    """A libnpu call failed."""

    def __init__(self, code: int, name: str, call: str, message: str):
        self.code = code
        self.name = name
        self.call = call
        self.message = message
        super().__init__(f"{call}: {name}: {message}")


class InvalidValueError(NpuError, ValueError):
    """An argument was rejected (bad size, address, launch geometry ...)."""


class InvalidImageError(NpuError, ValueError):
    """A kernel binary is malformed; the message names the field and offset."""


class NotFoundError(NpuError, LookupError):
    """No such kernel, device or object."""


class OutOfMemoryError(NpuError, MemoryError):
    """Device memory is exhausted: ``requested`` bytes did not fit, ``free`` were left."""

    def __init__(self, code, name, call, message, requested=None, free=None):
        super().__init__(code, name, call, message)
        self.requested = requested
        self.free = free


class DeviceTimeoutError(NpuError, TimeoutError):
    """Waiting for the device timed out."""


class NoDeviceError(NpuError, RuntimeError):
    """The device does not exist or could not be started."""


class NotSupportedError(NpuError, NotImplementedError):
    """The device or driver does not offer this (yet)."""


class NotReadyError(NpuError):
    """The work has not completed yet (from a query)."""


class KernelFault(NpuError, RuntimeError):
    """A kernel (or a copy/fill command) faulted on the device.

    Carries where it happened: ``trap`` (e.g. ``"PAGE_FAULT"``), ``kernel``, ``core``,
    ``pc`` (instruction index), ``insn`` (the instruction word), ``disasm`` (its assembly),
    ``address`` and ``is_write``. The device keeps working: later launches run normally.
    """

    def __init__(self, code, name, call, message, *, trap, kernel, core, pc, insn, disasm,
                 address, is_write, has_insn):
        super().__init__(code, name, call, message)
        self.trap = trap
        self.kernel = kernel
        self.core = None if core == 0xFFFFFFFF else core  # None: no NPU core raised it
        self.pc = pc if has_insn else None
        self.insn = insn if has_insn else None
        self.disasm = disasm if has_insn else None
        self.address = address
        self.is_write = is_write


_BY_NAME = {
    "NPU_ERROR_INVALID_VALUE": InvalidValueError,
    "NPU_ERROR_INVALID_ADDRESS": InvalidValueError,
    "NPU_ERROR_BAD_HANDLE": InvalidValueError,
    "NPU_ERROR_NOT_SUPPORTED": NotSupportedError,
    "NPU_ERROR_NOT_READY": NotReadyError,
    "NPU_ERROR_INVALID_IMAGE": InvalidImageError,
    "NPU_ERROR_NOT_FOUND": NotFoundError,
    "NPU_ERROR_OUT_OF_MEMORY": OutOfMemoryError,
    "NPU_ERROR_TIMEOUT": DeviceTimeoutError,
    "NPU_ERROR_NO_DEVICE": NoDeviceError,
}


def error_class(name: str) -> type[NpuError]:
    """The exception class for a libnpu error name (``NpuError`` for any other)."""
    return _BY_NAME.get(name, NpuError)


def misuse(call: str, message: str) -> InvalidValueError:
    """A ValueError-compatible NpuError for misuse caught in Python before calling libnpu."""
    return InvalidValueError(-22, "NPU_ERROR_INVALID_VALUE", call, message)
