/* SPDX-License-Identifier: MIT */
/*
 * queues_fences.c - several queues per client (compute and copy, priorities), timeline fences
 * between queues and between clients, host signals and waits, TIMESTAMP, BARRIER, queue
 * destroy with work pending, and fence errors when a signalling job fails.
 */
#include "drv_test.h"

static void t_stream_reset(struct t_stream *s)
{
	s->bytes = 0;
}

/* A queue waiting on a fence does not run; a copy queue's signal releases it. */
static void test_cross_queue(int fd)
{
	uint32_t cq = t_queue(fd, NPU_QUEUE_COMPUTE, NPU_QUEUE_PRIORITY_NORMAL);
	uint32_t xq = t_queue(fd, NPU_QUEUE_COPY, NPU_QUEUE_PRIORITY_NORMAL);
	uint32_t fence = t_fence(fd, 0);
	struct npu_bo_create src = t_bo(fd, 1 << 20, NPU_BO_HOST_VISIBLE);
	struct npu_bo_create dst = t_bo(fd, 1 << 20, NPU_BO_HOST_VISIBLE);
	uint32_t *d = t_map(fd, &dst, 1 << 20);
	struct t_stream *s = calloc(1, sizeof(*s));
	struct npu_cmd_fence w = t_cmd_fence(NPU_CMD_WAIT_FENCE, fence, 1);
	struct npu_cmd_fence sg = t_cmd_fence(NPU_CMD_SIGNAL_FENCE, fence, 1);
	struct npu_cmd_copy cp = t_cmd_copy(src.dev_addr, dst.dev_addr, 1 << 20);
	struct npu_cmd_fill fl = t_cmd_fill(src.dev_addr, 1 << 20, 0xc0ffee00);
	uint64_t a, b;
	int32_t st;

	t_put(s, &w, sizeof(w));
	t_put(s, &cp, sizeof(cp));
	a = t_submitq(fd, cq, s->words, s->bytes);
	/* Blocked on the fence: not done, and the copy has not happened. */
	T_EQ(t_job_wait_ms(fd, cq, a, 50, &st), -ETIMEDOUT);
	T_EQ(d[0], 0);
	t_stream_reset(s);
	t_put(s, &fl, sizeof(fl));
	t_put(s, &sg, sizeof(sg));
	b = t_submitq(fd, xq, s->words, s->bytes);
	T_EQ(t_job(fd, xq, b), 0);
	T_EQ(t_job(fd, cq, a), 0);
	T_EQ(d[0], 0xc0ffee00);
	T_EQ(d[(1 << 18) - 1], 0xc0ffee00);
	T_EQ(t_fence_query(fd, fence).value, 1);
	T_EQ(t_fence_query(fd, fence).error, 0);

	/* A copy queue takes no LAUNCH. */
	{
		struct npu_bo_create code = t_spin_bo(fd);
		struct t_launch l;
		uint32_t bytes = t_launch_init(&l, code.dev_addr, 1, 0, NULL);

		T_EQ(t_submitq_raw(fd, xq, &l, bytes, 0, NULL), -EINVAL);
	}
	/* Seqnos are per queue. */
	T_EQ(t_submitq(fd, xq, &fl, sizeof(fl)), b + 1);
	T_OK(npu_drv_munmap(fd, d, 1 << 20));
	t_queue_destroy(fd, cq);
	t_queue_destroy(fd, xq);
	free(s);
}

/* Host signals and multi-fence waits. */
static void test_host_fences(int fd)
{
	uint32_t q = t_queue(fd, NPU_QUEUE_COMPUTE, NPU_QUEUE_PRIORITY_LOW);
	uint32_t f1 = t_fence(fd, 3), f2 = t_fence(fd, 0);
	struct npu_fence_signal sig = { .handle = f1, .value = 3 };
	struct npu_cmd_fence w = t_cmd_fence(NPU_CMD_WAIT_FENCE, f1, 5);
	uint32_t handles[2] = { f1, f2 };
	uint64_t values[2] = { 3, 1 };
	struct npu_fence_wait fw = {
		.handles = (uint64_t)(uintptr_t)handles, .values = (uint64_t)(uintptr_t)values,
		.count = 2,
	};
	uint64_t seqno;
	int64_t t0;

	T_EQ(t_fence_query(fd, f1).value, 3);
	/* Not above the current value: refused, nothing changes. */
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_SIGNAL, &sig), -EINVAL);
	sig.value = 2;
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_SIGNAL, &sig), -EINVAL);
	T_EQ(t_fence_query(fd, f1).value, 3);

	seqno = t_submitq(fd, q, &w, sizeof(w));
	T_EQ(t_job_wait_ms(fd, q, seqno, 30, NULL), -ETIMEDOUT);
	sig.value = 5;
	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_SIGNAL, &sig));
	T_EQ(t_job(fd, q, seqno), 0);

	/* ALL: f2 is not there yet; ANY: f1 is. */
	t0 = t_now_ns();
	fw.timeout_ns = t0 + 30 * 1000000ll;
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_WAIT, &fw), -ETIMEDOUT);
	T_ASSERT(t_now_ns() - t0 >= 29 * 1000000ll);
	fw.flags = NPU_FENCE_WAIT_ANY;
	fw.timeout_ns = 0;
	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_WAIT, &fw));
	T_EQ(fw.first, 0);
	T_EQ(fw.error, 0);
	/* A waiter sleeping on ALL wakes when the host signals the last one. */
	{
		struct npu_fence_signal s2 = { .handle = f2, .value = 7 };

		T_OK(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_SIGNAL, &s2));
		fw.flags = 0;
		fw.timeout_ns = t_now_ns() + 5000 * 1000000ll;
		T_OK(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_WAIT, &fw));
	}
	{
		struct npu_fence_destroy d = { .handle = f1 };

		T_OK(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_DESTROY, &d));
		T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_DESTROY, &d), -ENOENT);
		d.handle = f2;
		T_OK(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_DESTROY, &d));
	}
	t_queue_destroy(fd, q);
}

/* A faulting job still signals its fences, with an error; the job's status says -EFAULT. */
static void test_fault_signals(int fd)
{
	uint32_t q = t_queue(fd, NPU_QUEUE_COPY, NPU_QUEUE_PRIORITY_NORMAL);
	uint32_t fence = t_fence(fd, 0);
	struct t_stream *s = calloc(1, sizeof(*s));
	struct npu_cmd_fill bad = t_cmd_fill(0x7000000000ull, 4096, 1); /* unmapped */
	struct npu_cmd_fence sg = t_cmd_fence(NPU_CMD_SIGNAL_FENCE, fence, 9);
	struct npu_get_fault f;
	uint64_t seqno;
	int32_t err = 0;

	t_put(s, &bad, sizeof(bad));
	t_put(s, &sg, sizeof(sg));
	seqno = t_submitq(fd, q, s->words, s->bytes);
	T_EQ(t_job(fd, q, seqno), -EFAULT);
	T_OK(t_fence_wait_ms(fd, fence, 9, 5000, &err));
	T_EQ(err, -EIO);
	T_EQ(t_fence_query(fd, fence).error, -EIO);
	f = t_fault(fd);
	T_EQ(f.flags & (NPU_FAULT_F_VALID | NPU_FAULT_F_WRITE | NPU_FAULT_F_COPY_ENGINE),
	     NPU_FAULT_F_VALID | NPU_FAULT_F_WRITE |
		     (t_param(fd, NPU_PARAM_ENGINES) & NPU_ENGINE_COPY_BIT ? NPU_FAULT_F_COPY_ENGINE
									   : 0));
	T_EQ(f.code, NPU_TRAP_PAGE_FAULT);
	T_EQ(f.addr, 0x7000000000ull);
	T_EQ(f.queue, q);
	T_EQ(f.seqno, seqno);
	/* The next job of the queue runs. */
	{
		struct npu_bo_create b = t_bo(fd, 4096, NPU_BO_HOST_VISIBLE);
		uint32_t *p = t_map(fd, &b, 4096);
		struct npu_cmd_fill ok = t_cmd_fill(b.dev_addr, 4096, 0x01020304);

		T_EQ(t_job(fd, q, t_submitq(fd, q, &ok, sizeof(ok))), 0);
		T_EQ(p[1023], 0x01020304);
		T_OK(npu_drv_munmap(fd, p, 4096));
	}
	t_queue_destroy(fd, q);
	free(s);
}

/* QUEUE_DESTROY cancels what has not run; signals it owed happen, with -ECANCELED. */
static void test_destroy_pending(int fd)
{
	uint32_t q = t_queue(fd, NPU_QUEUE_COMPUTE, NPU_QUEUE_PRIORITY_NORMAL);
	uint32_t never = t_fence(fd, 0), out = t_fence(fd, 0);
	struct npu_cmd_fence w = t_cmd_fence(NPU_CMD_WAIT_FENCE, never, 1);
	struct npu_cmd_fence sg = t_cmd_fence(NPU_CMD_SIGNAL_FENCE, out, 4);
	struct t_stream *s = calloc(1, sizeof(*s));
	struct npu_job_wait jw = { .queue = q, .seqno = 1 };
	int32_t err = 0;

	t_put(s, &w, sizeof(w));
	t_put(s, &sg, sizeof(sg));
	for (int i = 0; i < 10; i++)
		T_EQ(t_submitq(fd, q, s->words, s->bytes), (uint64_t)i + 1);
	t_queue_destroy(fd, q);
	/* The queue is gone; the fence it owed was signalled by the driver. */
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_JOB_WAIT, &jw), -ENOENT);
	T_OK(t_fence_wait_ms(fd, out, 4, 0, &err));
	T_EQ(err, -ECANCELED);
	/* Destroyed queues make no fault records (the caller asked for it). */
	T_EQ(t_fault(fd).flags, 0);
	free(s);
}

/* Fences shared by token: a queue of client B waits for client A's signal; when A closes
 * with a signal still owed, B's waiter goes on, with -ECANCELED. */
static void test_cross_client(void)
{
	int a = t_open(), b = t_open();
	uint32_t fa = t_fence(a, 0), blocker = t_fence(a, 0), fb;
	struct npu_fence_export ex = { .handle = fa };
	struct npu_fence_import im = { 0 };
	struct npu_bo_create bb = t_bo(b, 4096, NPU_BO_HOST_VISIBLE);
	uint32_t *p = t_map(b, &bb, 4096);
	struct t_stream *s = calloc(1, sizeof(*s));
	uint64_t seqno;
	int32_t err = 0;

	T_OK(npu_drv_ioctl(a, NPU_IOCTL_FENCE_EXPORT, &ex));
	T_ASSERT(ex.token != 0);
	im.token = ex.token + 1;
	T_EQ(npu_drv_ioctl(b, NPU_IOCTL_FENCE_IMPORT, &im), -ENOENT);
	im.token = ex.token;
	T_OK(npu_drv_ioctl(b, NPU_IOCTL_FENCE_IMPORT, &im));
	fb = im.handle;
	/* A's handle means nothing in B. */
	T_ASSERT(fb != fa || t_fence_query(b, fb).value == 0);
	{
		struct npu_cmd_fence w = t_cmd_fence(NPU_CMD_WAIT_FENCE, fb, 2);
		struct npu_cmd_fill fl = t_cmd_fill(bb.dev_addr, 4096, 77);

		t_put(s, &w, sizeof(w));
		t_put(s, &fl, sizeof(fl));
		seqno = t_submitq(b, 0, s->words, s->bytes);
	}
	T_EQ(t_job_wait_ms(b, 0, seqno, 30, NULL), -ETIMEDOUT);
	{
		struct npu_cmd_fence sg = t_cmd_fence(NPU_CMD_SIGNAL_FENCE, fa, 2);

		T_EQ(t_job(a, 0, t_submitq(a, 0, &sg, sizeof(sg))), 0);
	}
	T_EQ(t_job(b, 0, seqno), 0);
	T_EQ(p[5], 77);

	/* A owes a signal to 3 behind a wait that never ends; A closes. */
	{
		struct npu_cmd_fence w = t_cmd_fence(NPU_CMD_WAIT_FENCE, blocker, 1);
		struct npu_cmd_fence sg = t_cmd_fence(NPU_CMD_SIGNAL_FENCE, fa, 3);

		s->bytes = 0;
		t_put(s, &w, sizeof(w));
		t_put(s, &sg, sizeof(sg));
		t_submitq(a, 0, s->words, s->bytes);
	}
	T_EQ(t_fence_wait_ms(b, fb, 3, 30, NULL), -ETIMEDOUT);
	T_OK(npu_drv_close(a));
	T_OK(t_fence_wait_ms(b, fb, 3, 5000, &err));
	T_EQ(err, -ECANCELED);
	/* The token dies with the last reference. */
	{
		struct npu_fence_destroy d = { .handle = fb };

		T_OK(npu_drv_ioctl(b, NPU_IOCTL_FENCE_DESTROY, &d));
		im.token = ex.token;
		T_EQ(npu_drv_ioctl(b, NPU_IOCTL_FENCE_IMPORT, &im), -ENOENT);
	}
	T_OK(npu_drv_munmap(b, p, 4096));
	T_OK(npu_drv_close(b));
	free(s);
}

/* TIMESTAMP and BARRIER: the device clock around a kernel. */
static void test_timestamp(int fd)
{
	struct npu_bo_create ts = t_bo(fd, 4096, NPU_BO_HOST_VISIBLE);
	uint64_t *t = t_map(fd, &ts, 4096);
	struct npu_bo_create code = t_writer_bo(fd);
	struct npu_bo_create out = t_bo(fd, 4096, NPU_BO_HOST_VISIBLE);
	struct t_stream *s = calloc(1, sizeof(*s));
	struct npu_cmd_timestamp t0 = t_cmd_ts(ts.dev_addr), t1 = t_cmd_ts(ts.dev_addr + 8);
	struct npu_cmd_header bar = { .type = NPU_CMD_BARRIER, .dwords = 1 };
	struct t_launch l;
	uint32_t bytes = t_writer(&l, &code, out.dev_addr, 5, 200000, 1);
	int64_t before = t_now_ns();

	T_EQ(t_param(fd, NPU_PARAM_TIMESTAMP_FREQ), 1000000000);
	t_put(s, &t0, sizeof(t0));
	t_put(s, &l, bytes);
	t_put(s, &bar, sizeof(bar));
	t_put(s, &t1, sizeof(t1));
	T_EQ(t_job(fd, 0, t_submitq(fd, 0, s->words, s->bytes)), 0);
	T_ASSERT(t[0] >= (uint64_t)before);
	T_ASSERT(t[1] > t[0]);
	T_ASSERT(t[1] <= (uint64_t)t_now_ns());
	/* Misaligned is refused; unmapped faults. */
	t0.dst_addr += 4;
	T_EQ(t_submitq_raw(fd, 0, &t0, sizeof(t0), 0, NULL), -EINVAL);
	t0.dst_addr = 0x7000000000ull;
	T_EQ(t_job(fd, 0, t_submitq(fd, 0, &t0, sizeof(t0))), -EFAULT);
	T_EQ(t_fault(fd).code, NPU_TRAP_PAGE_FAULT);
	T_OK(npu_drv_munmap(fd, t, 4096));
	free(s);
}

/* Strict priority: a high-priority job overtakes a low-priority backlog. */
static void test_priority(int fd)
{
	uint32_t lo = t_queue(fd, NPU_QUEUE_COMPUTE, NPU_QUEUE_PRIORITY_LOW);
	uint32_t hi = t_queue(fd, NPU_QUEUE_COMPUTE, NPU_QUEUE_PRIORITY_HIGH);
	struct npu_bo_create code = t_writer_bo(fd);
	struct npu_bo_create out = t_bo(fd, 1 << 16, NPU_BO_HOST_VISIBLE);
	struct t_launch l;
	uint32_t bytes = t_writer(&l, &code, out.dev_addr, 1, 100000, 1);
	struct npu_wait w = { .queue = lo };
	uint64_t last = 0, h;

	for (int i = 0; i < 100; i++)
		last = t_submitq(fd, lo, &l, bytes);
	h = t_submitq(fd, hi, &l, bytes);
	T_EQ(t_job(fd, hi, h), 0);
	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_WAIT, &w));
	T_ASSERT(w.completed < last);
	T_EQ(t_job(fd, lo, last), 0);
	t_queue_destroy(fd, lo);
	t_queue_destroy(fd, hi);
}

/* Queue ids are not reused at once; the device's hardware queues run out with -EBUSY. */
static void test_queue_limits(int fd)
{
	uint32_t ids[NPU_MAX_QUEUES], n = 0, a, b;
	struct npu_queue_create c = { .type = NPU_QUEUE_COMPUTE };
	struct npu_queue_destroy d = { .queue = 0 };
	int ret;

	a = t_queue(fd, NPU_QUEUE_COMPUTE, 0);
	t_queue_destroy(fd, a);
	b = t_queue(fd, NPU_QUEUE_COMPUTE, 0);
	T_ASSERT(a != b);
	t_queue_destroy(fd, b);
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_QUEUE_DESTROY, &d), -EINVAL);
	d.queue = b;
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_QUEUE_DESTROY, &d), -ENOENT);
	for (;;) {
		ret = npu_drv_ioctl(fd, NPU_IOCTL_QUEUE_CREATE, &c);
		if (ret)
			break;
		ids[n++] = c.queue;
		T_ASSERT(n < NPU_MAX_QUEUES);
	}
	T_EQ(ret, -EBUSY);
	T_EQ(n + 1, t_param(fd, NPU_PARAM_NUM_HW_QUEUES)); /* queue 0 has one */
	while (n)
		t_queue_destroy(fd, ids[--n]);
}

int main(void)
{
	int fd = t_open();
	uint64_t used0 = t_param(fd, NPU_PARAM_MEM_USED);

	/* 1.1 or later: this tests the 1.1 additions. */
	T_ASSERT(t_param(fd, NPU_PARAM_UAPI_VERSION) >= ((1 << 16) | 1));
	test_cross_queue(fd);
	test_host_fences(fd);
	test_fault_signals(fd);
	test_destroy_pending(fd);
	test_timestamp(fd);
	test_priority(fd);
	test_queue_limits(fd);
	test_cross_client();
	/* Queues and their rings went back; fence pages stay until power-off. */
	T_ASSERT(t_param(fd, NPU_PARAM_MEM_USED) >= used0);
	T_OK(npu_drv_close(fd));
	return T_PASS;
}
