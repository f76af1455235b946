/* SPDX-License-Identifier: MIT */
/*
 * sim_test.h - a tiny "driver" for the firmware-sim tests: everything goes through
 * npu_sim_hw_ops (registers, the aperture, the ISR), as a real driver would. Page tables,
 * rings and status records are written into the aperture by hand.
 */
#ifndef SIM_TEST_H
#define SIM_TEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "npu_hw.h"
#include "npu_isa.h"

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(T_FAIL); \
		} \
	} while (0)
#define CHECK_EQ(a, b) \
	do { \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
		if (a_ != b_) { \
			fprintf(stderr, "%s:%d: %s == 0x%llx, expected %s == 0x%llx\n", __FILE__, \
				__LINE__, #a, a_, #b, b_); \
			exit(T_FAIL); \
		} \
	} while (0)

struct th_dev {
	const struct npu_hw_ops *ops;
	struct npu_hw *hw;
	uint8_t *mem;
	uint64_t mem_size;
	uint64_t next_phys;     /* bump allocator, 64 KiB granules */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t irq_bits;      /* every IRQ_STATUS bit the ISR has seen */
	uint64_t irq_calls;
};

/* An address space: a level-1 table and the level-2 tables it needs. */
struct th_ctx {
	struct th_dev *d;
	uint64_t l1;
};

struct th_queue {
	struct th_dev *d;
	uint32_t id;
	uint64_t ring;
	uint32_t size;
	uint32_t tail;
	uint64_t status_pa;
	struct npu_hw_queue_status *st;
	uint64_t seqno;
};

/* create() + BOOT + ISR; exits 77 if the device cannot be created (e.g. no memory). */
void th_open(struct th_dev *d, const char *config);
void th_close(struct th_dev *d);
uint32_t th_rd(struct th_dev *d, uint32_t off);
void th_wr(struct th_dev *d, uint32_t off, uint32_t v);
uint32_t th_qrd(struct th_queue *q, uint32_t reg);
void th_qwr(struct th_queue *q, uint32_t reg, uint32_t v);
uint64_t th_alloc(struct th_dev *d, uint64_t bytes);
void *th_ptr(struct th_dev *d, uint64_t phys);

void th_ctx_init(struct th_ctx *c, struct th_dev *d);
void th_map(struct th_ctx *c, uint64_t va, uint64_t pa, uint64_t bytes, bool writable);
void th_unmap(struct th_ctx *c, uint64_t va);
/* Allocates fresh physical pages for [va, va + bytes) and maps them; returns the pa. */
uint64_t th_map_new(struct th_ctx *c, uint64_t va, uint64_t bytes, bool writable);

void th_queue_init(struct th_queue *q, struct th_dev *d, uint32_t id, struct th_ctx *c);
void th_emit(struct th_queue *q, const void *pkt, uint32_t bytes);
uint64_t th_fence(struct th_queue *q);
void th_submit(struct th_queue *q);
/* Emits a fence, submits and waits for it: 0, -EIO when the queue faulted, -ETIMEDOUT. */
int th_run(struct th_queue *q);
int th_wait_fence(struct th_queue *q, uint64_t seqno, int timeout_ms);
void th_resume(struct th_queue *q);
/* Waits until the ISR has seen IRQ bit `bit`, then forgets it; false on timeout. */
bool th_wait_irq(struct th_dev *d, uint32_t bit, int timeout_ms);
/* Forgets the IRQ bits seen so far. */
void th_clear_irq(struct th_dev *d);
void th_copy(struct th_queue *q, uint64_t src_va, uint64_t dst_va, uint64_t size);
void th_fill(struct th_queue *q, uint64_t dst_va, uint64_t size, uint32_t pattern);

struct th_launch {
	uint64_t code_va;
	uint32_t code_words;
	uint32_t entry;
	uint32_t grid[3];
	uint32_t sram_bytes;
	uint64_t const_va;
	uint64_t max_insns;
	uint32_t timeout_us;
	uint32_t nargs;
	uint64_t args[NPU_HW_MAX_ARGS];
};
/* Fills l with defaults (grid 1x1x1, 64 KiB SRAM) for code at code_va. */
void th_launch_init(struct th_launch *l, uint64_t code_va, uint32_t words);
void th_launch(struct th_queue *q, const struct th_launch *l);
/* Maps fresh pages at va and copies the code there. */
void th_load_code(struct th_ctx *c, uint64_t va, const uint64_t *code, uint32_t words);

/* Encoding through the generated match values and the field layout of the spec. */
uint64_t th_enc(enum npu_insn id, unsigned rd, unsigned rs1, unsigned rs2, unsigned rs3,
		int64_t imm);
#define E_R(ID, rd, rs1, rs2)        th_enc(NPU_INSN_##ID, rd, rs1, rs2, 0, 0)
#define E_I(ID, rd, rs1, imm)        th_enc(NPU_INSN_##ID, rd, rs1, 0, 0, imm)
#define E_LI(rd, imm)                th_enc(NPU_INSN_LI, rd, 0, 0, 0, imm)
#define E_ST(ID, rs2, imm, rs1)      th_enc(NPU_INSN_##ID, 0, rs1, rs2, 0, imm)
#define E_B(ID, rs1, rs2, off)       th_enc(NPU_INSN_##ID, 0, rs1, rs2, 0, off)
#define E_V(ID, rd, rs1, rs2, rs3)   th_enc(NPU_INSN_##ID, rd, rs1, rs2, rs3, 0)
#define E_DMA(ID, rd, rs1, rs2, tag) th_enc(NPU_INSN_##ID, rd, rs1, rs2, 0, tag)
#define E_CSRR(rd, sreg)             th_enc(NPU_INSN_CSRR, rd, 0, 0, 0, NPU_SREG_##sreg)
#define E_LDARG(rd, idx)             th_enc(NPU_INSN_LDARG, rd, 0, 0, 0, idx)
#define E_HALT                       th_enc(NPU_INSN_HALT, 0, 0, 0, 0, 0)
#define E_NOP                        th_enc(NPU_INSN_NOP, 0, 0, 0, 0, 0)
#define E_JMP(off)                   th_enc(NPU_INSN_JMP, 0, 0, 0, 0, off)

uint64_t th_now_ms(void);

#endif /* SIM_TEST_H */
