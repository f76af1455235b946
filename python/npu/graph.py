"""Graphs: work recorded once from a stream and replayed many times.

``with stream.capture() as g:`` records the launches, copies, fills and event records/waits
issued to ``stream`` inside the block instead of running them; ``g.replay()`` (or
``g.launch(other_stream)``) then runs all of it with one submission per 64 KiB of device
commands, far cheaper per launch than issuing the launches one by one. Kernel arguments are
the values they had at capture; host arrays and tensors used by the captured work are kept
alive by the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import errors
from ._core import _check, _stream_for, ffi, lib

if TYPE_CHECKING:  # pragma: no cover
    from .stream import Stream


@dataclass(frozen=True)
class GraphInfo:
    """What a graph holds: recorded operations, of which launches; submissions per replay;
    bytes of device commands per replay; successful replays so far."""

    nodes: int
    launches: int
    segments: int
    cmd_bytes: int
    replays: int


class Graph:
    """A recorded graph (from :meth:`npu.Stream.capture`); its device is its stream's."""

    def __init__(self, stream: "Stream"):
        self.stream = stream
        self.device = stream.device
        self._ctx = stream._ctx
        self._handle = None
        self._held: list[Any] = []   # host arrays, tensors and kernels the work uses

    def _hold(self, obj: Any) -> None:
        self._held.append(obj)

    def _live(self):
        if self._handle is None:
            raise errors.misuse("npu_graph_launch",
                                "the graph is still being captured" if self.capturing
                                else "the graph has been closed")
        self._ctx.live("the graph")
        return self._handle

    @property
    def capturing(self) -> bool:
        return self.stream._graph is self

    def __repr__(self) -> str:
        state = "capturing" if self.capturing else "closed" if self._handle is None else ""
        return f"<npu.Graph on {self.stream!r}{' ' + state if state else ''}>"

    def launch(self, stream: "Stream | None" = None) -> "Graph":
        """Runs the recorded work on ``stream`` (default: the current stream of the device,
        else its default stream), asynchronously, like a launch."""
        s = _stream_for(self.device, stream)
        _check(lib.npu_graph_launch(self._live(), ffi.NULL if s is None else s._live()),
               "npu_graph_launch", self._ctx)
        return self

    def replay(self) -> "Graph":
        """Runs the recorded work again on the stream it was captured from."""
        _check(lib.npu_graph_launch(self._live(), self.stream._live()), "npu_graph_launch",
               self._ctx)
        return self

    __call__ = replay

    def info(self) -> GraphInfo:
        out = ffi.new("struct npu_graph_info *")
        out.struct_size = ffi.sizeof("struct npu_graph_info")
        _check(lib.npu_graph_get_info(self._live(), out), "npu_graph_get_info")
        return GraphInfo(out.nodes, out.launches, out.segments, out.cmd_bytes, out.replays)

    def close(self) -> None:
        """Frees the graph. Raises NpuError (NPU_ERROR_BUSY) while a replay is still running:
        synchronize its stream first."""
        if self._handle is None:
            return
        if self._ctx.handle is None:    # the device was closed: it freed everything
            self._handle = None
            self._held.clear()
            return
        _check(lib.npu_graph_destroy(self._handle), "npu_graph_destroy")
        self._handle = None
        self._held.clear()

    def __del__(self):
        try:
            if self._handle is not None and self._ctx.handle is not None:
                if lib.npu_graph_destroy(self._handle) != 0:
                    # Still running: wait for the device, then free it.
                    lib.npu_device_synchronize(self._ctx.handle)
                    lib.npu_graph_destroy(self._handle)
                self._handle = None
        except Exception:
            pass


class _Capture:
    """``with stream.capture() as g``: begins capturing on enter, ends on exit."""

    def __init__(self, stream: "Stream"):
        self.stream = stream
        self.graph: Graph | None = None

    def __enter__(self) -> Graph:
        s = self.stream
        _check(lib.npu_stream_begin_capture(s._live()), "npu_stream_begin_capture")
        self.graph = s._graph = Graph(s)
        return self.graph

    def __exit__(self, exc_type, exc, tb) -> None:
        s, g = self.stream, self.graph
        out = ffi.new("npu_graph_t **")
        s._graph = None
        ret = lib.npu_stream_end_capture(s._live(), out)
        if ret == 0:
            g._handle = out[0]
        if exc_type is not None:
            g.close()       # nothing ran; what was recorded is of no use
            return
        _check(ret, "npu_stream_end_capture")
