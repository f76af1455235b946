"""Streams and events.

A :class:`Stream` is an ordered sequence of work on one device; an :class:`Event` marks a
point in a stream. ``with stream:`` makes a stream the current one of its device, so launches
and copies that name no stream go to it.

Each stream gets a hardware queue of its own: a copy stream runs on the copy engine next to
kernels; compute streams share the compute engine, scheduled by queue priority. Waiting for an
event of another stream is a fence wait on the device; the host does not block.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from . import _core, errors
from ._core import _check, _current_streams, _dev, ffi, lib


class Stream:
    """``npu.Stream(device=None, *, priority=0, copy=False)``: a new stream on ``device``
    (default: the current device). ``priority`` (higher first) and ``copy`` (mostly copies)
    are hints for the queues the device offers."""

    def __init__(self, device: Any = None, *, priority: int = 0, copy: bool = False):
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise TypeError(f"priority must be an int, not {type(priority).__name__}")
        if not -(2**31) <= priority < 2**31:
            raise ValueError(f"priority {priority} is out of range")
        self.device = _dev(device)
        self._ctx = self.device._context()
        self._handle = None
        self._held: list[tuple[int, Any]] = []
        self._tokens: list = []
        self._graph = None  # the npu.Graph being captured, if any
        desc = ffi.new("struct npu_stream_desc *")
        desc.struct_size = ffi.sizeof("struct npu_stream_desc")
        desc.flags = lib.NPU_STREAM_COPY if copy else 0
        desc.priority = priority
        out = ffi.new("npu_stream_t **")
        _check(lib.npu_stream_create(self._ctx.handle, desc, out), "npu_stream_create")
        self._handle = out[0]
        info = self._info()
        self.id: int = info.id
        self.priority = priority
        self.copy = bool(copy)

    def _info(self):
        info = ffi.new("struct npu_stream_info *")
        info.struct_size = ffi.sizeof("struct npu_stream_info")
        _check(lib.npu_stream_get_info(self._ctx.live(), self._live(), info),
               "npu_stream_get_info")
        return info

    @property
    def queue(self) -> int:
        """The hardware queue the stream runs on."""
        return self._info().queue

    def _live(self):
        if self._handle is None:
            raise errors.misuse("npu", f"{self!r} has been closed")
        self._ctx.live("the stream")
        return self._handle

    def _keep(self, obj: Any) -> None:
        """Keeps host memory of an asynchronous copy alive until the stream is past it (for
        as long as the graph lives, while capturing)."""
        if self._graph is not None:
            self._graph._hold(obj)
            return
        self._held.append((self._info().last_seqno, obj))

    def _release(self) -> None:
        self._held.clear()

    def __repr__(self) -> str:
        return f"<npu.Stream {self.id} on {self.device!r}>"

    # ---- work ordering ---------------------------------------------------------------------
    def synchronize(self) -> None:
        """Waits for all work submitted to the stream; raises KernelFault for a fault of it not
        yet reported."""
        # Checks inline, not by _live(), and the import at the top: they were most of the
        # cost of synchronizing an idle stream.
        h = self._handle
        if h is None or self._ctx.handle is None:
            h = self._live()
        t0 = _core.time.monotonic_ns() if _core._tracer is not None else 0
        try:
            ret = lib.npu_stream_synchronize(h)
            if ret:
                _check(ret, "npu_stream_synchronize", self._ctx)
        finally:
            self._release()
        if t0:
            _core._tracer.api(self.device, "sync", "stream.synchronize", t0,
                              _core.time.monotonic_ns(), {"stream": self.id})

    async def synchronize_async(self) -> None:
        """``await stream.synchronize_async()``: waits in a worker thread (libnpu releases the
        GIL while it sleeps), so the event loop keeps running."""
        await asyncio.get_running_loop().run_in_executor(None, self.synchronize)

    def query(self) -> bool:
        """True when all of the stream's work has completed."""
        ret = lib.npu_stream_query(self._live())
        if ret == lib.NPU_ERROR_NOT_READY:
            return False
        _check(ret, "npu_stream_query", self._ctx)
        self._release()
        return True

    def wait_event(self, event: "Event") -> "Stream":
        """Later work of this stream waits until ``event`` completes (the host does not)."""
        if not isinstance(event, Event):
            raise TypeError(f"wait_event() needs an npu.Event, not {type(event).__name__}")
        _check(lib.npu_stream_wait_event(self._live(), event._live()), "npu_stream_wait_event")
        if self._graph is not None:  # replays use the event: the graph keeps it
            self._graph._hold(event)
        return self

    def wait_stream(self, other: "Stream") -> "Stream":
        """Later work of this stream waits for the work submitted to ``other`` so far."""
        return self.wait_event(other.record_event())

    def record_event(self, event: "Event | None" = None) -> "Event":
        """Records ``event`` (a new timing event if None) at this point of the stream."""
        event = Event(self.device) if event is None else event
        event.record(self)
        return event

    def capture(self):
        """``with stream.capture() as graph:`` records the work issued to this stream in the
        block (launches, copies, fills, event records and waits) instead of running it;
        ``graph.replay()`` runs it, as often as wanted. See :class:`npu.Graph`."""
        from .graph import _Capture
        return _Capture(self)

    @property
    def capturing(self) -> bool:
        return self._graph is not None

    # ---- current stream --------------------------------------------------------------------
    def __enter__(self) -> "Stream":
        cur = dict(_current_streams.get())
        cur[self.device.index] = self
        self._tokens.append(_current_streams.set(cur))
        return self

    def __exit__(self, *exc) -> None:
        _current_streams.reset(self._tokens.pop())

    # ---- lifetime --------------------------------------------------------------------------
    def close(self) -> None:
        """Waits for the stream's work and frees the stream (also done when collected)."""
        if self._handle is not None:
            h, self._handle = self._handle, None
            if self._ctx.handle is not None:
                lib.npu_stream_destroy(h)
            self._held.clear()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


@dataclass(frozen=True)
class Elapsed:
    """Time between two events: host time (seconds), and simulated device time when the
    driver reports it (None otherwise)."""

    host_s: float
    device_cycles: int | None
    device_s: float | None


class Event:
    """``npu.Event(device=None, *, timing=True)``: a marker to record into a stream. Timing
    events measure host (and, where the driver reports it, device) time between them."""

    def __init__(self, device: Any = None, *, timing: bool = True):
        self.device = _dev(device)
        self._ctx = self.device._context()
        self._handle = None
        self.timing = bool(timing)
        out = ffi.new("npu_event_t **")
        _check(lib.npu_event_create(self._ctx.handle,
                                    0 if timing else lib.NPU_EVENT_DISABLE_TIMING, out),
               "npu_event_create")
        self._handle = out[0]
        self._stream_id: int | None = None

    def _live(self):
        if self._handle is None:
            raise errors.misuse("npu", "the event has been closed")
        self._ctx.live("the event")
        return self._handle

    def __repr__(self) -> str:
        return f"<npu.Event on {self.device!r}>"

    def record(self, stream: Stream | None = None) -> "Event":
        """Marks the work submitted to ``stream`` (default: the current stream) so far."""
        from . import _core
        s = _core._stream_for(self.device, stream)
        _check(lib.npu_event_record(self._live(), ffi.NULL if s is None else s._live()),
               "npu_event_record", self._ctx)
        self._stream_id = 0 if s is None else s.id
        if s is not None and s._graph is not None:  # replays record it: the graph keeps it
            s._graph._hold(self)
        if _core._tracer is not None:
            t = _core.time.monotonic_ns()
            _core._tracer.api(self.device, "event", "event.record", t, t,
                              {"stream": self._stream_id})
        return self

    def query(self) -> bool:
        """True when the work before the event has completed (or it was never recorded)."""
        ret = lib.npu_event_query(self._live())
        if ret == lib.NPU_ERROR_NOT_READY:
            return False
        _check(ret, "npu_event_query", self._ctx)
        return True

    def synchronize(self, timeout: float | None = None) -> None:
        """Waits until the event completes; DeviceTimeoutError after ``timeout`` seconds."""
        ns = -1 if timeout is None else max(0, int(timeout * 1e9))
        _check(lib.npu_event_synchronize(self._live(), ns), "npu_event_synchronize", self._ctx)

    wait = synchronize

    async def synchronize_async(self) -> None:
        """``await event.synchronize_async()`` (or ``await event``) without blocking the loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.synchronize)

    def __await__(self):
        return self.synchronize_async().__await__()

    def elapsed(self, end: "Event") -> Elapsed:
        """Time from this event to ``end`` (both recorded and complete)."""
        if not isinstance(end, Event):
            raise TypeError(f"elapsed() needs an npu.Event, not {type(end).__name__}")
        out = ffi.new("struct npu_elapsed *")
        out.struct_size = ffi.sizeof("struct npu_elapsed")
        _check(lib.npu_event_elapsed(self._live(), end._live(), out), "npu_event_elapsed")
        dev_ok = bool(out.flags & lib.NPU_ELAPSED_DEVICE)
        return Elapsed(host_s=out.host_ns / 1e9,
                       device_cycles=out.device_cycles if dev_ok else None,
                       device_s=out.device_ns / 1e9 if dev_ok else None)

    def elapsed_time(self, end: "Event") -> float:
        """Host milliseconds from this event to ``end`` (as ``torch.cuda.Event``)."""
        return self.elapsed(end).host_s * 1e3

    def close(self) -> None:
        if self._handle is not None:
            h, self._handle = self._handle, None
            if self._ctx.handle is not None:
                lib.npu_event_destroy(h)

    def __enter__(self) -> "Event":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def stream(device: Any = None, *, priority: int = 0, copy: bool = False) -> Stream:
    """A new stream on ``device`` (default: the current device)."""
    return Stream(device, priority=priority, copy=copy)


def current_stream(device: Any = None) -> Stream | None:
    """The current stream of ``device`` (None: its default stream)."""
    return _dev(device).current_stream

