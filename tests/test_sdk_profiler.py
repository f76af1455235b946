"""npu.profile: Chrome trace-event JSON checked event by event, the summary, the picture."""

import io
import json
import time

import numpy as np
import pytest

import npu
from kernels import VADD


SIM_PID = 300  # process "npu:0 device (simulated)"

# n iterations of two one-cycle-class instructions: cycles grow with n.
LOOP = """
.kernel spin
.arg n i64
.sram 8
    ldarg r1, n
    li    r2, 0
top:
    addi  r2, r2, 1
    blt   r2, r1, top
    halt
"""


@pytest.fixture(scope="module")
def traced(dev, tmp_path_factory):
    d = tmp_path_factory.mktemp("prof")
    n = 100_000
    a = np.arange(n, dtype=np.float32)
    mod = dev.load(npu.assemble(VADD))
    x, z = dev.asarray(a), dev.empty(n, np.float32)
    s = npu.Stream()
    out = io.StringIO()
    t0 = time.monotonic_ns()
    with npu.profile(d / "trace.json", html=d / "timeline.html", file=out) as prof:
        with npu.profiler.range("step", i=0):
            for _ in range(3):
                mod.vadd(x, x, z, n, grid=4)
            ev = s.record_event()
            z.fill(1.0, stream=s)
            x.numpy()
        with npu.profiler.range("tail"):
            mod.vadd(x, x, z, n, grid=2, stream=s)
            s.synchronize()
    t1 = time.monotonic_ns()
    ev.close()
    return dict(prof=prof, trace=json.loads((d / "trace.json").read_text()), dir=d,
                summary=out.getvalue(), wall_us=(t1 - t0) / 1e3)


def test_trace_format(traced):
    tr = traced["trace"]
    assert set(tr) >= {"traceEvents", "displayTimeUnit", "otherData"}
    evs = tr["traceEvents"]
    assert {e["ph"] for e in evs} <= {"M", "X", "i", "s", "f"}
    for e in evs:
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int) and "name" in e
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name", "process_sort_index",
                                 "thread_sort_index") and "args" in e
            continue
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        if e["pid"] == SIM_PID:
            continue  # simulated time: its own axis, checked below
        # Microseconds from the start of the profile, inside the block's wall time.
        assert e["ts"] <= traced["wall_us"]
        if e["ph"] == "X":
            assert e["dur"] >= 0 and e["ts"] + e["dur"] <= traced["wall_us"] + 1
    named = {(e["pid"], e["tid"]) for e in evs if e["ph"] == "M" and e["name"] == "thread_name"}
    procs = {e["pid"] for e in evs if e["ph"] == "M" and e["name"] == "process_name"}
    for e in evs:
        if e["ph"] in "Xi":
            assert e["pid"] in procs and (e["pid"], e["tid"]) in named, e


def test_launches_copies_and_device_jobs(traced):
    evs = traced["trace"]["traceEvents"]
    host = [e for e in evs if e["ph"] == "X" and e["pid"] == 1]
    launches = [e for e in host if e["cat"] == "launch"]
    assert [e["name"] for e in launches] == ["vadd"] * 4
    assert launches[0]["args"]["grid"] == [4, 1, 1]
    assert any(e["cat"] == "copy" and e["name"] == "copy D2H" for e in host)
    assert any(e["cat"] == "sync" for e in host)
    assert any(e["ph"] == "i" and e["name"] == "event.record" for e in evs)
    dev_jobs = [e for e in evs if e["ph"] == "X" and e["pid"] == 100 and e["tid"] < 1000]
    assert sorted(e["name"] for e in dev_jobs) == ["fill"] + ["vadd"] * 4
    default_q = [e for e in dev_jobs if e["tid"] == 1]
    assert [e["name"] for e in default_q] == ["vadd"] * 3
    stream_q = [e for e in dev_jobs if e["tid"] != 1]
    assert [e["name"] for e in stream_q] == ["fill", "vadd"]
    assert len({e["tid"] for e in stream_q}) == 1
    # A queue runs its jobs one after the other.
    for q in (default_q, stream_q):
        for a, b in zip(q, q[1:]):
            assert b["ts"] >= a["ts"] + a["dur"] - 0.002
    # Each job starts after the call that submitted it, and a flow links them.
    starts = {e["id"]: e for e in evs if e["ph"] == "s"}
    ends = {e["id"]: e for e in evs if e["ph"] == "f"}
    assert len(starts) == 5 and starts.keys() == ends.keys()
    for k in starts:
        assert ends[k]["ts"] >= starts[k]["ts"]
    # The device's own clock stamped every job: same jobs, durations within the host view.
    clock = [e for e in evs if e["ph"] == "X" and e["pid"] == 200]
    assert sorted(e["name"] for e in clock) == sorted(e["name"] for e in dev_jobs)
    for e in clock:
        assert e["args"]["device_end_ns"] >= e["args"]["device_start_ns"] > 0
    for tid in {e["tid"] for e in clock}:
        on_q = sorted((e for e in clock if e["tid"] == tid), key=lambda e: e["ts"])
        host_q = [e for e in dev_jobs if e["tid"] == tid]
        span = max(e["ts"] + e["dur"] for e in host_q) - min(e["ts"] for e in host_q)
        assert sum(e["dur"] for e in on_q) <= span + 1.0    # the host saw all of it run
        for a, b in zip(on_q, on_q[1:]):                     # one after the other
            assert b["args"]["device_start_ns"] >= a["args"]["device_end_ns"]
    procs = {e["args"]["name"] for e in evs if e["ph"] == "M" and e["name"] == "process_name"}
    assert "npu:0 (device clock)" in procs and "npu:0 (host clock)" in procs
    names = {e["args"]["name"] for e in evs if e["ph"] == "M" and e["name"] == "thread_name"}
    assert "queue 0" in names and "stream 0 (default)" in names
    assert any(n.startswith("queue ") and n != "queue 0" for n in names)
    assert any(n.startswith("stream ") and n != "stream 0 (default)" for n in names)


def test_host_spans_nest(traced):
    evs = [e for e in traced["trace"]["traceEvents"] if e["ph"] == "X" and e["pid"] == 1]
    by_tid: dict = {}
    for e in evs:
        by_tid.setdefault(e["tid"], []).append(e)
    for spans in by_tid.values():
        stack = []
        for e in spans:  # sorted parents first
            while stack and e["ts"] >= stack[-1]["ts"] + stack[-1]["dur"] - 1e-3:
                stack.pop()
            if stack:
                p = stack[-1]
                assert e["ts"] + e["dur"] <= p["ts"] + p["dur"] + 1e-3, (e, p)
            stack.append(e)
    step = [e for e in evs if e["name"] == "step"][0]
    inside = [e for e in evs if e["cat"] == "launch"
              and step["ts"] <= e["ts"] <= step["ts"] + step["dur"]]
    assert len(inside) == 3 and step["args"] == {"i": 0}


def test_summary_and_picture(traced):
    s = traced["summary"]
    assert s.startswith("npu.profile:") and "vadd" in s and "queue 0" in s
    row = [ln for ln in s.splitlines() if ln.startswith("vadd")][0].split()
    assert row[1] == "4"
    stats = traced["prof"].kernel_stats()
    assert stats["vadd"]["calls"] == 4 and stats["[fill]"]["calls"] == 1
    page = (traced["dir"] / "timeline.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "vadd" in page
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # self-contained


def test_profile_without_outputs_and_no_overhead_outside(dev):
    with npu.profile(summary=False) as p:
        dev.asarray(np.ones(4)).numpy()
    assert p.trace()["traceEvents"]
    from npu import _core
    assert _core._tracer is None


# ---- simulated device time ------------------------------------------------------------------

@pytest.fixture(scope="module")
def simulated(dev):
    mod = dev.load(npu.assemble(LOOP))
    s = npu.Stream()
    cores = dev.num_cores
    with npu.profile(summary=True, file=io.StringIO()) as prof:
        mod.spin(1000)
        mod.spin(1000)
        mod.spin(3000)
        mod.spin(1000, grid=2 * cores)
        mod.spin(1000, stream=s)
        s.synchronize()
        dev.synchronize()
    evs = prof.trace()["traceEvents"]
    return dict(prof=prof, evs=evs, cores=cores, khz=dev.clock_khz,
                sim=[e for e in evs if e["pid"] == SIM_PID and e["ph"] == "X"])


def test_simulated_tracks_metadata(simulated):
    evs, cores = simulated["evs"], simulated["cores"]
    meta = {(e["tid"], e["name"]): e["args"] for e in evs
            if e["ph"] == "M" and e["pid"] == SIM_PID}
    assert meta[(0, "process_name")] == {"name": "npu:0 device (simulated)"}
    assert (0, "process_sort_index") in meta
    threads = {tid: a["name"] for (tid, n), a in meta.items() if n == "thread_name"}
    assert threads[1] == "queue 0"
    assert [threads[1000 + c] for c in range(min(cores, 16))] == \
        [f"core {c}" for c in range(min(cores, 16))]
    assert sum(1 for n in threads.values() if n.startswith("queue ")) == 2
    for e in simulated["sim"]:
        assert e["tid"] in threads and e["name"] == "spin" and e["cat"] == "launch"
    info = simulated["prof"].trace()["otherData"]
    assert "simulated" in info["device_time"] and "per core" in info["per_core"]


def test_simulated_job_events(simulated):
    khz = simulated["khz"]
    us = lambda c: round(c * 1000.0 / khz, 3)  # noqa: E731
    jobs = sorted((e for e in simulated["sim"] if e["tid"] < 1000),
                  key=lambda e: e["args"]["job"])
    assert len(jobs) == 5
    cyc = [e["args"]["device_cycles"] for e in jobs]
    # Same kernel, same data: same cycles; more iterations: more; the grid spreads evenly.
    assert cyc[0] == cyc[1] == cyc[4] > 2000
    assert cyc[2] > 2 * cyc[0]
    assert cyc[3] == 2 * cyc[0]   # two instances per core, cores in parallel
    base = min(e["args"]["start_cycles"] for e in jobs)
    assert min(e["ts"] for e in jobs) == 0.0
    for e in jobs:
        a = e["args"]
        assert e["ts"] == us(a["start_cycles"] - base)
        assert e["dur"] == us(a["end_cycles"] - a["start_cycles"])
        assert a["end_cycles"] - a["start_cycles"] >= a["device_cycles"]
    # A queue runs its jobs one after the other on the device clock (jobs of different queues
    # may interleave: the device serves queues packet by packet).
    for tid in {e["tid"] for e in jobs}:
        mine = sorted((e for e in jobs if e["tid"] == tid), key=lambda e: e["args"]["job"])
        for a, b in zip(mine, mine[1:]):
            assert b["args"]["start_cycles"] >= a["args"]["end_cycles"]
    q0 = [e for e in jobs if e["tid"] == 1]
    assert [e["args"]["job"] for e in q0] == sorted(e["args"]["job"] for e in q0)
    assert len(q0) == 4


def test_simulated_core_events_nest_in_their_job(simulated):
    khz, cores = simulated["khz"], min(simulated["cores"], 16)
    jobs = {e["args"]["job"]: e for e in simulated["sim"] if e["tid"] < 1000}
    per_core = [e for e in simulated["sim"] if e["tid"] >= 1000]
    by_job: dict = {}
    for e in per_core:
        by_job.setdefault(e["args"]["job"], []).append(e)
        j = jobs[e["args"]["job"]]
        assert e["ts"] == j["ts"] and e["ts"] + e["dur"] <= j["ts"] + j["dur"] + 1e-3
        assert e["dur"] == round(e["args"]["cycles"] * 1000.0 / khz, 3)
    order = sorted(jobs)
    for jid in order[:3] + order[4:]:   # one program instance: core 0 only
        (only,) = by_job[jid]
        assert only["tid"] == 1000 and only["args"]["cycles"] == jobs[jid]["args"]["device_cycles"]
    grid = by_job[order[3]]                 # 2 instances on every core
    assert sorted(e["tid"] for e in grid) == [1000 + c for c in range(cores)]
    assert {e["args"]["cycles"] for e in grid} == {jobs[order[3]]["args"]["device_cycles"]}
    # A core's track never overlaps itself.
    for c in range(cores):
        mine = sorted((e for e in per_core if e["tid"] == 1000 + c), key=lambda e: e["ts"])
        for a, b in zip(mine, mine[1:]):
            assert b["ts"] >= a["ts"] + a["dur"] - 1e-3


def test_summary_has_device_time(simulated):
    prof, khz = simulated["prof"], simulated["khz"]
    st = prof.kernel_stats()["spin"]
    total = sum(e["args"]["device_cycles"] for e in simulated["sim"] if e["tid"] < 1000)
    assert st["calls"] == 5 and st["cycles"] == total
    assert st["device_us"] == pytest.approx(total * 1000.0 / khz)
    lines = prof.summary().splitlines()
    head = [ln for ln in lines if ln.startswith("kernel")][0].split()
    row = [ln for ln in lines if ln.startswith("spin")][0].split()
    assert head[-3:] == ["cycles", "device", "us"]
    assert int(row[-2]) == total and float(row[-1]) == pytest.approx(total * 1000.0 / khz, 0.01)


def test_event_elapsed_device_cycles(dev):
    mod = dev.load(npu.assemble(LOOP))
    e0, e1 = npu.Event(), npu.Event()

    def run(n):
        e0.record()
        mod.spin(n)
        e1.record()
        e1.synchronize()
        return e0.elapsed(e1)

    a, b, c = run(1000), run(1000), run(2000)
    assert a.device_cycles == b.device_cycles > 2000
    assert c.device_cycles > a.device_cycles
    assert a.device_s == pytest.approx(a.device_cycles / (dev.clock_khz * 1e3))
    assert a.host_s > 0
    # No work between two events: no device time passed.
    e0.record()
    e1.record()
    e1.synchronize()
    assert e0.elapsed(e1).device_cycles == 0
    e0.close()
    e1.close()
