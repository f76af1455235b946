"""A hypothesis state machine over the driver's raw ABI (npu._uapi, see python/uapi/).

Rules: open / close (with work in flight) / alloc / map / free / submit (fills, faulting
copies, runaway kernels, fence signals and waits, on several queues) / wait / queue create
and destroy / fences (create, signal, share with another client, destroy) / injected device
reset. The model says what must be true after each step:

- handles: a live handle works; a freed, foreign or never-issued one is -ENOENT; a handle is
  not reused while its counter has not wrapped; fds are the lowest free ones;
- memory: a new buffer reads as zeros; a completed fill is visible through a host mapping;
  a client never sees another's data;
- jobs: seqnos count up by one per queue; every job signals exactly once with the status
  its commands call for (0, -EFAULT, -ETIMEDOUT), or -EAGAIN/0 if a device reset came while
  it was pending; a queue destroyed or a client closed never leaves another client waiting;
- fences: values only go up; a shared fence seen by two clients has one value; a fence whose
  signaller was closed or destroyed ends signalled, with an error.
"""

import os
import time

import pytest

hypothesis = pytest.importorskip("hypothesis")
uapi = pytest.importorskip("npu._uapi")

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import (  # noqa: E402
    Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule)

import npu.asm as asm  # noqa: E402

ffi, lib = uapi.ffi, uapi.lib
EINVAL, ENOENT, EBADF, EFAULT, ETIMEDOUT, EAGAIN, ECANCELED = 22, 2, 9, 14, 110, 11, 125
PAGE = 65536


def ioctl(fd, req, ctype, **fields):
    arg = ffi.new(f"struct {ctype} *", fields)
    return lib.npu_drv_ioctl(fd, req, arg), arg


def deadline(ms):
    return time.monotonic_ns() + ms * 1_000_000


class Client:
    def __init__(self, fd):
        self.fd = fd
        self.bos = {}            # handle -> (size, flags, dev_addr)
        self.contents = {}       # handle -> byte pattern expected, None = unknown
        self.freed = set()       # handles freed (never to come back soon)
        self.queues = {0: 0}     # id -> last seqno
        self.dead_queues = set()
        self.jobs = {}           # (queue, seqno) -> set of acceptable statuses
        self.fences = {}         # handle -> shared record (dict) of the model fence
        self.dead_fences = set()
        self.spin = None         # (handle, dev_addr) of a "jmp ." kernel


class DriverMachine(RuleBasedStateMachine):
    clients = Bundle("clients")

    def __init__(self):
        super().__init__()
        os.environ["NPU_FAULT_INJECTION"] = "1"
        # A failed example may have left files open: start from a powered-off device.
        for fd in range(16):
            lib.npu_drv_close(fd)
        self.open = {}           # fd -> Client
        self.closed_fds = set()
        self.resets = 0
        self.baseline_mem = None

    # ---- helpers --------------------------------------------------------------------------
    def _client(self, fd):
        return self.open.get(fd)

    def _submit(self, c, queue, cmds: bytes, statuses):
        buf = ffi.from_buffer(cmds)
        ret, s = ioctl(c.fd, lib.NPU_IOCTL_SUBMIT, "npu_submit",
                       cmds=int(ffi.cast("uintptr_t", buf)), cmds_size=len(cmds), queue=queue)
        assert ret == 0, ret
        assert s.seqno == c.queues[queue] + 1
        c.queues[queue] = s.seqno
        c.jobs[(queue, s.seqno)] = set(statuses)
        return s.seqno

    def _wait_job(self, c, queue, seqno, ms=20000):
        ret, w = ioctl(c.fd, lib.NPU_IOCTL_JOB_WAIT, "npu_job_wait", queue=queue, seqno=seqno,
                       timeout_ns=deadline(ms))
        assert ret == 0, (ret, queue, seqno)
        expected = c.jobs.pop((queue, seqno), None)
        if expected is not None:
            assert w.status in expected, (w.status, expected)
        return w.status

    def _drain(self, c):
        for (q, s) in sorted(c.jobs):
            status = self._wait_job(c, q, s)
            del status

    # ---- rules -------------------------------------------------------------------------------
    @initialize(target=clients)
    def first_client(self):
        return self.open_client()

    @rule(target=clients)
    def open_client(self):
        if len(self.open) >= 6:
            return next(iter(self.open))
        fd = lib.npu_drv_open(b"npu0", 0)
        assert fd >= 0, fd
        expect = min(set(range(len(self.open) + 1)) - set(self.open))
        assert fd == expect  # the lowest free fd
        c = Client(fd)
        self.open[fd] = c
        self.closed_fds.discard(fd)
        # Short hang timeout: runaway kernels end fast.
        ret, _ = ioctl(fd, lib.NPU_IOCTL_SET_PARAM, "npu_set_param",
                       param=lib.NPU_PARAM_HANG_TIMEOUT_MS, value=20)
        assert ret == 0
        ret, _ = ioctl(fd, lib.NPU_IOCTL_SET_PARAM, "npu_set_param",
                       param=lib.NPU_PARAM_BAN_THRESHOLD, flags=lib.NPU_SET_PARAM_DEVICE,
                       value=0)
        assert ret == 0
        if self.baseline_mem is None:
            ret, p = ioctl(fd, lib.NPU_IOCTL_GET_PARAM, "npu_get_param",
                           param=lib.NPU_PARAM_MEM_USED)
            self.baseline_mem = p.value
        return fd

    @rule(fd=consumes(clients), in_flight=st.booleans())
    def close_client(self, fd, in_flight):
        c = self._client(fd)
        if c is None:
            return
        if in_flight and c.bos:
            # Work in flight at close: a fence another client may wait on is in the model
            # only if shared; the driver must cancel and never hang.
            h = next(iter(c.bos))
            size, _, addr = c.bos[h]
            fill = ffi.new("struct npu_cmd_fill *", {
                "hdr": {"type": lib.NPU_CMD_FILL, "dwords": 4},
                "dst_addr": addr, "size": size, "pattern": 0x11111111})
            for _ in range(20):
                self._submit(c, 0, bytes(ffi.buffer(fill)), {0, -ECANCELED})
        t0 = time.monotonic()
        assert lib.npu_drv_close(fd) == 0
        assert time.monotonic() - t0 < 5
        for rec in list(c.fences.values()):
            rec["holders"].discard(fd)
        del self.open[fd]
        self.closed_fds.add(fd)
        if not self.open:
            self.resets = 0  # the last close powered the device off
        ret, _ = ioctl(fd, lib.NPU_IOCTL_GET_PARAM, "npu_get_param", param=0)
        assert ret == -EBADF

    @rule(fd=clients, size=st.integers(1, 3 * PAGE),
          flags=st.sampled_from([0, 1, 3]))
    def alloc(self, fd, size, flags):
        c = self._client(fd)
        if c is None or len(c.bos) >= 12:
            return
        ret, b = ioctl(fd, lib.NPU_IOCTL_BO_CREATE, "npu_bo_create", size=size, flags=flags)
        assert ret == 0
        assert b.handle and b.handle not in c.bos and b.handle not in c.freed
        assert b.dev_addr % PAGE == 0 and b.dev_addr >= 1 << 32
        rounded = (size + PAGE - 1) // PAGE * PAGE
        c.bos[b.handle] = (rounded, flags, b.dev_addr)
        c.contents[b.handle] = 0  # new memory reads as zeros
        ret, i = ioctl(fd, lib.NPU_IOCTL_BO_INFO, "npu_bo_info", handle=b.handle)
        assert ret == 0 and i.size == rounded and i.dev_addr == b.dev_addr and i.flags == flags

    def _check_contents(self, c, h):
        size, flags, _ = c.bos[h]
        if not flags & lib.NPU_BO_HOST_VISIBLE:
            return
        ret, i = ioctl(c.fd, lib.NPU_IOCTL_BO_INFO, "npu_bo_info", handle=h)
        err = ffi.new("int *")
        p = lib.npu_drv_mmap(c.fd, i.mmap_offset, size, err)
        assert p != ffi.NULL and err[0] == 0
        data = ffi.buffer(p, size)
        want = c.contents.get(h)
        if want is not None:
            word = int.from_bytes(data[0:4], "little")
            last = int.from_bytes(data[size - 4:size], "little")
            assert word == want and last == want, (hex(word), hex(last), hex(want))
        assert lib.npu_drv_munmap(c.fd, p, size) == 0

    @rule(fd=clients, data=st.data())
    def map_and_check(self, fd, data):
        c = self._client(fd)
        if c is None or not c.bos:
            return
        h = data.draw(st.sampled_from(sorted(c.bos)))
        self._drain(c)  # contents are known once the jobs on it finished
        self._check_contents(c, h)
        _, flags, _ = c.bos[h]
        if not flags & lib.NPU_BO_HOST_VISIBLE:
            ret, i = ioctl(fd, lib.NPU_IOCTL_BO_INFO, "npu_bo_info", handle=h)
            err = ffi.new("int *")
            assert lib.npu_drv_mmap(fd, i.mmap_offset or (h << 32), 4096, err) == ffi.NULL
            assert err[0] == -EINVAL

    @rule(fd=clients, data=st.data())
    def free(self, fd, data):
        c = self._client(fd)
        if c is None or not c.bos:
            return
        h = data.draw(st.sampled_from(sorted(c.bos)))
        ret, _ = ioctl(fd, lib.NPU_IOCTL_BO_FREE, "npu_bo_free", handle=h)
        assert ret == 0
        del c.bos[h]
        c.contents.pop(h, None)
        c.freed.add(h)
        ret, _ = ioctl(fd, lib.NPU_IOCTL_BO_INFO, "npu_bo_info", handle=h)
        assert ret == -ENOENT
        ret, _ = ioctl(fd, lib.NPU_IOCTL_BO_FREE, "npu_bo_free", handle=h)
        assert ret == -ENOENT

    @rule(a=clients, b=clients, data=st.data())
    def foreign_handles(self, a, b, data):
        ca, cb = self._client(a), self._client(b)
        if ca is None or cb is None or a == b:
            return
        mine = set(ca.bos) | ({ca.spin[0]} if ca.spin else set())
        for h in set(cb.bos) - mine:
            ret, _ = ioctl(a, lib.NPU_IOCTL_BO_INFO, "npu_bo_info", handle=h)
            assert ret == -ENOENT
        for h in set(cb.fences) - set(ca.fences):
            ret, _ = ioctl(a, lib.NPU_IOCTL_FENCE_QUERY, "npu_fence_query", handle=h)
            assert ret == -ENOENT
        for q in set(cb.queues) - set(ca.queues):
            ret, _ = ioctl(a, lib.NPU_IOCTL_WAIT, "npu_wait", queue=q)
            assert ret == -ENOENT

    @rule(fd=clients, data=st.data(), pattern=st.integers(0, 2**32 - 1))
    def submit_fill(self, fd, data, pattern):
        c = self._client(fd)
        if c is None or not c.bos:
            return
        h = data.draw(st.sampled_from(sorted(c.bos)))
        q = data.draw(st.sampled_from(sorted(c.queues)))
        size, flags, addr = c.bos[h]
        fill = ffi.new("struct npu_cmd_fill *", {
            "hdr": {"type": lib.NPU_CMD_FILL, "dwords": 4},
            "dst_addr": addr, "size": size, "pattern": pattern})
        if flags & lib.NPU_BO_READ_ONLY:
            self._submit(c, q, bytes(ffi.buffer(fill)), {-EFAULT})
            return
        self._submit(c, q, bytes(ffi.buffer(fill)), {0})
        c.contents[h] = pattern

    @rule(fd=clients, other=clients, data=st.data())
    def submit_cross_client_copy(self, fd, other, data):
        """A copy from an address only the other client maps: a fault, nothing copied."""
        c, o = self._client(fd), self._client(other)
        if c is None or o is None or fd == other or not o.bos or not c.bos:
            return
        src = max(a for (_, _, a) in o.bos.values()) + PAGE * 64
        h = data.draw(st.sampled_from(sorted(c.bos)))
        size, flags, addr = c.bos[h]
        cp = ffi.new("struct npu_cmd_copy *", {
            "hdr": {"type": lib.NPU_CMD_COPY, "dwords": 4},
            "src_addr": src, "dst_addr": addr, "size": 64})
        self._submit(c, 0, bytes(ffi.buffer(cp)), {-EFAULT})

    @rule(fd=clients)
    def submit_runaway(self, fd):
        c = self._client(fd)
        if c is None:
            return
        if c.spin is None:
            ret, b = ioctl(fd, lib.NPU_IOCTL_BO_CREATE, "npu_bo_create", size=PAGE,
                           flags=lib.NPU_BO_HOST_VISIBLE)
            assert ret == 0
            err = ffi.new("int *")
            p = lib.npu_drv_mmap(fd, b.mmap_offset, 8, err)
            ffi.cast("uint64_t *", p)[0] = asm.encode("jmp", target=0)
            assert lib.npu_drv_munmap(fd, p, 8) == 0
            c.spin = (b.handle, b.dev_addr)
        words = [0] * 8
        launch = ffi.new("uint64_t[8]")
        hdr = lib.NPU_CMD_LAUNCH | (8 << 16)
        launch[0] = hdr
        launch[1] = c.spin[1]
        launch[2] = 1                     # code_words 1, entry 0
        launch[3] = 1 | (1 << 32)         # grid x, y
        launch[4] = 1 | (4096 << 32)      # grid z, sram_bytes
        del words
        self._submit(c, 0, bytes(ffi.buffer(launch)), {-ETIMEDOUT})

    @rule(fd=consumes(clients), other=clients, data=st.data())
    def close_with_owed_signal(self, fd, other, data):
        """A client owes a signal on a shared fence (behind a wait that never ends) and
        closes: the other client's wait on it ends, with -ECANCELED."""
        c, o = self._client(fd), self._client(other)
        if c is None or o is None or fd == other or len(o.fences) >= 6:
            return
        ret, f = ioctl(fd, lib.NPU_IOCTL_FENCE_CREATE, "npu_fence_create", value=0)
        ret2, blocker = ioctl(fd, lib.NPU_IOCTL_FENCE_CREATE, "npu_fence_create", value=0)
        assert ret == 0 and ret2 == 0
        ret, e = ioctl(fd, lib.NPU_IOCTL_FENCE_EXPORT, "npu_fence_export", handle=f.handle)
        ret2, i = ioctl(other, lib.NPU_IOCTL_FENCE_IMPORT, "npu_fence_import", token=e.token)
        assert ret == 0 and ret2 == 0
        w = ffi.new("struct npu_cmd_fence[2]", [
            {"hdr": {"type": lib.NPU_CMD_WAIT_FENCE, "dwords": 3}, "fence": blocker.handle,
             "value": 1},
            {"hdr": {"type": lib.NPU_CMD_SIGNAL_FENCE, "dwords": 3}, "fence": f.handle,
             "value": 7}])
        q = data.draw(st.sampled_from(sorted(c.queues)))
        self._submit(c, q, bytes(ffi.buffer(w)), {0, -ECANCELED})
        self.close_client(fd, False)
        h, v = ffi.new("uint32_t *", i.handle), ffi.new("uint64_t *", 7)
        ret, fw = ioctl(other, lib.NPU_IOCTL_FENCE_WAIT, "npu_fence_wait",
                        handles=int(ffi.cast("uintptr_t", h)),
                        values=int(ffi.cast("uintptr_t", v)), count=1, timeout_ns=deadline(5000))
        assert ret == 0 and fw.error == -ECANCELED
        o.fences[i.handle] = {"value": 7, "holders": {other}, "maybe_error": True}

    @rule(fd=clients, type_=st.sampled_from([0, 1]), prio=st.integers(0, 2))
    def queue_create(self, fd, type_, prio):
        c = self._client(fd)
        if c is None or len(c.queues) >= 4:
            return
        ret, q = ioctl(fd, lib.NPU_IOCTL_QUEUE_CREATE, "npu_queue_create", type=type_,
                       priority=prio)
        if ret == -16:  # EBUSY: out of hardware queues
            return
        assert ret == 0
        assert q.queue not in c.queues and q.queue not in c.dead_queues
        c.queues[q.queue] = 0

    @rule(fd=clients, data=st.data())
    def queue_destroy(self, fd, data):
        c = self._client(fd)
        if c is None or len(c.queues) < 2:
            return
        q = data.draw(st.sampled_from(sorted(set(c.queues) - {0})))
        ret, _ = ioctl(fd, lib.NPU_IOCTL_QUEUE_DESTROY, "npu_queue_destroy", queue=q)
        assert ret == 0
        del c.queues[q]
        c.dead_queues.add(q)
        for k in [k for k in c.jobs if k[0] == q]:
            del c.jobs[k]
        # Fills on the destroyed queue may or may not have happened.
        for h in c.contents:
            c.contents[h] = None
        for rec in c.fences.values():
            if rec.pop(("owed", fd, q), None):
                rec["maybe_error"] = True
        ret, _ = ioctl(fd, lib.NPU_IOCTL_WAIT, "npu_wait", queue=q)
        assert ret == -ENOENT

    @rule(fd=clients, start=st.integers(0, 5))
    def fence_create(self, fd, start):
        c = self._client(fd)
        if c is None or len(c.fences) >= 6:
            return
        ret, f = ioctl(fd, lib.NPU_IOCTL_FENCE_CREATE, "npu_fence_create", value=start)
        assert ret == 0 and f.handle not in c.fences and f.handle not in c.dead_fences
        c.fences[f.handle] = {"value": start, "holders": {fd}, "maybe_error": False}

    @rule(fd=clients, other=clients, data=st.data())
    def fence_share(self, fd, other, data):
        c, o = self._client(fd), self._client(other)
        if c is None or o is None or not c.fences or len(o.fences) >= 6:
            return
        h = data.draw(st.sampled_from(sorted(c.fences)))
        ret, e = ioctl(fd, lib.NPU_IOCTL_FENCE_EXPORT, "npu_fence_export", handle=h)
        assert ret == 0 and e.token
        ret, i = ioctl(other, lib.NPU_IOCTL_FENCE_IMPORT, "npu_fence_import", token=e.token)
        assert ret == 0 and i.handle not in o.fences
        rec = c.fences[h]
        rec["holders"].add(other)
        o.fences[i.handle] = rec

    @rule(fd=clients, data=st.data(), step=st.integers(1, 3), on_device=st.booleans())
    def fence_signal(self, fd, data, step, on_device):
        c = self._client(fd)
        if c is None or not c.fences:
            return
        h = data.draw(st.sampled_from(sorted(c.fences)))
        rec = c.fences[h]
        value = rec["value"] + step
        if on_device:
            q = data.draw(st.sampled_from(sorted(c.queues)))
            cmd = ffi.new("struct npu_cmd_fence *", {
                "hdr": {"type": lib.NPU_CMD_SIGNAL_FENCE, "dwords": 3},
                "fence": h, "value": value})
            s = self._submit(c, q, bytes(ffi.buffer(cmd)), {0})
            self._wait_job(c, q, s)
        else:
            ret, _ = ioctl(fd, lib.NPU_IOCTL_FENCE_SIGNAL, "npu_fence_signal", handle=h,
                           value=value)
            assert ret == 0
            ret, _ = ioctl(fd, lib.NPU_IOCTL_FENCE_SIGNAL, "npu_fence_signal", handle=h,
                           value=value)
            assert ret == -EINVAL  # not above the current value
        rec["value"] = value

    @rule(fd=clients, data=st.data())
    def fence_wait_queue(self, fd, data):
        """A queue waits for a value the host then signals: the job runs after it."""
        c = self._client(fd)
        if c is None or not c.fences:
            return
        h = data.draw(st.sampled_from(sorted(c.fences)))
        rec = c.fences[h]
        q = data.draw(st.sampled_from(sorted(c.queues)))
        cmd = ffi.new("struct npu_cmd_fence *", {
            "hdr": {"type": lib.NPU_CMD_WAIT_FENCE, "dwords": 3},
            "fence": h, "value": rec["value"] + 1})
        s = self._submit(c, q, bytes(ffi.buffer(cmd)), {0})
        ret, w = ioctl(fd, lib.NPU_IOCTL_JOB_WAIT, "npu_job_wait", queue=q, seqno=s)
        assert ret == -ETIMEDOUT
        ret, _ = ioctl(fd, lib.NPU_IOCTL_FENCE_SIGNAL, "npu_fence_signal", handle=h,
                       value=rec["value"] + 1)
        assert ret == 0
        rec["value"] += 1
        self._wait_job(c, q, s)

    @rule(fd=clients, data=st.data())
    def fence_destroy(self, fd, data):
        c = self._client(fd)
        if c is None or not c.fences:
            return
        h = data.draw(st.sampled_from(sorted(c.fences)))
        ret, _ = ioctl(fd, lib.NPU_IOCTL_FENCE_DESTROY, "npu_fence_destroy", handle=h)
        assert ret == 0
        c.fences.pop(h)["holders"].discard(fd)
        c.dead_fences.add(h)
        ret, _ = ioctl(fd, lib.NPU_IOCTL_FENCE_QUERY, "npu_fence_query", handle=h)
        assert ret == -ENOENT

    @rule(fd=clients)
    def device_reset(self, fd):
        c = self._client(fd)
        if c is None:
            return
        runaway = set()
        for o in self.open.values():
            ioctl(o.fd, lib.NPU_IOCTL_RESET_STATUS, "npu_reset_status")  # clears the status
            for k in o.jobs:
                if -ETIMEDOUT in o.jobs[k]:
                    runaway.add(o.fd)  # it may be killed (guilty) before the reset
                o.jobs[k] = o.jobs[k] | {-EAGAIN}
            for h in o.contents:
                o.contents[h] = None  # a lost fill may or may not have happened
        ret, _ = ioctl(fd, lib.NPU_IOCTL_INJECT, "npu_inject", what=lib.NPU_INJECT_DEVICE_RESET,
                       count=1)
        assert ret == 0
        self.resets += 1
        for o in self.open.values():
            ret, r = ioctl(o.fd, lib.NPU_IOCTL_RESET_STATUS, "npu_reset_status")
            assert ret == 0
            ok = {lib.NPU_RESET_INNOCENT, lib.NPU_RESET_GUILTY} if o.fd in runaway else \
                {lib.NPU_RESET_INNOCENT}
            assert r.status in ok and r.device_resets == self.resets
            assert r.state == 0

    @rule(fd=clients)
    def wait_all(self, fd):
        c = self._client(fd)
        if c is None:
            return
        self._drain(c)
        # Fault records exist for every failed job; drain them.
        while True:
            ret, f = ioctl(fd, lib.NPU_IOCTL_GET_FAULT, "npu_get_fault")
            assert ret == 0
            if not f.flags & lib.NPU_FAULT_F_VALID:
                break
            assert f.queue in c.queues or f.queue in c.dead_queues

    # ---- invariants ----------------------------------------------------------------------
    @invariant()
    def fences_agree(self):
        for c in self.open.values():
            for h, rec in c.fences.items():
                ret, q = ioctl(c.fd, lib.NPU_IOCTL_FENCE_QUERY, "npu_fence_query", handle=h)
                assert ret == 0
                assert q.value >= rec["value"]
                if not rec["maybe_error"]:
                    assert q.error == 0
                rec["value"] = q.value

    @invariant()
    def seqnos_monotonic(self):
        for c in self.open.values():
            for q, last in c.queues.items():
                ret, w = ioctl(c.fd, lib.NPU_IOCTL_WAIT, "npu_wait", queue=q)
                assert ret == 0 and w.completed <= last

    def teardown(self):
        try:
            for c in list(self.open.values()):
                self._drain(c)
        finally:
            for fd in list(self.open):
                assert lib.npu_drv_close(fd) == 0
            self.open.clear()
        # The device powered off with its last file: a new one starts from scratch.
        if self.baseline_mem is not None:
            fd = lib.npu_drv_open(b"npu0", 0)
            assert fd == 0
            ret, p = ioctl(fd, lib.NPU_IOCTL_GET_PARAM, "npu_get_param",
                           param=lib.NPU_PARAM_MEM_USED)
            assert ret == 0 and p.value == self.baseline_mem
            ret, r = ioctl(fd, lib.NPU_IOCTL_RESET_STATUS, "npu_reset_status")
            assert r.device_resets == 0
            assert lib.npu_drv_close(fd) == 0


DriverMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("NPU_STATE_EXAMPLES", "25")), stateful_step_count=30,
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestDriverState = DriverMachine.TestCase
