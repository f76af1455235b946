"""The Python SDK as its users meet it: devices, tensors, dtypes, views, streams and events,
errors, lifetime, logging."""

import asyncio
import gc
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import npu
from kernels import VADD, scalar_binop

ml_dtypes = pytest.importorskip("ml_dtypes")


def run_py(code: str, env_extra: dict, timeout=60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("NPU_VISIBLE_DEVICES",
                                                              "NPU_LOG_LEVEL")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd="/")


# ---- devices -----------------------------------------------------------------------------

def test_device_handles_are_cheap_and_interned(dev):
    assert npu.Device(0) is npu.Device("npu:0") is npu.Device(npu.Device(0))
    assert npu.Device(0) == dev and hash(npu.Device(0)) == hash(dev)
    assert str(dev) == "npu:0" and repr(dev) == "npu.Device(0)"
    assert npu.device_count() >= 1 and npu.devices()[0] is dev
    with pytest.raises(npu.NoDeviceError, match="no device 99"):
        npu.Device(99)
    with pytest.raises(TypeError):
        npu.Device(1.5)
    with pytest.raises(ValueError):
        npu.Device("gpu:0")


def test_device_is_opened_lazily():
    r = run_py("import npu; d = npu.Device(0); print(d.is_open); d.name; print(d.is_open)", {})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "True"]


def test_properties_as_attributes(dev):
    p = dev.properties
    assert dev.name == p.name and dev.num_cores == p.num_cores >= 1
    assert dev.mem_total == p.mem_total and dev.sram_per_core == p.sram_per_core
    assert dev.isa_version == p.isa_version and dev.fw_version == p.fw_version
    assert dev.clock_khz > 0 and dev.page_size == 65536 and dev.max_kernel_args == 32
    gc.collect()
    before = dev.mem_used
    t = dev.empty(1 << 20, np.uint8)
    assert dev.mem_used >= before + (1 << 20)
    t.free()
    assert dev.mem_used == before


def test_current_device_follows_with_blocks_per_thread(dev):
    assert npu.current_device() is dev
    seen = []
    with dev as d:
        assert d is dev and npu.current_device() is dev
        t = threading.Thread(target=lambda: seen.append(npu.current_device()))
        t.start()
        t.join()
    assert seen == [dev]
    x = npu.asarray([1.0, 2.0])
    assert x.device is dev and x.numpy().tolist() == [1.0, 2.0]


@pytest.mark.parametrize("value,expect", [
    (None, "4 [0, 1, 2, 3]"),
    ("", "0 []"),
    ("2", "1 [2]"),
    ("3,1", "2 [3, 1]"),
    ("1,x,2", "1 [1]"),      # an invalid entry ends the list
    ("0,9,1", "1 [0]"),      # so does one out of range
    ("2,2", "1 [2]"),        # and a repeat
    (" 1 , 0 ", "2 [1, 0]"),
])
def test_npu_visible_devices(value, expect):
    code = ("import npu\nn = npu.device_count()\n"
            "print(n, [npu.Device(i)._context().physical for i in range(n)])")
    env = {"NPU_SIM_DEVICES": "4"}
    if value is not None:
        env["NPU_VISIBLE_DEVICES"] = value
    r = run_py(code, env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == expect


def test_no_visible_device_is_a_precise_error():
    r = run_py("import npu\ntry:\n    npu.Device(0)\nexcept npu.NoDeviceError as e:\n"
               "    print('ok', e)", {"NPU_VISIBLE_DEVICES": ""})
    assert r.returncode == 0 and r.stdout.startswith("ok") and "0 visible" in r.stdout


# ---- tensors and dtypes ------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float16, ml_dtypes.bfloat16, np.int8,
                                   np.uint8, np.int16, np.int32, np.int64, np.float64,
                                   np.bool_, np.complex64])
def test_dtype_round_trip(dev, rng, dtype):
    a = (rng.standard_normal((4, 5, 3)) * 50).astype(dtype)
    t = dev.asarray(a)
    assert t.dtype == np.dtype(dtype) and t.shape == (4, 5, 3)
    assert t.nbytes == a.nbytes and t.strides == a.strides
    np.testing.assert_array_equal(t.numpy(), a)


def test_dtype_names_and_rejections(dev):
    assert dev.empty(2, "bf16").dtype == npu.bfloat16 == np.dtype(ml_dtypes.bfloat16)
    assert dev.empty(2, "fp16").dtype == np.float16
    assert "bfloat16" in repr(dev.empty(2, npu.bfloat16))
    with pytest.raises(TypeError):
        dev.empty(2, object)
    with pytest.raises(TypeError):
        dev.empty(2, "U4")


def test_bf16_values_survive_the_device(dev):
    a = np.array([1.0, -2.5, 3.140625, 65280.0, np.inf], dtype=ml_dtypes.bfloat16)
    t = dev.asarray(a)
    u = t.clone()
    assert u.numpy().view(np.uint16).tolist() == a.view(np.uint16).tolist()


def test_views_share_memory(dev):
    a = np.arange(24, dtype=np.int32).reshape(6, 4)
    t = dev.asarray(a)
    v = t[2:5]
    assert v.shape == (3, 4) and v.device_ptr == t.device_ptr + 2 * 16
    np.testing.assert_array_equal(v.numpy(), a[2:5])
    np.testing.assert_array_equal(t[-1].numpy(), a[-1])
    np.testing.assert_array_equal(t[1:3, :].numpy(), a[1:3])
    v[:] = 0
    a[2:5] = 0
    np.testing.assert_array_equal(t.numpy(), a)
    r = t.reshape(4, -1)
    assert r.shape == (4, 6) and r.device_ptr == t.device_ptr
    np.testing.assert_array_equal(r.numpy(), a.reshape(4, 6))
    f = t.view(np.float32)
    np.testing.assert_array_equal(f.numpy(), a.view(np.float32))
    b = t.view(np.int16)
    assert b.shape == (6, 8)
    t[0] = [9, 9, 9, 9]
    assert t.numpy()[0].tolist() == [9, 9, 9, 9]


def test_views_that_would_need_a_copy_are_refused(dev):
    t = dev.empty((4, 4), np.float32)
    with pytest.raises(IndexError, match="step"):
        t[::2]
    with pytest.raises(IndexError, match="first axis"):
        t[:, 1]
    with pytest.raises(IndexError, match="out of bounds"):
        t[4]
    with pytest.raises(ValueError):
        t.reshape(5, 3)


def test_views_keep_the_allocation_alive(dev):
    gc.collect()
    before = dev.mem_used
    t = dev.asarray(np.arange(1 << 18, dtype=np.float32))
    v = t[10:20]
    del t
    gc.collect()
    assert v.numpy().tolist() == list(range(10, 20))
    del v
    gc.collect()
    assert dev.mem_used == before


def test_fill_all_itemsizes(dev):
    for dtype, value in [(np.int8, -3), (np.float16, 1.5), (np.float32, 2.5),
                         (np.int64, 7), (np.float64, -1.25), (ml_dtypes.bfloat16, 3.0)]:
        t = dev.empty(37, dtype).fill(value)
        assert (t.numpy() == np.array(value, dtype=dtype)).all(), dtype


def test_launch_with_views_and_kernel_call(dev):
    n = 1000
    a = np.arange(2 * n, dtype=np.float32)
    x = dev.asarray(a)
    z = dev.empty(n, np.float32)
    mod = dev.load(npu.assemble(VADD))
    mod.vadd(x[:n], x[n:], z, n, grid=2)
    np.testing.assert_array_equal(z.numpy(), a[:n] + a[n:])


def test_module_from_a_file(dev, tmp_path):
    npu.assemble(VADD).save(tmp_path / "v.kbin")
    mod = npu.load_module(tmp_path / "v.kbin")
    assert mod.kernels == ["vadd"] and mod.vadd.args[3] == ("n", "i64")
    assert npu.Program.from_file(tmp_path / "v.kbin").signature() == mod.vadd.args
    with pytest.raises(FileNotFoundError):
        dev.load(tmp_path / "missing.kbin")


# ---- streams and events ------------------------------------------------------------------

def test_streams_order_work_and_events_time_it(dev):
    n = 50_000
    a = np.arange(n, dtype=np.float32)
    mod = dev.load(npu.assemble(VADD))
    x, z = dev.asarray(a), dev.empty(n, np.float32)
    s1, s2 = npu.Stream(), npu.Stream(priority=1)
    assert s1.id != s2.id and s1.queue != s2.queue and 0 not in (s1.queue, s2.queue)
    start, end = npu.Event(), npu.Event()
    start.record(s1)
    for _ in range(3):
        mod.vadd(x, x, z, n, grid=4, stream=s1)
    end.record(s1)
    s2.wait_event(end)
    w = dev.empty(n, np.float32)
    w.copy_from(z, stream=s2)           # ordered after s1's launches through the event
    s2.synchronize()
    assert end.query() and s1.query()
    np.testing.assert_array_equal(w.numpy(), 2 * a)
    el = start.elapsed(end)
    assert el.host_s > 0 and start.elapsed_time(end) == pytest.approx(el.host_s * 1e3)
    assert el.device_cycles is None or el.device_cycles > 0
    s1.close(), s2.close()


def test_streams_run_concurrently_on_their_own_queues(dev):
    """A copy stream's work runs on the copy engine while a long kernel holds the compute
    engine; copy streams take no launches."""
    long_k = npu.assemble(".kernel long\n    li r1, 30000000\nl:\n    loop r1, l\n    halt\n")
    short = dev.asarray(np.zeros(4, np.int32))
    slow, copy = npu.Stream(), npu.Stream(copy=True)
    assert slow.queue != copy.queue
    dev.launch(long_k, stream=slow)
    short.fill(7, stream=copy)
    copy.synchronize()
    overlapped = not slow.query()        # the copy finished while the kernel still runs
    slow.synchronize()
    assert overlapped and (short.numpy() == 7).all()
    with pytest.raises(ValueError, match="NPU_STREAM_COPY"):
        dev.launch(long_k, stream=copy)


def test_current_stream_and_async_copies(dev):
    a = np.arange(4096, dtype=np.int32)
    s = npu.Stream()
    t = dev.empty(a.shape, np.int32)
    with s:
        assert npu.current_stream() is s and dev.current_stream is s
        t.copy_from(a, stream=s)
        t.fill(5)                        # goes to s: after the copy
        out = t.copy_to_host(stream=s)
    assert npu.current_stream() is None
    s.synchronize()
    assert (out == 5).all()


def test_event_timeouts_and_misuse(dev):
    spin = npu.assemble(".kernel spin\n    li r1, 20000000\nl:\n    loop r1, l\n    halt\n")
    e = npu.Event()
    dev.launch(spin)
    e.record()
    if not e.query():
        with pytest.raises(npu.DeviceTimeoutError):
            e.synchronize(timeout=0.0)
    e.synchronize()
    with pytest.raises(ValueError, match="never recorded"):
        npu.Event().elapsed(e)
    with pytest.raises(ValueError, match="DISABLE_TIMING"):
        e.elapsed(npu.Event(timing=False).record())
    with pytest.raises(TypeError):
        npu.Stream().wait_event(object())


def test_asyncio_waits_do_not_block_the_loop(dev):
    spin = npu.assemble(".kernel spin2\n    li r1, 3000000\nl:\n    loop r1, l\n    halt\n")

    async def main():
        s = npu.Stream()
        dev.launch(spin, stream=s)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        tk = asyncio.create_task(ticker())
        await s.synchronize_async()
        ev = s.record_event()
        await ev
        await dev.synchronize_async()
        tk.cancel()
        return ticks

    assert asyncio.run(main()) >= 1


def test_fault_is_reported_by_the_stream_that_ran_it(dev):
    bad = npu.assemble(".kernel oobs\n.sram 64\n    li r1, 4096\n    lw r2, 0(r1)\n    halt\n")
    s = npu.Stream()
    dev.launch(bad, stream=s)
    with pytest.raises(npu.KernelFault) as ei:
        s.synchronize()
    f = ei.value
    assert f.kernel == "oobs" and f.trap == "SRAM_OOB" and f.core is not None
    assert f.pc == 1 and f.disasm == "lw r2, 0(r1)" and f.address == 4096
    assert f.call == "npu_stream_synchronize" and f.code == -5
    dev.synchronize()                    # reported once


# ---- errors ------------------------------------------------------------------------------

def test_error_hierarchy(dev):
    with pytest.raises(npu.OutOfMemoryError) as ei:
        dev.empty(dev.mem_total * 2, np.uint8)
    e = ei.value
    assert isinstance(e, MemoryError) and isinstance(e, npu.NpuError)
    assert e.requested == dev.mem_total * 2 and 0 <= e.free <= dev.mem_total
    assert e.name == "NPU_ERROR_OUT_OF_MEMORY" and e.call == "npu_mem_alloc" and e.code == -12
    with pytest.raises(npu.InvalidImageError) as ei:
        dev.load(b"\0" * 100)
    assert isinstance(ei.value, ValueError) and "bad magic" in str(ei.value)
    t = dev.empty(4)
    t.free()
    with pytest.raises(ValueError, match="freed"):
        t.numpy()


def test_mismatched_kernel_argument_names_it(dev):
    k = dev.load(npu.assemble(scalar_binop("add"))).sbin
    out = dev.empty(1, np.int64)
    with pytest.raises(TypeError, match=r"argument 1 \('b', i64\)"):
        k(1, "2", out)
    with pytest.raises(TypeError, match=r"argument 2 \('out', ptr\).*npu.Tensor"):
        k(1, 2, np.zeros(1))
    with pytest.raises(TypeError):
        k(1, 2, out, (1,))               # geometry is keyword-only
    with pytest.raises(ValueError, match="grid"):
        k(1, 2, out, grid=0)
    k(40, 2, out)
    assert out.numpy()[0] == 42


# ---- lifetime ----------------------------------------------------------------------------

def test_close_and_with_release_resources(dev):
    gc.collect()
    before = dev.mem_used
    with dev.empty(1 << 20, np.uint8) as t:
        assert dev.mem_used > before
    assert dev.mem_used == before
    with pytest.raises(ValueError):
        t.numpy()
    with dev.load(npu.assemble(VADD)) as mod:
        pass
    assert mod._handle is None
    t = dev.empty(1 << 20, np.uint8)
    del t
    gc.collect()
    assert dev.mem_used == before


def test_device_close_invalidates_objects_and_reopens():
    r = run_py("""
import npu, numpy as np
d = npu.Device(0)
t = d.asarray(np.ones(4, np.float32))
s = npu.Stream(d)
d.close()
try:
    t.numpy()
except ValueError as e:
    print("tensor:", e)
try:
    s.synchronize()
except ValueError as e:
    print("stream:", e)
print(d.asarray([1, 2]).numpy().tolist())
""", {})
    assert r.returncode == 0, r.stderr
    assert "tensor: " in r.stdout and "closed" in r.stdout and "[1, 2]" in r.stdout


def test_typing_and_version():
    import npu as pkg
    assert (Path(pkg.__file__).parent / "py.typed").exists()
    assert ".".join(map(str, npu.version())) == npu.__version__


def test_log_level_environment():
    r = run_py("import npu, numpy as np\nx = npu.asarray(np.ones(2))\n", {"NPU_LOG_LEVEL": "debug"})
    assert r.returncode == 0, r.stderr
    assert "npu: DEBUG: opened device 0" in r.stderr
    r = run_py("import npu, numpy as np\nx = npu.asarray(np.ones(2))\n", {})
    assert "npu: DEBUG" not in r.stderr
