"""The profiler: ``with npu.profile("trace.json"):`` records what the block did on the NPU.

It records, on the host clock:
  - the SDK calls of each host thread (launches, copies, fills, waits, event records) and
    your own ranges (``with npu.profiler.range("step"):``), nested as they ran;
  - each job's execution on the device, per hardware queue and per stream: a job runs from
    when its queue got to it (its submission, or the end of the job before it) to its
    completion, which libnpu's completion watcher stamps at the interrupt while profiling;
  - flow arrows from each launch or copy call to the job it submitted.

and writes them as Chrome trace-event JSON (open it in https://ui.perfetto.dev or
chrome://tracing), prints a summary table (time per kernel, per queue and stream) at the end
of the block, and can render a self-contained HTML timeline.

The device also stamps each job's start and end with its own clock while profiling (a
process "npu:N (device clock)"). Where the driver reports simulated time (uapi >= 1.2), a
process "npu:N device (simulated)" shows the timing model's view: one track per queue with
each job from its start to its end on the simulated device clock, and one track per core with
the cycles that core ran for each job, in microseconds of simulated time (cycles at the
device's clock_khz) from the first job of the profile. Its time axis is the device's, not the
host's: a simulated microsecond is not a host one. The summary adds each kernel's simulated
cycles and time; the trace's ``otherData`` says what this run had.
"""

from __future__ import annotations

import builtins
import contextlib
import html
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, TextIO

from . import _core
from ._core import Device, ffi, lib

_KINDS = {1: "launch", 2: "copy", 3: "fill", 4: "wait", 5: "graph"}
HOST_PID = 1


@dataclass
class Job:
    """One job (a launch, device copy or fill) as the device ran it, host clock in ns."""

    device: int
    seqno: int
    id: int
    kind: str
    name: str
    stream: int
    queue: int
    grid: tuple[int, int, int]
    bytes: int
    submit_ns: int
    start_ns: int
    end_ns: int
    complete: bool
    faulted: bool
    device_cycles: int | None = None
    device_start_ns: int | None = None   # the device's own clock, when it stamped the job
    device_end_ns: int | None = None
    sim_start: int | None = None         # simulated device clock (cycles), uapi >= 1.2
    sim_end: int | None = None
    core_cycles: tuple[int, ...] = ()    # simulated cycles per core for this job
    clock_khz: int = 0


@dataclass
class _Span:
    tid: int
    cat: str
    name: str
    t0: int
    t1: int
    args: dict = field(default_factory=dict)


class Profile:
    """A profiling session; use through :func:`profile`."""

    def __init__(self, path: str | os.PathLike | None = None, *, html: str | os.PathLike |
                 None = None, summary: bool = True, file: TextIO | None = None):
        self.path = path
        self.html_path = html
        self.print_summary = summary
        self.file = file
        self.spans: list[_Span] = []
        self.jobs: list[Job] = []
        self.events: list[dict] = []
        self._lock = threading.RLock()
        self._threads: dict[int, tuple[int, str]] = {}
        self._start: dict[int, int] = {}   # device index -> last seqno before the profile
        self._ctx: dict[int, Any] = {}
        self._stack = threading.local()
        self.t_start = 0
        self.t_end = 0
        self._prev = None

    # ---- recording ---------------------------------------------------------------------------
    def __enter__(self) -> "Profile":
        self.t_start = time.monotonic_ns()
        for dev in list(Device._interned.values()):
            if dev.is_open:
                self.attach(dev._ctx)
        self._prev, _core._tracer = _core._tracer, self
        return self

    def attach(self, ctx) -> None:
        """Starts following a device (called for devices opened during the profile too)."""
        with self._lock:
            if ctx.index in self._ctx:
                return
            self._ctx[ctx.index] = ctx
        lib.npu_device_set_tracing(ctx.handle, 1)
        s = ffi.new("struct npu_device_stats *")
        s.struct_size = ffi.sizeof("struct npu_device_stats")
        lib.npu_device_get_stats(ctx.handle, s)
        self._start[ctx.index] = s.last_job

    def _tid(self) -> int:
        ident = threading.get_ident()
        t = self._threads.get(ident)
        if t is None:
            with self._lock:
                t = self._threads.setdefault(
                    ident, (len(self._threads) + 1, threading.current_thread().name))
        return t[0]

    def api(self, dev: Device, cat: str, name: str, t0: int, t1: int, args: dict) -> None:
        """Called by the SDK after each call it traces (host clock, ns)."""
        ctx = dev._ctx
        if ctx is not None and ctx.index not in self._ctx:
            self.attach(ctx)
        if ctx is not None:
            args = dict(args, device=ctx.index)
            if (cat == "launch" or name in ("copy D2D", "fill")) and ctx.handle is not None:
                # The job this call submitted is the device's newest (for the flow arrow).
                st = ffi.new("struct npu_device_stats *")
                st.struct_size = ffi.sizeof("struct npu_device_stats")
                if lib.npu_device_get_stats(ctx.handle, st) == 0:
                    args["job"] = st.last_job
        with self._lock:
            self.spans.append(_Span(self._tid(), cat, name, t0, t1, args))

    @contextlib.contextmanager
    def range(self, name: str, **args: Any) -> Iterator[None]:
        """A named range of your own on this thread's track (ranges and calls nest)."""
        t0 = time.monotonic_ns()
        try:
            yield
        finally:
            t1 = time.monotonic_ns()
            with self._lock:
                self.spans.append(_Span(self._tid(), "range", name, t0, t1, dict(args)))

    def __exit__(self, *exc) -> None:
        _core._tracer = self._prev
        self.t_end = time.monotonic_ns()
        self._collect_jobs()
        for ctx in self._ctx.values():
            if ctx.handle is not None:
                lib.npu_device_set_tracing(ctx.handle, 0)
        self.events = self.trace_events()
        if self.path is not None:
            self.write(self.path)
        if self.html_path is not None:
            self.write_html(self.html_path)
        if self.print_summary:
            print(self.summary(), file=self.file or sys.stdout)

    def _collect_jobs(self) -> None:
        info = ffi.new("struct npu_job_info *")
        info.struct_size = ffi.sizeof("struct npu_job_info")
        sinfo = ffi.new("struct npu_stream_info *")
        sinfo.struct_size = ffi.sizeof("struct npu_stream_info")
        for index, ctx in self._ctx.items():
            if ctx.handle is None:
                continue
            s = ffi.new("struct npu_device_stats *")
            s.struct_size = ffi.sizeof("struct npu_device_stats")
            lib.npu_device_get_stats(ctx.handle, s)
            queue_free: dict[int, int] = {}
            for job_id in builtins.range(self._start[index] + 1, s.last_job + 1):
                if lib.npu_device_get_job(ctx.handle, job_id, info) != 0:
                    continue  # left the history
                complete = bool(info.flags & lib.NPU_JOB_F_COMPLETE)
                end = info.complete_ns if complete else self.t_end
                # A queue runs its jobs in order: each starts when the one before ended.
                start = max(info.submit_ns, queue_free.get(info.queue, 0))
                queue_free[info.queue] = end
                self.jobs.append(Job(
                    device=index, seqno=info.seqno, id=info.id, kind=_KINDS.get(info.kind, "job"),
                    name=_core._string(info.name), stream=info.stream_id, queue=info.queue,
                    grid=tuple(info.grid), bytes=info.bytes, submit_ns=info.submit_ns,
                    start_ns=min(start, end), end_ns=end, complete=complete,
                    faulted=bool(info.flags & lib.NPU_JOB_F_FAULTED),
                    device_cycles=(info.device_cycles
                                   if info.flags & lib.NPU_JOB_F_DEVICE_TIME else None),
                    device_start_ns=(info.device_start_ns
                                     if info.flags & lib.NPU_JOB_F_DEVICE_CLOCK else None),
                    device_end_ns=(info.device_end_ns
                                   if info.flags & lib.NPU_JOB_F_DEVICE_CLOCK else None),
                    **_sim_fields(info, ctx.props.clock_khz)))

    # ---- output ------------------------------------------------------------------------------
    def _us(self, ns: int) -> float:
        return round((ns - self.t_start) / 1000.0, 3)

    def trace_events(self) -> list[dict]:
        """The Chrome trace events (``ph`` X = complete span, i = instant, M = metadata,
        s/f = flow; ``ts``/``dur`` in microseconds from the start of the profile)."""
        ev: list[dict] = []
        meta = lambda pid, tid, name, value: ev.append(  # noqa: E731
            {"ph": "M", "pid": pid, "tid": tid, "name": name, "args": value})
        meta(HOST_PID, 0, "process_name", {"name": f"host (pid {os.getpid()})"})
        meta(HOST_PID, 0, "process_sort_index", {"sort_index": 0})
        for ident, (tid, tname) in sorted(self._threads.items(), key=lambda x: x[1][0]):
            meta(HOST_PID, tid, "thread_name", {"name": f"{tname} (thread {ident})"})
            meta(HOST_PID, tid, "thread_sort_index", {"sort_index": tid})
        # Host spans, parents before children so that viewers nest them.
        for sp in sorted(self.spans, key=lambda s: (s.tid, s.t0, -(s.t1 - s.t0))):
            e = {"ph": "X" if sp.t1 > sp.t0 else "i", "pid": HOST_PID, "tid": sp.tid,
                 "cat": sp.cat, "name": sp.name, "ts": self._us(sp.t0), "args": sp.args}
            if sp.t1 > sp.t0:
                e["dur"] = round((sp.t1 - sp.t0) / 1000.0, 3)
            else:
                e["s"] = "t"
            ev.append(e)
            if "job" in sp.args:
                ev.append({"ph": "s", "pid": HOST_PID, "tid": sp.tid, "cat": "flow",
                           "name": "submit", "id": f"{sp.args.get('device', 0)}:{sp.args['job']}",
                           "ts": self._us(sp.t0)})
        devices = sorted({j.device for j in self.jobs} | set(self._ctx))
        for d in devices:
            pid = 100 + d
            meta(pid, 0, "process_name", {"name": f"npu:{d} (host clock)"})
            meta(pid, 0, "process_sort_index", {"sort_index": 1 + d})
            jobs = [j for j in self.jobs if j.device == d]
            queues = sorted({j.queue for j in jobs})
            streams = sorted({j.stream for j in jobs})
            for q in queues:
                meta(pid, 1 + q, "thread_name", {"name": f"queue {q}"})
                meta(pid, 1 + q, "thread_sort_index", {"sort_index": q})
            for s in streams:
                tid = 1000 + s
                meta(pid, tid, "thread_name",
                     {"name": "stream 0 (default)" if s == 0 else f"stream {s}"})
                meta(pid, tid, "thread_sort_index", {"sort_index": 1000 + s})
            for j in jobs:
                args = {"job": j.id, "seqno": j.seqno, "stream": j.stream, "queue": j.queue,
                        "queued_us": round((j.start_ns - j.submit_ns) / 1000.0, 3),
                        "complete": j.complete, "faulted": j.faulted}
                if j.kind == "launch":
                    args["grid"] = list(j.grid)
                else:
                    args["bytes"] = j.bytes
                if j.device_cycles is not None:
                    args["device_cycles"] = j.device_cycles
                for tid in (1 + j.queue, 1000 + j.stream):
                    ev.append({"ph": "X", "pid": pid, "tid": tid, "cat": j.kind,
                               "name": j.name, "ts": self._us(j.start_ns),
                               "dur": round(max(j.end_ns - j.start_ns, 0) / 1000.0, 3),
                               "args": args})
                ev.append({"ph": "f", "bp": "e", "pid": pid, "tid": 1 + j.queue, "cat": "flow",
                           "name": "submit", "id": f"{d}:{j.id}", "ts": self._us(j.start_ns)})
            # The device's own clock: when each job really started and ended on its queue.
            # Shown on the host time axis, aligned at the first stamped job's host start.
            stamped = [j for j in jobs if j.device_start_ns is not None]
            if stamped:
                dpid = 200 + d
                meta(dpid, 0, "process_name", {"name": f"npu:{d} (device clock)"})
                meta(dpid, 0, "process_sort_index", {"sort_index": 100 + d})
                first = min(stamped, key=lambda j: j.device_start_ns)
                offset = first.start_ns - first.device_start_ns
                for q in sorted({j.queue for j in stamped}):
                    meta(dpid, 1 + q, "thread_name", {"name": f"queue {q}"})
                    meta(dpid, 1 + q, "thread_sort_index", {"sort_index": q})
                for j in stamped:
                    ev.append({"ph": "X", "pid": dpid, "tid": 1 + j.queue, "cat": j.kind,
                               "name": j.name,
                               "ts": max(self._us(j.device_start_ns + offset), 0.0),
                               "dur": round((j.device_end_ns - j.device_start_ns) / 1000.0, 3),
                               "args": {"job": j.id, "stream": j.stream,
                                        "device_start_ns": j.device_start_ns,
                                        "device_end_ns": j.device_end_ns}})
            self._sim_events(ev, d, jobs, meta)
        return ev

    def _sim_events(self, ev: list[dict], d: int, jobs: list[Job], meta) -> None:
        """The timing model's view of device d: per queue and per core, on its clock."""
        sim = [j for j in jobs if j.sim_start is not None and j.clock_khz]
        if not sim:
            return
        pid = 300 + d
        base = min(j.sim_start for j in sim)
        khz = sim[0].clock_khz
        us = lambda cycles: round(cycles * 1000.0 / khz, 3)  # noqa: E731
        meta(pid, 0, "process_name", {"name": f"npu:{d} device (simulated)"})
        meta(pid, 0, "process_sort_index", {"sort_index": 200 + d})
        for q in sorted({j.queue for j in sim}):
            meta(pid, 1 + q, "thread_name", {"name": f"queue {q}"})
            meta(pid, 1 + q, "thread_sort_index", {"sort_index": q})
        cores = max(len(j.core_cycles) for j in sim)
        for c in builtins.range(cores):
            meta(pid, 1000 + c, "thread_name", {"name": f"core {c}"})
            meta(pid, 1000 + c, "thread_sort_index", {"sort_index": 1000 + c})
        for j in sorted(sim, key=lambda j: (j.sim_start, j.id)):
            args = {"job": j.id, "stream": j.stream, "queue": j.queue,
                    "device_cycles": j.device_cycles, "start_cycles": j.sim_start,
                    "end_cycles": j.sim_end}
            ev.append({"ph": "X", "pid": pid, "tid": 1 + j.queue, "cat": j.kind,
                       "name": j.name, "ts": us(j.sim_start - base),
                       "dur": us(j.sim_end - j.sim_start), "args": args})
            # A core's share of the job, from the job's start: its first launch, which every
            # core starts together (exact for one launch; later launches are added on).
            for c, cyc in enumerate(j.core_cycles):
                if cyc:
                    ev.append({"ph": "X", "pid": pid, "tid": 1000 + c, "cat": j.kind,
                               "name": j.name, "ts": us(j.sim_start - base), "dur": us(cyc),
                               "args": {"job": j.id, "cycles": cyc}})

    def trace(self) -> dict:
        """The whole trace file as a dict."""
        has_cycles = any(j.device_cycles is not None for j in self.jobs)
        return {
            "traceEvents": self.events or self.trace_events(),
            "displayTimeUnit": "ms",
            "otherData": {
                "generator": "npu.profile",
                "clock": "host CLOCK_MONOTONIC, microseconds from the start of the profile",
                "device_clock": "per-job device-clock stamps" if any(
                    j.device_start_ns is not None for j in self.jobs) else "not available",
                "device_time": "per-job simulated cycles (timing model); process "
                "'npu:N device (simulated)' in us of simulated time from the first job"
                if has_cycles else "not reported by the driver (needs uapi 1.2)",
                "per_core": "simulated cycles per core and job" if any(
                    j.core_cycles for j in self.jobs) else "not reported by the driver",
            },
        }

    def write(self, path: str | os.PathLike) -> None:
        with open(path, "w") as f:
            json.dump(self.trace(), f)

    # ---- summary -----------------------------------------------------------------------------
    def kernel_stats(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for j in self.jobs:
            key = j.name if j.kind == "launch" else f"[{j.kind}]"
            st = out.setdefault(key, {"calls": 0, "total_ms": 0.0, "min_us": float("inf"),
                                      "max_us": 0.0, "bytes": 0, "faults": 0, "cycles": None})
            us = (j.end_ns - j.start_ns) / 1000.0
            st["calls"] += 1
            st["total_ms"] += us / 1000.0
            st["min_us"] = min(st["min_us"], us)
            st["max_us"] = max(st["max_us"], us)
            st["bytes"] += j.bytes
            st["faults"] += j.faulted
            if j.device_cycles is not None:
                st["cycles"] = (st["cycles"] or 0) + j.device_cycles
                if j.clock_khz:
                    st["device_us"] = (st.get("device_us") or 0.0) + \
                        j.device_cycles * 1000.0 / j.clock_khz
        return out

    def summary(self) -> str:
        wall_ms = max(self.t_end - self.t_start, 1) / 1e6
        lines = [f"npu.profile: {wall_ms:.3f} ms wall, {len(self.jobs)} device jobs, "
                 f"{len(self.spans)} host calls"]
        ks = self.kernel_stats()
        if ks:
            lines.append(f"{'kernel':<24} {'calls':>6} {'total ms':>10} {'avg us':>10} "
                         f"{'min us':>10} {'max us':>10} {'%wall':>6} {'cycles':>12} "
                         f"{'device us':>10}")
            for name, st in sorted(ks.items(), key=lambda kv: -kv[1]["total_ms"]):
                cyc = "n/a" if st["cycles"] is None else f"{int(st['cycles'])}"
                dus = "n/a" if st.get("device_us") is None else f"{st['device_us']:.1f}"
                lines.append(
                    f"{name[:24]:<24} {int(st['calls']):>6} {st['total_ms']:>10.3f} "
                    f"{st['total_ms'] * 1000 / st['calls']:>10.1f} {st['min_us']:>10.1f} "
                    f"{st['max_us']:>10.1f} {100 * st['total_ms'] / wall_ms:>6.1f} {cyc:>12} "
                    f"{dus:>10}")
        groups: dict[tuple[int, str], list[Job]] = {}
        for j in self.jobs:
            groups.setdefault((j.device, f"queue {j.queue}"), []).append(j)
            groups.setdefault((j.device, f"stream {j.stream}"), []).append(j)
        if groups:
            lines.append(f"{'queue / stream':<24} {'jobs':>6} {'busy ms':>10} {'busy %':>7}")
            for (d, name), jobs in sorted(groups.items()):
                busy = _union_ms(jobs)
                lines.append(f"{f'npu:{d} {name}':<24} {len(jobs):>6} {busy:>10.3f} "
                             f"{100 * busy / wall_ms:>7.1f}")
        return "\n".join(lines)

    # ---- picture -----------------------------------------------------------------------------
    def write_html(self, path: str | os.PathLike) -> None:
        """A self-contained HTML page with the timeline as SVG (hover for details)."""
        lanes: list[tuple[str, list[tuple[int, int, str, str, str]]]] = []
        for ident, (tid, tname) in sorted(self._threads.items(), key=lambda x: x[1][0]):
            items = [(s.t0, s.t1, s.name, s.cat, json.dumps(s.args)) for s in self.spans
                     if s.tid == tid]
            lanes.append((f"host: {tname}", items))
        for d in sorted({j.device for j in self.jobs}):
            for key, label in (("queue", "queue"), ("stream", "stream")):
                for v in sorted({getattr(j, key) for j in self.jobs if j.device == d}):
                    items = [(j.start_ns, j.end_ns, j.name, j.kind,
                              f"job {j.id}, {(j.end_ns - j.start_ns) / 1e3:.1f} us"
                              + (" FAULTED" if j.faulted else ""))
                             for j in self.jobs if j.device == d and getattr(j, key) == v]
                    lanes.append((f"npu:{d} {label} {v}", items))
        span = max(self.t_end - self.t_start, 1)
        width, left, lane_h = 1200, 220, 26
        colors = {"launch": "#4e79a7", "copy": "#59a14f", "fill": "#9c755f", "sync": "#e15759",
                  "range": "#bab0ac", "event": "#f28e2b"}
        rows = []
        for i, (label, items) in enumerate(lanes):
            y = 30 + i * lane_h
            rows.append(f'<text x="4" y="{y + 16}">{html.escape(label)}</text>')
            for t0, t1, name, cat, detail in items:
                x = left + (t0 - self.t_start) / span * (width - left)
                w = max((t1 - t0) / span * (width - left), 1.0)
                rows.append(
                    f'<rect x="{x:.2f}" y="{y + 3}" width="{w:.2f}" height="{lane_h - 6}" '
                    f'fill="{colors.get(cat, "#76b7b2")}"><title>{html.escape(name)} ({cat}) '
                    f'{(t1 - t0) / 1e3:.1f} us\n{html.escape(detail)}</title></rect>')
        ticks = []
        for k in builtins.range(11):
            x = left + k * (width - left) / 10
            ticks.append(f'<line x1="{x:.1f}" y1="22" x2="{x:.1f}" '
                         f'y2="{30 + len(lanes) * lane_h}" stroke="#ddd"/>'
                         f'<text x="{x:.1f}" y="16" text-anchor="middle">'
                         f'{span / 1e6 * k / 10:.2f} ms</text>')
        height = 40 + len(lanes) * lane_h
        page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>npu.profile timeline</title>
<style>body{{font-family:sans-serif}} svg text{{font-size:12px}}
pre{{background:#f6f6f6;padding:8px}}</style></head><body>
<h1>npu.profile timeline</h1>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">
{''.join(ticks)}
{''.join(rows)}
</svg>
<h2>Summary</h2><pre>{html.escape(self.summary())}</pre>
</body></html>
"""
        with open(path, "w") as f:
            f.write(page)


def _sim_fields(info, clock_khz: int) -> dict:
    """A job record's simulated-clock fields (driver uapi >= 1.2), for :class:`Job`."""
    if not info.flags & lib.NPU_JOB_F_SIM_CLOCK:
        return {}
    n = min(info.device_cores, len(info.core_cycles))
    return {"sim_start": info.device_start_cycles, "sim_end": info.device_end_cycles,
            "core_cycles": tuple(info.core_cycles[i] for i in builtins.range(n)),
            "clock_khz": clock_khz}


def _union_ms(jobs: list[Job]) -> float:
    total, end = 0, None
    for j in sorted(jobs, key=lambda j: j.start_ns):
        s, e = j.start_ns, j.end_ns
        if end is not None and s < end:
            s = end
        if e > s:
            total += e - s
            end = e if end is None else max(end, e)
    return total / 1e6


def profile(path: str | os.PathLike | None = None, *, html: str | os.PathLike | None = None,
            summary: bool = True, file: TextIO | None = None) -> Profile:
    """``with npu.profile("trace.json") as prof:`` records the block's NPU activity, writes
    Chrome trace-event JSON to ``path`` (if given), an HTML timeline to ``html`` (if given),
    and prints a summary table to ``file`` (default stdout) unless ``summary=False``."""
    return Profile(path, html=html, summary=summary, file=file)


@contextlib.contextmanager
def range(name: str, **args: Any) -> Iterator[None]:  # noqa: A001 - mirrors NVTX ranges
    """Marks a named range on the current profile (a no-op when not profiling)."""
    tracer = _core._tracer
    if tracer is None:
        yield
        return
    with tracer.range(name, **args):
        yield
