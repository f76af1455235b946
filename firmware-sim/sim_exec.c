/* SPDX-License-Identifier: MIT */
/*
 * sim_exec.c - the NPU core interpreter: runs one program instance over pre-decoded code.
 *
 * The loop is a plain switch generated from NPU_INSN_LIST; each case calls the
 * instruction's body exec_<ID> from sim_insns.h. A spec instruction without a body is an
 * implicit declaration, made a hard error below. No locks per instruction: the only shared
 * state touched is the launch's abort flag, read every SIM_CHECK_INTERVAL instructions.
 */
#include <time.h>

#include "sim_internal.h"

#pragma GCC diagnostic error "-Wimplicit-function-declaration"

enum { SIM_X_OK = 0, SIM_X_HALT = 1, SIM_X_TRAP = 2 };

struct sim_xstate {
	uint64_t r[NPU_ISA_NUM_REGS + 1];   /* r[32]: sink for writes to r0 */
	uint64_t pc;
	uint64_t npc;
	uint64_t cycles;
	uint8_t *sram;
	uint64_t sram_bytes;
	struct sim_core *core;
	const struct sim_launch *l;
	uint64_t pid;
	uint32_t pxyz[3];
	/* the pending trap */
	uint32_t trap;
	uint32_t trap_flags;
	uint64_t trap_addr;
};

uint64_t sim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int sim_x_trap(struct sim_xstate *x, uint32_t code, uint64_t addr, uint32_t flags)
{
	x->trap = code;
	x->trap_addr = addr;
	x->trap_flags = flags;
	return SIM_X_TRAP;
}

/* [addr, addr + len) must be align-aligned and inside the kernel's SRAM. The first bad
 * byte of an access that leaves SRAM is `addr` itself if it starts outside, else the
 * first byte past the end. */
static inline int sram_check(struct sim_xstate *x, uint64_t addr, uint64_t len, uint64_t align,
			     uint32_t flags)
{
	if (SIM_UNLIKELY(addr & (align - 1)))
		return sim_x_trap(x, NPU_TRAP_MISALIGNED, addr, flags);
	if (SIM_UNLIKELY(!sim_range_ok(addr, len, x->sram_bytes)))
		return sim_x_trap(x, NPU_TRAP_SRAM_OOB, addr >= x->sram_bytes ? addr : x->sram_bytes,
				  flags);
	return 0;
}

/* Cycles beyond the base of a timing class: ceil(bytes / per_bytes) + ceil(elems / per_lanes). */
static inline uint64_t extra_cycles(unsigned timing, uint64_t bytes, uint64_t elems)
{
	const struct npu_timing_cost *c = &npu_timing_costs[timing];
	uint64_t cyc = 0;

	if (c->per_bytes)
		cyc += bytes / c->per_bytes + (bytes % c->per_bytes != 0);
	if (c->per_lanes)
		cyc += elems / c->per_lanes + (elems % c->per_lanes != 0);
	return cyc;
}

static inline uint64_t sim_sreg(const struct sim_xstate *x, uint32_t id)
{
	const struct sim_launch *l = x->l;

	switch (id) {
	case NPU_SREG_CORE_ID:      return x->core->id;
	case NPU_SREG_NUM_CORES:    return x->core->hw->cfg.cores;
	case NPU_SREG_PROGRAM_ID:   return x->pid;
	case NPU_SREG_PROGRAM_ID_X: return x->pxyz[0];
	case NPU_SREG_PROGRAM_ID_Y: return x->pxyz[1];
	case NPU_SREG_PROGRAM_ID_Z: return x->pxyz[2];
	case NPU_SREG_NUM_PROGRAMS: return l->total;
	case NPU_SREG_GRID_X:       return l->grid[0];
	case NPU_SREG_GRID_Y:       return l->grid[1];
	case NPU_SREG_GRID_Z:       return l->grid[2];
	case NPU_SREG_NUM_ARGS:     return l->nargs;
	case NPU_SREG_SRAM_SIZE:    return l->sram_bytes;
	case NPU_SREG_CONST_PTR:    return l->const_va;
	case NPU_SREG_CYCLE:        return x->cycles;
	default:                    return 0; /* unreachable: decoded as illegal */
	}
}

/* DMA between device VA `va` and SRAM offset `sram` (already checked), n > 0 bytes. All
 * pages are checked before any byte moves, so a faulting DMA changes nothing. */
static inline int dma(struct sim_xstate *x, const struct sim_dinsn *d, uint64_t va,
		      uint64_t sram, uint64_t n, bool to_dev)
{
	struct sim_mmu *m = &x->core->mmu;
	uint64_t fault_va = 0;

	if (sim_mmu_check(m, va, n, to_dev, &fault_va, NULL))
		return sim_x_trap(x, NPU_TRAP_PAGE_FAULT, fault_va, to_dev ? NPU_FAULT_WRITE : 0);
	sim_mmu_copy(m, va, x->sram + sram, n, to_dev);
	x->cycles += extra_cycles(d->timing, n, 0);
	return 0;
}

/* ---- vector kernels: tight loops the compiler can vectorise; element order is the
 * spec's (i ascending), so overlapping operands give the sequential result. Built with
 * -ffp-contract=off: no FMA, no reassociation. */
#define SIM_CANON_NAN 0x7fc00000u

static inline uint32_t canon_f32(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return (u & 0x7fffffffu) > 0x7f800000u ? SIM_CANON_NAN : u;
}

#define VEC_KERNEL(name, T, expr, store) \
	static inline void name(uint8_t *dst, const uint8_t *a, const uint8_t *b, uint64_t n) \
	{ \
		for (uint64_t i = 0; i < n; i++) { \
			T va, vb; \
			uint32_t out; \
			memcpy(&va, a + 4 * i, 4); \
			memcpy(&vb, b + 4 * i, 4); \
			out = store(expr); \
			memcpy(dst + 4 * i, &out, 4); \
		} \
	}
#define STORE_F32(v) canon_f32(v)
#define STORE_U32(v) ((uint32_t)(v))
VEC_KERNEL(vadd_f32, float, va + vb, STORE_F32)
VEC_KERNEL(vmul_f32, float, va * vb, STORE_F32)
VEC_KERNEL(vadd_i32, uint32_t, va + vb, STORE_U32)
VEC_KERNEL(vmul_i32, uint32_t, va * vb, STORE_U32)

typedef void vec_fn(uint8_t *dst, const uint8_t *a, const uint8_t *b, uint64_t n);

/* rd = rs1 op rs2 over rs3 32-bit elements. Zero elements touch nothing and cannot trap. */
static inline __attribute__((always_inline)) int vec_op(struct sim_xstate *x,
							const struct sim_dinsn *d, vec_fn *fn)
{
	uint64_t n = x->r[d->rs3];
	uint64_t a = x->r[d->rs1], b = x->r[d->rs2], dst = x->r[d->rdr];
	uint64_t len;
	int rc;

	if (n == 0)
		return 0;
	/* n * 4 would overflow only for n > 2^62, which is out of any SRAM anyway */
	len = n > (UINT64_MAX >> 2) ? UINT64_MAX : n * 4;
	if ((rc = sram_check(x, a, len, 4, 0)) || (rc = sram_check(x, b, len, 4, 0)) ||
	    (rc = sram_check(x, dst, len, 4, NPU_FAULT_WRITE)))
		return rc;
	fn(x->sram + dst, x->sram + a, x->sram + b, n);
	x->cycles += extra_cycles(d->timing, len, n);
	return 0;
}

#include "sim_insns.h"

void sim_launch_trap(struct sim_launch *l, const struct sim_fault *f)
{
	int expected = 0;

	if (__atomic_compare_exchange_n(&l->trapped, &expected, 1, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		l->fault = *f;
	__atomic_store_n(&l->abort, 1, __ATOMIC_RELEASE);
}

static int report(struct sim_xstate *x, uint32_t code, uint64_t pc, uint64_t addr, uint32_t flags)
{
	const struct sim_launch *l = x->l;
	struct sim_fault f = {
		.code = code,
		.core = x->core->id,
		.flags = flags | NPU_FAULT_INSN_VALID,
		.pc = pc,
		.addr = addr,
		.insn = l->raw[pc],
	};

	sim_launch_trap((struct sim_launch *)l, &f);
	return 1;
}

int sim_exec_instance(struct sim_core *c, struct sim_launch *l, uint64_t pid)
{
	const struct sim_dinsn *code = l->code;
	const uint64_t n = l->code_words;
	const uint64_t limit = l->max_insns ? l->max_insns : UINT64_MAX;
	uint64_t done = 0;      /* instructions retired before the current chunk */
	uint64_t step, left;
	uint64_t last = l->entry;
	struct sim_xstate x;

	memset(x.r, 0, sizeof(x.r));
	x.pc = l->entry;
	x.npc = 0;
	x.cycles = 0;
	x.sram = c->sram;
	x.sram_bytes = l->sram_bytes;
	x.core = c;
	x.l = l;
	x.pid = pid;
	x.pxyz[0] = (uint32_t)(pid % l->grid[0]);
	x.pxyz[1] = (uint32_t)(pid / l->grid[0] % l->grid[1]);
	x.pxyz[2] = (uint32_t)(pid / ((uint64_t)l->grid[0] * l->grid[1]));
	x.trap = 0;
	memset(c->sram, 0, l->sram_bytes);

	step = left = limit < SIM_CHECK_INTERVAL ? limit : SIM_CHECK_INTERVAL;
	for (;;) {
		const struct sim_dinsn *d;
		int rc;

		if (SIM_UNLIKELY(x.pc >= n))
			return report(&x, NPU_TRAP_PC_OOB, last, x.pc, 0);
		if (SIM_UNLIKELY(left == 0)) {
			done += step;
			if (__atomic_load_n(&l->abort, __ATOMIC_RELAXED))
				return 1;
			if (done >= limit ||
			    (l->deadline_ns && sim_now_ns() >= l->deadline_ns))
				return report(&x, NPU_TRAP_WATCHDOG, x.pc, 0, 0);
			step = left = limit - done < SIM_CHECK_INTERVAL ? limit - done
									: SIM_CHECK_INTERVAL;
		}
		left--;
		d = &code[x.pc];
		x.npc = x.pc + 1;

		switch ((enum npu_insn)d->id) {
#define X(ID, mnemonic, opcode, match, mask, timing) \
		case NPU_INSN_##ID: \
			rc = exec_##ID(&x, d); \
			break;
		NPU_INSN_LIST(X)
#undef X
		case NPU_INSN_ILLEGAL:
		default:
			rc = sim_x_trap(&x, NPU_TRAP_ILLEGAL_INSN, x.pc, 0);
			break;
		}
		if (SIM_UNLIKELY(rc)) {
			if (rc == SIM_X_TRAP)
				return report(&x, x.trap, x.pc, x.trap_addr, x.trap_flags);
			x.cycles += d->cost;
			break;
		}
		x.cycles += d->cost;
		last = x.pc;
		x.pc = x.npc;
	}
	c->cycles += x.cycles;
	return 0;
}
