"""Graphs (stream capture and replay) and 2-D copies of strided numpy views, as a Python user
meets them."""

import gc
import os
import subprocess
import sys

import numpy as np
import pytest

import npu
from kernels import VADD

INC = """
.kernel inc
.arg p ptr
.sram 64
    ldarg r3, p
    li    r5, 8
    dma.ld r0, r3, r5, 0
    dma.wait 0
    ld    r4, 0(r0)
    addi  r4, r4, 1
    sd    r4, 0(r0)
    dma.st r3, r0, r5, 0
    dma.wait 0
    halt
"""

FAULT = """
.kernel boom
.arg p ptr
.sram 64
    li r1, 4096
    lw r2, 8(r1)
    halt
"""


@pytest.fixture(scope="module")
def inc(dev):
    return dev.load(npu.assemble(INC))["inc"]


def test_capture_records_and_replay_runs_it_every_time(dev, inc):
    ctr = dev.zeros(1, np.int64)
    s = npu.Stream(dev)
    with s.capture() as g:
        assert s.capturing and g.capturing
        for _ in range(500):
            inc(ctr, stream=s)
    assert not s.capturing
    assert ctr.numpy()[0] == 0              # recorded, not run
    info = g.info()
    assert info.launches == 500 and info.nodes == 500 and info.segments == 1
    for r in range(1, 11):
        g.replay()
        s.synchronize()
        assert ctr.numpy()[0] == 500 * r
    assert g.info().replays == 10
    g.close()
    s.close()


def test_graph_of_launches_copies_fills_and_events(dev):
    n = 5000
    mod = dev.load(npu.assemble(VADD))
    x = dev.asarray(np.arange(n, dtype=np.float32))
    y = dev.empty(n, np.float32)
    z = dev.empty(n, np.float32)
    host_in = np.zeros(n, np.float32)
    host_out = np.zeros(n, np.float32)
    s, other = npu.Stream(dev), npu.Stream(dev)
    done = npu.Event(dev)
    with s.capture() as g:
        y.fill(1.0, stream=s)
        y.copy_from(host_in, stream=s)         # host -> device at replay time
        mod.vadd(x, y, z, n, grid=4, stream=s)
        z.copy_to_host(host_out, stream=s)     # device -> host at replay time
        done.record(s)
    for k in range(3):
        host_in[:] = k
        g.launch(other if k % 2 else None)     # on any stream of the device
        done.synchronize()
        dev.synchronize()
        np.testing.assert_array_equal(host_out, np.arange(n, dtype=np.float32) + k)
    # The graph keeps what its work uses alive.
    del host_in, host_out, x, y, z
    gc.collect()
    g.replay()
    s.synchronize()
    g.close()


def test_capture_misuse_gives_precise_errors(dev, inc):
    ctr = dev.zeros(1, np.int64)
    s, t = npu.Stream(dev), npu.Stream(dev)
    with t.capture() as other:
        inc(ctr, stream=t)
    with s.capture() as g:
        inc(ctr, stream=s)
        with pytest.raises(npu.NpuError, match="capturing already") as e:
            with s.capture():
                pass
        assert e.value.name == "NPU_ERROR_BUSY"
        with pytest.raises(npu.NpuError, match="is capturing a graph") as e:
            s.synchronize()
        assert e.value.name == "NPU_ERROR_NOT_PERMITTED"
        with pytest.raises(npu.NpuError, match="is capturing"):
            s.query()
        with pytest.raises(npu.InvalidValueError, match="still being captured"):
            g.replay()
        with pytest.raises(npu.NpuError, match="is capturing") as e:
            other.launch(s)
        assert e.value.name == "NPU_ERROR_NOT_PERMITTED"
        inc(ctr)                            # the default stream is not capturing: runs
    dev.synchronize()
    assert ctr.numpy()[0] == 1
    g.replay()
    s.synchronize()
    assert ctr.numpy()[0] == 2
    with pytest.raises(npu.NpuError, match="not capturing"):
        from npu._core import ffi, lib, _check
        _check(lib.npu_stream_end_capture(s._live(), ffi.new("npu_graph_t **")),
               "npu_stream_end_capture")


def test_graph_on_another_device_or_a_copy_stream(dev, inc):
    ctr = dev.zeros(1, np.int64)
    s = npu.Stream(dev)
    with s.capture() as g:
        inc(ctr, stream=s)
    with pytest.raises(npu.InvalidValueError, match="NPU_STREAM_COPY"):
        g.launch(npu.Stream(dev, copy=True))
    with pytest.raises(TypeError):
        g.launch(object())
    g.close()
    with pytest.raises(npu.InvalidValueError, match="closed"):
        g.replay()


def test_graph_refuses_a_stream_of_another_device():
    code = f"""
import numpy as np, npu
d0, d1 = npu.Device(0), npu.Device(1)
inc = d0.load(npu.assemble({INC!r}))["inc"]
s = npu.Stream(d0)
with s.capture() as g:
    inc(d0.zeros(1, np.int64), stream=s)
try:
    g.launch(npu.Stream(d1))
except npu.InvalidValueError as e:
    print("refused:", e)
"""
    env = {k: v for k, v in os.environ.items() if k != "NPU_VISIBLE_DEVICES"}
    env["NPU_SIM_DEVICES"] = "2"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=60, cwd="/")
    assert r.returncode == 0, r.stderr
    assert "refused:" in r.stdout and "belongs to npu.Device(1)" in r.stdout


def test_destroying_a_graph_in_flight_is_refused(dev, inc):
    ctr = dev.zeros(1, np.int64)
    s = npu.Stream(dev)
    with s.capture() as g:
        for _ in range(3000):
            inc(ctr, stream=s)
    g.replay()
    try:
        g.close()
        closed = True                       # the replay had finished already
    except npu.NpuError as e:
        closed = False
        assert e.name == "NPU_ERROR_BUSY" and "synchronize first" in str(e)
    s.synchronize()
    g.close()
    assert ctr.numpy()[0] == 3000 and (closed or g._handle is None)


def test_an_exception_in_the_block_ends_the_capture(dev, inc):
    s = npu.Stream(dev)
    with pytest.raises(RuntimeError):
        with s.capture() as g:
            inc(dev.zeros(1, np.int64), stream=s)
            raise RuntimeError("boom")
    assert not s.capturing and g._handle is None
    s.synchronize()


def test_fault_in_a_replay_names_the_kernel(dev, inc):
    bad = dev.load(npu.assemble(FAULT))["boom"]
    ctr = dev.zeros(1, np.int64)
    s = npu.Stream(dev)
    with s.capture() as g:
        inc(ctr, stream=s)
        bad(ctr, stream=s)
        inc(ctr, stream=s)
    g.replay()
    with pytest.raises(npu.KernelFault) as e:
        s.synchronize()
    assert "boom" in e.value.kernel and e.value.trap == "SRAM_OOB"
    assert ctr.numpy()[0] == 1              # the rest of the segment was skipped
    s.synchronize()                         # reported once; the device works
    g.close()


# ---- 2-D copies ---------------------------------------------------------------------------

@pytest.mark.parametrize("view", [
    lambda m: m[:, 3:40],          # column block: rows of 37 elements, pitch 64
    lambda m: m[::3],              # every third row
    lambda m: m[5:50:2, 1:2],      # one column of every other row
    lambda m: m.reshape(8, 8, 64)[:, :, 10:20],    # 3-D, rows evenly spaced
])
def test_strided_views_copy_in_one_call(dev, view):
    m = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)
    src = view(m)
    assert not src.flags.c_contiguous
    t = dev.empty(src.shape, np.float32)
    t.copy_from(src)
    np.testing.assert_array_equal(t.numpy(), src)
    # device -> host into a strided view of a bigger array
    out = np.zeros_like(m)
    dst = view(out)
    t.copy_to_host(dst)
    np.testing.assert_array_equal(dst, src)
    rest = out.copy()
    view(rest)[...] = 0
    assert not rest.any()                   # nothing outside the view was written
    # on a stream, asynchronously
    s = npu.Stream(dev)
    out2 = np.zeros_like(m)
    t.copy_to_host(view(out2), stream=s)
    s.synchronize()
    np.testing.assert_array_equal(view(out2), src)


def test_strided_copies_of_other_layouts(dev):
    m = np.arange(16 * 16, dtype=np.float32).reshape(16, 16)
    t = dev.empty((16, 8), np.float32)
    t.copy_from(m[:, ::2])                  # no contiguous rows: through a contiguous copy
    np.testing.assert_array_equal(t.numpy(), m[:, ::2])
    out = np.zeros((16, 16), np.float32)
    t.copy_to_host(out[:, 1::2])
    np.testing.assert_array_equal(out[:, 1::2], m[:, ::2])
    with pytest.raises(ValueError, match="shape"):
        t.copy_from(m[:, 2:12])
    # Rows that are not evenly spaced cannot be one asynchronous copy.
    u = dev.empty((4, 2, 8), np.float32)
    odd = np.zeros((4, 6, 16), np.float32)[:, 0:4:2, 0:8]
    with pytest.raises(ValueError, match="evenly spaced"):
        u.copy_to_host(odd, stream=npu.Stream(dev))
    u.copy_to_host(odd)
    assert not odd.any()


def test_strided_copy_captured_in_a_graph(dev):
    m = np.arange(32 * 32, dtype=np.float32).reshape(32, 32)
    t = dev.empty((32, 10), np.float32)
    out = np.zeros((32, 32), np.float32)
    s = npu.Stream(dev)
    with s.capture() as g:
        t.copy_from(m[:, 5:15], stream=s)
        t.copy_to_host(out[:, 20:30], stream=s)
    assert not out.any()
    with pytest.raises(ValueError, match="reads the array at every replay"):
        with s.capture():
            t.copy_from(m[:, 5:15].astype(np.float64), stream=s)
    for k in range(3):
        m += 1
        g.replay()
        s.synchronize()
        np.testing.assert_array_equal(out[:, 20:30], m[:, 5:15])
    g.close()
