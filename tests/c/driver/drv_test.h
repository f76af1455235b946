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

#endif /* DRV_TEST_H */
