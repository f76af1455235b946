/* SPDX-License-Identifier: MIT */
/*
 * Simulated device time through libnpu (driver uapi 1.2): npu_event_elapsed's device cycles,
 * npu_job_info's device fields (simulated clock, per-core cycles), and the client list of
 * npu_device_get_stats / npu_device_get_client. Exit 0 pass, 1 fail, 77 skip.
 */
#include <unistd.h>

#include "libnpu_test_kbin.h"

/* A kernel "k" that counts to `iters` and halts. */
static npu_kernel_t *loop_kernel(npu_device_t *dev, int32_t iters, npu_module_t **mod)
{
	const uint64_t code[] = {
		M(LI) | F(RD, 1) | F(IMM, 0),
		M(LI) | F(RD, 2) | F(IMM, iters),
		M(ADDI) | F(RD, 1) | F(RS1, 1) | F(IMM, 1),
		M(BLT) | F(RS1, 1) | F(RS2, 2) | F(IMM, -1),
		M(HALT),
	};
	uint8_t image[1024];
	size_t n = build_kbin(image, sizeof(image), code, 5, 64);
	npu_kernel_t *k = NULL;

	CHECK(npu_module_load_data(dev, image, n, mod) == 0);
	CHECK(npu_module_get_kernel(*mod, "k", &k) == 0);
	return k;
}

/* Launches k between two events; returns the device cycles between them (0 if none). */
static uint64_t timed_launch(npu_device_t *dev, npu_kernel_t *k, npu_deviceptr_t out,
			     struct npu_elapsed *el)
{
	struct npu_launch_config cfg = { .struct_size = sizeof(cfg), .grid = { 1, 1, 1 } };
	const void *args[] = { &out };
	size_t sizes[] = { sizeof(out) };
	npu_event_t *e0, *e1;

	CHECK(npu_event_create(dev, 0, &e0) == 0);
	CHECK(npu_event_create(dev, 0, &e1) == 0);
	CHECK(npu_event_record(e0, NULL) == 0);
	CHECK(npu_launch_kernel(dev, k, &cfg, args, sizes, 1) == 0);
	CHECK(npu_event_record(e1, NULL) == 0);
	CHECK(npu_event_synchronize(e1, -1) == 0);
	memset(el, 0, sizeof(*el));
	el->struct_size = sizeof(*el);
	CHECK(npu_event_elapsed(e0, e1, el) == 0);
	CHECK(npu_event_destroy(e0) == 0);
	CHECK(npu_event_destroy(e1) == 0);
	return el->flags & NPU_ELAPSED_DEVICE ? el->device_cycles : 0;
}

int main(void)
{
	npu_device_t *dev;
	npu_module_t *m1, *m2;
	npu_kernel_t *k1, *k2;
	npu_deviceptr_t out;
	struct npu_device_props props = { .struct_size = sizeof(props) };
	struct npu_device_stats st = { .struct_size = sizeof(st) };
	struct npu_job_info job = { .struct_size = sizeof(job) };
	struct npu_client_stats cl = { .struct_size = sizeof(cl) };
	struct npu_elapsed el;
	uint64_t c1, c1b, c2;

	CHECK(npu_device_open(0, &dev) == 0);
	CHECK(npu_device_get_props(dev, &props) == 0);
	CHECK(npu_mem_alloc(dev, 4096, &out) == 0);
	k1 = loop_kernel(dev, 1000, &m1);
	k2 = loop_kernel(dev, 2000, &m2);

	c1 = timed_launch(dev, k1, out, &el);
	CHECK(el.flags == (NPU_ELAPSED_HOST | NPU_ELAPSED_DEVICE));
	CHECK(c1 > 2000); /* two instructions per iteration, at least a cycle each */
	CHECK(el.device_ns == c1 * 1000000u / props.clock_khz);
	/* The same launch again: the same cycles. More iterations: more. */
	c1b = timed_launch(dev, k1, out, &el);
	CHECK(c1b == c1);
	c2 = timed_launch(dev, k2, out, &el);
	CHECK(c2 > c1 && c2 < 3 * c1);

	/* The job record of the last launch. */
	CHECK(npu_device_get_stats(dev, &st) == 0);
	CHECK(npu_device_get_job(dev, st.last_job, &job) == 0);
	CHECK(job.kind == NPU_JOB_LAUNCH && strcmp(job.name, "k") == 0);
	CHECK((job.flags & (NPU_JOB_F_DEVICE_TIME | NPU_JOB_F_SIM_CLOCK)) ==
	      (NPU_JOB_F_DEVICE_TIME | NPU_JOB_F_SIM_CLOCK));
	CHECK(job.device_cycles == c2);
	CHECK(job.device_launches == 1);
	/* Nothing else ran on the device meanwhile: its clock moved by this launch. */
	CHECK(job.device_end_cycles - job.device_start_cycles == c2);
	CHECK(job.device_cores ==
	      (props.num_cores < NPU_JOB_MAX_CORES ? props.num_cores : NPU_JOB_MAX_CORES));
	CHECK(job.core_cycles[0] == c2); /* one program instance: core 0 */
	for (uint32_t i = 1; i < job.device_cores; i++)
		CHECK(job.core_cycles[i] == 0);
	{
		struct npu_job_info prev = { .struct_size = sizeof(prev) };

		CHECK(npu_device_get_job(dev, st.last_job - 1, &prev) == 0);
		CHECK(prev.device_end_cycles <= job.device_start_cycles);
	}
	/* An old-sized struct gets only what it has room for. */
	{
		struct npu_job_info small;

		memset(&small, 0xa5, sizeof(small));
		small.struct_size = offsetof(struct npu_job_info, device_start_cycles);
		CHECK(npu_device_get_job(dev, st.last_job, &small) == 0);
		CHECK(small.device_cycles == c2);
		CHECK(small.device_start_cycles == 0xa5a5a5a5a5a5a5a5ull);
	}

	/* Clients: this one. */
	CHECK(st.flags & NPU_STATS_CLIENTS);
	CHECK(st.clients == 1);
	CHECK(npu_device_get_client(dev, 0, &cl) == 0);
	CHECK(cl.flags == NPU_CLIENT_SELF && cl.pid == getpid());
	CHECK(cl.jobs == st.jobs_submitted);
	CHECK(cl.mem_bytes >= 4096);
	CHECK(npu_device_get_client(dev, 1, &cl) == NPU_ERROR_NOT_FOUND);
	CHECK(strstr(npu_last_error_message(), "no client 1") != NULL);
	cl.struct_size = 2;
	CHECK(npu_device_get_client(dev, 0, &cl) == NPU_ERROR_INVALID_VALUE);
	CHECK(npu_device_get_client(dev, 0, NULL) == NPU_ERROR_INVALID_VALUE);
	CHECK(npu_device_get_client(NULL, 0, &cl) == NPU_ERROR_INVALID_VALUE);

	CHECK(npu_module_unload(m1) == 0);
	CHECK(npu_module_unload(m2) == 0);
	CHECK(npu_mem_free(dev, out) == 0);
	CHECK(npu_device_close(dev) == 0);
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures ? 1 : 0;
}
