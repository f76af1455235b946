/* SPDX-License-Identifier: MIT */
/*
 * idle_hang.c - regression: after a queue sat idle for longer than the hang timeout, its next
 * jobs are not declared hung at once.
 *
 * The watchdog judged a queue's first job after an idle period against progress state from
 * before it (seen by the benchmark suite: "job 1 made no progress for 2000 ms: killing it",
 * or "the command processor is stuck" and a device reset, milliseconds after the submit).
 * Each round here idles past the hang timeout, then submits to a fresh queue (no earlier
 * progress at all) and to queue 0 (progress long ago) a launch whose code takes a while to
 * fetch before the engine reports any progress, then empty launches back to back. Every job
 * must succeed, nothing may be killed and the device must not reset. (The old code lost a
 * round when the watchdog's first look came before that first progress, which is a race:
 * against it this program failed in 8 runs out of 8.)
 */
#include <unistd.h>

#include "drv_test.h"

#define HANG_MS   150 /* short, so that the idle period can exceed it, and still far above
                       * the launches' time without progress (TSan, a loaded machine) */
#define IDLE_MS   (HANG_MS + 25)
#define ROUNDS    18
#define BIG_WORDS (1u << 12) /* 32 KiB of code: fetched before the engine reports progress */
#define EMPTY_N   10

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts))
		;
}

static void check(int fd, uint32_t queue, uint64_t seqno, const char *what)
{
	int32_t status = t_job(fd, queue, seqno);

	if (status) {
		struct npu_get_fault f = t_fault(fd);

		fprintf(stderr, "%s on queue %u: job %" PRIu64 " status %d (fault code %u flags 0x%x)\n",
			what, queue, seqno, status, f.code, f.flags);
		exit(T_FAIL);
	}
}

static void run_ok(int fd, uint32_t queue, const void *cmd, uint32_t bytes, const char *what)
{
	check(fd, queue, t_submitq(fd, queue, cmd, bytes), what);
}

int main(void)
{
	int fd = t_open();
	const uint64_t halt[] = { t_insn(NPU_INSN_HALT, 0, 0, 0, 0) };
	uint64_t *big = malloc((size_t)BIG_WORDS * 8);
	struct npu_bo_create ebo = t_code_bo(fd, halt, 1), bbo;
	struct npu_reset_status rs;
	struct t_launch e, b;
	uint32_t ebytes, bbytes;

	T_ASSERT(big != NULL);
	for (uint32_t i = 0; i < BIG_WORDS; i++)
		big[i] = halt[0];
	bbo = t_code_bo(fd, big, BIG_WORDS);
	free(big);
	ebytes = t_launch_init(&e, ebo.dev_addr, 1, 0, NULL);
	bbytes = t_launch_init(&b, bbo.dev_addr, BIG_WORDS, 0, NULL);
	t_set_param(fd, NPU_PARAM_HANG_TIMEOUT_MS, 0, HANG_MS);
	T_EQ(t_param(fd, NPU_PARAM_HANG_TIMEOUT_MS), HANG_MS);
	/* A device opened, then idle (the benchmark's case). */
	sleep_ms(IDLE_MS);
	run_ok(fd, 0, &b, bbytes, "first launch of the file");

	for (int r = 0; r < ROUNDS; r++) {
		uint32_t q = t_queue(fd, NPU_QUEUE_COMPUTE, NPU_QUEUE_PRIORITY_NORMAL);
		uint64_t sq, s0;

		sleep_ms(IDLE_MS);
		sq = t_submitq(fd, q, &b, bbytes);
		s0 = t_submitq(fd, 0, &b, bbytes);
		check(fd, q, sq, "first launch of a fresh queue after idling");
		check(fd, 0, s0, "first launch of queue 0 after idling");
		for (int i = 0; i < EMPTY_N; i++) {
			run_ok(fd, q, &e, ebytes, "empty launch");
			run_ok(fd, 0, &e, ebytes, "empty launch");
		}
		t_queue_destroy(fd, q);
	}

	rs = t_reset_status(fd);
	T_EQ(rs.guilty, 0);
	T_EQ(rs.innocent, 0);
	T_EQ(rs.device_resets, 0);
	T_EQ(t_fault(fd).flags, 0);
	T_OK(npu_drv_close(fd));
	return T_PASS;
}
