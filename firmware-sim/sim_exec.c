/* SPDX-License-Identifier: MIT */
/*
 * sim_exec.c - the NPU core interpreter: runs one program instance over pre-decoded code.
 *
 * Threaded dispatch: every pre-decoded instruction carries the address of its handler, a
 * label of interp() generated from NPU_INSN_LIST, and each handler (the instruction's body
 * exec_<ID> from sim_insns.h, inlined) ends with a jump to the next one's. A spec
 * instruction without a body is an implicit declaration, made a hard error below. The
 * instruction budget, the periodic abort / time checks and the cycle count are settled once
 * per basic block, when it is entered (sim_core.c cuts the code into blocks and validates
 * branch targets, so pc is never checked per instruction). No locks per instruction: the
 * only shared state touched is the launch's abort flag, read every SIM_CHECK_INTERVAL
 * instructions or so.
 */
#include <stdlib.h>
#include <time.h>

#include "sim_internal.h"
#include "sim_simd.h"

#pragma GCC diagnostic error "-Wimplicit-function-declaration"

/* Body results; SIM_X_ABORT: stop quietly, the launch is being aborted. Only branch-class
 * bodies return SIM_X_TAKEN (go to the instruction's target, imm) or SIM_X_JUMP (to npc,
 * checked then). */
enum {
	SIM_X_OK = 0, SIM_X_HALT = 1, SIM_X_TRAP = 2, SIM_X_ABORT = 3, SIM_X_TAKEN = 4,
	SIM_X_JUMP = 5,
};

struct sim_xstate {
	uint64_t r[NPU_ISA_NUM_REGS + 1];   /* r[32]: sink for writes to r0 */
	uint64_t npc;                       /* SIM_X_JUMP's target */
	/* the cycles of the instructions retired so far plus the base cycles of the rest of the
	 * current block, which are counted when it is entered (sim_sreg() takes them off) */
	uint64_t cycles;
	const struct sim_dinsn *code;       /* pc = d - code */
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
	/* the writable special registers (configuration), 0 at the start of the instance */
	uint64_t cfg[NPU_SREG_COUNT];
};

#define SIM_PC(x, d) ((uint64_t)((d) - (x)->code))

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

/* Special register id, read by the instruction d. */
static inline uint64_t sim_sreg(const struct sim_xstate *x, const struct sim_dinsn *d,
				uint32_t id)
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
	case NPU_SREG_CYCLE:        return x->cycles - SIM_BLK_CYCLES(d->blk); /* before d */
	default:                    return x->cfg[id]; /* writable; unknown ids decode illegal */
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

/* ---- vector, matrix and conversion units ------------------------------------------------
 * Element loops are plain `for i` loops over memcpy'd elements, written so the compiler can
 * vectorise them; their element order is the spec's (i ascending), so overlapping operands
 * give the sequential result (the compiler's alias check falls back to the scalar loop).
 * Built with -ffp-contract=off and without fast-math: every float operation below rounds
 * once, exactly as written, which is what docs/numerics.md specifies. */
#define SIM_CANON_NAN   0x7fc00000u
#define SIM_CANON_NAN16 0x7e00u
#define SIM_CANON_BF16  0x7fc0u

/* Element types, as encoded in fn / fn2. */
enum { VT_F32 = 0, VT_I32 = 1, VT_I16 = 2, VT_I8 = 3, VT_F16 = 4, VT_BF16 = 5 };
#define VT_SIZE(t) ((t) == VT_I8 ? 1u : ((t) == VT_I16 || (t) == VT_F16 || (t) == VT_BF16) ? 2u : 4u)
#define VT_FLOAT(t) ((t) == VT_F32 || (t) == VT_F16 || (t) == VT_BF16)

#define SIM_MM_MAX 1024u       /* largest M, N, K of the matrix unit */

static inline uint32_t f2u(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static inline float u2f(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static inline uint32_t canon_f32(float f)
{
	uint32_t u = f2u(f);

	return (u & 0x7fffffffu) > 0x7f800000u ? SIM_CANON_NAN : u;
}

static inline bool is_nan(float f)
{
	return (f2u(f) & 0x7fffffffu) > 0x7f800000u;
}

/* binary16 -> binary32, exact; NaNs come out as a quiet NaN with the sign kept. */
static inline float f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;

	if (e == 0x1f)
		return u2f(sign | 0x7f800000u | (m ? 0x400000u | (m << 13) : 0));
	if (e == 0)
		return u2f(sign | f2u((float)m * 0x1p-24f)); /* exact: m < 2^10 */
	return u2f(sign | ((e + 112) << 23) | (m << 13));
}

/* binary32 -> binary16, round to nearest even, overflow to inf, subnormals kept; a NaN
 * gives the canonical 0x7e00. */
static inline uint16_t f32_to_f16(float f)
{
	uint32_t u = f2u(f);
	uint32_t sign = (u >> 16) & 0x8000u;
	uint32_t a = u & 0x7fffffffu;
	uint32_t h;

	if (a > 0x7f800000u)
		return SIM_CANON_NAN16;
	if (a >= 0x477ff000u) {                /* >= 65520: rounds to inf */
		h = 0x7c00u;
	} else if (a >= 0x38800000u) {         /* normal half */
		a += 0xfffu + ((a >> 13) & 1u);
		h = (a - (112u << 23)) >> 13;
	} else if (a <= 0x33000000u) {         /* <= 2^-25: rounds to 0 */
		h = 0;
	} else {                               /* subnormal half */
		uint32_t m = (a & 0x7fffffu) | 0x800000u;
		uint32_t s = 126u - (a >> 23);     /* 14..24 */
		uint32_t rem = m & ((1u << s) - 1), half = 1u << (s - 1);

		h = m >> s;
		if (rem > half || (rem == half && (h & 1u)))
			h++;
	}
	return (uint16_t)(sign | h);
}

static inline float bf16_to_f32(uint16_t b)
{
	return u2f((uint32_t)b << 16);
}

static inline uint16_t f32_to_bf16(float f)
{
	uint32_t u = f2u(f);

	if ((u & 0x7fffffffu) > 0x7f800000u)
		return SIM_CANON_BF16;
	return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* Round to an integral value, nearest with ties to even (|x| >= 2^23 is integral already). */
static inline float rne_f32(float x)
{
	float ax = u2f(f2u(x) & 0x7fffffffu);
	float r = (ax + 0x1p23f) - 0x1p23f;

	if (!(ax < 0x1p23f))
		return x;
	return u2f(f2u(r) | (f2u(x) & 0x80000000u));
}

/* float -> integer of [lo, hi]: nearest even, saturating, NaN -> 0. */
static inline int32_t f32_to_int(float x, float lo, float hi)
{
	float r = rne_f32(x);

	if (is_nan(x))
		return 0;
	if (r <= lo)
		return (int32_t)lo;
	if (r >= hi)
		return (int32_t)hi;
	return (int32_t)r;
}

/* ---- exact fp32 algorithms of the transcendentals (docs/numerics.md, "vexp.f32" etc.) */
#define EXP_LOG2E 0x1.715476p+0f        /* 1.44269502f, 0x3fb8aa3b */
#define EXP_C1    0x1.63p-1f            /* 0.693359375, 0x3f318000 */
#define EXP_C2    -0x1.bd0106p-13f      /* -2.12194440e-4, 0xb95e8083 */
#define EXP_P0    1.9875691500e-4f
#define EXP_P1    1.3981999507e-3f
#define EXP_P2    8.3334519073e-3f
#define EXP_P3    4.1665795894e-2f
#define EXP_P4    1.6666665459e-1f
#define EXP_P5    5.0000001201e-1f

static inline float exp_f32(float x)
{
	float xc = x > 100.0f ? 100.0f : x;
	float t, nf, r, z, p, y;
	int32_t n, na;

	xc = xc < -104.0f ? -104.0f : xc;
	t = xc * EXP_LOG2E;
	nf = rne_f32(t);
	n = is_nan(nf) ? 0 : (int32_t)nf;
	r = xc - nf * EXP_C1;
	r = r - nf * EXP_C2;
	z = r * r;
	p = EXP_P0;
	p = p * r + EXP_P1;
	p = p * r + EXP_P2;
	p = p * r + EXP_P3;
	p = p * r + EXP_P4;
	p = p * r + EXP_P5;
	y = p * z;
	y = y + r;
	y = y + 1.0f;
	/* y * 2^n in two exact-power steps: the first is exact, the second rounds once. */
	na = n >> 1;
	y = y * u2f((uint32_t)(na + 127) << 23);
	y = y * u2f((uint32_t)(n - na + 127) << 23);
	return is_nan(x) ? x : y;
}

#define TANH_Q0 -5.70498872745e-3f
#define TANH_Q1 2.06390887954e-2f
#define TANH_Q2 -5.37397155531e-2f
#define TANH_Q3 1.33314422036e-1f
#define TANH_Q4 -3.33332819422e-1f

static inline float tanh_f32(float x)
{
	float ax = u2f(f2u(x) & 0x7fffffffu);
	float z, p, ys, e, yb;

	/* |x| > 0.625: 1 - 2 / (exp(2|x|) + 1), sign of x */
	e = exp_f32(ax + ax);
	yb = 1.0f - 2.0f / (e + 1.0f);
	yb = u2f(f2u(yb) | (f2u(x) & 0x80000000u));
	/* |x| <= 0.625: odd polynomial */
	z = x * x;
	p = TANH_Q0;
	p = p * z + TANH_Q1;
	p = p * z + TANH_Q2;
	p = p * z + TANH_Q3;
	p = p * z + TANH_Q4;
	ys = p * z;
	ys = ys * x;
	ys = ys + x;
	if (x == 0.0f || is_nan(x))
		return x;
	return ax > 0.625f ? yb : ys;
}

static inline float sigmoid_f32(float x)
{
	float e = exp_f32(-x);

	return 1.0f / (1.0f + e);
}

#define GELU_C 0.044715f               /* 0x3d372713 */
#define GELU_K 0.7978845608f           /* sqrt(2/pi), 0x3f4c422a */

static inline float gelu_f32(float x)
{
	float u = x * x, t, y, h;

	u = u * x;
	u = u * GELU_C;
	u = x + u;
	u = u * GELU_K;
	t = tanh_f32(u);
	y = t + 1.0f;
	h = x * 0.5f;
	y = h * y;
	return x == -__builtin_inff() ? -0.0f : y;
}

/* max/min of the spec: NaN if either is NaN; -0 < +0; otherwise the IEEE order. */
static inline float fmax_spec(float a, float b)
{
	if (is_nan(a) || is_nan(b))
		return u2f(SIM_CANON_NAN);
	if (a == b)
		return u2f(f2u(a) & f2u(b));     /* +0 wins over -0 */
	return a > b ? a : b;
}

static inline float fmin_spec(float a, float b)
{
	if (is_nan(a) || is_nan(b))
		return u2f(SIM_CANON_NAN);
	if (a == b)
		return u2f(f2u(a) | f2u(b));     /* -0 wins over +0 */
	return a < b ? a : b;
}

/* ---- generic element access, folded to one type by the constant `t` of each body ------ */
static inline __attribute__((always_inline)) float ld_float(const uint8_t *p, unsigned t)
{
	uint16_t h;
	float f;

	if (t == VT_F32) {
		memcpy(&f, p, 4);
		return f;
	}
	memcpy(&h, p, 2);
	return t == VT_F16 ? f16_to_f32(h) : bf16_to_f32(h);
}

static inline __attribute__((always_inline)) int32_t ld_int(const uint8_t *p, unsigned t)
{
	int32_t v32;
	int16_t v16;

	if (t == VT_I8)
		return (int8_t)*p;
	if (t == VT_I16) {
		memcpy(&v16, p, 2);
		return v16;
	}
	memcpy(&v32, p, 4);
	return v32;
}

/* Stores the low bits of v (integers wrap here; saturation is the caller's). */
static inline __attribute__((always_inline)) void st_int(uint8_t *p, unsigned t, uint32_t v)
{
	uint16_t v16 = (uint16_t)v;

	if (t == VT_I8)
		*p = (uint8_t)v;
	else if (t == VT_I16)
		memcpy(p, &v16, 2);
	else
		memcpy(p, &v, 4);
}

static inline __attribute__((always_inline)) void st_float(uint8_t *p, unsigned t, float f)
{
	uint32_t u;
	uint16_t h;

	if (t == VT_F32) {
		u = canon_f32(f);
		memcpy(p, &u, 4);
		return;
	}
	h = t == VT_F16 ? f32_to_f16(f) : f32_to_bf16(f);
	memcpy(p, &h, 2);
}

/* ---- long instructions: they poll the launch's abort flag and deadline while they run ---- */
static inline int sim_x_poll(struct sim_xstate *x)
{
	if (__atomic_load_n(&x->l->abort, __ATOMIC_RELAXED))
		return SIM_X_ABORT;
	if (x->l->deadline_ns && sim_now_ns() >= x->l->deadline_ns)
		return sim_x_trap(x, NPU_TRAP_WATCHDOG, 0, 0);
	return 0;
}

/* ---- operand checks ---------------------------------------------------------------------- */
/* A contiguous vector of n elements of size es at addr. n > 0. */
static inline int vec_check(struct sim_xstate *x, uint64_t addr, uint64_t n, unsigned es,
			    uint32_t flags)
{
	/* n * es overflows only for n > 2^62, which is outside any SRAM anyway */
	uint64_t len = n > (UINT64_MAX >> 2) ? UINT64_MAX : n * es;

	return sram_check(x, addr, len, es, flags);
}

/* Rows r < rows of len bytes at base + r * stride (mod 2^64), each aligned to align. */
static inline int rows_check(struct sim_xstate *x, uint64_t base, uint64_t stride, uint64_t rows,
			     uint64_t len, unsigned align, uint32_t flags)
{
	int rc;

	for (uint64_t r = 0; r < rows; r++) {
		if ((rc = sram_check(x, base + r * stride, len, align, flags)))
			return rc;
		if (SIM_UNLIKELY((r & 4095) == 4095) && (rc = sim_x_poll(x)))
			return rc;
	}
	return 0;
}

/* A wide kernel processes whole vectors in ascending order: that is the spec's sequential
 * loop when the source [s, s + len) is disjoint from dst or starts at or after it (element
 * i is then never read after a lower element's write reached it). */
static inline bool fwd_safe(uint64_t dst, uint64_t s, uint64_t len)
{
	return dst <= s || dst >= s + len;
}

/* ---- elementwise ops ----------------------------------------------------------------------- */
enum {
	VOP_ADD, VOP_SUB, VOP_MUL, VOP_DIV, VOP_MIN, VOP_MAX, VOP_AND, VOP_OR, VOP_XOR,
	VOP_SHL, VOP_SHR, VOP_SRA, VOP_CMPEQ, VOP_CMPLT, VOP_CMPLE, VOP_SEL,
	VOP_ABS, VOP_NEG, VOP_RELU, VOP_EXP, VOP_TANH, VOP_SIGMOID, VOP_GELU, VOP_RSQRT,
	VOP_RECIP, VOP_SQRT,
};

static inline __attribute__((always_inline)) float fbin(unsigned op, float a, float b)
{
	switch (op) {
	case VOP_ADD: return a + b;
	case VOP_SUB: return a - b;
	case VOP_MUL: return a * b;
	case VOP_DIV: return a / b;
	case VOP_MIN: return fmin_spec(a, b);
	default:      return fmax_spec(a, b);
	}
}

/* Integer binary ops on the low W bits, W = 8 * size; signed where it matters. */
static inline __attribute__((always_inline)) uint32_t ibin(unsigned op, unsigned t, int32_t a,
							   int32_t b)
{
	unsigned sh = (unsigned)b & (8 * VT_SIZE(t) - 1);
	uint32_t ua = (uint32_t)a, ub = (uint32_t)b;
	uint32_t zmask = VT_SIZE(t) == 4 ? 0xffffffffu : (1u << (8 * VT_SIZE(t))) - 1;

	switch (op) {
	case VOP_ADD:   return ua + ub;
	case VOP_SUB:   return ua - ub;
	case VOP_MUL:   return ua * ub;
	case VOP_MIN:   return (uint32_t)(a < b ? a : b);
	case VOP_MAX:   return (uint32_t)(a > b ? a : b);
	case VOP_AND:   return ua & ub;
	case VOP_OR:    return ua | ub;
	case VOP_XOR:   return ua ^ ub;
	case VOP_SHL:   return ua << sh;
	case VOP_SHR:   return (ua & zmask) >> sh;
	case VOP_SRA:   return (uint32_t)(a >> sh);
	case VOP_CMPEQ: return a == b ? 0xffffffffu : 0;
	case VOP_CMPLT: return a < b ? 0xffffffffu : 0;
	default:        return a <= b ? 0xffffffffu : 0;  /* VOP_CMPLE */
	}
}

/* rd = rs1 op rs2 over rs3 elements of type t; operands checked rs1, rs2, rd. */
static inline __attribute__((always_inline)) int vbin(struct sim_xstate *x,
						      const struct sim_dinsn *d, unsigned t,
						      unsigned op)
{
	const unsigned es = VT_SIZE(t);
	uint64_t n = x->r[d->rs3];
	uint64_t a = x->r[d->rs1], b = x->r[d->rs2], dst = x->r[d->rdr];
	const uint8_t *pa, *pb;
	uint8_t *pd;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = vec_check(x, a, n, es, 0)) || (rc = vec_check(x, b, n, es, 0)) ||
	    (rc = vec_check(x, dst, n, es, NPU_FAULT_WRITE)))
		return rc;
	pa = x->sram + a;
	pb = x->sram + b;
	pd = x->sram + dst;
	if (op == VOP_SEL) {
		for (uint64_t i = 0; i < n; i++)
			if (ld_int(pa + es * i, t))
				memmove(pd + es * i, pb + es * i, es);
	} else if (t == VT_F32 && op >= VOP_CMPEQ) {
		for (uint64_t i = 0; i < n; i++) {
			float fa = ld_float(pa + 4 * i, t), fb = ld_float(pb + 4 * i, t);
			uint32_t m = op == VOP_CMPEQ ? fa == fb : op == VOP_CMPLT ? fa < fb : fa <= fb;

			m = m ? 0xffffffffu : 0;
			memcpy(pd + 4 * i, &m, 4);
		}
	} else if (t == VT_F32) {
		const struct sim_simd_ops *simd = sim_simd();

		if ((op == VOP_ADD || op == VOP_SUB || op == VOP_MUL) && simd->bin_f32 &&
		    fwd_safe(dst, a, 4 * n) && fwd_safe(dst, b, 4 * n)) {
			simd->bin_f32(op == VOP_ADD ? SIM_VOP_ADD : op == VOP_SUB ? SIM_VOP_SUB
										  : SIM_VOP_MUL,
				      pd, pa, pb, n);
		} else {
			for (uint64_t i = 0; i < n; i++)
				st_float(pd + 4 * i, t, fbin(op, ld_float(pa + 4 * i, t),
							     ld_float(pb + 4 * i, t)));
		}
	} else {
		for (uint64_t i = 0; i < n; i++)
			st_int(pd + es * i, t, ibin(op, t, ld_int(pa + es * i, t),
						    ld_int(pb + es * i, t)));
	}
	x->cycles += extra_cycles(d->timing, n * es, n);
	return 0;
}

static inline __attribute__((always_inline)) float fun(unsigned op, float v)
{
	switch (op) {
	case VOP_ABS:     return u2f(f2u(v) & 0x7fffffffu);
	case VOP_NEG:     return u2f(f2u(v) ^ 0x80000000u);
	case VOP_RELU:    return is_nan(v) ? v : v > 0.0f ? v : 0.0f;
	case VOP_EXP:     return exp_f32(v);
	case VOP_TANH:    return tanh_f32(v);
	case VOP_SIGMOID: return sigmoid_f32(v);
	case VOP_GELU:    return gelu_f32(v);
	case VOP_RSQRT:   return 1.0f / __builtin_sqrtf(v);
	case VOP_RECIP:   return 1.0f / v;
	default:          return __builtin_sqrtf(v);   /* VOP_SQRT */
	}
}

/* rd = op(rs1) over rs2 elements of type t; operands checked rs1, rd. */
static inline __attribute__((always_inline)) int vun(struct sim_xstate *x,
						     const struct sim_dinsn *d, unsigned t,
						     unsigned op)
{
	const unsigned es = VT_SIZE(t);
	uint64_t n = x->r[d->rs2];
	uint64_t a = x->r[d->rs1], dst = x->r[d->rdr];
	const uint8_t *pa;
	uint8_t *pd;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = vec_check(x, a, n, es, 0)) || (rc = vec_check(x, dst, n, es, NPU_FAULT_WRITE)))
		return rc;
	pa = x->sram + a;
	pd = x->sram + dst;
	if (t == VT_F32) {
		const struct sim_simd_ops *simd = sim_simd();
		void (*wide)(uint8_t *, const uint8_t *, uint64_t) =
			op == VOP_EXP ? simd->exp_f32 : op == VOP_RELU ? simd->relu_f32
			: op == VOP_TANH ? simd->tanh_f32 : op == VOP_SIGMOID ? simd->sigmoid_f32
			: op == VOP_GELU ? simd->gelu_f32 : NULL;

		if (wide && fwd_safe(dst, a, 4 * n))
			wide(pd, pa, n);
		else
			for (uint64_t i = 0; i < n; i++)
				st_float(pd + 4 * i, t, fun(op, ld_float(pa + 4 * i, t)));
	} else {
		for (uint64_t i = 0; i < n; i++) {
			int32_t v = ld_int(pa + es * i, t);
			uint32_t r = (uint32_t)v;

			if (op == VOP_NEG || (op == VOP_ABS && v < 0))
				r = 0u - r;
			st_int(pd + es * i, t, r);
		}
	}
	x->cycles += extra_cycles(d->timing, n * es, n);
	return 0;
}

/* SRAM[rd + es*i] = low bits of rs1 for i < rs2. */
static inline __attribute__((always_inline)) int vbcast(struct sim_xstate *x,
							const struct sim_dinsn *d, unsigned t)
{
	const unsigned es = VT_SIZE(t);
	uint64_t n = x->r[d->rs2], dst = x->r[d->rdr];
	uint32_t v = (uint32_t)x->r[d->rs1];
	uint8_t *pd;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = vec_check(x, dst, n, es, NPU_FAULT_WRITE)))
		return rc;
	pd = x->sram + dst;
	for (uint64_t i = 0; i < n; i++)
		st_int(pd + es * i, t, v);
	x->cycles += extra_cycles(d->timing, n * es, n);
	return 0;
}

/* Row reductions: rs2 rows of rs3 elements at rs1 + r * V_STRIDE -> rs2 elements at rd. */
static inline __attribute__((always_inline)) int vred(struct sim_xstate *x,
						      const struct sim_dinsn *d, unsigned t,
						      bool is_max)
{
	uint64_t rows = x->r[d->rs2], cols = x->r[d->rs3];
	uint64_t src = x->r[d->rs1], dst = x->r[d->rdr];
	uint64_t stride = x->cfg[NPU_SREG_V_STRIDE];
	uint64_t len = cols > (UINT64_MAX >> 2) ? UINT64_MAX : cols * 4;
	int rc;

	if (rows == 0 || cols == 0)
		return 0;
	if ((rc = rows_check(x, src, stride, rows, len, 4, 0)) ||
	    (rc = vec_check(x, dst, rows, 4, NPU_FAULT_WRITE)))
		return rc;
	for (uint64_t r = 0; r < rows; r++) {
		const uint8_t *p = x->sram + (src + r * stride);

		if (t == VT_F32) {
			float acc = ld_float(p, t);

			if (is_max) {
				for (uint64_t c = 1; c < cols; c++)
					acc = fmax_spec(acc, ld_float(p + 4 * c, t));
			} else {
				for (uint64_t c = 1; c < cols; c++)
					acc = acc + ld_float(p + 4 * c, t);
			}
			st_float(x->sram + dst + 4 * r, t, acc);
		} else {
			int32_t acc = ld_int(p, t);

			for (uint64_t c = 1; c < cols; c++) {
				int32_t v = ld_int(p + 4 * c, t);

				acc = is_max ? (v > acc ? v : acc) : (int32_t)((uint32_t)acc + (uint32_t)v);
			}
			st_int(x->sram + dst + 4 * r, t, (uint32_t)acc);
		}
		if (SIM_UNLIKELY((r & 255) == 255) && (rc = sim_x_poll(x)))
			return rc;
	}
	x->cycles += extra_cycles(d->timing, rows * len, rows * cols);
	return 0;
}

/* Type conversion src -> dst over rs2 elements; operands checked rs1, rd. */
static inline __attribute__((always_inline)) int vcvt(struct sim_xstate *x,
						      const struct sim_dinsn *d, unsigned dt,
						      unsigned st)
{
	const unsigned es = VT_SIZE(st), ed = VT_SIZE(dt);
	const float lo = dt == VT_I8 ? -128.0f : dt == VT_I16 ? -32768.0f : -0x1p31f;
	const float hi = dt == VT_I8 ? 127.0f : dt == VT_I16 ? 32767.0f : 0x1p31f;
	const int32_t ilo = dt == VT_I8 ? -128 : dt == VT_I16 ? -32768 : INT32_MIN;
	const int32_t ihi = dt == VT_I8 ? 127 : dt == VT_I16 ? 32767 : INT32_MAX;
	uint64_t n = x->r[d->rs2], a = x->r[d->rs1], dst = x->r[d->rdr];
	const uint8_t *pa;
	uint8_t *pd;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = vec_check(x, a, n, es, 0)) || (rc = vec_check(x, dst, n, ed, NPU_FAULT_WRITE)))
		return rc;
	pa = x->sram + a;
	pd = x->sram + dst;
	for (uint64_t i = 0; i < n; i++) {
		if (VT_FLOAT(st) && VT_FLOAT(dt)) {
			st_float(pd + ed * i, dt, ld_float(pa + es * i, st));
		} else if (VT_FLOAT(st)) {
			float f = ld_float(pa + es * i, st);
			int32_t v;

			/* 2^31 itself saturates: compare before converting */
			if (dt == VT_I32)
				v = is_nan(f) ? 0 : rne_f32(f) >= hi ? INT32_MAX
					: rne_f32(f) <= lo ? INT32_MIN : (int32_t)rne_f32(f);
			else
				v = f32_to_int(f, lo, hi);
			st_int(pd + ed * i, dt, (uint32_t)v);
		} else if (VT_FLOAT(dt)) {
			st_float(pd + ed * i, dt, (float)ld_int(pa + es * i, st));
		} else {
			int32_t v = ld_int(pa + es * i, st);

			st_int(pd + ed * i, dt, (uint32_t)(v < ilo ? ilo : v > ihi ? ihi : v));
		}
	}
	x->cycles += extra_cycles(d->timing, n * (es > ed ? es : ed), n);
	return 0;
}

/* int32 -> int8/int16: clamp(rne(x * M / 2^S) + Z). */
static inline __attribute__((always_inline)) int vrequant(struct sim_xstate *x,
							  const struct sim_dinsn *d, unsigned dt)
{
	const unsigned ed = VT_SIZE(dt);
	const int64_t lo = dt == VT_I8 ? -128 : -32768, hi = dt == VT_I8 ? 127 : 32767;
	uint64_t n = x->r[d->rs2], a = x->r[d->rs1], dst = x->r[d->rdr];
	int64_t mult = (int32_t)(uint32_t)x->cfg[NPU_SREG_RQ_MULT];
	int64_t zp = (int32_t)(uint32_t)x->cfg[NPU_SREG_RQ_ZP];
	uint64_t s = x->cfg[NPU_SREG_RQ_SHIFT];
	const uint8_t *pa;
	uint8_t *pd;
	int rc;

	if (n == 0)
		return 0;
	if (s > 62)
		return sim_x_trap(x, NPU_TRAP_BAD_OPERAND, s, 0);
	if ((rc = vec_check(x, a, n, 4, 0)) || (rc = vec_check(x, dst, n, ed, NPU_FAULT_WRITE)))
		return rc;
	pa = x->sram + a;
	pd = x->sram + dst;
	for (uint64_t i = 0; i < n; i++) {
		int64_t p = (int64_t)ld_int(pa + 4 * i, VT_I32) * mult;
		int64_t q = p >> s;     /* floor: arithmetic shift */

		if (s) {
			uint64_t rem = (uint64_t)p & ((1ull << s) - 1), half = 1ull << (s - 1);

			q += rem > half || (rem == half && (q & 1));
		}
		q += zp;
		st_int(pd + ed * i, dt, (uint32_t)(q < lo ? lo : q > hi ? hi : q));
	}
	x->cycles += extra_cycles(d->timing, n * 4, n);
	return 0;
}

/* ---- matrix unit --------------------------------------------------------------------------- */
/* Per-thread scratch: A and B converted to f32 / i32 before C is touched, which also gives
 * the spec's "A and B as they were before the instruction" when they overlap C. */
static __thread struct {
	void *p;
	size_t size;
} sim_scratch;

void sim_exec_thread_done(void)
{
	free(sim_scratch.p);
	sim_scratch.p = NULL;
	sim_scratch.size = 0;
}

static void *scratch(size_t bytes)
{
	if (bytes > sim_scratch.size) {
		void *p = realloc(sim_scratch.p, bytes);

		if (!p)
			return NULL;
		sim_scratch.p = p;
		sim_scratch.size = bytes;
	}
	return sim_scratch.p;
}

#define MM_NB 64    /* columns per accumulator block: stays in registers / L1 */

/* mm on the wide kernels (sim_simd.c), operands checked. C rows that overlap each other
 * (|MM_LDC| < 4N) go one row at a time, so each row reads what the rows before it wrote. */
static int mm_wide(struct sim_xstate *x, const struct sim_dinsn *d, unsigned t, bool acc)
{
	const struct sim_simd_ops *simd = sim_simd();
	struct sim_mm mm = {
		.sram = x->sram,
		.a = x->r[d->rs1], .lda = x->cfg[NPU_SREG_MM_LDA],
		.b = x->r[d->rs2], .ldb = x->cfg[NPU_SREG_MM_LDB],
		.c = x->r[d->rdr], .ldc = x->cfg[NPU_SREG_MM_LDC],
		.M = x->cfg[NPU_SREG_MM_M], .N = x->cfg[NPU_SREG_MM_N], .K = x->cfg[NPU_SREG_MM_K],
		.type = t == VT_I8 ? SIM_MM_I8 : t == VT_F16 ? SIM_MM_F16
			: t == VT_BF16 ? SIM_MM_BF16 : SIM_MM_F32,
		.acc = acc,
	};
	uint64_t dist = mm.ldc <= INT64_MAX ? mm.ldc : 0 - mm.ldc;
	uint64_t step = mm.M == 1 || dist >= 4 * mm.N ? 64 : 1;
	void *buf = scratch(simd->mm_scratch(&mm));
	int rc;

	if (!buf)
		return sim_x_trap(x, NPU_TRAP_ABORTED, 0, 0); /* host out of memory */
	simd->mm_pack(&mm, buf);
	for (uint64_t m = 0; m < mm.M; m += step) {
		simd->mm_rows(&mm, m, mm.M - m < step ? mm.M : m + step);
		if (SIM_UNLIKELY(((m + step) & 63) == 0) && (rc = sim_x_poll(x)))
			return rc;
	}
	x->cycles += extra_cycles(d->timing, 0, mm.M * mm.N * mm.K);
	return 0;
}

static inline __attribute__((always_inline)) int mm(struct sim_xstate *x,
						    const struct sim_dinsn *d, unsigned t, bool acc)
{
	const unsigned es = VT_SIZE(t);
	uint64_t M = x->cfg[NPU_SREG_MM_M], N = x->cfg[NPU_SREG_MM_N], K = x->cfg[NPU_SREG_MM_K];
	uint64_t lda = x->cfg[NPU_SREG_MM_LDA], ldb = x->cfg[NPU_SREG_MM_LDB];
	uint64_t ldc = x->cfg[NPU_SREG_MM_LDC];
	uint64_t A = x->r[d->rs1], B = x->r[d->rs2], C = x->r[d->rdr];
	void *buf;
	int rc;

	if (M > SIM_MM_MAX)
		return sim_x_trap(x, NPU_TRAP_BAD_OPERAND, M, 0);
	if (N > SIM_MM_MAX)
		return sim_x_trap(x, NPU_TRAP_BAD_OPERAND, N, 0);
	if (K > SIM_MM_MAX)
		return sim_x_trap(x, NPU_TRAP_BAD_OPERAND, K, 0);
	if (!M || !N || !K)
		return 0;
	if ((rc = rows_check(x, A, lda, M, K * es, es, 0)) ||
	    (rc = rows_check(x, B, ldb, K, N * es, es, 0)) ||
	    (rc = rows_check(x, C, ldc, M, N * 4, 4, NPU_FAULT_WRITE)))
		return rc;
	if (sim_simd()->mm_rows)
		return mm_wide(x, d, t, acc);
	buf = scratch((M * K + K * N) * 4);
	if (!buf)
		return sim_x_trap(x, NPU_TRAP_ABORTED, 0, 0); /* host out of memory */
	/* Each path writes and reads the scratch with one type (malloc'd memory takes the type
	 * of its stores), so there is no aliasing between float and integer views. */
	if (t == VT_I8) {
		int32_t *ai = buf, *bi = ai + M * K;

		for (uint64_t m = 0; m < M; m++)
			for (uint64_t k = 0; k < K; k++)
				ai[m * K + k] = ld_int(x->sram + (A + m * lda) + k, t);
		for (uint64_t k = 0; k < K; k++)
			for (uint64_t n = 0; n < N; n++)
				bi[k * N + n] = ld_int(x->sram + (B + k * ldb) + n, t);
		for (uint64_t m = 0; m < M; m++) {
			uint8_t *pc = x->sram + (C + m * ldc);

			for (uint64_t n0 = 0; n0 < N; n0 += MM_NB) {
				uint64_t nb = N - n0 < MM_NB ? N - n0 : MM_NB;
				uint32_t ac[MM_NB];

				if (acc)
					memcpy(ac, pc + 4 * n0, 4 * nb);
				else
					memset(ac, 0, sizeof(ac));
				for (uint64_t k = 0; k < K; k++) {
					const int32_t *bk = bi + k * N + n0;
					int32_t av = ai[m * K + k];

					for (uint64_t j = 0; j < nb; j++)
						ac[j] += (uint32_t)(av * bk[j]);
				}
				memcpy(pc + 4 * n0, ac, 4 * nb);
			}
			if (SIM_UNLIKELY((m & 63) == 63) && (rc = sim_x_poll(x)))
				return rc;
		}
	} else {
		float *af = buf, *bf = af + M * K;

		for (uint64_t m = 0; m < M; m++)
			for (uint64_t k = 0; k < K; k++)
				af[m * K + k] = ld_float(x->sram + (A + m * lda) + es * k, t);
		for (uint64_t k = 0; k < K; k++)
			for (uint64_t n = 0; n < N; n++)
				bf[k * N + n] = ld_float(x->sram + (B + k * ldb) + es * n, t);
		for (uint64_t m = 0; m < M; m++) {
			uint8_t *pc = x->sram + (C + m * ldc);

			for (uint64_t n0 = 0; n0 < N; n0 += MM_NB) {
				uint64_t nb = N - n0 < MM_NB ? N - n0 : MM_NB;
				float ac[MM_NB];

				for (uint64_t j = 0; j < nb; j++)
					ac[j] = acc ? ld_float(pc + 4 * (n0 + j), VT_F32) : 0.0f;
				for (uint64_t k = 0; k < K; k++) {
					const float *bk = bf + k * N + n0;
					float av = af[m * K + k];

					for (uint64_t j = 0; j < nb; j++)
						ac[j] = ac[j] + av * bk[j];
				}
				for (uint64_t j = 0; j < nb; j++)
					st_float(pc + 4 * (n0 + j), VT_F32, ac[j]);
			}
			if (SIM_UNLIKELY((m & 63) == 63) && (rc = sim_x_poll(x)))
				return rc;
		}
	}
	x->cycles += extra_cycles(d->timing, 0, M * N * K);
	return 0;
}

/* sim_mmu_check() of one row of a 2-D DMA, inlined, as the rows' copies are
 * (sim_mmu_copy_pages()): rows are often a few hundred bytes (matmul tiles), where the calls
 * and sim_mmu_copy()'s atomic progress bump per row cost more than the copy; dma2() counts
 * one progress event per transfer (and per 4096 rows of a long one). */
static inline bool row_mapped(struct sim_mmu *m, uint64_t va, uint64_t len, bool write,
			      uint64_t *fault_va)
{
	uint64_t off = 0, avail;

	while (off < len) {
		if (!sim_mmu_span(m, va + off, write, &avail)) {
			*fault_va = va + off;
			return false;
		}
		off += avail;
	}
	return true;
}

/* 2-D DMA: rows of rb bytes; every SRAM row, then every device row, is checked before any
 * byte moves, so a faulting transfer changes nothing. */
static inline int dma2(struct sim_xstate *x, const struct sim_dinsn *d, bool to_dev)
{
	uint64_t rb = x->r[d->rs2], rows = x->r[d->rs3];
	uint64_t ss = x->cfg[NPU_SREG_DMA_SSTRIDE], ds = x->cfg[NPU_SREG_DMA_DSTRIDE];
	uint64_t sram = to_dev ? x->r[d->rs1] : x->r[d->rdr], sstride = to_dev ? ss : ds;
	uint64_t va = to_dev ? x->r[d->rdr] : x->r[d->rs1], vstride = to_dev ? ds : ss;
	struct sim_mmu *m = &x->core->mmu;
	uint64_t fault_va = 0, bytes;
	int rc;

	if (!rb || !rows)
		return 0;
	if ((rc = rows_check(x, sram, sstride, rows, rb, 1, to_dev ? 0 : NPU_FAULT_WRITE)))
		return rc;
	for (uint64_t r = 0; r < rows; r++) {
		if (!row_mapped(m, va + r * vstride, rb, to_dev, &fault_va))
			return sim_x_trap(x, NPU_TRAP_PAGE_FAULT, fault_va,
					  to_dev ? NPU_FAULT_WRITE : 0);
		if (SIM_UNLIKELY((r & 4095) == 4095) && (rc = sim_x_poll(x)))
			return rc;
	}
	for (uint64_t r = 0; r < rows; r++) {
		sim_mmu_copy_pages(m, va + r * vstride, x->sram + (sram + r * sstride), rb, to_dev);
		if (SIM_UNLIKELY((r & 4095) == 4095)) {
			/* a long transfer shows the watchdog progress as it goes */
			if (m->progress)
				__atomic_fetch_add(m->progress, 1, __ATOMIC_RELAXED);
			if ((rc = sim_x_poll(x)))
				return rc;
		}
	}
	if (m->progress)
		__atomic_fetch_add(m->progress, 1, __ATOMIC_RELAXED);
	bytes = rows > UINT64_MAX / rb ? UINT64_MAX : rows * rb;
	x->cycles += extra_cycles(d->timing, bytes, 0);
	return 0;
}

/* ---- synchronisation: barrier and semaphores of the launch (struct sim_sync) -------------
 * They need every instance of the launch running at once (l->sync_ok: total <= cores), so
 * a waiting instance can never hold the core another one needs. Waits sleep in slices to
 * notice an abort (trap elsewhere, reset) and the deadline. */
#define SIM_SYNC_SLICE_NS 10000000ull

/* Every unfinished instance waits (barrier or sem.wait), at least one in sem.wait, and no
 * semaphore that one of them waits for has a count to take: nobody can ever move. */
static void sync_deadlock_check(const struct sim_launch *l, struct sim_sync *s)
{
	if (!s->sem_waiters || s->at_barrier + s->sem_waiters + s->finished != l->total)
		return;
	for (unsigned i = 0; i < SIM_NUM_SEMS; i++)
		if (s->sem_wait_n[i] && s->sem[i])
			return; /* a waiter of sem i has not woken yet */
	s->deadlock = true;
	pthread_cond_broadcast(&s->cond);
}

/* One sleep with s->lock held. 0: re-check; else the instance must stop (lock still held). */
static int sync_sleep(struct sim_xstate *x, struct sim_sync *s)
{
	struct timespec ts;
	uint64_t t;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + SIM_SYNC_SLICE_NS;
	ts.tv_sec = (time_t)(t / 1000000000ull);
	ts.tv_nsec = (long)(t % 1000000000ull);
	pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	return sim_x_poll(x);
}

static int sync_barrier(struct sim_xstate *x)
{
	struct sim_launch *l = (struct sim_launch *)x->l;
	struct sim_sync *s = &l->sync;
	uint64_t gen;
	int rc = 0;

	if (!l->sync_ok)
		return sim_x_trap(x, NPU_TRAP_BAD_SYNC, l->total, 0);
	pthread_mutex_lock(&s->lock);
	gen = s->barrier_gen;
	if (++s->at_barrier + s->finished == l->total) {
		s->at_barrier = 0;
		s->barrier_gen++;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	sync_deadlock_check(l, s);
	while (s->barrier_gen == gen) {
		/* in a deadlock a sem.wait waiter reports the trap; this one just stops */
		if (s->deadlock)
			rc = SIM_X_ABORT;
		else
			rc = sync_sleep(x, s);
		if (rc) {
			s->at_barrier--;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sync_sem_wait(struct sim_xstate *x, uint64_t idx)
{
	struct sim_launch *l = (struct sim_launch *)x->l;
	struct sim_sync *s = &l->sync;
	int rc = 0;

	if (idx >= SIM_NUM_SEMS)
		return sim_x_trap(x, NPU_TRAP_BAD_OPERAND, idx, 0);
	if (!l->sync_ok)
		return sim_x_trap(x, NPU_TRAP_BAD_SYNC, l->total, 0);
	pthread_mutex_lock(&s->lock);
	while (s->sem[idx] == 0) {
		s->sem_waiters++;
		s->sem_wait_n[idx]++;
		sync_deadlock_check(l, s);
		if (s->deadlock)
			rc = sim_x_trap(x, NPU_TRAP_DEADLOCK, idx, 0);
		else
			rc = sync_sleep(x, s);
		s->sem_waiters--;
		s->sem_wait_n[idx]--;
		if (rc)
			break;
	}
	if (!rc)
		s->sem[idx]--;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sync_sem_signal(struct sim_xstate *x, uint64_t idx)
{
	struct sim_launch *l = (struct sim_launch *)x->l;
	struct sim_sync *s = &l->sync;

	if (idx >= SIM_NUM_SEMS)
		return sim_x_trap(x, NPU_TRAP_BAD_OPERAND, idx, 0);
	if (!l->sync_ok)
		return 0; /* nobody can wait in such a launch: the count is unobservable */
	pthread_mutex_lock(&s->lock);
	s->sem[idx]++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* A halted instance counts as arrived at every later barrier. */
static void sync_finish(struct sim_xstate *x)
{
	struct sim_launch *l = (struct sim_launch *)x->l;
	struct sim_sync *s = &l->sync;

	if (!l->sync_ok)
		return;
	pthread_mutex_lock(&s->lock);
	s->finished++;
	if (s->at_barrier && s->at_barrier + s->finished == l->total) {
		s->at_barrier = 0;
		s->barrier_gen++;
	}
	sync_deadlock_check(l, s);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

#include "sim_insns.h"

void sim_launch_trap(struct sim_launch *l, const struct sim_fault *f)
{
	int expected = 0;

	if (__atomic_compare_exchange_n(&l->trapped, &expected, 1, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		l->fault = *f;
	__atomic_store_n(&l->abort, 1, __ATOMIC_RELEASE);
	if (l->sync_ok) {
		/* wake the waiters in barrier / sem.wait now rather than at their next slice */
		pthread_mutex_lock(&l->sync.lock);
		pthread_cond_broadcast(&l->sync.cond);
		pthread_mutex_unlock(&l->sync.lock);
	}
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

/* The plain dispatch of one instruction, for the only place that cannot run whole blocks:
 * the block where the instruction budget ends. Never the last instruction of its block.
 * Inlined: passing interp()'s state to an opaque function makes GCC treat it as escaped,
 * and then TSan instruments every register access (2x slower sanitised builds). */
static inline __attribute__((always_inline)) int step_insn(struct sim_xstate *x,
							   const struct sim_dinsn *d)
{
	switch (d->id) {
#define X(ID, mnemonic, opcode, match, mask, timing) \
	case NPU_INSN_##ID: \
		return exec_##ID(x, d);
	NPU_INSN_LIST(X)
#undef X
	default:
		return sim_x_trap(x, NPU_TRAP_ILLEGAL_INSN, SIM_PC(x, d), 0);
	}
}

#ifdef __clang__
#define SIM_NOCLONE
#else
#define SIM_NOCLONE __attribute__((noclone))
#endif

/* Runs one program instance (see sim_exec_instance), or with ops != NULL only returns the
 * handler table in *ops: label addresses are valid only inside this function, which must
 * therefore never be inlined or cloned (GCC does neither with a static table of labels). */
static __attribute__((noinline)) SIM_NOCLONE int interp(struct sim_core *c, struct sim_launch *l,
						    uint64_t pid, const void *const **ops)
{
	static const void *const labels[SIM_OP_PC_OOB + 1] = {
		[NPU_INSN_ILLEGAL] = &&op_ILLEGAL,
#define X(ID, mnemonic, opcode, match, mask, timing) [NPU_INSN_##ID] = &&op_##ID,
		NPU_INSN_LIST(X)
#undef X
		[SIM_OP_PC_OOB] = &&op_PC_OOB,
	};
	const struct sim_dinsn *code, *d;
	uint64_t limit;         /* instruction budget, UINT64_MAX for none */
	uint64_t done = 0;      /* instructions of the blocks entered before the current chunk */
	uint64_t chunk, left;   /* instructions between checks, and the rest of them */
	uint64_t rem;
	struct sim_xstate x;
	int rc;

	if (ops) {
		*ops = labels;
		return 0;
	}
	code = l->code;
	limit = l->max_insns ? l->max_insns : UINT64_MAX;
	memset(x.r, 0, sizeof(x.r));
	x.npc = 0;
	x.cycles = 0;
	x.code = code;
	x.sram = c->sram;
	x.sram_bytes = l->sram_bytes;
	x.core = c;
	x.l = l;
	x.pid = pid;
	x.pxyz[0] = (uint32_t)(pid % l->grid[0]);
	x.pxyz[1] = (uint32_t)(pid / l->grid[0] % l->grid[1]);
	x.pxyz[2] = (uint32_t)(pid / ((uint64_t)l->grid[0] * l->grid[1]));
	x.trap = 0;
	memset(x.cfg, 0, sizeof(x.cfg));
	memset(c->sram, 0, l->sram_bytes);

	chunk = left = limit < SIM_CHECK_INTERVAL ? limit : SIM_CHECK_INTERVAL;
	d = code + l->entry;

	/* d starts a block: the entry, a branch target, or the instruction after a branch. Each
	 * branch enters its own copy, so each has its own indirect jump to predict. */
#define ENTER_BLOCK() \
	do { \
		uint64_t blk_ = d->blk; \
		\
		if (SIM_UNLIKELY(left < SIM_BLK_INSNS(blk_))) \
			goto refill; \
		left -= SIM_BLK_INSNS(blk_); \
		x.cycles += SIM_BLK_CYCLES(blk_); \
		goto *d->op; \
	} while (0)
block:
	ENTER_BLOCK();
enter:
	left -= SIM_BLK_INSNS(d->blk);
	x.cycles += SIM_BLK_CYCLES(d->blk);
	goto *d->op;

	/* One handler per instruction; rc is a constant for most bodies, so these tests fold. */
#define X(ID, mnemonic, opcode, match, mask, timing) \
op_##ID: \
	rc = exec_##ID(&x, d); \
	if (SIM_LIKELY(rc == SIM_X_OK)) { \
		d++; \
		if (NPU_TIMING_##timing == NPU_TIMING_BRANCH) \
			ENTER_BLOCK(); \
		goto *d->op; \
	} \
	if (NPU_TIMING_##timing == NPU_TIMING_BRANCH && rc == SIM_X_TAKEN) { \
		d += d->imm; \
		ENTER_BLOCK(); \
	} \
	goto out;
	NPU_INSN_LIST(X)
#undef X
#undef ENTER_BLOCK

op_ILLEGAL:
	return report(&x, NPU_TRAP_ILLEGAL_INSN, SIM_PC(&x, d), SIM_PC(&x, d), 0);
op_PC_OOB: { /* code[n - 1] running off the end, or a branch to its bad target */
	uint64_t from = (uint64_t)d->imm;

	return report(&x, NPU_TRAP_PC_OOB, from,
		      d == code + l->code_words ? l->code_words
						: from + (uint64_t)NPU_FIELD_IMM(l->raw[from]), 0);
}

refill:	/* every SIM_CHECK_INTERVAL instructions, or more for a longer block */
	done += chunk - left;
	if (__atomic_load_n(&l->abort, __ATOMIC_RELAXED))
		return __atomic_load_n(&l->kill, __ATOMIC_RELAXED) /* NPU_QCTL_KILL */
			       ? report(&x, NPU_TRAP_WATCHDOG, SIM_PC(&x, d), 0, NPU_FAULT_KILLED)
			       : 1;
	if (l->deadline_ns && sim_now_ns() >= l->deadline_ns)
		return report(&x, NPU_TRAP_WATCHDOG, SIM_PC(&x, d), 0, 0);
	rem = limit - done;
	if (SIM_UNLIKELY(rem < SIM_BLK_INSNS(d->blk)))
		goto partial;
	chunk = rem < SIM_CHECK_INTERVAL ? rem : SIM_CHECK_INTERVAL;
	if (chunk < SIM_BLK_INSNS(d->blk))
		chunk = SIM_BLK_INSNS(d->blk);
	left = chunk;
	goto enter;

partial: /* the budget ends inside this block: rem instructions retire, the next one traps */
	x.cycles += SIM_BLK_CYCLES(d->blk);
	for (; rem; rem--, d++)
		if ((rc = step_insn(&x, d)))
			goto out;
	return report(&x, NPU_TRAP_WATCHDOG, SIM_PC(&x, d), 0, 0);

out:
	switch (rc) {
	case SIM_X_JUMP:
		if (x.npc >= l->code_words)
			return report(&x, NPU_TRAP_PC_OOB, SIM_PC(&x, d), x.npc, 0);
		d = code + x.npc;
		goto block;
	case SIM_X_HALT:
		sync_finish(&x);
		c->cycles += x.cycles;
		return 0;
	case SIM_X_TRAP:
		return report(&x, x.trap, SIM_PC(&x, d), x.trap_addr, x.trap_flags);
	default: /* SIM_X_ABORT */
		return __atomic_load_n(&l->kill, __ATOMIC_RELAXED)
			       ? report(&x, NPU_TRAP_WATCHDOG, SIM_PC(&x, d), 0, NPU_FAULT_KILLED)
			       : 1;
	}
}

void sim_exec_link(struct sim_dinsn *code, uint64_t count)
{
	const void *const *ops;

	interp(NULL, NULL, 0, &ops);
	for (uint64_t i = 0; i < count; i++)
		code[i].op = ops[code[i].id];
}

int sim_exec_instance(struct sim_core *c, struct sim_launch *l, uint64_t pid)
{
	return interp(c, l, pid, NULL);
}
