/* SPDX-License-Identifier: MIT */
/*
 * wait_threads.c - WAIT: poll, deadlines (-ETIMEDOUT at the deadline, nothing written),
 * waiting on a job that outlives the deadline, and many threads submitting and waiting on
 * one file and on several files at once (run it under TSan).
 */
#include <pthread.h>

#include "drv_test.h"

#define THREADS 4
#define ROUNDS  300

struct worker {
	int fd;
	uint64_t va;  /* THREADS * 4 bytes of a shared BO */
	unsigned id;
	uint64_t last; /* seqno of the worker's last submit */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (uint32_t i = 1; i <= ROUNDS; i++) {
		struct npu_cmd_fill f = t_cmd_fill(w->va + 4 * w->id, 4, i);
		uint64_t seqno = t_submit(w->fd, &f, sizeof(f));

		if (i % 3 == 0)
			t_wait(w->fd, seqno);
		w->last = seqno;
	}
	return NULL;
}

static void run_workers(int *fds, unsigned nfds)
{
	pthread_t th[THREADS];
	struct worker w[THREADS];
	struct npu_bo_create bo[THREADS];
	uint32_t *p[THREADS];

	for (unsigned i = 0; i < nfds; i++) {
		bo[i] = t_bo(fds[i], 4096, NPU_BO_HOST_VISIBLE);
		p[i] = t_map(fds[i], &bo[i], 4096);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		w[i].fd = fds[i % nfds];
		w[i].va = bo[i % nfds].dev_addr;
		w[i].id = i;
		T_OK(pthread_create(&th[i], NULL, worker_main, &w[i]));
	}
	for (unsigned i = 0; i < THREADS; i++)
		T_OK(pthread_join(th[i], NULL));
	for (unsigned i = 0; i < THREADS; i++)
		t_wait(w[i].fd, w[i].last);
	for (unsigned i = 0; i < THREADS; i++)
		T_EQ(p[i % nfds][i], ROUNDS);
	for (unsigned i = 0; i < nfds; i++) {
		T_OK(npu_drv_munmap(fds[i], p[i], 4096));
		t_bo_free(fds[i], bo[i].handle);
	}
}

int main(void)
{
	int fd = t_open();
	const uint64_t spin[] = { t_insn(NPU_INSN_JMP, 0, 0, 0, 0) };
	struct npu_bo_create sbo = t_code_bo(fd, spin, 1);
	struct t_launch l;
	uint32_t bytes = t_launch_init(&l, sbo.dev_addr, 1, 0, NULL);
	struct npu_wait w, before;
	uint64_t seqno;
	int64_t t0, dt;

	/* A job that runs 400 ms (then its watchdog stops it). */
	l.l.timeout_us = 400000;
	seqno = t_submit(fd, &l, bytes);

	/* Poll: not done, -ETIMEDOUT, nothing written. */
	memset(&w, 0xa5, sizeof(w));
	w.seqno = seqno;
	w.timeout_ns = 0;
	w.queue = 0;
	w.flags = 0;
	before = w;
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_WAIT, &w), -ETIMEDOUT);
	T_ASSERT(!memcmp(&w, &before, sizeof(w)));

	/* A deadline in the past: also -ETIMEDOUT, at once. */
	w.timeout_ns = 1;
	before = w;
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_WAIT, &w), -ETIMEDOUT);
	T_ASSERT(!memcmp(&w, &before, sizeof(w)));

	/* 50 ms from now: returns at the deadline, not before, not much after. */
	t0 = t_now_ns();
	w.timeout_ns = t0 + 50 * 1000000ll;
	before = w;
	T_EQ(npu_drv_ioctl(fd, NPU_IOCTL_WAIT, &w), -ETIMEDOUT);
	dt = t_now_ns() - t0;
	T_ASSERT(!memcmp(&w, &before, sizeof(w)));
	T_ASSERT(dt >= 50 * 1000000ll);
	T_ASSERT(dt < 350 * 1000000ll);

	/* The job ends (watchdog) and the wait succeeds. */
	t_wait(fd, seqno);
	T_EQ(t_fault(fd).code, NPU_TRAP_WATCHDOG);
	/* seqno 0 is always signalled: a way to read the completed value. */
	{
		uint64_t done = 0;

		T_OK(t_wait_ms(fd, 0, 0, &done));
		T_EQ(done, seqno);
	}

	/* Threads on one file, then threads on two files. */
	run_workers(&fd, 1);
	{
		int fds[2] = { fd, t_open() };

		run_workers(fds, 2);
		T_OK(npu_drv_close(fds[1]));
	}
	T_OK(npu_drv_close(fd));
	return T_PASS;
}
