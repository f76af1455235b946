/* SPDX-License-Identifier: MIT */
/*
 * npu_device_set_wait_mode: waits that poll the driver's completion records give the same
 * results as sleeping ones (data, faults reported once, by the right wait; timeouts), fall
 * back to sleeping when the work takes longer than the spin budget, and bad arguments are
 * rejected with a message. Exit 0 pass, 1 fail.
 */

#include "libnpu_test.h"

#define SIZE (4u << 20)

/* Fills on the stream, then a copy; checks the copy's result after a synchronize. */
static void round_trip(npu_device_t *dev, npu_stream_t *s, npu_deviceptr_t a,
		       npu_deviceptr_t b, uint32_t *host, uint32_t value)
{
	for (int i = 0; i < 20; i++)
		CHECK(npu_memset_d32_async(dev, a, value + (uint32_t)i, SIZE / 4, s) == 0);
	CHECK(npu_memcpy_dtod_async(dev, b, a, SIZE, s) == 0);
	CHECK(npu_stream_synchronize(s) == 0);
	CHECK(npu_stream_query(s) == 0);
	CHECK(npu_memcpy_dtoh(dev, host, b, SIZE) == 0);
	CHECK(host[0] == value + 19 && host[SIZE / 4 - 1] == value + 19);
}

int main(void)
{
	static const uint32_t modes[] = { NPU_WAIT_SPIN, NPU_WAIT_YIELD, NPU_WAIT_BLOCK };
	npu_device_t *dev;
	npu_stream_t *s;
	npu_event_t *ev;
	npu_deviceptr_t a, b;
	struct npu_fault_info fault = { .struct_size = sizeof(fault) };
	uint32_t *host = malloc(SIZE);

	CHECK(host != NULL);
	CHECK(npu_device_open(0, &dev) == 0);
	CHECK(npu_mem_alloc(dev, SIZE, &a) == 0);
	CHECK(npu_mem_alloc(dev, SIZE, &b) == 0);
	CHECK(npu_stream_create(dev, NULL, &s) == 0);
	CHECK(npu_event_create(dev, NPU_EVENT_DISABLE_TIMING, &ev) == 0);

	/* Bad arguments. */
	CHECK(npu_device_set_wait_mode(NULL, NPU_WAIT_SPIN, 0) == NPU_ERROR_INVALID_VALUE);
	CHECK(npu_device_set_wait_mode(dev, 3, 0) == NPU_ERROR_INVALID_VALUE);
	CHECK(strstr(npu_last_error_message(), "mode 3") != NULL);
	CHECK(npu_device_set_wait_mode(dev, NPU_WAIT_SPIN, NPU_WAIT_SPIN_MAX_NS + 1) ==
	      NPU_ERROR_INVALID_VALUE);
	CHECK(strstr(npu_last_error_message(), "spin_ns") != NULL);

	for (unsigned m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		CHECK(npu_device_set_wait_mode(dev, modes[m], 0) == 0);
		round_trip(dev, s, a, b, host, 100 * m);
		/* The default stream and the device-wide wait. */
		CHECK(npu_memset_d32_async(dev, a, 7 + m, SIZE / 4, NULL) == 0);
		CHECK(npu_device_synchronize(dev) == 0);
		CHECK(npu_memcpy_dtoh(dev, host, a, SIZE) == 0);
		CHECK(host[SIZE / 8] == 7 + m);
		/* A fault is reported once, by the wait for its stream. */
		CHECK(npu_memset_d32_async(dev, 0x7f00000000ull, 1, 16, s) == 0);
		CHECK(npu_stream_synchronize(s) == NPU_ERROR_KERNEL_FAULT);
		CHECK(npu_device_get_last_fault(dev, &fault) == 0);
		CHECK(strcmp(fault.trap_name, "PAGE_FAULT") == 0);
		CHECK(npu_stream_synchronize(s) == 0);
		CHECK(npu_device_synchronize(dev) == 0);
		/* Events wait the same way, with a timeout. */
		CHECK(npu_memset_d32_async(dev, a, 1, SIZE / 4, s) == 0);
		CHECK(npu_event_record(ev, s) == 0);
		CHECK(npu_event_synchronize(ev, 5000000000ll) == 0);
		CHECK(npu_event_query(ev) == 0);
	}

	/* A spin budget far shorter than the work: the wait sleeps for the rest. */
	CHECK(npu_device_set_wait_mode(dev, NPU_WAIT_SPIN, 1000) == 0);
	round_trip(dev, s, a, b, host, 1000);

	CHECK(npu_event_destroy(ev) == 0);
	CHECK(npu_stream_destroy(s) == 0);
	CHECK(npu_device_close(dev) == 0);
	free(host);
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures ? 1 : 0;
}
