/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ioctl.c - random ABI sequences against the driver: opens and closes, every ioctl with
 * random and with mutated-but-plausible arguments, random command streams (kernels, copies,
 * fills, fences, timestamps) over live and dead buffers, mmaps, fault injection. Checks, on
 * every call: the result is 0 or one of the errnos the ABI documents; a failed call wrote
 * nothing; and, every few thousand calls, that every job submitted so far signals (nothing
 * lost, nothing hung) once the fences it may wait for are signalled.
 *
 *   drv_fuzz [--calls N] [--seed S] [--quiet]
 *
 * Run it under ASan+UBSan (and TSan) for the "0 crashes, 0 reports" figure; CI runs a short
 * sequence. Exit 0 pass, 1 fail.
 */
#include <getopt.h>
#include <sys/mman.h>

#include "drv_test.h"

#define MAX_FILES  4
#define MAX_BOS    24
#define MAX_QUEUES 6
#define MAX_FENCES 12

struct fclient {
	int fd;
	struct npu_bo_create bos[MAX_BOS];
	void *maps[MAX_BOS];
	uint32_t nbos;
	uint32_t queues[MAX_QUEUES];   /* [0] = 0 */
	uint64_t last[MAX_QUEUES];
	uint32_t nqueues;
	/* Fences the queue's jobs wait on since the last drain. If the client drops its last
	 * handle to one of them, nobody can signal it: the queue may block for good (a user
	 * deadlock the driver is right not to break). */
	uint32_t waited[MAX_QUEUES][16];
	uint32_t nwaited[MAX_QUEUES];
	bool may_block[MAX_QUEUES];
	uint32_t fences[MAX_FENCES];
	uint32_t nfences;
	uint32_t dead_handles[8];      /* freed BO / fence handles, for "stale handle" cases */
	struct npu_bo_create code;     /* a small kernel */
};

static struct fclient g_cl[MAX_FILES];
static uint64_t g_rng;
static uint64_t g_calls, g_limit;
static uint64_t g_stats[8];        /* ok, einval, enoent, efault, other errors, ... */
static bool g_quiet;
static uint8_t *g_host;            /* user memory for BO_USERPTR: 2 MiB, then 2 MiB PROT_NONE */
static uint8_t *g_ro;              /* a read-only page */

static uint64_t rnd(void)
{
	/* xorshift64* */
	g_rng ^= g_rng >> 12;
	g_rng ^= g_rng << 25;
	g_rng ^= g_rng >> 27;
	return g_rng * 2685821657736338717ull;
}

static uint64_t rndn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* A "plausible" 64-bit value: boundaries, small numbers, or random bits. */
static uint64_t rnd_val(void)
{
	static const uint64_t edges[] = {
		0, 1, 2, 3, 4, 7, 8, 16, 4095, 4096, 65535, 65536, 65537, 1u << 20, UINT32_MAX,
		(uint64_t)UINT32_MAX + 1, 1ull << 40, (1ull << 40) - 1, INT64_MAX, UINT64_MAX,
		UINT64_MAX - 1, 1ull << 36,
	};

	switch (rndn(4)) {
	case 0:
		return edges[rndn(sizeof(edges) / sizeof(edges[0]))];
	case 1:
		return rndn(64);
	case 2:
		return 1ull << rndn(64);
	default:
		return rnd();
	}
}

static void fail(const char *what, uint32_t request, int ret)
{
	fprintf(stderr, "FAIL after %llu calls (seed 0x%llx): %s (request 0x%08x, ret %d)\n",
		(unsigned long long)g_calls, (unsigned long long)g_rng, what, request, ret);
	exit(T_FAIL);
}

static bool allowed_errno(int ret)
{
	switch (-ret) {
	case 0: case EINVAL: case ENOENT: case EFAULT: case EBUSY: case EPERM: case ENODEV:
	case ETIMEDOUT: case ENOMEM: case ENOTTY: case EBADF: case EMFILE: case EOPNOTSUPP:
	case ENOSPC: case EAGAIN: /* JOB_TIME of a job not complete yet */
		return true;
	default:
		return false;
	}
}

/* One ioctl; checks the errno and that a failure wrote nothing. */
static int fz_ioctl(int fd, uint32_t request, void *arg, size_t size)
{
	uint8_t before[256];
	int ret;

	if (arg)
		memcpy(before, arg, size);
	ret = npu_drv_ioctl(fd, request, arg);
	g_calls++;
	if (!allowed_errno(ret))
		fail("unexpected errno", request, ret);
	if (ret && arg && memcmp(before, arg, size))
		fail("a failed call wrote its argument", request, ret);
	g_stats[ret == 0 ? 0 : ret == -EINVAL ? 1 : ret == -ENOENT ? 2 : ret == -EFAULT ? 3 : 4]++;
	return ret;
}

static struct fclient *pick(void)
{
	struct fclient *c = &g_cl[rndn(MAX_FILES)];

	return c->fd >= 0 ? c : NULL;
}

static uint64_t pick_addr(struct fclient *c)
{
	if (c->nbos && rndn(4)) {
		struct npu_bo_create *b = &c->bos[rndn(c->nbos)];

		return b->dev_addr + (rndn(3) == 0 ? rnd_val() : rndn(1 << 17)) * (rndn(2) ? 4 : 1);
	}
	return rnd_val();
}

static uint32_t pick_fence(struct fclient *c)
{
	if (c->nfences && rndn(8))
		return c->fences[rndn(c->nfences)];
	return rndn(2) ? c->dead_handles[rndn(8)] : (uint32_t)rnd_val();
}

static uint32_t pick_queue_idx(struct fclient *c)
{
	return (uint32_t)rndn(c->nqueues);
}

static void queue_forget(struct fclient *c, uint32_t i)
{
	c->nqueues--;
	c->queues[i] = c->queues[c->nqueues];
	c->last[i] = c->last[c->nqueues];
	memcpy(c->waited[i], c->waited[c->nqueues], sizeof(c->waited[i]));
	c->nwaited[i] = c->nwaited[c->nqueues];
	c->may_block[i] = c->may_block[c->nqueues];
}

/* The client dropped a fence handle: queues waiting on it may never run again. */
static void fence_dropped(struct fclient *c, uint32_t handle)
{
	for (uint32_t q = 0; q < c->nqueues; q++)
		for (uint32_t k = 0; k < c->nwaited[q]; k++)
			if (c->waited[q][k] == handle)
				c->may_block[q] = true;
}

static void note_waits(struct fclient *c, uint32_t q, const struct t_stream *s)
{
	for (uint32_t off = 0; off < s->bytes;) {
		const struct npu_cmd_header *h = (const void *)((const uint8_t *)s->words + off);

		if (h->type == NPU_CMD_WAIT_FENCE) {
			const struct npu_cmd_fence *f = (const void *)h;

			if (c->nwaited[q] < 16)
				c->waited[q][c->nwaited[q]++] = f->fence;
			else
				c->may_block[q] = true;
		}
		off += h->dwords * 8u;
	}
}

static void client_open(struct fclient *c)
{
	int fd = npu_drv_open("npu0", 0);

	g_calls++;
	if (fd == -ENODEV || fd == -EBUSY)
		return; /* lost device (waits for every close) or out of queues */
	if (fd < 0)
		fail("open", 0, fd);
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->nqueues = 1;
	/* Bounded runaway kernels: random code may loop forever. */
	t_set_param(fd, NPU_PARAM_HANG_TIMEOUT_MS, 0, 10);
	t_set_param(fd, NPU_PARAM_MAX_INSNS, 0, 200000);
	c->code = t_writer_bo(fd);
	g_calls += 6;
}

static void client_close(struct fclient *c)
{
	for (uint32_t i = 0; i < c->nbos; i++)
		if (c->maps[i])
			npu_drv_munmap(c->fd, c->maps[i], 4096);
	if (npu_drv_close(c->fd))
		fail("close", 0, -1);
	g_calls++;
	c->fd = -1;
}

static void client_close(struct fclient *c);

/* Every job of the client signals once the fences it may wait for are signalled. */
static void drain(struct fclient *c)
{
	for (uint32_t i = 0; i < c->nfences; i++) {
		struct npu_fence_signal s = { .handle = c->fences[i], .value = UINT64_MAX };

		npu_drv_ioctl(c->fd, NPU_IOCTL_FENCE_SIGNAL, &s);
		g_calls++;
	}
	for (uint32_t q = 0; q < c->nqueues; q++) {
		struct npu_job_wait w = {
			.queue = c->queues[q], .seqno = c->last[q],
			.timeout_ns = t_now_ns() + (c->may_block[q] ? 500 : 20000) * 1000000ll,
		};
		int ret = npu_drv_ioctl(c->fd, NPU_IOCTL_JOB_WAIT, &w);

		g_calls++;
		if (ret == -ETIMEDOUT && c->may_block[q]) {
			/* Waits on a fence nobody can signal: cancelling ends it. */
			if (!q) {
				client_close(c);
				return;
			}
			{
				struct npu_queue_destroy d = { .queue = c->queues[q] };

				T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_QUEUE_DESTROY, &d));
				queue_forget(c, q--);
				continue;
			}
		}
		if (ret)
			fail("a job did not signal", NPU_IOCTL_JOB_WAIT, ret);
		if (w.status > 1)
			fail("job status is not 0, 1 or -errno", NPU_IOCTL_JOB_WAIT, w.status);
		c->nwaited[q] = 0;
		c->may_block[q] = false;
	}
	while (t_fault(c->fd).flags)
		g_calls++;
}

/* A random command stream: mostly plausible commands on live buffers. */
static uint32_t make_stream(struct fclient *c, struct t_stream *s, bool *has_launch)
{
	uint32_t n = 1 + (uint32_t)rndn(6);

	s->bytes = 0;
	*has_launch = false;
	for (uint32_t i = 0; i < n; i++) {
		switch (rndn(8)) {
		case 0: {
			struct t_launch l;
			uint32_t bytes = t_writer(&l, &c->code, pick_addr(c), rnd_val(), rndn(2000),
						  1 + (uint32_t)rndn(8));

			if (rndn(6) == 0)
				l.l.code_words = (uint32_t)rndn(40);
			if (rndn(6) == 0)
				l.l.code_addr = pick_addr(c) & ~7ull;
			if (rndn(10) == 0)
				l.l.grid[rndn(3)] = (uint32_t)rnd_val();
			if (rndn(10) == 0)
				l.l.sram_bytes = (uint32_t)rnd_val();
			t_put(s, &l, bytes);
			*has_launch = true;
			break;
		}
		case 1: {
			struct npu_cmd_copy cp = t_cmd_copy(pick_addr(c), pick_addr(c),
							    rndn(4) ? rndn(1 << 17) : rnd_val());

			t_put(s, &cp, sizeof(cp));
			break;
		}
		case 2: {
			struct npu_cmd_fill fl = t_cmd_fill(pick_addr(c) & ~3ull,
							    (rndn(4) ? rndn(1 << 17) : rnd_val()) & ~3ull,
							    (uint32_t)rnd());

			t_put(s, &fl, sizeof(fl));
			break;
		}
		case 3:
		case 4: {
			struct npu_cmd_fence f = t_cmd_fence(rndn(2) ? NPU_CMD_SIGNAL_FENCE
								     : NPU_CMD_WAIT_FENCE,
							     pick_fence(c), 1 + rndn(50));

			t_put(s, &f, sizeof(f));
			break;
		}
		case 5: {
			struct npu_cmd_timestamp ts = t_cmd_ts(pick_addr(c) & ~7ull);

			t_put(s, &ts, sizeof(ts));
			break;
		}
		case 6: {
			struct npu_cmd_header h = { .type = NPU_CMD_BARRIER, .dwords = 1 };

			t_put(s, &h, sizeof(h));
			break;
		}
		default: { /* garbage words */
			uint64_t w[4] = { rnd(), rnd(), rnd(), rnd() };
			uint32_t k = 1 + (uint32_t)rndn(4);

			if (rndn(2)) /* a plausible header */
				w[0] = (uint64_t)(rndn(9)) | (uint64_t)k << 16;
			t_put(s, w, 8 * k);
			break;
		}
		}
	}
	return s->bytes;
}

static void fz_submit(struct fclient *c, struct t_stream *s)
{
	uint32_t qi = pick_queue_idx(c);
	bool launch;
	struct npu_submit a = {
		.cmds = (uint64_t)(uintptr_t)s->words,
		.cmds_size = make_stream(c, s, &launch),
		.queue = c->queues[qi],
		.flags = NPU_SUBMIT_NONBLOCK, /* single threaded: never sleep on a full ring */
	};

	if (rndn(20) == 0)
		a.cmds_size = (uint32_t)rnd_val();
	if (rndn(30) == 0)
		a.cmds = rnd_val();
	if (rndn(30) == 0)
		a.queue = (uint32_t)rnd_val();
	if (rndn(40) == 0)
		a.pad = 1;
	if (rndn(40) == 0)
		a.flags |= 2;
	if (!fz_ioctl(c->fd, NPU_IOCTL_SUBMIT, &a, sizeof(a))) {
		/* The queue may have been replaced by a random id that happens to exist. */
		for (qi = 0; qi < c->nqueues && c->queues[qi] != a.queue; qi++)
			;
		if (qi == c->nqueues)
			fail("submit to a queue the client does not have", NPU_IOCTL_SUBMIT, 0);
		if (a.seqno != c->last[qi] + 1)
			fail("seqno not consecutive", NPU_IOCTL_SUBMIT, 0);
		c->last[qi] = a.seqno;
		note_waits(c, qi, s);
	}
}

static void fz_struct_call(struct fclient *c, struct t_stream *s)
{
	union {
		struct npu_get_param gp;
		struct npu_set_param sp;
		struct npu_bo_create bc;
		struct npu_bo_info bi;
		struct npu_bo_free bf;
		struct npu_bo_userptr up;
		struct npu_wait w;
		struct npu_job_wait jw;
		struct npu_get_fault gf;
		struct npu_queue_create qc;
		struct npu_queue_destroy qd;
		struct npu_fence_create fc;
		struct npu_fence_destroy fd;
		struct npu_fence_signal fs;
		struct npu_fence_query fq;
		struct npu_fence_wait fw;
		struct npu_fence_export fe;
		struct npu_fence_import fi;
		struct npu_reset_status rs;
		struct npu_inject in;
		struct npu_job_time jt;
		struct npu_client_info ci;
		uint8_t raw[64];
	} a;
	uint32_t fh[4];
	uint64_t fv[4];

	memset(&a, 0, sizeof(a));
	switch (rndn(23)) {
	case 0:
		a.gp.param = (uint32_t)rndn(NPU_PARAM_COUNT + 2);
		fz_ioctl(c->fd, NPU_IOCTL_GET_PARAM, &a, sizeof(a.gp));
		break;
	case 1:
		a.sp.param = (uint32_t)rndn(NPU_PARAM_COUNT + 1);
		a.sp.value = rndn(2) ? 10 + rndn(50) : rnd_val();
		a.sp.flags = rndn(10) == 0 ? (uint32_t)rnd_val() : 0; /* device values stay */
		if (a.sp.param == NPU_PARAM_HANG_TIMEOUT_MS && a.sp.value > 50)
			a.sp.value = 0; /* keep runaway kernels short */
		if (a.sp.param == NPU_PARAM_MAX_INSNS && (!a.sp.value || a.sp.value > 200000))
			a.sp.value = 1000;
		if (a.sp.param == NPU_PARAM_BAN_THRESHOLD)
			a.sp.value = 0; /* never ban the fuzzer's own clients for good */
		fz_ioctl(c->fd, NPU_IOCTL_SET_PARAM, &a, sizeof(a.sp));
		break;
	case 2:
	case 3:
		a.bc.size = rndn(3) ? 1 + rndn(1 << 18) : rnd_val();
		a.bc.flags = rndn(10) ? NPU_BO_HOST_VISIBLE | (uint32_t)rndn(2) * NPU_BO_READ_ONLY
				      : (uint32_t)rnd_val();
		if (c->nbos < MAX_BOS && !fz_ioctl(c->fd, NPU_IOCTL_BO_CREATE, &a, sizeof(a.bc))) {
			c->bos[c->nbos] = a.bc;
			c->maps[c->nbos] = NULL;
			if (a.bc.flags & NPU_BO_HOST_VISIBLE && rndn(2)) {
				int err;

				c->maps[c->nbos] = npu_drv_mmap(c->fd, a.bc.mmap_offset, 4096, &err);
				g_calls++;
				if (c->maps[c->nbos])
					memset(c->maps[c->nbos], (int)rndn(256), 4096);
			}
			c->nbos++;
		}
		break;
	case 4:
		a.bi.handle = c->nbos && rndn(3) ? c->bos[rndn(c->nbos)].handle
						 : (uint32_t)rnd_val();
		fz_ioctl(c->fd, NPU_IOCTL_BO_INFO, &a, sizeof(a.bi));
		break;
	case 5:
		if (c->nbos && rndn(3)) {
			uint32_t i = (uint32_t)rndn(c->nbos);

			a.bf.handle = c->bos[i].handle;
			if (!fz_ioctl(c->fd, NPU_IOCTL_BO_FREE, &a, sizeof(a.bf))) {
				/* Unmapping after the free: the driver kept the BO for it. */
				if (c->maps[i]) {
					npu_drv_munmap(c->fd, c->maps[i], 4096);
					c->maps[i] = NULL;
				}
				c->dead_handles[rndn(8)] = a.bf.handle;
				c->bos[i] = c->bos[--c->nbos];
				c->maps[i] = c->maps[c->nbos];
			}
		} else {
			a.bf.handle = (uint32_t)rnd_val();
			a.bf.pad = (uint32_t)rndn(2);
			fz_ioctl(c->fd, NPU_IOCTL_BO_FREE, &a, sizeof(a.bf));
		}
		break;
	case 6: {
		/* Only the fuzzer's own buffer, or memory that can never be writable: registering
		 * any other writable memory of the process would let the device scribble on it,
		 * which the ABI allows (it is the caller's memory) and which no test should do. */
		static const uint64_t never[] = { 8, 4096, 65535, 1ull << 47, UINT64_MAX - 65536,
						  (1ull << 63) };

		switch (rndn(6)) {
		case 0:
			a.up.user_ptr = never[rndn(sizeof(never) / sizeof(never[0]))];
			break;
		case 1:
			a.up.user_ptr = (uint64_t)(uintptr_t)g_ro; /* writable registration fails */
			break;
		default:
			a.up.user_ptr = (uint64_t)(uintptr_t)(g_host + rndn(1 << 20));
			break;
		}
		a.up.size = rndn(4) ? 1 + rndn(1 << 19) : rnd_val();
		a.up.flags = rndn(8) ? (uint32_t)rndn(2) * NPU_BO_READ_ONLY : (uint32_t)rnd_val();
		if (c->nbos < MAX_BOS && !fz_ioctl(c->fd, NPU_IOCTL_BO_USERPTR, &a, sizeof(a.up))) {
			uint64_t end = a.up.user_ptr + a.up.size;

			bool in_host = a.up.user_ptr >= (uint64_t)(uintptr_t)g_host &&
				       end <= (uint64_t)(uintptr_t)g_host + (2 << 20);
			bool ro_page = a.up.user_ptr >= (uint64_t)(uintptr_t)g_ro &&
				       end <= (uint64_t)(uintptr_t)g_ro + 4096 &&
				       (a.up.flags & NPU_BO_READ_ONLY);

			if (!in_host && !ro_page) {
				fprintf(stderr, "registered 0x%llx + %llu flags 0x%x (host %p ro %p)\n",
					(unsigned long long)a.up.user_ptr,
					(unsigned long long)a.up.size, a.up.flags, (void *)g_host,
					(void *)g_ro);
				fail("user memory outside what may be registered was accepted",
				     NPU_IOCTL_BO_USERPTR, 0);
			}
			memset(&c->bos[c->nbos], 0, sizeof(c->bos[0]));
			c->bos[c->nbos].handle = a.up.handle;
			c->bos[c->nbos].dev_addr = a.up.dev_addr;
			c->maps[c->nbos++] = NULL;
		}
		break;
	}
	case 7: {
		uint32_t qi = pick_queue_idx(c);

		a.w.queue = rndn(8) ? c->queues[qi] : (uint32_t)rnd_val();
		a.w.seqno = rndn(3) ? rndn(c->last[qi] + 2) : rnd_val();
		a.w.timeout_ns = rndn(2) ? 0 : t_now_ns() + (int64_t)rndn(1000000);
		if (rndn(20) == 0)
			a.w.timeout_ns = -1;
		a.w.flags = rndn(20) == 0;
		fz_ioctl(c->fd, NPU_IOCTL_WAIT, &a, sizeof(a.w));
		break;
	}
	case 8: {
		uint32_t qi = pick_queue_idx(c);

		a.jw.queue = rndn(8) ? c->queues[qi] : (uint32_t)rnd_val();
		a.jw.seqno = rndn(3) ? rndn(c->last[qi] + 2) : rnd_val();
		a.jw.timeout_ns = rndn(2) ? 0 : t_now_ns() + (int64_t)rndn(1000000);
		a.jw.flags = rndn(20) == 0;
		if (!fz_ioctl(c->fd, NPU_IOCTL_JOB_WAIT, &a, sizeof(a.jw)) && a.jw.seqno &&
		    a.jw.status > 1)
			fail("job status is not 0, 1 or -errno", NPU_IOCTL_JOB_WAIT, a.jw.status);
		break;
	}
	case 9:
		a.gf.flags = rndn(10) == 0;
		fz_ioctl(c->fd, NPU_IOCTL_GET_FAULT, &a, sizeof(a.gf));
		break;
	case 10:
		a.qc.type = rndn(8) ? (uint32_t)rndn(2) : (uint32_t)rnd_val();
		a.qc.priority = rndn(8) ? (uint32_t)rndn(3) : (uint32_t)rnd_val();
		a.qc.flags = rndn(20) == 0;
		if (c->nqueues < MAX_QUEUES &&
		    !fz_ioctl(c->fd, NPU_IOCTL_QUEUE_CREATE, &a, sizeof(a.qc))) {
			c->queues[c->nqueues] = a.qc.queue;
			c->last[c->nqueues++] = 0;
		}
		break;
	case 11:
		if (c->nqueues > 1 && rndn(3)) {
			uint32_t i = 1 + (uint32_t)rndn(c->nqueues - 1);

			a.qd.queue = c->queues[i];
			if (!fz_ioctl(c->fd, NPU_IOCTL_QUEUE_DESTROY, &a, sizeof(a.qd)))
				queue_forget(c, i);
		} else {
			a.qd.queue = (uint32_t)rnd_val();
			a.qd.flags = rndn(10) == 0;
			if (!fz_ioctl(c->fd, NPU_IOCTL_QUEUE_DESTROY, &a, sizeof(a.qd))) {
				for (uint32_t i = 1; i < c->nqueues; i++) {
					if (c->queues[i] != a.qd.queue)
						continue;
					queue_forget(c, i);
					break;
				}
			}
		}
		break;
	case 12:
		a.fc.value = rndn(2) ? rndn(10) : rnd_val();
		a.fc.flags = rndn(20) == 0;
		if (c->nfences < MAX_FENCES &&
		    !fz_ioctl(c->fd, NPU_IOCTL_FENCE_CREATE, &a, sizeof(a.fc)))
			c->fences[c->nfences++] = a.fc.handle;
		break;
	case 13:
		if (c->nfences && rndn(3)) {
			uint32_t i = (uint32_t)rndn(c->nfences);

			a.fd.handle = c->fences[i];
			if (!fz_ioctl(c->fd, NPU_IOCTL_FENCE_DESTROY, &a, sizeof(a.fd))) {
				c->dead_handles[rndn(8)] = a.fd.handle;
				c->fences[i] = c->fences[--c->nfences];
				fence_dropped(c, a.fd.handle);
			}
		} else {
			a.fd.handle = pick_fence(c);
			a.fd.flags = rndn(4) == 0;
			if (!fz_ioctl(c->fd, NPU_IOCTL_FENCE_DESTROY, &a, sizeof(a.fd))) {
				for (uint32_t i = 0; i < c->nfences; i++)
					if (c->fences[i] == a.fd.handle)
						c->fences[i] = c->fences[--c->nfences];
				fence_dropped(c, a.fd.handle);
			}
		}
		break;
	case 14:
		a.fs.handle = pick_fence(c);
		a.fs.value = rndn(2) ? rndn(60) : rnd_val();
		a.fs.flags = rndn(20) == 0;
		fz_ioctl(c->fd, NPU_IOCTL_FENCE_SIGNAL, &a, sizeof(a.fs));
		break;
	case 15:
		a.fq.handle = pick_fence(c);
		a.fq.flags = rndn(20) == 0;
		fz_ioctl(c->fd, NPU_IOCTL_FENCE_QUERY, &a, sizeof(a.fq));
		break;
	case 16:
		a.fw.count = rndn(8) ? 1 + (uint32_t)rndn(4) : (uint32_t)rnd_val();
		for (int i = 0; i < 4; i++) {
			fh[i] = pick_fence(c);
			fv[i] = rndn(2) ? rndn(30) : rnd_val();
		}
		a.fw.handles = rndn(20) ? (uint64_t)(uintptr_t)fh : rnd_val();
		a.fw.values = rndn(20) ? (uint64_t)(uintptr_t)fv : rnd_val();
		if (a.fw.count > 4 && a.fw.count <= NPU_MAX_WAIT_FENCES)
			a.fw.count = 4;
		a.fw.flags = rndn(10) ? (uint32_t)rndn(2) : (uint32_t)rnd_val();
		a.fw.timeout_ns = rndn(2) ? 0 : t_now_ns() + (int64_t)rndn(1000000);
		fz_ioctl(c->fd, NPU_IOCTL_FENCE_WAIT, &a, sizeof(a.fw));
		break;
	case 17: {
		struct fclient *o = pick();

		a.fe.handle = pick_fence(c);
		a.fe.flags = rndn(20) == 0;
		if (!fz_ioctl(c->fd, NPU_IOCTL_FENCE_EXPORT, &a, sizeof(a.fe)) && o &&
		    o->nfences < MAX_FENCES) {
			struct npu_fence_import im = { .token = a.fe.token };

			if (!fz_ioctl(o->fd, NPU_IOCTL_FENCE_IMPORT, &im, sizeof(im)))
				o->fences[o->nfences++] = im.handle;
		}
		break;
	}
	case 18:
		a.fi.token = rnd_val();
		a.fi.flags = rndn(4) == 0;
		fz_ioctl(c->fd, NPU_IOCTL_FENCE_IMPORT, &a, sizeof(a.fi));
		break;
	case 19:
		a.rs.flags = rndn(10) == 0;
		fz_ioctl(c->fd, NPU_IOCTL_RESET_STATUS, &a, sizeof(a.rs));
		break;
	case 20: {
		uint32_t qi = pick_queue_idx(c);

		a.jt.queue = rndn(8) ? c->queues[qi] : (uint32_t)rnd_val();
		a.jt.seqno = rndn(3) ? rndn(c->last[qi] + 2) : rnd_val();
		a.jt.flags = rndn(20) == 0;
		if (!fz_ioctl(c->fd, NPU_IOCTL_JOB_TIME, &a, sizeof(a.jt)) &&
		    (a.jt.end_cycles < a.jt.start_cycles || a.jt.ncores > NPU_JOB_TIME_CORES))
			fail("inconsistent job time", NPU_IOCTL_JOB_TIME, 0);
		break;
	}
	case 21:
		a.ci.index = rndn(4) ? (uint32_t)rndn(6) : (uint32_t)rnd_val();
		a.ci.flags = rndn(20) == 0;
		fz_ioctl(c->fd, NPU_IOCTL_CLIENT_INFO, &a, sizeof(a.ci));
		break;
	default:
		/* Injection: cheap faults often, resets rarely (they cost every client). */
		a.in.what = (uint32_t)rndn(7);
		a.in.count = rndn(10) ? 1 + (uint32_t)rndn(3) : (uint32_t)rnd_val();
		if (a.in.what == NPU_INJECT_CP_STALL || a.in.what == NPU_INJECT_DEVICE_RESET ||
		    a.in.what == NPU_INJECT_RESET_FAIL) {
			if (rndn(20))
				break;
			if (a.in.what == NPU_INJECT_RESET_FAIL)
				a.in.count = 1 + (uint32_t)rndn(2);
		}
		a.in.flags = rndn(30) == 0;
		fz_ioctl(c->fd, NPU_IOCTL_INJECT, &a, sizeof(a.in));
		break;
	}
	(void)s;
}

/* Random bytes for a random request number (sizes right or wrong). */
static void fz_raw_call(struct fclient *c)
{
	uint8_t arg[256];
	uint32_t nr = (uint32_t)rndn(0x1a), size, dir, req;

	for (unsigned i = 0; i < sizeof(arg); i += 8) {
		uint64_t v = rnd_val();

		memcpy(arg + i, &v, 8);
	}
	size = rndn(4) ? 0 : (uint32_t)rndn(80);
	dir = (uint32_t)rndn(4);
	req = NPU_IOC(dir, nr, size);
	if (rndn(3)) {
		/* The right size and direction for that number: reach the handler. */
		static const uint32_t reqs[] = {
			NPU_IOCTL_GET_PARAM, NPU_IOCTL_BO_CREATE, NPU_IOCTL_BO_INFO,
			NPU_IOCTL_BO_FREE, NPU_IOCTL_SUBMIT, NPU_IOCTL_WAIT, NPU_IOCTL_GET_FAULT,
			NPU_IOCTL_SET_PARAM, NPU_IOCTL_QUEUE_CREATE, NPU_IOCTL_QUEUE_DESTROY,
			NPU_IOCTL_JOB_WAIT, NPU_IOCTL_FENCE_CREATE, NPU_IOCTL_FENCE_DESTROY,
			NPU_IOCTL_FENCE_SIGNAL, NPU_IOCTL_FENCE_QUERY, NPU_IOCTL_FENCE_WAIT,
			NPU_IOCTL_FENCE_EXPORT, NPU_IOCTL_FENCE_IMPORT, NPU_IOCTL_GET_EVENTFD,
			NPU_IOCTL_RESET_STATUS, NPU_IOCTL_BO_USERPTR, NPU_IOCTL_INJECT,
			NPU_IOCTL_JOB_TIME, NPU_IOCTL_CLIENT_INFO,
		};

		req = reqs[rndn(sizeof(reqs) / sizeof(reqs[0]))];
	}
	/* Calls that can sleep or change the whole device: keep them short and rare. */
	if (req == NPU_IOCTL_WAIT) {
		memset(arg + 8, 0, 8); /* timeout_ns = 0: poll */
	} else if (req == NPU_IOCTL_JOB_WAIT) {
		memset(arg + 16, 0, 8);
	} else if (req == NPU_IOCTL_FENCE_WAIT) {
		memset(arg + 24, 0, 8);
	} else if (req == NPU_IOCTL_SUBMIT) {
		struct npu_submit *s = (void *)arg;

		s->flags |= NPU_SUBMIT_NONBLOCK;
	} else if (req == NPU_IOCTL_INJECT || req == NPU_IOCTL_SET_PARAM ||
		   req == NPU_IOCTL_QUEUE_DESTROY || req == NPU_IOCTL_BO_FREE ||
		   req == NPU_IOCTL_FENCE_DESTROY || req == NPU_IOCTL_QUEUE_CREATE ||
		   req == NPU_IOCTL_BO_CREATE || req == NPU_IOCTL_BO_USERPTR ||
		   req == NPU_IOCTL_FENCE_CREATE || req == NPU_IOCTL_FENCE_IMPORT) {
		/* These would change state behind the model's back: only invalid ones. */
		arg[NPU_IOC_SIZE(req) - 1] |= 0x80;
		if (req == NPU_IOCTL_SET_PARAM || req == NPU_IOCTL_QUEUE_DESTROY ||
		    req == NPU_IOCTL_FENCE_DESTROY)
			arg[4] |= 0x10; /* flags */
		if (req == NPU_IOCTL_BO_FREE)
			arg[4] |= 1; /* pad */
		if (req == NPU_IOCTL_INJECT)
			arg[8] |= 1; /* flags */
		if (req == NPU_IOCTL_QUEUE_CREATE)
			arg[8] |= 1;
		if (req == NPU_IOCTL_BO_CREATE)
			arg[8 + 3] |= 0x40; /* flags bit 30 */
		if (req == NPU_IOCTL_BO_USERPTR)
			arg[16 + 3] |= 0x40;
		if (req == NPU_IOCTL_FENCE_CREATE || req == NPU_IOCTL_FENCE_IMPORT)
			arg[8] |= 1;
	} else if (req == NPU_IOCTL_GET_EVENTFD) {
		arg[0] |= 1; /* only the invalid form: a valid one is covered elsewhere */
	}
	if (rndn(50) == 0) {
		npu_drv_ioctl(c->fd, req, NULL);
		g_calls++;
		return;
	}
	fz_ioctl(rndn(50) ? c->fd : (int)rnd_val(), req, arg, sizeof(arg));
}

int main(int argc, char **argv)
{
	static struct t_stream stream;
	uint64_t seed = 0x5eed, limit = 200000;
	int opt;

	static const struct option opts[] = {
		{ "calls", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};

	while ((opt = getopt_long(argc, argv, "n:s:q", opts, NULL)) != -1) {
		if (opt == 'n')
			limit = strtoull(optarg, NULL, 0);
		else if (opt == 's')
			seed = strtoull(optarg, NULL, 0);
		else if (opt == 'q')
			g_quiet = true;
		else
			return T_FAIL;
	}
	g_limit = limit;
	g_rng = seed ? seed : 1;
	setenv("NPU_FAULT_INJECTION", "1", 1);
	setenv("NPU_LOG_LEVEL", "error", 0);
	g_host = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(g_host != MAP_FAILED);
	T_OK(mprotect(g_host + (2 << 20), 2 << 20, PROT_NONE));
	g_ro = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(g_ro != MAP_FAILED);
	T_OK(mprotect(g_ro + 4096, 4096, PROT_NONE)); /* nothing readable after it */
	for (int i = 0; i < MAX_FILES; i++)
		g_cl[i].fd = -1;

	while (g_calls < g_limit) {
		struct fclient *c = &g_cl[rndn(MAX_FILES)];
		uint64_t r = rndn(1000);

		if (c->fd < 0) {
			client_open(c);
			continue;
		}
		if (r < 2) {
			client_close(c);
		} else if (r < 4) {
			drain(c);
		} else if (r < 100) {
			fz_submit(c, &stream);
		} else if (r < 130) {
			/* mmap / munmap with random offsets and sizes */
			int err = 0;
			void *p = npu_drv_mmap(c->fd, rndn(2) && c->nbos ?
						     c->bos[rndn(c->nbos)].mmap_offset : rnd_val(),
					       rndn(2) ? 4096 : rnd_val(), &err);

			g_calls++;
			if (p) {
				if (npu_drv_munmap(c->fd, p, 4096))
					fail("munmap of a fresh mapping", 0, -1);
			} else if (!allowed_errno(err) || !err) {
				fail("mmap errno", 0, err);
			}
			T_ASSERT(npu_drv_munmap(c->fd, (void *)(uintptr_t)rnd_val(), 4096) != 0);
			g_calls++;
		} else if (r < 600) {
			fz_struct_call(c, &stream);
		} else {
			fz_raw_call(c);
		}
	}
	for (int i = 0; i < MAX_FILES; i++) {
		if (g_cl[i].fd < 0)
			continue;
		drain(&g_cl[i]);
		if (g_cl[i].fd >= 0) /* drain closes a client stuck on a fence nobody can signal */
			client_close(&g_cl[i]);
	}
	munmap(g_host, 4 << 20);
	munmap(g_ro, 8192);
	if (!g_quiet)
		printf("ok: %llu calls (seed 0x%llx): %llu ok, %llu EINVAL, %llu ENOENT, %llu EFAULT, "
		       "%llu other errors\n", (unsigned long long)g_calls, (unsigned long long)seed,
		       (unsigned long long)g_stats[0], (unsigned long long)g_stats[1],
		       (unsigned long long)g_stats[2], (unsigned long long)g_stats[3],
		       (unsigned long long)g_stats[4]);
	return T_PASS;
}
