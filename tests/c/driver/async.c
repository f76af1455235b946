/* SPDX-License-Identifier: MIT */
/*
 * async.c - back-pressure and completion events: a full ring answers a non-blocking submit
 * with -EBUSY and a blocking one by sleeping until there is room; the client's event fd
 * becomes readable when its jobs or fences change (what asyncio awaits); several threads
 * keep hundreds of jobs in flight on several queues, and every one signals exactly once.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "drv_test.h"

static int fcntl_is_closed(int fd)
{
	return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

static void drain_efd(int efd)
{
	uint64_t v;

	while (read(efd, &v, sizeof(v)) == sizeof(v))
		;
}

static bool efd_ready(int efd, int ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

struct blocker {
	int fd;
	uint32_t queue;
	const void *cmds;
	uint32_t bytes;
	int ret;
	uint64_t seqno;
};

static void *blocking_submit(void *arg)
{
	struct blocker *b = arg;

	b->ret = t_submitq_raw(b->fd, b->queue, b->cmds, b->bytes, 0, &b->seqno);
	return NULL;
}

static void test_backpressure(int fd, int efd)
{
	uint32_t q = t_queue(fd, NPU_QUEUE_COPY, NPU_QUEUE_PRIORITY_NORMAL);
	uint32_t gate = t_fence(fd, 0);
	struct npu_bo_create b = t_bo(fd, 1 << 16, NPU_BO_HOST_VISIBLE);
	uint32_t *p = t_map(fd, &b, 1 << 16);
	static struct npu_cmd_fill big[NPU_MAX_CMD_BYTES / sizeof(struct npu_cmd_fill)];
	const uint32_t n = sizeof(big) / sizeof(big[0]);
	struct npu_cmd_fence w = t_cmd_fence(NPU_CMD_WAIT_FENCE, gate, 1);
	struct npu_fence_signal sig = { .handle = gate, .value = 1 };
	struct blocker bl;
	pthread_t th;
	uint64_t last = 0, s;
	int ret, accepted = 0;

	for (uint32_t k = 0; k < n; k++)
		big[k] = t_cmd_fill(b.dev_addr + 4 * (k % 16384), 4, k);
	t_submitq(fd, q, &w, sizeof(w));
	/* The queue waits on the gate: the ring fills up; -EBUSY, nothing queued. */
	for (;;) {
		ret = t_submitq_raw(fd, q, big, sizeof(big), NPU_SUBMIT_NONBLOCK, &s);
		if (ret)
			break;
		last = s;
		accepted++;
	}
	T_EQ(ret, -EBUSY);
	T_ASSERT(accepted >= 2);
	T_EQ(t_submitq_raw(fd, q, big, sizeof(big), NPU_SUBMIT_NONBLOCK, &s), -EBUSY);
	/* A blocking submit sleeps until the gate opens and room appears. */
	bl = (struct blocker){ .fd = fd, .queue = q, .cmds = big, .bytes = sizeof(big) };
	T_OK(pthread_create(&th, NULL, blocking_submit, &bl));
	usleep(50000);
	T_EQ(t_job_wait_ms(fd, q, last, 0, NULL), -ETIMEDOUT);
	drain_efd(efd);
	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_SIGNAL, &sig));
	T_OK(pthread_join(th, NULL));
	T_OK(bl.ret);
	T_EQ(bl.seqno, last + 1);
	T_EQ(t_job(fd, q, bl.seqno), 0);
	T_ASSERT(efd_ready(efd, 0));
	for (uint32_t k = 0; k < n; k++) /* every submit wrote k at slot k */
		T_EQ(p[k], k);
	T_OK(npu_drv_munmap(fd, p, 1 << 16));
	t_queue_destroy(fd, q);
}

/* The event fd: readable after a job completes; a fence signalled by another client. */
static void test_eventfd(int fd, int efd)
{
	int other = t_open();
	struct npu_get_eventfd ge = { 0 };
	uint32_t f = t_fence(other, 0), mine;
	struct npu_fence_export ex = { .handle = f };
	struct npu_fence_import im = { 0 };
	struct npu_bo_create code = t_writer_bo(fd);
	struct npu_bo_create out = t_bo(fd, 4096, 0);
	struct t_launch l;
	uint32_t bytes = t_writer(&l, &code, out.dev_addr, 1, 300000, 1);
	struct npu_cmd_fence sg = t_cmd_fence(NPU_CMD_SIGNAL_FENCE, f, 1);
	uint64_t s;

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_GET_EVENTFD, &ge));
	T_EQ(ge.fd, efd); /* the same fd every time */
	drain_efd(efd);
	s = t_submitq(fd, 0, &l, bytes);
	T_ASSERT(efd_ready(efd, 10000));
	drain_efd(efd);
	/* Readiness means "look again": the job may or may not be done by now. */
	T_EQ(t_job(fd, 0, s), 0);

	T_OK(npu_drv_ioctl(other, NPU_IOCTL_FENCE_EXPORT, &ex));
	im.token = ex.token;
	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_IMPORT, &im));
	mine = im.handle;
	drain_efd(efd);
	T_EQ(t_job(other, 0, t_submitq(other, 0, &sg, sizeof(sg))), 0);
	T_ASSERT(efd_ready(efd, 10000));
	T_OK(t_fence_wait_ms(fd, mine, 1, 0, NULL));
	T_OK(npu_drv_close(other));
}

/* Many threads, many queues, hundreds in flight: every job signals exactly once, in order. */
#define THREADS 4
#define JOBS 600

struct worker {
	int fd;
	uint32_t queue;
	struct npu_bo_create buf;
	int fails;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t prev = 0;

	for (uint32_t i = 1; i <= JOBS; i++) {
		struct npu_cmd_fill fl = t_cmd_fill(w->buf.dev_addr + 4 * (i % 1024), 4, i);
		uint64_t s = 0;

		int r = t_submitq_raw(w->fd, w->queue, &fl, sizeof(fl), 0, &s);

		if (r || s != prev + 1) {
			fprintf(stderr, "queue %u job %u: submit %d seqno %llu after %llu\n", w->queue, i, r,
				(unsigned long long)s, (unsigned long long)prev);
			w->fails++;
			break;
		}
		prev = s;
		/* Poll now and then: a job of this queue is done iff its seqno <= completed. */
		if (i % 100 == 0) {
			struct npu_wait wt = { .queue = w->queue, .seqno = 0 };

			if (npu_drv_ioctl(w->fd, NPU_IOCTL_WAIT, &wt) || wt.completed > s) {
				fprintf(stderr, "queue %u: wait\n", w->queue);
				w->fails++;
			}
		}
	}
	if (t_job(w->fd, w->queue, prev) != 0) {
		fprintf(stderr, "queue %u: last job failed\n", w->queue);
		w->fails++;
	}
	return NULL;
}

static void test_threads(int fd)
{
	struct worker w[THREADS];
	pthread_t th[THREADS];

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .fd = fd, .fails = 0 };
		w[i].queue = t_queue(fd, i & 1 ? NPU_QUEUE_COPY : NPU_QUEUE_COMPUTE, i % 3);
		w[i].buf = t_bo(fd, 4096, NPU_BO_HOST_VISIBLE);
		T_OK(pthread_create(&th[i], NULL, worker_main, &w[i]));
	}
	for (int i = 0; i < THREADS; i++) {
		uint32_t *p;
		struct npu_job_wait jw = { .queue = w[i].queue, .seqno = JOBS };

		T_OK(pthread_join(th[i], NULL));
		T_EQ(w[i].fails, 0);
		T_OK(npu_drv_ioctl(fd, NPU_IOCTL_JOB_WAIT, &jw));
		T_EQ(jw.completed, JOBS);
		T_EQ(jw.failed, 0);
		p = t_map(fd, &w[i].buf, 4096);
		for (uint32_t k = JOBS - 1023; k <= JOBS; k++)
			T_EQ(p[k % 1024], k);
		T_OK(npu_drv_munmap(fd, p, 4096));
		t_queue_destroy(fd, w[i].queue);
	}
}

int main(void)
{
	int fd = t_open();
	struct npu_get_eventfd ge = { 0 };

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_GET_EVENTFD, &ge));
	T_ASSERT(ge.fd >= 0);
	test_backpressure(fd, ge.fd);
	test_eventfd(fd, ge.fd);
	test_threads(fd);
	T_OK(npu_drv_close(fd));
	/* The driver closed the event fd with the file. */
	T_EQ(fcntl_is_closed(ge.fd), 1);
	return T_PASS;
}
