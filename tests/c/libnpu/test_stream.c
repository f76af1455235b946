/* SPDX-License-Identifier: MIT */
/*
 * libnpu streams, events, stream-ordered copies, fault attribution, job records and
 * statistics, through the driver and firmware-sim. Uses fills and device copies (jobs of the
 * copy engine) so it needs no kernel binary. Exit 0 pass, 1 fail.
 */

#include "libnpu_test.h"

#define SIZE (1u << 20)

int main(void)
{
	npu_device_t *dev;
	npu_stream_t *s1, *s2, *bad;
	npu_event_t *e0, *e1, *untimed, *never, *bad_event;
	npu_deviceptr_t a, b;
	struct npu_stream_desc desc = { .struct_size = sizeof(desc), .priority = 2 };
	struct npu_stream_info info = { .struct_size = sizeof(info) };
	struct npu_elapsed el = { .struct_size = sizeof(el) };
	struct npu_fault_info fault = { .struct_size = sizeof(fault) };
	struct npu_job_info job = { .struct_size = sizeof(job) };
	struct npu_device_stats st = { .struct_size = sizeof(st) };
	uint32_t *host = malloc(SIZE);

	CHECK(host != NULL);
	CHECK(npu_device_open(0, &dev) == 0);
	CHECK(npu_mem_alloc(dev, SIZE, &a) == 0);
	CHECK(npu_mem_alloc(dev, SIZE, &b) == 0);

	/* Creation and validation. */
	CHECK(npu_stream_create(dev, NULL, &s1) == 0);
	CHECK(npu_stream_create(dev, &desc, &s2) == 0);
	desc.flags = 0x80;
	CHECK(npu_stream_create(dev, &desc, &bad) == NPU_ERROR_INVALID_VALUE);
	CHECK(strstr(npu_last_error_message(), "flags") != NULL);
	desc.flags = 0;
	desc.reserved = 1;
	CHECK(npu_stream_create(dev, &desc, &bad) == NPU_ERROR_INVALID_VALUE);
	desc.reserved = 0;
	desc.struct_size = 2;
	CHECK(npu_stream_create(dev, &desc, &bad) == NPU_ERROR_INVALID_VALUE);
	CHECK(npu_stream_get_info(dev, s2, &info) == 0);
	CHECK(info.priority == 2 && info.id > 0 && info.last_seqno == 0);
	CHECK(npu_stream_get_info(dev, NULL, &info) == 0 && info.id == 0 && info.queue == 0);
	{
		/* With driver queues each stream gets its own; destroyed streams' are reused. */
		struct npu_stream_info i1 = { .struct_size = sizeof(i1) };
		struct npu_stream_info i2 = { .struct_size = sizeof(i2) };
		npu_stream_t *s3;
		CHECK(npu_stream_get_info(dev, s1, &i1) == 0 && npu_stream_get_info(dev, s2, &i2) == 0);
		CHECK(i1.queue != i2.queue || i1.queue == 0);
		desc.struct_size = sizeof(desc);
		CHECK(npu_stream_create(dev, &desc, &s3) == 0);
		CHECK(npu_stream_get_info(dev, s3, &i1) == 0);
		CHECK(npu_stream_destroy(s3) == 0);
		CHECK(npu_stream_create(dev, &desc, &s3) == 0);
		CHECK(npu_stream_get_info(dev, s3, &i2) == 0 && i2.queue == i1.queue);
		CHECK(npu_stream_destroy(s3) == 0);
	}
	CHECK(npu_event_create(dev, 0, &e0) == 0);
	CHECK(npu_event_create(dev, 0, &e1) == 0);
	CHECK(npu_event_create(dev, NPU_EVENT_DISABLE_TIMING, &untimed) == 0);
	CHECK(npu_event_create(dev, 0, &never) == 0);
	CHECK(npu_event_create(dev, 0x10, &bad_event) == NPU_ERROR_INVALID_VALUE);

	/* s2 waits for s1 through an event: fill a on s1, copy a -> b on s2. */
	CHECK(npu_event_record(e0, s1) == 0);
	for (int i = 0; i < 8; i++)
		CHECK(npu_memset_d32_async(dev, a, 0x1000u + (uint32_t)i, SIZE / 4, s1) == 0);
	CHECK(npu_event_record(e1, s1) == 0);
	CHECK(npu_stream_wait_event(s2, e1) == 0);
	CHECK(npu_memcpy_dtod_async(dev, b, a, SIZE, s2) == 0);
	CHECK(npu_stream_synchronize(s2) == 0);
	CHECK(npu_stream_query(s2) == 0);
	CHECK(npu_event_query(e1) == 0);
	CHECK(npu_memcpy_dtoh_async(dev, host, b, SIZE, s2) == 0);
	CHECK(npu_stream_synchronize(s2) == 0);
	CHECK(host[0] == 0x1007u && host[SIZE / 4 - 1] == 0x1007u);

	/* Timing between events; misuse. */
	CHECK(npu_event_synchronize(e1, -1) == 0);
	CHECK(npu_event_elapsed(e0, e1, &el) == 0);
	CHECK((el.flags & NPU_ELAPSED_HOST) && el.host_ns >= 0);
	CHECK(npu_event_query(never) == 0);           /* never recorded: complete */
	CHECK(npu_event_elapsed(never, e1, &el) == NPU_ERROR_INVALID_VALUE);
	CHECK(npu_event_record(untimed, NULL) == 0);
	CHECK(npu_event_elapsed(e0, untimed, &el) == NPU_ERROR_INVALID_VALUE);
	CHECK(npu_event_synchronize(untimed, 0) == 0);

	/* Stream-ordered host copies. */
	for (uint32_t i = 0; i < SIZE / 4; i++)
		host[i] = i;
	CHECK(npu_memcpy_htod_async(dev, a, host, SIZE, s1) == 0);
	CHECK(npu_memcpy_dtod_async(dev, b, a, SIZE, s1) == 0);
	memset(host, 0, SIZE);
	CHECK(npu_memcpy_dtoh_async(dev, host, b, SIZE, s1) == 0);
	CHECK(npu_stream_synchronize(s1) == 0);
	CHECK(host[12345] == 12345u);

	/* A fault is reported by the wait for the stream that ran it, once. */
	CHECK(npu_memset_d32_async(dev, 0x7f00000000ull, 1, 16, s1) == 0);
	CHECK(npu_stream_synchronize(s1) == NPU_ERROR_KERNEL_FAULT);
	CHECK(npu_device_get_last_fault(dev, &fault) == 0);
	CHECK(strcmp(fault.trap_name, "PAGE_FAULT") == 0 && fault.addr == 0x7f00000000ull);
	CHECK(fault.kernel[0] == '\0');
	CHECK(npu_stream_synchronize(s1) == 0);
	CHECK(npu_device_synchronize(dev) == 0);

	/* Job records with tracing on. */
	CHECK(npu_device_set_tracing(dev, 1) == 0);
	CHECK(npu_device_set_tracing(dev, 1) == 0);
	CHECK(npu_memset_d32_async(dev, a, 5, SIZE / 4, s2) == 0);
	CHECK(npu_stream_synchronize(s2) == 0);
	CHECK(npu_stream_get_info(dev, s2, &info) == 0);
	CHECK(npu_device_get_stats(dev, &st) == 0);
	CHECK(npu_device_get_job(dev, st.last_job, &job) == 0);
	CHECK(job.kind == NPU_JOB_FILL && job.bytes == SIZE && job.stream_id == info.id);
	CHECK(job.queue == info.queue && job.seqno == info.last_seqno && job.id == st.last_job);
	CHECK((job.flags & NPU_JOB_F_COMPLETE) && job.complete_ns >= job.submit_ns);
	CHECK(strcmp(job.name, "fill") == 0);
	/* The device stamped the job's start and end with its own clock. */
	CHECK(job.flags & NPU_JOB_F_DEVICE_CLOCK);
	CHECK(job.device_start_ns && job.device_end_ns >= job.device_start_ns);
	CHECK(npu_device_get_job(dev, st.last_job + 100, &job) == NPU_ERROR_NOT_FOUND);
	CHECK(npu_device_set_tracing(dev, 0) == 0);

	CHECK(npu_device_get_stats(dev, &st) == 0);
	CHECK(st.flags & NPU_STATS_MEM && st.mem_used >= 2 * SIZE && st.mem_total > st.mem_used);
	CHECK(st.jobs_submitted == st.last_job && st.jobs_completed == st.jobs_submitted);
	CHECK(st.faults == 1 && st.busy_ns > 0 && st.uptime_ns >= st.busy_ns);
	CHECK(st.queues >= 1);

	/* Loading a binary from a file: errors name the file. */
	npu_module_t *mod;
	CHECK(npu_module_load_file(dev, "/nonexistent/k.kbin", &mod) == NPU_ERROR_NOT_FOUND);
	CHECK(strstr(npu_last_error_message(), "/nonexistent/k.kbin") != NULL);
	CHECK(npu_module_load_file(dev, "/dev/null", &mod) == NPU_ERROR_INVALID_IMAGE);

	CHECK(npu_event_destroy(e0) == 0);
	CHECK(npu_event_destroy(e1) == 0);
	CHECK(npu_event_destroy(untimed) == 0);
	CHECK(npu_event_destroy(never) == 0);
	CHECK(npu_stream_destroy(s1) == 0);
	CHECK(npu_stream_destroy(s2) == 0);
	CHECK(npu_device_close(dev) == 0);
	free(host);
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
