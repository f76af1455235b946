/* SPDX-License-Identifier: MIT */
/*
 * sim_simd.h - wide (AVX2 / AVX-512) kernels of the vector and matrix units, picked once
 * per process from what the host CPU has. The project builds for baseline x86-64 (SSE2),
 * so these are compiled with per-function target attributes and reached only through
 * sim_simd(); the portable loops in sim_exec.c stay the definition and the fallback.
 *
 * Every kernel does the per-element operations of docs/numerics.md in the same order as
 * the portable loops (no FMA, k ascending for floats; integer sums wrap mod 2^32, so any
 * grouping is exact), so its results are bit-identical on every level.
 */
#ifndef SIM_SIMD_H
#define SIM_SIMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sim_simd_level {
	SIM_SIMD_GENERIC = 0,   /* the portable loops of sim_exec.c */
	SIM_SIMD_AVX2,          /* AVX2 + F16C */
	SIM_SIMD_AVX512,        /* AVX-512 F, BW, DQ, VL */
	SIM_SIMD_AVX512_VNNI,   /* ... and VNNI (vpdpbusd) for int8 matmul */
	SIM_SIMD_LEVELS
};

/* Element types of a matmul's A and B. */
enum sim_mm_type { SIM_MM_F32, SIM_MM_F16, SIM_MM_BF16, SIM_MM_I8 };

/* One mm / mma. The caller fills the first block (operands already checked); pack() fills
 * the rest. C row m is at sram + (c + m * ldc) mod 2^64, likewise A and B. */
struct sim_mm {
	uint8_t *sram;
	uint64_t a, lda, b, ldb, c, ldc;
	uint64_t M, N, K;
	enum sim_mm_type type;
	bool acc;               /* mma: start from C */
	/* packed copies of A and B (so C may overlap them), set by pack() */
	void *pa, *pb;
	int32_t *colsum;        /* int8 with vpdpbusd: column sums of B */
	uint64_t kp, np;        /* padded K and N of the packed copies */
};

enum sim_vop { SIM_VOP_ADD, SIM_VOP_SUB, SIM_VOP_MUL };

struct sim_simd_ops {
	enum sim_simd_level level;
	/* fp32 elementwise over n elements of SRAM, canonical NaNs. The caller guarantees
	 * each source is disjoint from dst or starts at or after it, so processing whole
	 * vectors in ascending order gives the spec's sequential result. */
	void (*bin_f32)(enum sim_vop op, uint8_t *dst, const uint8_t *a, const uint8_t *b,
			uint64_t n);
	void (*relu_f32)(uint8_t *dst, const uint8_t *src, uint64_t n);
	void (*exp_f32)(uint8_t *dst, const uint8_t *src, uint64_t n);
	void (*tanh_f32)(uint8_t *dst, const uint8_t *src, uint64_t n);
	void (*sigmoid_f32)(uint8_t *dst, const uint8_t *src, uint64_t n);
	void (*gelu_f32)(uint8_t *dst, const uint8_t *src, uint64_t n);
	/* Matmul: scratch bytes for mm (64-byte aligned by the callee inside it), packing
	 * of A and B into the scratch, then C rows [m0, m1) for all n, each C row read (mma)
	 * and written once, row blocks in ascending order. */
	size_t (*mm_scratch)(const struct sim_mm *mm);
	void (*mm_pack)(struct sim_mm *mm, void *scratch);
	void (*mm_rows)(const struct sim_mm *mm, uint64_t m0, uint64_t m1);
};

/* The kernels of this process, chosen on the first call: the best level the CPU supports,
 * capped by NPU_SIM_SIMD=generic|avx2|avx512|avx512vnni in the environment. NULL members
 * (all of them at SIM_SIMD_GENERIC): use the portable loop. */
const struct sim_simd_ops *sim_simd(void);
/* The kernels of one level, or NULL if this CPU does not have it (tests). */
const struct sim_simd_ops *sim_simd_ops_of(enum sim_simd_level level);
/* The level's name, as NPU_SIM_SIMD spells it. */
const char *sim_simd_name(enum sim_simd_level level);

#endif /* SIM_SIMD_H */
