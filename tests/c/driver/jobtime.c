/* SPDX-License-Identifier: MIT */
/*
 * jobtime.c - uapi 1.2: per-job simulated device time (JOB_TIME) and the client list
 * (NPU_PARAM_NUM_CLIENTS, CLIENT_INFO).
 */
#include <unistd.h>

#include "drv_test.h"

static struct npu_job_time t_time(int fd, uint32_t queue, uint64_t seqno)
{
	struct npu_job_time t = { .queue = queue, .seqno = seqno };

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_JOB_TIME, &t));
	return t;
}

/* One launch of the writer kernel, `grid` instances of `iters` loop iterations each. */
static struct npu_job_time t_run(int fd, const struct npu_bo_create *code, uint64_t out,
				 uint64_t iters, uint32_t grid)
{
	struct t_launch l;
	uint32_t bytes = t_writer(&l, code, out, 7, iters, grid);
	uint64_t seqno = t_submit(fd, &l, bytes);

	t_wait(fd, seqno);
	T_EQ(t_job(fd, 0, seqno), 0);
	return t_time(fd, 0, seqno);
}

static uint64_t t_max_core(const struct npu_job_time *t)
{
	uint64_t m = 0;

	for (uint32_t i = 0; i < t->ncores; i++)
		if (t->core_cycles[i] > m)
			m = t->core_cycles[i];
	return m;
}

static void check_launch_times(int fd)
{
	struct npu_bo_create code = t_writer_bo(fd);
	struct npu_bo_create out = t_bo(fd, 4096, 0);
	uint32_t cores = (uint32_t)t_param(fd, NPU_PARAM_NUM_CORES);
	uint32_t grid = 2 * cores; /* two instances per core */
	struct npu_job_time a, b, c;

	a = t_run(fd, &code, out.dev_addr, 1000, grid);
	T_EQ(a.launches, 1);
	T_EQ(a.ncores, cores < NPU_JOB_TIME_CORES ? cores : NPU_JOB_TIME_CORES);
	T_ASSERT(a.cycles > 2000);
	/* A launch lasts as long as its slowest core; identical instances load them evenly. */
	T_EQ(a.cycles, t_max_core(&a));
	for (uint32_t i = 0; i < a.ncores; i++)
		T_EQ(a.core_cycles[i], a.cycles);
	for (uint32_t i = a.ncores; i < NPU_JOB_TIME_CORES; i++)
		T_EQ(a.core_cycles[i], 0);
	/* Nothing else runs on this device: the clock moved by exactly this launch. */
	T_EQ(a.end_cycles - a.start_cycles, a.cycles);

	/* Same program, same data: same cycles, whichever host threads ran the instances. */
	b = t_run(fd, &code, out.dev_addr, 1000, grid);
	T_EQ(b.cycles, a.cycles);
	T_ASSERT(!memcmp(b.core_cycles, a.core_cycles, sizeof(a.core_cycles)));
	T_ASSERT(b.start_cycles >= a.end_cycles);

	/* More iterations, more cycles; one instance leaves the other cores idle. */
	c = t_run(fd, &code, out.dev_addr, 3000, 1);
	T_ASSERT(c.cycles > a.cycles); /* 3000 iterations vs 2 x 1000 */
	T_EQ(c.core_cycles[0], c.cycles);
	for (uint32_t i = 1; i < c.ncores; i++)
		T_EQ(c.core_cycles[i], 0);

	/* Two launches in one job add up; a copy takes no simulated time. */
	{
		struct t_stream s = { 0 };
		struct t_launch l;
		struct npu_cmd_copy cp = t_cmd_copy(out.dev_addr, out.dev_addr + 2048, 1024);
		struct npu_job_time d;
		uint32_t bytes = t_writer(&l, &code, out.dev_addr, 7, 1000, grid);
		uint64_t seqno;

		t_put(&s, &l, bytes);
		t_put(&s, &cp, sizeof(cp));
		t_put(&s, &l, bytes);
		seqno = t_submit(fd, s.words, s.bytes);
		t_wait(fd, seqno);
		d = t_time(fd, 0, seqno);
		T_EQ(d.launches, 2);
		T_EQ(d.cycles, 2 * a.cycles);
		T_EQ(d.core_cycles[0], 2 * a.core_cycles[0]);
		T_EQ(d.end_cycles - d.start_cycles, d.cycles);

		seqno = t_submit(fd, &cp, sizeof(cp));
		t_wait(fd, seqno);
		d = t_time(fd, 0, seqno);
		T_EQ(d.launches, 0);
		T_EQ(d.cycles, 0);
		T_EQ(d.start_cycles, d.end_cycles);
	}
}

/* A job held at a WAIT has no times yet; once it ran, it has. */
static void check_pending(int fd)
{
	uint32_t fence = t_fence(fd, 0);
	struct npu_cmd_fence w = t_cmd_fence(NPU_CMD_WAIT_FENCE, fence, 1);
	struct npu_fence_signal sig = { .handle = fence, .value = 1 };
	struct npu_job_time t;
	uint64_t seqno = t_submit(fd, &w, sizeof(w));

	t = (struct npu_job_time){ .queue = 0, .seqno = seqno };
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_JOB_TIME, &t), -EAGAIN);
	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_SIGNAL, &sig));
	t_wait(fd, seqno);
	t = t_time(fd, 0, seqno);
	T_EQ(t.launches, 0);
}

/* A faulting launch counts no cycles; the job still reports its times. */
static void check_fault(int fd)
{
	const uint64_t bad[] = { 0 }; /* opcode 0 is illegal */
	struct npu_bo_create code = t_code_bo(fd, bad, 1);
	struct t_launch l;
	uint32_t bytes = t_launch_init(&l, code.dev_addr, 1, 0, NULL);
	uint64_t seqno = t_submit(fd, &l, bytes);
	struct npu_job_time t;

	t_wait(fd, seqno);
	T_EQ(t_job(fd, 0, seqno), -EFAULT);
	(void)t_fault(fd);
	t = t_time(fd, 0, seqno);
	T_EQ(t.launches, 0);
	T_EQ(t.cycles, 0);
}

static void check_clients(int fd)
{
	int other;
	uint32_t self = 0;
	struct npu_client_info ci;

	T_EQ(t_param(fd, NPU_PARAM_NUM_CLIENTS), 1);
	other = t_open();
	T_EQ(t_param(fd, NPU_PARAM_NUM_CLIENTS), 2);
	(void)t_bo(other, 3 << 16, 0);
	for (uint32_t i = 0; i < 2; i++) {
		ci = (struct npu_client_info){ .index = i };
		T_OK(npu_drv_ioctl(fd, NPU_IOCTL_CLIENT_INFO, &ci));
		T_EQ(ci.pid, getpid());
		if (ci.flags & NPU_CLIENT_INFO_SELF) {
			self++;
			T_EQ(ci.client_id, fd);
			T_EQ(ci.jobs, 7); /* the jobs submitted above */
			T_ASSERT(ci.mem_bytes >= 4096);
		} else {
			T_EQ(ci.client_id, other);
			T_EQ(ci.jobs, 0);
			T_EQ(ci.mem_bytes, 3 << 16);
		}
	}
	T_EQ(self, 1);
	ci = (struct npu_client_info){ .index = 2 };
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_CLIENT_INFO, &ci), -ENOENT);
	T_OK(npu_drv_close(other));
	T_EQ(t_param(fd, NPU_PARAM_NUM_CLIENTS), 1);
}

int main(void)
{
	int fd = t_open();

	if (t_param(fd, NPU_PARAM_UAPI_VERSION) < ((1u << 16) | 2u))
		return T_SKIP;
	check_launch_times(fd);
	check_pending(fd);
	check_fault(fd);
	check_clients(fd);
	T_OK(npu_drv_close(fd));
	printf("ok\n");
	return T_PASS;
}
