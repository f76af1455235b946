"""The Python launch path: per-kernel launch records (issue 5), their caches and lifetime."""

import logging
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import npu

# Every program instance writes `tag` to out[program id].
PID = """
.kernel pid
.arg out ptr
.arg tag i64
.sram 64
    ldarg r3, out
    ldarg r1, tag
    csrr  r2, PROGRAM_ID
    sd    r1, 0(r0)
    shli  r4, r2, 3
    add   r5, r3, r4
    li    r6, 8
    dma.st r5, r0, r6, 0
    dma.wait 0
    halt
"""

# Writes the 64-bit slot of every argument to out[0..7]: what the kernel received.
ECHO = """
.kernel echo
.arg out ptr
.arg a i32
.arg b u32
.arg c i64
.arg d u64
.arg e f32
.arg f f64
.arg g ptr
.sram 64
"""
ECHO += "".join(f"    ldarg r{i + 1}, {n}\n    sd    r{i + 1}, {8 * i}(r0)\n"
                for i, n in enumerate(["out", *"abcdefg"]))
ECHO += """    ldarg r9, out
    li    r10, 64
    dma.st r9, r0, r10, 0
    dma.wait 0
    halt
"""


@pytest.fixture(scope="module")
def pid_kernel(dev):
    return dev.load(npu.assemble(PID)).pid


def run_py(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("NPU_VISIBLE_DEVICES",
                                                              "NPU_LOG_LEVEL")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60, cwd="/")


def test_arguments_arrive_as_given_through_the_many_argument_helper(dev):
    """Eight arguments take the helper that gets its values as an array; a view's address
    includes its offset; signed values are sign-extended, 32-bit ones zero-extended."""
    k = dev.load(npu.assemble(ECHO)).echo
    out = dev.empty(8, np.uint64)
    base = dev.empty(16, np.float32)
    view = base[3:]
    for a, b, c, d, e, f in [(-5, 2**32 - 1, -(2**63), 2**64 - 1, 1.5, -0.25),
                             (np.int32(7), np.uint64(9), 3, 0, np.float32(2.0), 1e300)]:
        k(out, a, b, c, d, e, f, view)
        got = out.numpy()
        want = [out.device_ptr, int(a) & (2**64 - 1), int(b), int(c) & (2**64 - 1), int(d),
                int(np.array(e, np.float32).view(np.uint32)),
                int(np.array(f, np.float64).view(np.uint64)), base.device_ptr + 12]
        assert got.tolist() == want


def test_grids_and_limits_are_cached_by_value_not_by_mutable_object(dev, pid_kernel):
    out = dev.empty(64, np.int64)
    grid = [4]
    pid_kernel(out, 1, grid=grid)
    grid[0] = 6                           # the same list, another value
    pid_kernel(out, 2, grid=grid)
    pid_kernel(out, 3, grid=(2, 2))
    pid_kernel(out, 4, grid=1, max_insns=1000, timeout=5.0)
    pid_kernel(out, 5, grid=np.int64(1))
    assert out.numpy()[:8].tolist() == [5, 3, 3, 3, 2, 2, 0, 0]
    with pytest.raises(TypeError, match="grid"):
        pid_kernel(out, 6, grid=True)     # equal to 1, still not a grid
    with pytest.raises(TypeError, match="grid"):
        pid_kernel(out, 6, grid=(2.0,))   # equal to (2,), still not a grid
    with pytest.raises(ValueError, match="max_insns"):
        pid_kernel(out, 6, max_insns=0.0)


def test_argument_errors_after_the_kernel_has_been_launched(dev, pid_kernel):
    """The fast path sends anything unusual to the converters, which name the argument."""
    out = dev.empty(8, np.int64)
    pid_kernel(out, 1)
    with pytest.raises(TypeError, match=r"argument 0 \('out', ptr\).*npu.Tensor"):
        pid_kernel(np.zeros(8), 1)
    with pytest.raises(TypeError, match=r"argument 1 \('tag', i64\)"):
        pid_kernel(out, 1.0)
    with pytest.raises(OverflowError, match=r"argument 1 \('tag', i64\)"):
        pid_kernel(out, 2**63)
    with pytest.raises(TypeError, match="takes 2 arguments, 1 given"):
        pid_kernel(out)
    gone = dev.empty(8, np.int64)
    view = gone[2:]
    gone.free()
    for t in (gone, view):
        with pytest.raises(ValueError, match=r"argument 0 \('out', ptr\).*freed"):
            pid_kernel(t, 1)
    pid_kernel(out, 7)
    assert out.numpy()[0] == 7


def test_launch_on_streams_and_current_stream(dev, pid_kernel):
    out = dev.empty(8, np.int64)
    s = npu.Stream(dev)
    pid_kernel(out, 1, stream=s)
    pid_kernel(out, 2, stream=s)
    with s:
        pid_kernel(out, 3)
    s.synchronize()
    assert out.numpy()[0] == 3
    s.close()
    with pytest.raises(ValueError, match="closed"):
        pid_kernel(out, 4, stream=s)


def test_launch_after_unload_raises(dev):
    mod = dev.load(npu.assemble(PID))
    k = mod.pid
    out = dev.empty(8, np.int64)
    k(out, 1)
    mod.unload()
    for _ in range(2):
        with pytest.raises(ValueError, match="'pid' belongs to a module that has been unloaded"):
            k(out, 2)
    with dev.load(npu.assemble(PID)) as mod:
        k = mod.pid
    with pytest.raises(ValueError, match="unloaded"):
        dev.launch(k, out, 3)


def test_launch_after_device_close_raises():
    r = run_py("""
import numpy as np, npu
src = '''
.kernel k
.arg out ptr
    halt
'''
d = npu.Device(0)
k = d.load(npu.assemble(src)).k
out = d.empty(4)
k(out)
d.close()
for _ in range(2):
    try:
        k(out)
    except ValueError as e:
        print("closed:", e)
k = d.load(npu.assemble(src)).k
try:
    k(out)
except ValueError as e:
    print("old tensor:", e)
k(d.empty(4))
d.synchronize()
print("ok")
""")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("closed: ") == 2 and "was loaded before npu.Device(0) was closed" in r.stdout
    assert "old tensor: " in r.stdout and "freed" in r.stdout and r.stdout.endswith("ok\n")


def test_threads_launching_the_same_kernel(dev, pid_kernel):
    """Threads share a kernel's record: each launches with its own grids and tags into its
    own tensor; every result is that thread's last launch."""
    grids = [1, (3,), 2, [5], (2, 2), 8]
    errors: list[str] = []
    outs = [dev.empty(16, np.int64) for _ in range(4)]

    def worker(t: int) -> None:
        try:
            for i in range(60):
                g = grids[(i + t) % len(grids)]
                tag = t * 1000 + i
                n = int(np.prod(g))
                pid_kernel(outs[t], tag, grid=g)
                if i % 5 == 4:
                    dev.synchronize()
                    got = outs[t].numpy()[:n]
                    if not (got == tag).all():
                        errors.append(f"thread {t} launch {i} grid {g}: {got.tolist()}")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors


def test_launches_are_logged_when_debug_logging_is_turned_on_later(dev, pid_kernel, caplog):
    """Launches read logging's level cache: a level set after earlier launches is seen."""
    out = dev.empty(8, np.int64)
    pid_kernel(out, 1)
    pid_kernel(out, 1)
    with caplog.at_level(logging.DEBUG, logger="npu"):
        pid_kernel(out, 2, grid=(2,))
        pid_kernel(out, 2, grid=(2,))
    pid_kernel(out, 3)
    launches = [r.getMessage() for r in caplog.records if r.getMessage().startswith("launch ")]
    assert launches == ["launch pid grid (2, 1, 1) on default stream"] * 2
