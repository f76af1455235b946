/* SPDX-License-Identifier: MIT */
/* bench.c - baselines and tight libnpu loops for npu.bench (see bench.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setaffinity_np */
#endif
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ volatile("yield" ::: "memory")
#else
#define cpu_relax() do { } while (0)
#endif

/* Keeps the compiler from dropping or moving work whose result nobody reads. */
#define clobber() __asm__ volatile("" ::: "memory")

int64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int bench_nop(int x)
{
	return x;
}

int bench_launch_stub(void *dev, void *kernel, void *config, void *args, void *arg_sizes,
		      uint32_t num_args)
{
	return dev && kernel && config && (args || !num_args) && (arg_sizes || !num_args)
		? 0 : NPU_ERROR_INVALID_VALUE;
}

int bench_memcpy(void *dst, const void *src, size_t n, uint32_t iters, int64_t *ns_out)
{
	if (!dst || !src || !ns_out)
		return -EINVAL;
	for (uint32_t i = 0; i < iters; i++) {
		int64_t t0 = bench_now_ns();
		memcpy(dst, src, n);
		clobber();
		ns_out[i] = bench_now_ns() - t0;
	}
	return 0;
}

/* ---- Ping-pong between two threads ------------------------------------------------------- */

struct pingpong {
	int kind;
	int pong_cpu;     /* -1: not pinned */
	uint32_t rounds;  /* the pong thread answers exactly this many pings, then exits */
	uint32_t sent;    /* pings sent so far (ping thread only) */
	uint32_t word;    /* futex / spin: 2i+1 = ping number i sent, 2i+2 = its pong */
	int efd_ping;
	int efd_pong;
	int pinned;       /* the caller's affinity was changed: restore `saved` */
	cpu_set_t saved;
	pthread_t thread;
};

static void futex_wait(uint32_t *addr, uint32_t seen)
{
	/* Pass the value tested, not a re-read: otherwise a wake-up in between is lost. */
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
}

static void futex_wake(uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void pp_send(struct pingpong *pp, uint32_t value, int efd)
{
	uint64_t one = 1;

	switch (pp->kind) {
	case BENCH_PP_FUTEX:
		__atomic_store_n(&pp->word, value, __ATOMIC_RELEASE);
		futex_wake(&pp->word);
		break;
	case BENCH_PP_SPIN:
		__atomic_store_n(&pp->word, value, __ATOMIC_RELEASE);
		break;
	default:
		while (write(efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		break;
	}
}

static void pp_recv(struct pingpong *pp, uint32_t value, int efd)
{
	uint64_t got;
	uint32_t v;

	switch (pp->kind) {
	case BENCH_PP_FUTEX:
		while ((v = __atomic_load_n(&pp->word, __ATOMIC_ACQUIRE)) != value)
			futex_wait(&pp->word, v);
		break;
	case BENCH_PP_SPIN:
		while (__atomic_load_n(&pp->word, __ATOMIC_ACQUIRE) != value)
			cpu_relax();
		break;
	default:
		while (read(efd, &got, sizeof(got)) < 0 && errno == EINTR)
			;
		break;
	}
}

static int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *pong_main(void *arg)
{
	struct pingpong *pp = arg;

	if (pp->pong_cpu >= 0)
		pin_self(pp->pong_cpu);
	for (uint32_t i = 0; i < pp->rounds; i++) {
		pp_recv(pp, 2 * i + 1, pp->efd_ping);
		pp_send(pp, 2 * i + 2, pp->efd_pong);
	}
	return NULL;
}

static void pp_close(struct pingpong *pp)
{
	if (pp->efd_ping >= 0)
		close(pp->efd_ping);
	if (pp->efd_pong >= 0)
		close(pp->efd_pong);
	if (pp->pinned)
		pthread_setaffinity_np(pthread_self(), sizeof(pp->saved), &pp->saved);
}

static int cpu_ok(int cpu)
{
	return cpu >= -1 && cpu < CPU_SETSIZE;
}

/* Pins the caller to ping_cpu and the pong thread to pong_cpu (-1: leave it to the
 * scheduler) and starts the pong thread for `rounds` round trips. */
static int pp_start(struct pingpong *pp, int kind, int ping_cpu, int pong_cpu, uint64_t rounds)
{
	int ret;

	memset(pp, 0, sizeof(*pp));
	pp->kind = kind;
	pp->pong_cpu = pong_cpu;
	pp->efd_ping = pp->efd_pong = -1;
	if (kind < BENCH_PP_FUTEX || kind > BENCH_PP_SPIN || !cpu_ok(ping_cpu) ||
	    !cpu_ok(pong_cpu) || rounds > UINT32_MAX / 2)
		return -EINVAL;
	pp->rounds = (uint32_t)rounds;
	if (ping_cpu >= 0) {
		if (pthread_getaffinity_np(pthread_self(), sizeof(pp->saved), &pp->saved))
			return -EINVAL;
		ret = pin_self(ping_cpu);
		if (ret)
			return ret;
		pp->pinned = 1;
	}
	if (kind == BENCH_PP_EVENTFD) {
		pp->efd_ping = eventfd(0, EFD_CLOEXEC);
		pp->efd_pong = eventfd(0, EFD_CLOEXEC);
		if (pp->efd_ping < 0 || pp->efd_pong < 0) {
			ret = -errno;
			goto err;
		}
	}
	ret = -pthread_create(&pp->thread, NULL, pong_main, pp);
	if (ret)
		goto err;
	return 0;
err:
	pp_close(pp);
	return ret;
}

/* One timed round trip (ns). */
static int64_t pp_round(struct pingpong *pp)
{
	uint32_t i = pp->sent++;
	int64_t t0 = bench_now_ns();

	pp_send(pp, 2 * i + 1, pp->efd_ping);
	pp_recv(pp, 2 * i + 2, pp->efd_pong);
	return bench_now_ns() - t0;
}

/* Answers the pings the pong thread still waits for, joins it and restores the caller. */
static void pp_stop(struct pingpong *pp)
{
	while (pp->sent < pp->rounds)
		pp_round(pp);
	pthread_join(pp->thread, NULL);
	pp_close(pp);
}

int bench_pingpong(int kind, int ping_cpu, int pong_cpu, uint32_t warmup, uint32_t n,
		   int64_t *ns_out)
{
	struct pingpong pp;
	int ret;

	if (!ns_out)
		return -EINVAL;
	ret = pp_start(&pp, kind, ping_cpu, pong_cpu, (uint64_t)warmup + n);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < warmup; i++)
		pp_round(&pp);
	for (uint32_t i = 0; i < n; i++)
		ns_out[i] = pp_round(&pp);
	pp_stop(&pp);
	return 0;
}

/* ---- A minimal computed-goto interpreter -------------------------------------------------- */

enum { BI_LI, BI_ADD, BI_XOR, BI_ADDI, BI_SUB, BI_LOOP, BI_HALT };

struct bi_insn {
	uint8_t op, rd, rs1, rs2;
	int32_t imm;
};

/* The interpreter a simulator is measured against: pre-decoded instructions, a register
 * file in memory, one indirect jump per instruction, no checks. */
static uint64_t bi_run(const struct bi_insn *prog, uint64_t r1)
{
	static const void *const table[] = {
		[BI_LI] = &&op_li, [BI_ADD] = &&op_add, [BI_XOR] = &&op_xor,
		[BI_ADDI] = &&op_addi, [BI_SUB] = &&op_sub, [BI_LOOP] = &&op_loop,
		[BI_HALT] = &&op_halt,
	};
	const struct bi_insn *pc = prog;
	uint64_t r[32] = { 0 };

	r[1] = r1;
#define NEXT() goto *table[(++pc)->op]
	goto *table[pc->op];
op_li:
	r[pc->rd] = (uint64_t)(int64_t)pc->imm;
	NEXT();
op_add:
	r[pc->rd] = r[pc->rs1] + r[pc->rs2];
	NEXT();
op_xor:
	r[pc->rd] = r[pc->rs1] ^ r[pc->rs2];
	NEXT();
op_addi:
	r[pc->rd] = r[pc->rs1] + (uint64_t)(int64_t)pc->imm;
	NEXT();
op_sub:
	r[pc->rd] = r[pc->rs1] - r[pc->rs2];
	NEXT();
op_loop:
	if (--r[pc->rd] != 0) {
		pc += pc->imm;
		goto *table[pc->op];
	}
	NEXT();
op_halt:
#undef NEXT
	return r[2] ^ r[5];
}

int bench_interp(uint64_t iters, uint64_t *insns_out, int64_t *ns_out)
{
	/* Same program as the NPU kernel of the scalar-core figure (without its ldarg). */
	struct bi_insn prog[] = {
		{ BI_LI, 2, 0, 0, 0 },
		{ BI_LI, 3, 0, 0, 1 },
		{ BI_ADD, 2, 2, 3, 0 },   /* top */
		{ BI_XOR, 4, 2, 1, 0 },
		{ BI_ADDI, 3, 3, 0, 1 },
		{ BI_SUB, 5, 4, 3, 0 },
		{ BI_LOOP, 1, 0, 0, -4 },
		{ BI_HALT, 0, 0, 0, 0 },
	};
	uint64_t result;
	int64_t t0;

	if (!insns_out || !ns_out || iters == 0)
		return -EINVAL;
	__asm__ volatile("" : : "r"(prog) : "memory"); /* the program is data, not constants */
	t0 = bench_now_ns();
	result = bi_run(prog, iters);
	*ns_out = bench_now_ns() - t0;
	__asm__ volatile("" : : "r"(result)); /* the result is used: the loop must run */
	*insns_out = 2 + 5 * iters + 1;
	return 0;
}

/* ---- libnpu loops ------------------------------------------------------------------------- */

struct launcher {
	npu_device_t *dev;
	npu_kernel_t *kernel;
	npu_stream_t *stream;  /* BENCH_WAIT_POLL: a stream of our own to poll */
	int wait;
	uint32_t nargs;
	struct npu_launch_config cfg;
	const void *ptrs[NPU_MAX_KERNEL_ARGS];
	size_t sizes[NPU_MAX_KERNEL_ARGS];
};

static int launcher_init(struct launcher *l, npu_device_t *dev, npu_kernel_t *kernel,
			 const uint64_t *args, uint32_t nargs, uint32_t grid_x, int wait)
{
	if (!dev || !kernel || nargs > NPU_MAX_KERNEL_ARGS || (nargs && !args) ||
	    (wait != BENCH_WAIT_SYNC && wait != BENCH_WAIT_POLL))
		return NPU_ERROR_INVALID_VALUE;
	memset(l, 0, sizeof(*l));
	l->dev = dev;
	l->kernel = kernel;
	l->wait = wait;
	l->nargs = nargs;
	l->cfg.struct_size = sizeof(l->cfg);
	l->cfg.grid[0] = grid_x;
	l->cfg.grid[1] = 1;
	l->cfg.grid[2] = 1;
	for (uint32_t i = 0; i < nargs; i++) {
		l->ptrs[i] = &args[i];
		l->sizes[i] = 8;
	}
	if (wait == BENCH_WAIT_POLL) {
		int ret = npu_stream_create(dev, NULL, &l->stream);
		if (!ret)
			ret = npu_device_set_wait_mode(dev, NPU_WAIT_SPIN, 0);
		if (ret) {
			if (l->stream)
				npu_stream_destroy(l->stream);
			return ret;
		}
		l->cfg.stream = l->stream;
	}
	return 0;
}

static void launcher_fini(struct launcher *l)
{
	if (l->stream) {
		npu_device_set_wait_mode(l->dev, NPU_WAIT_BLOCK, 0);
		npu_stream_destroy(l->stream);
	}
}

static int launch(struct launcher *l)
{
	return npu_launch_kernel(l->dev, l->kernel, &l->cfg, l->ptrs, l->sizes, l->nargs);
}

static int wait_done(struct launcher *l)
{
	if (l->wait == BENCH_WAIT_SYNC)
		return npu_device_synchronize(l->dev);
	/* Polling: libnpu's own polling wait (NPU_WAIT_SPIN, set by launcher_init). */
	return npu_stream_synchronize(l->stream);
}

/* One launch + wait, timed; < 0 is an error. */
static int64_t launch_rt_once(struct launcher *l, int *err)
{
	int64_t t0 = bench_now_ns();

	*err = launch(l);
	if (!*err)
		*err = wait_done(l);
	return bench_now_ns() - t0;
}

int bench_launch_rt(npu_device_t *dev, npu_kernel_t *kernel, const uint64_t *args,
		    uint32_t nargs, uint32_t grid_x, int wait, uint32_t n, int64_t *ns_out)
{
	struct launcher l;
	int ret = ns_out ? launcher_init(&l, dev, kernel, args, nargs, grid_x, wait)
			 : NPU_ERROR_INVALID_VALUE;

	if (ret)
		return ret;
	for (uint32_t i = 0; i < n && !ret; i++)
		ns_out[i] = launch_rt_once(&l, &ret);
	launcher_fini(&l);
	return ret;
}

int bench_launch_vs_pingpong(npu_device_t *dev, npu_kernel_t *kernel, const uint64_t *args,
			     uint32_t nargs, uint32_t grid_x, int kind, int ping_cpu,
			     int pong_cpu, uint32_t warmup, uint32_t n, int64_t *launch_ns,
			     int64_t *pp_ns)
{
	struct launcher l;
	struct pingpong pp;
	int ret;

	/* A spinning pong thread would take a CPU from the device while it runs. */
	if (!launch_ns || !pp_ns || kind == BENCH_PP_SPIN)
		return NPU_ERROR_INVALID_VALUE;
	ret = launcher_init(&l, dev, kernel, args, nargs, grid_x, BENCH_WAIT_SYNC);
	if (ret)
		return ret;
	ret = pp_start(&pp, kind, ping_cpu, pong_cpu, (uint64_t)warmup + n);
	if (ret) {
		launcher_fini(&l);
		return ret;
	}
	for (uint32_t i = 0; i < warmup && !ret; i++) {
		pp_round(&pp);
		launch_rt_once(&l, &ret);
	}
	/* One of each in turn: both see the same machine, the same CPU frequency and the same
	 * neighbours; the order alternates so that neither always follows the other. */
	for (uint32_t i = 0; i < n && !ret; i++) {
		if (i & 1) {
			launch_ns[i] = launch_rt_once(&l, &ret);
			pp_ns[i] = pp_round(&pp);
		} else {
			pp_ns[i] = pp_round(&pp);
			launch_ns[i] = launch_rt_once(&l, &ret);
		}
	}
	pp_stop(&pp);
	launcher_fini(&l);
	return ret;
}

int bench_launch_pipelined(npu_device_t *dev, npu_kernel_t *kernel, const uint64_t *args,
			   uint32_t nargs, uint32_t grid_x, uint32_t n, int64_t *submit_ns,
			   int64_t *total_ns)
{
	struct launcher l;
	int ret = submit_ns && total_ns
		? launcher_init(&l, dev, kernel, args, nargs, grid_x, BENCH_WAIT_SYNC)
		: NPU_ERROR_INVALID_VALUE;
	int64_t t0;

	if (ret)
		return ret;
	t0 = bench_now_ns();
	for (uint32_t i = 0; i < n && !ret; i++)
		ret = launch(&l);
	*submit_ns = bench_now_ns() - t0;
	if (ret)
		npu_device_synchronize(dev);
	else
		ret = npu_device_synchronize(dev);
	*total_ns = bench_now_ns() - t0;
	launcher_fini(&l);
	return ret;
}

int bench_npu_copy(npu_device_t *dev, int dir, npu_deviceptr_t dptr, void *host, size_t n,
		   uint32_t iters, int64_t *ns_out)
{
	if (!ns_out || (dir != BENCH_HTOD && dir != BENCH_DTOH))
		return NPU_ERROR_INVALID_VALUE;
	for (uint32_t i = 0; i < iters; i++) {
		int64_t t0 = bench_now_ns();
		int ret = dir == BENCH_HTOD ? npu_memcpy_htod(dev, dptr, host, n)
					    : npu_memcpy_dtoh(dev, host, dptr, n);
		if (ret)
			return ret;
		ns_out[i] = bench_now_ns() - t0;
	}
	return 0;
}

int bench_graph_replay(npu_device_t *dev, npu_kernel_t *kernel, const uint64_t *args,
		       uint32_t nargs, uint32_t grid_x, uint32_t n, uint32_t reps,
		       int64_t *submit_ns, int64_t *total_ns)
{
	struct launcher l;
	npu_stream_t *cap = NULL;
	npu_graph_t *g = NULL;
	int ret = submit_ns && total_ns
		? launcher_init(&l, dev, kernel, args, nargs, grid_x, BENCH_WAIT_SYNC)
		: NPU_ERROR_INVALID_VALUE;

	if (ret)
		return ret;
	/* The default stream cannot capture: record on a stream of our own, replay on the
	 * default stream as the pipelined figure launches there. */
	ret = npu_stream_create(dev, NULL, &cap);
	if (!ret)
		ret = npu_stream_begin_capture(cap);
	if (!ret) {
		l.cfg.stream = cap;
		for (uint32_t i = 0; i < n && !ret; i++)
			ret = launch(&l);
		int end = npu_stream_end_capture(cap, &g);
		if (!ret)
			ret = end;
	}
	for (uint32_t r = 0; r < reps && !ret; r++) {
		int64_t t0 = bench_now_ns();

		ret = npu_graph_launch(g, NULL);
		submit_ns[r] = bench_now_ns() - t0;
		if (ret)
			npu_device_synchronize(dev);
		else
			ret = npu_device_synchronize(dev);
		total_ns[r] = bench_now_ns() - t0;
	}
	if (g)
		npu_graph_destroy(g);
	if (cap)
		npu_stream_destroy(cap);
	launcher_fini(&l);
	return ret;
}

int bench_npu_copy_2d(npu_device_t *dev, int dir, npu_deviceptr_t dptr, uint64_t dpitch,
		      void *host, uint64_t hpitch, uint64_t width, uint64_t height,
		      uint32_t iters, int64_t *ns_out)
{
	if (!ns_out || (dir != BENCH_HTOD && dir != BENCH_DTOH))
		return NPU_ERROR_INVALID_VALUE;
	for (uint32_t i = 0; i < iters; i++) {
		int64_t t0 = bench_now_ns();
		int ret = dir == BENCH_HTOD
			? npu_memcpy_2d_htod(dev, dptr, dpitch, host, hpitch, width, height)
			: npu_memcpy_2d_dtoh(dev, host, hpitch, dptr, dpitch, width, height);
		if (ret)
			return ret;
		ns_out[i] = bench_now_ns() - t0;
	}
	return 0;
}
