/* SPDX-License-Identifier: MIT */
/*
 * drv_test.h - helpers shared by the driver's C tests (liburing style: one program per
 * feature; exit 0 = pass, 1 = fail, 77 = skip).
 */
#ifndef DRV_TEST_H
#define DRV_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npu_accel.h"
#include "npu_isa.h"

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

#define T_ASSERT(cond)                                                                   \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__,   \
				#cond);                                                  \
			exit(T_FAIL);                                                    \
		}                                                                        \
	} while (0)

#define T_EQ(a, b)                                                                       \
	do {                                                                             \
		long long a_ = (long long)(a), b_ = (long long)(b);                      \
		if (a_ != b_) {                                                          \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__,  \
				__LINE__, #a, a_, #b, b_);                               \
			exit(T_FAIL);                                                    \
		}                                                                        \
	} while (0)

#define T_OK(expr) T_EQ((expr), 0)

static inline int64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int t_open(void)
{
	int fd = npu_drv_open("npu0", 0);

	if (fd < 0) {
		fprintf(stderr, "npu_drv_open(npu0): %d (%s)\n", fd, strerror(-fd));
		exit(T_FAIL);
	}
	return fd;
}

static inline uint64_t t_param(int fd, uint32_t param)
{
	struct npu_get_param p = { .param = param };

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_GET_PARAM, &p));
	return p.value;
}

static inline struct npu_bo_create t_bo(int fd, uint64_t size, uint32_t flags)
{
	struct npu_bo_create c = { .size = size, .flags = flags };

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_BO_CREATE, &c));
	T_ASSERT(c.handle != 0);
	return c;
}

static inline void t_bo_free(int fd, uint32_t handle)
{
	struct npu_bo_free f = { .handle = handle };

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_BO_FREE, &f));
}

static inline void *t_map(int fd, const struct npu_bo_create *bo, uint64_t size)
{
	int err = 1;
	void *p = npu_drv_mmap(fd, bo->mmap_offset, size, &err);

	T_ASSERT(p != NULL);
	T_EQ(err, 0);
	return p;
}

static inline int t_submit_raw(int fd, const void *cmds, uint32_t size, uint64_t *seqno)
{
	struct npu_submit s = { .cmds = (uint64_t)(uintptr_t)cmds, .cmds_size = size };
	int ret = npu_drv_ioctl(fd, NPU_IOCTL_SUBMIT, &s);

	if (!ret && seqno)
		*seqno = s.seqno;
	return ret;
}

static inline uint64_t t_submit(int fd, const void *cmds, uint32_t size)
{
	uint64_t seqno = 0;

	T_OK(t_submit_raw(fd, cmds, size, &seqno));
	T_ASSERT(seqno != 0);
	return seqno;
}

/* Waits with a relative timeout in ms (0 = poll); returns the ioctl's result. */
static inline int t_wait_ms(int fd, uint64_t seqno, int64_t ms, uint64_t *completed)
{
	struct npu_wait w = {
		.seqno = seqno,
		.timeout_ns = ms ? t_now_ns() + ms * 1000000 : 0,
	};
	int ret = npu_drv_ioctl(fd, NPU_IOCTL_WAIT, &w);

	if (!ret && completed)
		*completed = w.completed;
	return ret;
}

static inline void t_wait(int fd, uint64_t seqno)
{
	uint64_t completed = 0;

	T_OK(t_wait_ms(fd, seqno, 30000, &completed));
	T_ASSERT(completed >= seqno);
}

static inline struct npu_get_fault t_fault(int fd)
{
	struct npu_get_fault f;

	memset(&f, 0, sizeof(f));
	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_GET_FAULT, &f));
	return f;
}

/* ---- Command builders -------------------------------------------------------------------- */
static inline struct npu_cmd_copy t_cmd_copy(uint64_t src, uint64_t dst, uint64_t size)
{
	struct npu_cmd_copy c = {
		.hdr = { .type = NPU_CMD_COPY, .dwords = sizeof(c) / 8 },
		.src_addr = src,
		.dst_addr = dst,
		.size = size,
	};
	return c;
}

static inline struct npu_cmd_fill t_cmd_fill(uint64_t dst, uint64_t size, uint32_t pattern)
{
	struct npu_cmd_fill c = {
		.hdr = { .type = NPU_CMD_FILL, .dwords = sizeof(c) / 8 },
		.dst_addr = dst,
		.size = size,
		.pattern = pattern,
	};
	return c;
}

/* A launch command with its arguments, in a buffer big enough for NPU_MAX_ARGS. */
struct t_launch {
	struct npu_cmd_launch l;
	uint64_t args[NPU_MAX_ARGS];
};

static inline uint32_t t_launch_init(struct t_launch *t, uint64_t code, uint32_t words,
				     uint32_t nargs, const uint64_t *args)
{
	memset(t, 0, sizeof(*t));
	t->l.hdr.type = NPU_CMD_LAUNCH;
	t->l.hdr.dwords = (uint16_t)((sizeof(t->l) + 8u * nargs) / 8u);
	t->l.code_addr = code;
	t->l.code_words = words;
	t->l.grid[0] = t->l.grid[1] = t->l.grid[2] = 1;
	t->l.sram_bytes = 4096;
	t->l.nargs = nargs;
	for (uint32_t i = 0; i < nargs; i++)
		t->args[i] = args[i];
	return t->l.hdr.dwords * 8u;
}

/* ---- Hand encoding of instructions from the generated ISA header ------------------------ */
static inline uint64_t t_match(enum npu_insn id)
{
	switch (id) {
#define T_X(ID, name, opcode, match, mask, timing) \
	case NPU_INSN_##ID:                         \
		return match;
		NPU_INSN_LIST(T_X)
#undef T_X
	default:
		break;
	}
	fprintf(stderr, "unknown instruction id %d\n", (int)id);
	exit(T_FAIL);
}

/* Field layout from npu-isa.toml: op 0-7, rd 8-12, rs1 13-17, rs2 18-22, rs3 23-27,
 * fn 28-31, imm/target/sreg/arg 32-63. */
static inline uint64_t t_insn(enum npu_insn id, unsigned rd, unsigned rs1, unsigned rs2,
			      int32_t imm)
{
	return t_match(id) | (uint64_t)(rd & 31) << 8 | (uint64_t)(rs1 & 31) << 13 |
	       (uint64_t)(rs2 & 31) << 18 | (uint64_t)(uint32_t)imm << 32;
}

/* Writes `words` instructions into a new READ_ONLY|HOST_VISIBLE BO; returns the BO. */
static inline struct npu_bo_create t_code_bo(int fd, const uint64_t *code, uint32_t words)
{
	struct npu_bo_create bo = t_bo(fd, (uint64_t)words * 8, NPU_BO_HOST_VISIBLE |
							      NPU_BO_READ_ONLY);
	void *p = t_map(fd, &bo, (uint64_t)words * 8);

	memcpy(p, code, (size_t)words * 8);
	T_OK(npu_drv_munmap(fd, p, (uint64_t)words * 8));
	return bo;
}


/* ---- uapi 1.1 helpers ---------------------------------------------------------------------- */
/* A command stream built by appending commands. */
struct t_stream {
	uint64_t words[8192];
	uint32_t bytes;
};

static inline void t_put(struct t_stream *s, const void *cmd, uint32_t bytes)
{
	T_ASSERT(s->bytes + bytes <= sizeof(s->words));
	memcpy((uint8_t *)s->words + s->bytes, cmd, bytes);
	s->bytes += bytes;
}

static inline uint32_t t_queue(int fd, uint32_t type, uint32_t prio)
{
	struct npu_queue_create c = { .type = type, .priority = prio };

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_QUEUE_CREATE, &c));
	T_ASSERT(c.queue != 0);
	return c.queue;
}

static inline void t_queue_destroy(int fd, uint32_t queue)
{
	struct npu_queue_destroy d = { .queue = queue };

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_QUEUE_DESTROY, &d));
}

static inline int t_submitq_raw(int fd, uint32_t queue, const void *cmds, uint32_t size,
				uint32_t flags, uint64_t *seqno)
{
	struct npu_submit s = {
		.cmds = (uint64_t)(uintptr_t)cmds, .cmds_size = size, .queue = queue, .flags = flags,
	};
	int ret = npu_drv_ioctl(fd, NPU_IOCTL_SUBMIT, &s);

	if (!ret && seqno)
		*seqno = s.seqno;
	return ret;
}

static inline uint64_t t_submitq(int fd, uint32_t queue, const void *cmds, uint32_t size)
{
	uint64_t seqno = 0;

	T_OK(t_submitq_raw(fd, queue, cmds, size, 0, &seqno));
	T_ASSERT(seqno != 0);
	return seqno;
}

/* JOB_WAIT with a relative timeout in ms (0 = poll); returns the ioctl's result. */
static inline int t_job_wait_ms(int fd, uint32_t queue, uint64_t seqno, int64_t ms,
				int32_t *status)
{
	struct npu_job_wait w = {
		.queue = queue, .seqno = seqno, .timeout_ns = ms ? t_now_ns() + ms * 1000000 : 0,
	};
	int ret = npu_drv_ioctl(fd, NPU_IOCTL_JOB_WAIT, &w);

	if (!ret && status)
		*status = w.status;
	return ret;
}

/* Waits up to 30 s for the job and returns its status. */
static inline int32_t t_job(int fd, uint32_t queue, uint64_t seqno)
{
	int32_t status = 12345;

	T_OK(t_job_wait_ms(fd, queue, seqno, 30000, &status));
	return status;
}

static inline uint32_t t_fence(int fd, uint64_t value)
{
	struct npu_fence_create c = { .value = value };

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_CREATE, &c));
	T_ASSERT(c.handle != 0);
	return c.handle;
}

static inline struct npu_fence_query t_fence_query(int fd, uint32_t handle)
{
	struct npu_fence_query q = { .handle = handle };

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_FENCE_QUERY, &q));
	return q;
}

static inline int t_fence_wait_ms(int fd, uint32_t handle, uint64_t value, int64_t ms,
				  int32_t *error)
{
	struct npu_fence_wait w = {
		.handles = (uint64_t)(uintptr_t)&handle, .values = (uint64_t)(uintptr_t)&value,
		.count = 1, .timeout_ns = ms ? t_now_ns() + ms * 1000000 : 0,
	};
	int ret = npu_drv_ioctl(fd, NPU_IOCTL_FENCE_WAIT, &w);

	if (!ret && error)
		*error = w.error;
	return ret;
}

static inline struct npu_cmd_fence t_cmd_fence(uint16_t type, uint32_t handle, uint64_t value)
{
	struct npu_cmd_fence c = {
		.hdr = { .type = type, .dwords = sizeof(c) / 8 }, .fence = handle, .value = value,
	};
	return c;
}

static inline struct npu_cmd_timestamp t_cmd_ts(uint64_t addr)
{
	struct npu_cmd_timestamp c = {
		.hdr = { .type = NPU_CMD_TIMESTAMP, .dwords = sizeof(c) / 8 }, .dst_addr = addr,
	};
	return c;
}

static inline void t_set_param(int fd, uint32_t param, uint32_t flags, uint64_t value)
{
	struct npu_set_param p = { .param = param, .flags = flags, .value = value };

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_SET_PARAM, &p));
}

static inline struct npu_reset_status t_reset_status(int fd)
{
	struct npu_reset_status r = { 0 };

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_RESET_STATUS, &r));
	return r;
}

static inline int t_inject(int fd, uint32_t what, uint32_t count)
{
	struct npu_inject i = { .what = what, .count = count };

	return npu_drv_ioctl(fd, NPU_IOCTL_INJECT, &i);
}

enum { T_R0, T_R1, T_R2, T_R3, T_R4, T_R5, T_R6, T_R7 };

/* "jmp .": spins forever, touching no memory. */
static inline struct npu_bo_create t_spin_bo(int fd)
{
	const uint64_t spin[] = { t_insn(NPU_INSN_JMP, 0, 0, 0, 0) };

	return t_code_bo(fd, spin, 1);
}

/* out[pid] = arg1 + pid, by DMA from SRAM, after arg2 iterations of an empty loop.
 * args: out, value, iterations. */
#define T_WRITER_WORDS 17
static inline struct npu_bo_create t_writer_bo(int fd)
{
	const uint64_t code[T_WRITER_WORDS] = {
		t_insn(NPU_INSN_LDARG, T_R2, 0, 0, 0),            /* r2 = out */
		t_insn(NPU_INSN_LDARG, T_R6, 0, 0, 1),            /* r6 = value */
		t_insn(NPU_INSN_LDARG, T_R7, 0, 0, 2),            /* r7 = iterations */
		t_insn(NPU_INSN_LI, T_R5, 0, 0, 0),
		t_insn(NPU_INSN_BGE, 0, T_R5, T_R7, 3),           /* while r5 < r7 */
		t_insn(NPU_INSN_ADDI, T_R5, T_R5, 0, 1),
		t_insn(NPU_INSN_JMP, 0, 0, 0, -2),
		t_insn(NPU_INSN_CSRR, T_R4, 0, 0, NPU_SREG_PROGRAM_ID),
		t_insn(NPU_INSN_ADD, T_R1, T_R6, T_R4, 0),        /* r1 = value + pid */
		t_insn(NPU_INSN_SHLI, T_R5, T_R4, 0, 3),
		t_insn(NPU_INSN_ADD, T_R2, T_R2, T_R5, 0),        /* r2 = out + 8 * pid */
		t_insn(NPU_INSN_SD, 0, T_R0, T_R1, 0),            /* SRAM[0] = r1 */
		t_insn(NPU_INSN_LI, T_R3, 0, 0, 8),
		t_insn(NPU_INSN_DMA_ST, T_R2, T_R0, T_R3, 0),     /* out[pid] = SRAM[0..8) */
		t_insn(NPU_INSN_DMA_WAIT, 0, 0, 0, 0),
		t_insn(NPU_INSN_HALT, 0, 0, 0, 0),
		t_insn(NPU_INSN_HALT, 0, 0, 0, 0),
	};

	return t_code_bo(fd, code, T_WRITER_WORDS);
}

static inline uint32_t t_writer(struct t_launch *l, const struct npu_bo_create *code,
				uint64_t out, uint64_t value, uint64_t iterations, uint32_t grid)
{
	uint64_t args[3] = { out, value, iterations };
	uint32_t bytes = t_launch_init(l, code->dev_addr, T_WRITER_WORDS, 3, args);

	l->l.grid[0] = grid;
	return bytes;
}

#endif /* DRV_TEST_H */
