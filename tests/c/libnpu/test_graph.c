/* SPDX-License-Identifier: MIT */
/*
 * libnpu graphs (stream capture and replay) and 2-D copies, through the driver and
 * firmware-sim: a captured graph of launches, copies, fills and events replayed many times
 * with checked results; every misuse refused with its error; 2-D copies at odd pitches in
 * every direction, and their range checks. Exit 0 pass, 1 fail.
 */

#include "libnpu_test_kbin.h"

static void test_graph(npu_device_t *dev, npu_kernel_t *inc, npu_kernel_t *bad_k)
{
	struct npu_launch_config cfg = { .struct_size = sizeof(cfg), .grid = { 1, 1, 1 } };
	struct npu_graph_info gi = { .struct_size = sizeof(gi) };
	struct npu_fault_info fault = { .struct_size = sizeof(fault) };
	struct npu_stream_desc copy_desc = { .struct_size = sizeof(copy_desc),
					     .flags = NPU_STREAM_COPY };
	npu_stream_t *s, *s2, *cs;
	npu_event_t *ev, *ev2;
	npu_graph_t *g, *g2, *empty;
	npu_deviceptr_t ctr, mirror, pad;
	uint64_t v = 0, m = 0, p[4];
	int capturing = -1;

	CHECK(npu_stream_create(dev, NULL, &s) == 0);
	CHECK(npu_stream_create(dev, NULL, &s2) == 0);
	CHECK(npu_stream_create(dev, &copy_desc, &cs) == 0);
	CHECK(npu_event_create(dev, 0, &ev) == 0);
	CHECK(npu_event_create(dev, NPU_EVENT_DISABLE_TIMING, &ev2) == 0);
	CHECK(npu_mem_alloc(dev, 8, &ctr) == 0);
	CHECK(npu_mem_alloc(dev, 8, &mirror) == 0);
	CHECK(npu_mem_alloc(dev, 32, &pad) == 0);
	cfg.stream = s;

	/* Capture: a fill, 300 increments, a copy, an event, 7 more increments. Nothing runs. */
	const void *args[] = { &ctr };
	size_t sizes[] = { 8 };
	CHECK(npu_stream_begin_capture(s) == 0);
	CHECK(npu_stream_is_capturing(s, &capturing) == 0 && capturing == 1);
	CHECK(npu_stream_begin_capture(s) == NPU_ERROR_BUSY);
	CHECK(strstr(npu_last_error_message(), "capturing already") != NULL);
	CHECK(npu_memset_d32_async(dev, pad, 7, 8, s) == 0);
	for (int i = 0; i < 300; i++)
		CHECK(npu_launch_kernel(dev, inc, &cfg, args, sizes, 1) == 0);
	CHECK(npu_memcpy_dtod_async(dev, mirror, ctr, 8, s) == 0);
	CHECK(npu_event_record(ev, s) == 0);
	for (int i = 0; i < 7; i++)
		CHECK(npu_launch_kernel(dev, inc, &cfg, args, sizes, 1) == 0);
	/* Misuse while capturing. */
	CHECK(npu_stream_synchronize(s) == NPU_ERROR_NOT_PERMITTED);
	CHECK(strstr(npu_last_error_message(), "capturing") != NULL);
	CHECK(npu_stream_query(s) == NPU_ERROR_NOT_PERMITTED);
	CHECK(npu_stream_destroy(s) == NPU_ERROR_BUSY);
	CHECK(npu_device_synchronize(dev) == 0);
	CHECK(npu_memcpy_dtoh(dev, &v, ctr, 8) == 0 && v == 0);  /* recorded, not run */
	CHECK(npu_event_query(ev) == 0);                        /* never recorded for real */
	CHECK(npu_stream_end_capture(s, &g) == 0);
	CHECK(npu_stream_is_capturing(s, &capturing) == 0 && capturing == 0);
	CHECK(npu_stream_end_capture(s, &g2) == NPU_ERROR_INVALID_VALUE);
	CHECK(npu_stream_begin_capture(NULL) == NPU_ERROR_INVALID_VALUE);
	CHECK(npu_graph_get_info(g, &gi) == 0);
	CHECK(gi.launches == 307 && gi.nodes == 310 && gi.segments == 2 && gi.replays == 0);

	/* Replays, each checked; on the capturing stream and on another one. */
	for (int r = 1; r <= 20; r++) {
		npu_stream_t *on = r % 2 ? s : s2;
		CHECK(npu_graph_launch(g, on) == 0);
		CHECK(npu_stream_synchronize(on) == 0);
		CHECK(npu_memcpy_dtoh(dev, &v, ctr, 8) == 0 && v == 307ull * r);
		CHECK(npu_memcpy_dtoh(dev, &m, mirror, 8) == 0 && m == 307ull * r - 7);
		CHECK(npu_event_query(ev) == 0);
	}
	CHECK(npu_memcpy_dtoh(dev, p, pad, 32) == 0 && p[0] == 0x0000000700000007ull &&
	      p[3] == p[0]);
	/* Many replays back to back, one wait; the default stream too. */
	for (int r = 0; r < 50; r++)
		CHECK(npu_graph_launch(g, r % 2 ? NULL : s) == 0);
	CHECK(npu_device_synchronize(dev) == 0);
	CHECK(npu_memcpy_dtoh(dev, &v, ctr, 8) == 0 && v == 307ull * 70);
	CHECK(npu_graph_get_info(g, &gi) == 0 && gi.replays == 70);

	/* Destroying a graph in flight is refused; after a wait it works. A graph with a wait
	 * for an event of another stream keeps the order at every replay. */
	CHECK(npu_stream_begin_capture(s2) == 0);
	CHECK(npu_stream_wait_event(s2, ev2) == 0);
	for (int i = 0; i < 2000; i++)
		CHECK(npu_launch_kernel(dev, inc, &(struct npu_launch_config){
			.struct_size = sizeof(cfg), .grid = { 1, 1, 1 }, .stream = s2 },
			args, sizes, 1) == 0);
	CHECK(npu_stream_end_capture(s2, &g2) == 0);
	CHECK(npu_graph_get_info(g2, &gi) == 0 && gi.launches == 2000 && gi.segments == 3);
	CHECK(npu_graph_launch(g2, s2) == 0);
	int busy = npu_graph_destroy(g2);
	CHECK(busy == NPU_ERROR_BUSY || busy == 0);  /* it may have finished already */
	if (busy) {
		CHECK(strstr(npu_last_error_message(), "synchronize") != NULL);
		CHECK(npu_stream_synchronize(s2) == 0);
		CHECK(npu_graph_destroy(g2) == 0);
	}
	CHECK(npu_stream_synchronize(s2) == 0);
	CHECK(npu_memcpy_dtoh(dev, &v, ctr, 8) == 0 && v == 307ull * 70 + 2000);

	/* Launch errors: copy stream, capturing stream, NULL. */
	CHECK(npu_graph_launch(g, cs) == NPU_ERROR_INVALID_VALUE);
	CHECK(strstr(npu_last_error_message(), "NPU_STREAM_COPY") != NULL);
	CHECK(npu_stream_begin_capture(s2) == 0);
	CHECK(npu_graph_launch(g, s2) == NPU_ERROR_NOT_PERMITTED);
	CHECK(npu_stream_end_capture(s2, &empty) == 0);
	CHECK(npu_graph_get_info(empty, &gi) == 0 && gi.nodes == 0);
	CHECK(npu_graph_launch(empty, s2) == 0);
	CHECK(npu_graph_destroy(empty) == 0);
	CHECK(npu_graph_launch(NULL, s) == NPU_ERROR_INVALID_VALUE);
	CHECK(npu_graph_destroy(NULL) == NPU_ERROR_INVALID_VALUE);

	/* A graph whose kernel faults: the wait reports it, naming the kernel; the device and
	 * the graph keep working. */
	CHECK(npu_stream_begin_capture(s) == 0);
	CHECK(npu_launch_kernel(dev, inc, &cfg, args, sizes, 1) == 0);
	CHECK(npu_launch_kernel(dev, bad_k, &cfg, args, sizes, 1) == 0);
	CHECK(npu_launch_kernel(dev, inc, &cfg, args, sizes, 1) == 0);
	CHECK(npu_stream_end_capture(s, &g2) == 0);
	CHECK(npu_graph_launch(g2, s) == 0);
	CHECK(npu_stream_synchronize(s) == NPU_ERROR_KERNEL_FAULT);
	CHECK(npu_device_get_last_fault(dev, &fault) == 0);
	CHECK(fault.code == NPU_TRAP_SRAM_OOB && strstr(fault.kernel, "k") != NULL);
	CHECK(npu_memcpy_dtoh(dev, &v, ctr, 8) == 0 && v == 307ull * 70 + 2001);
	CHECK(npu_graph_destroy(g2) == 0);
	CHECK(npu_graph_launch(g, s) == 0);
	CHECK(npu_stream_synchronize(s) == 0);
	CHECK(npu_memcpy_dtoh(dev, &v, ctr, 8) == 0 && v == 307ull * 71 + 2001);

	CHECK(npu_graph_destroy(g) == 0);
	CHECK(npu_event_destroy(ev) == 0);
	CHECK(npu_event_destroy(ev2) == 0);
	CHECK(npu_stream_destroy(cs) == 0);
	CHECK(npu_stream_destroy(s2) == 0);
	CHECK(npu_stream_destroy(s) == 0);
	CHECK(npu_mem_free(dev, ctr) == 0);
	CHECK(npu_mem_free(dev, mirror) == 0);
	CHECK(npu_mem_free(dev, pad) == 0);
}

/* Reference 2-D copy on the host. */
static void ref_2d(uint8_t *d, size_t dp, const uint8_t *s, size_t sp, size_t w, size_t h)
{
	for (size_t i = 0; i < h; i++)
		memmove(d + i * dp, s + i * sp, w);
}

static void test_2d(npu_device_t *dev, npu_device_t *other)
{
	enum { W = 37, H = 29, SP = 53, DP = 41, N = 64 * 1024 };
	uint8_t *src = malloc(N), *want = calloc(1, N), *got = calloc(1, N);
	npu_deviceptr_t a, b, o;
	npu_stream_t *s, *os, *cap;
	npu_graph_t *g;

	CHECK(src && want && got);
	if (!src || !want || !got)
		return;
	for (size_t i = 0; i < N; i++)
		src[i] = (uint8_t)(i * 7 + 3);
	CHECK(npu_mem_alloc(dev, N, &a) == 0);
	CHECK(npu_mem_alloc(dev, N, &b) == 0);
	CHECK(npu_mem_alloc(other, 64, &o) == 0);
	CHECK(npu_stream_create(dev, NULL, &s) == 0);
	CHECK(npu_stream_create(other, NULL, &os) == 0);

	/* host -> device at odd pitches, read back whole */
	CHECK(npu_memset_d32(dev, a, 0, N / 4) == 0);
	CHECK(npu_memcpy_2d_htod(dev, a + 5, DP, src + 3, SP, W, H) == 0);
	ref_2d(want + 5, DP, src + 3, SP, W, H);
	CHECK(npu_memcpy_dtoh(dev, got, a, N) == 0 && memcmp(got, want, N) == 0);
	/* device -> host */
	memset(got, 0xee, N);
	memset(want, 0xee, N);
	CHECK(npu_memcpy_2d_dtoh(dev, got + 1, SP, a + 5, DP, W, H) == 0);
	ref_2d(want + 1, SP, src + 3, SP, W, H);
	CHECK(memcmp(got, want, N) == 0);
	/* device -> device (rows as copy-engine commands), async on a stream */
	CHECK(npu_memset_d32(dev, b, 0x01010101, N / 4) == 0);
	CHECK(npu_device_synchronize(dev) == 0);  /* the fill ran on the default stream */
	CHECK(npu_memcpy_2d_dtod_async(dev, b + 2, SP, a + 5, DP, W, H, s) == 0);
	CHECK(npu_stream_synchronize(s) == 0);
	memset(want, 1, N);
	ref_2d(want + 2, SP, src + 3, SP, W, H);
	CHECK(npu_memcpy_dtoh(dev, got, b, N) == 0 && memcmp(got, want, N) == 0);
	/* More rows than one submission takes; equal pitches (one command). */
	CHECK(npu_memcpy_2d_dtod(dev, b, 8, a, 16, 8, N / 16) == 0);
	CHECK(npu_memcpy_2d_dtod(dev, b, 16, a, 16, 16, N / 16) == 0);
	CHECK(npu_memcpy_2d_htod_async(dev, a, 16, src, 16, 16, N / 16, s) == 0);
	CHECK(npu_memcpy_2d_dtoh_async(dev, got, 64, a, 64, 64, N / 64, s) == 0);
	CHECK(npu_stream_synchronize(s) == 0 && memcmp(got, src, N) == 0);
	CHECK(npu_device_synchronize(dev) == 0);

	/* Captured 2-D copies replay: host -> device, device -> device, device -> host. */
	CHECK(npu_stream_create(dev, NULL, &cap) == 0);
	CHECK(npu_stream_begin_capture(cap) == 0);
	CHECK(npu_memcpy_2d_htod_async(dev, a, 100, src, 200, 90, 10, cap) == 0);
	CHECK(npu_memcpy_2d_dtod_async(dev, b, 90, a, 100, 90, 10, cap) == 0);
	CHECK(npu_memcpy_2d_dtoh_async(dev, got, 90, b, 90, 90, 10, cap) == 0);
	CHECK(npu_stream_end_capture(cap, &g) == 0);
	for (int r = 0; r < 3; r++) {
		memset(got, 0, N);
		src[r] ^= 0xff;
		CHECK(npu_graph_launch(g, cap) == 0);
		CHECK(npu_stream_synchronize(cap) == 0);
		memset(want, 0, N);
		ref_2d(want, 90, src, 200, 90, 10);
		CHECK(memcmp(got, want, N) == 0);
	}
	CHECK(npu_graph_launch(g, os) == NPU_ERROR_INVALID_VALUE);
	CHECK(strstr(npu_last_error_message(), "another device") != NULL);
	CHECK(npu_graph_destroy(g) == 0);
	CHECK(npu_stream_destroy(cap) == 0);

	/* Range and pitch validation: precise errors, nothing copied. */
	CHECK(npu_memcpy_2d_htod(dev, a, 8, src, 16, 9, 2) == NPU_ERROR_INVALID_VALUE);
	CHECK(strstr(npu_last_error_message(), "device pitch 8 is smaller than width 9") != NULL);
	CHECK(npu_memcpy_2d_dtoh(dev, got, 4, a, 16, 9, 2) == NPU_ERROR_INVALID_VALUE);
	CHECK(strstr(npu_last_error_message(), "host pitch 4") != NULL);
	CHECK(npu_memcpy_2d_htod(dev, a, 16, src, 16, 0, 2) == NPU_ERROR_INVALID_VALUE);
	CHECK(npu_memcpy_2d_htod(dev, a, 16, src, 16, 16, 0) == NPU_ERROR_INVALID_VALUE);
	CHECK(strstr(npu_last_error_message(), "height is 0") != NULL);
	CHECK(npu_memcpy_2d_htod(dev, a, UINT64_MAX / 2, src, 16, 16, 3) ==
	      NPU_ERROR_INVALID_VALUE);
	CHECK(strstr(npu_last_error_message(), "overflows") != NULL);
	/* the last row ends one byte past the allocation */
	CHECK(npu_memcpy_2d_htod(dev, a, 1024, src, 16, 16, N / 1024) == 0);
	CHECK(npu_memcpy_2d_htod(dev, a + 1024 - 15, 1024, src, 16, 16, N / 1024) ==
	      NPU_ERROR_INVALID_ADDRESS);
	CHECK(strstr(npu_last_error_message(), "not inside one allocation") != NULL);
	CHECK(npu_memcpy_2d_dtoh(dev, got, 16, a + N, 16, 16, 1) == NPU_ERROR_INVALID_ADDRESS);
	CHECK(npu_memcpy_2d_dtod(dev, b, 32, a, 64, 32, N / 64 + 1) == NPU_ERROR_INVALID_ADDRESS);
	CHECK(strstr(npu_last_error_message(), "source") != NULL);
	CHECK(npu_memcpy_2d_dtod(dev, b + 1, 64, a, 64, 64, N / 64) == NPU_ERROR_INVALID_ADDRESS);
	CHECK(strstr(npu_last_error_message(), "destination") != NULL);
	CHECK(npu_memcpy_2d_htod(dev, 8, 16, src, 16, 16, 2) == NPU_ERROR_INVALID_ADDRESS);
	CHECK(npu_memcpy_2d_htod_async(dev, a, 16, src, 16, 16, 2, os) == NPU_ERROR_INVALID_VALUE);
	CHECK(npu_memcpy_2d_htod(dev, a, 16, NULL, 16, 16, 2) == NPU_ERROR_INVALID_VALUE);
	CHECK(npu_memcpy_2d_dtoh(NULL, got, 16, a, 16, 16, 2) == NPU_ERROR_INVALID_VALUE);

	CHECK(npu_stream_destroy(s) == 0);
	CHECK(npu_stream_destroy(os) == 0);
	CHECK(npu_mem_free(dev, a) == 0);
	CHECK(npu_mem_free(dev, b) == 0);
	CHECK(npu_mem_free(other, o) == 0);
	free(src);
	free(want);
	free(got);
}

int main(void)
{
	npu_device_t *dev, *dev2;
	npu_module_t *mod, *bad_mod;
	npu_kernel_t *inc, *bad_k;
	uint8_t image[1024];
	size_t n;

	CHECK(npu_device_open(0, &dev) == 0);
	/* A second open of the same device is another client: another device handle. */
	CHECK(npu_device_open(0, &dev2) == 0);

	/* *out += 1: dma.ld 0(sram) <- out, ld, addi, sd, dma.st */
	const uint64_t code[] = {
		M(LDARG) | F(RD, 3) | F(IMM, 0),
		M(LI) | F(RD, 5) | F(IMM, 8),
		M(DMA_LD) | F(RD, 0) | F(RS1, 3) | F(RS2, 5) | F(IMM, 0),
		M(DMA_WAIT) | F(IMM, 0),
		M(LD) | F(RD, 4) | F(RS1, 0) | F(IMM, 0),
		M(ADDI) | F(RD, 4) | F(RS1, 4) | F(IMM, 1),
		M(SD) | F(RS2, 4) | F(RS1, 0) | F(IMM, 0),
		M(DMA_ST) | F(RD, 3) | F(RS1, 0) | F(RS2, 5) | F(IMM, 0),
		M(DMA_WAIT) | F(IMM, 0),
		M(HALT),
	};
	n = build_kbin(image, sizeof(image), code, 10, 64);
	CHECK(npu_module_load_data(dev, image, n, &mod) == 0);
	CHECK(npu_module_get_kernel(mod, "k", &inc) == 0);
	/* SRAM out of bounds: li r1, 4096; lw r2, 8(r1); halt */
	const uint64_t oob[] = {
		M(LI) | F(RD, 1) | F(IMM, 4096),
		M(LW) | F(RD, 2) | F(RS1, 1) | F(IMM, 8),
		M(HALT),
	};
	n = build_kbin(image, sizeof(image), oob, 3, 64);
	CHECK(npu_module_load_data(dev, image, n, &bad_mod) == 0);
	CHECK(npu_module_get_kernel(bad_mod, "k", &bad_k) == 0);

	test_graph(dev, inc, bad_k);
	test_2d(dev, dev2);

	CHECK(npu_device_close(dev2) == 0);
	CHECK(npu_device_close(dev) == 0);
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures ? 1 : 0;
}
