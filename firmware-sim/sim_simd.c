/* SPDX-License-Identifier: MIT */
/*
 * sim_simd.c - AVX2 / AVX-512 kernels of the vector and matrix units (sim_simd.h).
 *
 * The host build is baseline x86-64, so each kernel carries a target attribute and is
 * reached only through the table sim_simd() picks once from the CPU's features (GCC
 * function multiversioning by hand: an explicit table rather than target_clones, so that
 * NPU_SIM_SIMD can force any level and the tests can run every one of them).
 *
 * Bit-exactness (docs/numerics.md): float kernels do, per element, the same IEEE binary32
 * operations in the same order as the portable loops of sim_exec.c: intrinsics map one to
 * one onto mulps / addps / roundps, no target here enables FMA and the project builds with
 * -ffp-contract=off; matmul vectorises across the columns of C, so every C element still
 * sums its products k ascending. Integer matmul sums wrap mod 2^32, so pmaddwd's pairs and
 * vpdpbusd's quads (with A + 128 as unsigned and 128 * colsum(B) taken off: exact mod 2^32)
 * give the same bits as the sequential loop.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"
#include "sim_simd.h"

#define CANON_NAN 0x7fc00000u

static const char *const level_names[SIM_SIMD_LEVELS] = {
	"generic", "avx2", "avx512", "avx512vnni",
};

const char *sim_simd_name(enum sim_simd_level level)
{
	return level < SIM_SIMD_LEVELS ? level_names[level] : "?";
}

static const struct sim_simd_ops ops_generic = { .level = SIM_SIMD_GENERIC };

static inline uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

static inline void *align64(void *p)
{
	return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

#if defined(__x86_64__)
#include <immintrin.h>

#define T_AVX2   __attribute__((target("avx2,f16c")))
#define T_AVX512 __attribute__((target("avx2,f16c,avx512f,avx512bw,avx512dq,avx512vl")))
#define T_VNNI   __attribute__((target("avx2,f16c,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#define INLINE   static inline __attribute__((always_inline))

/* Rows of C per register block; the column block is one strip of the packed B. */
#define MM_R 4
#define NB_AVX2   16    /* 2 x 8 lanes */
#define NB_AVX512 64    /* 4 x 16 lanes */

/* B rows past K (padding of the int8 packings) read from here. */
static const int8_t zero_row[1024 + 64];

/* One noinline function per row count R of a register block, so that each gets the
 * register allocator to itself (inlined side by side, GCC copied every accumulator
 * around each vpdpbusd), and a table of them indexed by R - 1. */
#define MM_BLOCKS(name, block, target) \
	target static __attribute__((noinline)) void name##_1(const struct sim_mm *mm, uint64_t m, \
							      uint64_t n0) { block(mm, m, 1, n0); } \
	target static __attribute__((noinline)) void name##_2(const struct sim_mm *mm, uint64_t m, \
							      uint64_t n0) { block(mm, m, 2, n0); } \
	target static __attribute__((noinline)) void name##_3(const struct sim_mm *mm, uint64_t m, \
							      uint64_t n0) { block(mm, m, 3, n0); } \
	target static __attribute__((noinline)) void name##_4(const struct sim_mm *mm, uint64_t m, \
							      uint64_t n0) { block(mm, m, 4, n0); } \
	static void (*const name[MM_R])(const struct sim_mm *, uint64_t, uint64_t) = { \
		name##_1, name##_2, name##_3, name##_4, \
	}

/* Row blocks of C rows [m0, m1), column strips of nb, n outer (a strip of B stays in cache). */
static inline __attribute__((always_inline)) void mm_strips(
	const struct sim_mm *mm, uint64_t m0, uint64_t m1, uint64_t nb,
	void (*const blocks[MM_R])(const struct sim_mm *, uint64_t, uint64_t))
{
	for (uint64_t n0 = 0; n0 < mm->N; n0 += nb)
		for (uint64_t m = m0; m < m1; m += MM_R)
			blocks[(m1 - m < MM_R ? m1 - m : MM_R) - 1](mm, m, n0);
}

/* C row m of a matmul. Offsets wrap mod 2^64 like the spec's addresses; the rows were
 * checked to lie in SRAM. */
static inline uint8_t *c_row(const struct sim_mm *mm, uint64_t m)
{
	return mm->sram + (mm->c + m * mm->ldc);
}

/* ---- fp32 conversion of A and B rows (f16 by F16C, exact; bf16 by shift) ------------- */
INLINE T_AVX2 void cvt_row(float *dst, const uint8_t *src, uint64_t n, enum sim_mm_type t)
{
	uint64_t i = 0;

	if (t == SIM_MM_F32) {
		memcpy(dst, src, 4 * n);
	} else if (t == SIM_MM_BF16) {
		for (; i < n; i++) {
			uint16_t h;
			uint32_t u;

			memcpy(&h, src + 2 * i, 2);
			u = (uint32_t)h << 16;
			memcpy(dst + i, &u, 4);
		}
	} else {
		for (; i + 8 <= n; i += 8)
			_mm256_storeu_ps(dst + i,
					 _mm256_cvtph_ps(_mm_loadu_si128((const void *)(src + 2 * i))));
		if (i < n) {
			uint16_t tmp[8] = { 0 };
			float out[8];

			memcpy(tmp, src + 2 * i, 2 * (n - i));
			_mm256_storeu_ps(out, _mm256_cvtph_ps(_mm_loadu_si128((const void *)tmp)));
			memcpy(dst + i, out, 4 * (n - i));
		}
	}
}

/* Float packing: A as M x K fp32, B as K x np fp32 (np = N rounded up to the strip width,
 * the padding zero). */
INLINE T_AVX2 size_t mmf_scratch(const struct sim_mm *mm, uint64_t nb)
{
	return 4 * (mm->M * mm->K + mm->K * round_up(mm->N, nb)) + 128;
}

INLINE T_AVX2 void mmf_pack(struct sim_mm *mm, void *scratch, uint64_t nb)
{
	uint64_t np = round_up(mm->N, nb);
	float *pa = align64(scratch), *pb = align64(pa + mm->M * mm->K);

	for (uint64_t m = 0; m < mm->M; m++)
		cvt_row(pa + m * mm->K, mm->sram + (mm->a + m * mm->lda), mm->K, mm->type);
	for (uint64_t k = 0; k < mm->K; k++) {
		cvt_row(pb + k * np, mm->sram + (mm->b + k * mm->ldb), mm->N, mm->type);
		memset(pb + k * np + mm->N, 0, 4 * (np - mm->N));
	}
	mm->pa = pa;
	mm->pb = pb;
	mm->kp = mm->K;
	mm->np = np;
}

/* dst[0, kp) = src[0, n) sign-extended, then zeros. */
INLINE T_AVX2 void widen_row(int16_t *dst, const int8_t *src, uint64_t n, uint64_t kp)
{
	uint64_t i = 0;

	for (; i + 16 <= n; i += 16)
		_mm256_storeu_si256((void *)(dst + i),
				    _mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)(src + i))));
	for (; i < n; i++)
		dst[i] = src[i];
	for (; i < kp; i++)
		dst[i] = 0;
}

/* int8 packing for pmaddwd: A as M x kp int16 (kp = K rounded up to 2), B as kp/2 rows of
 * np (int16 B[2q][n], int16 B[2q+1][n]) pairs; the padding zero. */
INLINE T_AVX2 size_t mmw_scratch(const struct sim_mm *mm, uint64_t nb)
{
	uint64_t kp = round_up(mm->K, 2);

	return 2 * (mm->M * kp + kp * round_up(mm->N, nb)) + 128;
}

INLINE T_AVX2 void mmw_pack(struct sim_mm *mm, void *scratch, uint64_t nb)
{
	uint64_t kp = round_up(mm->K, 2), np = round_up(mm->N, nb), N = mm->N;
	int16_t *pa = align64(scratch), *pb = align64(pa + mm->M * kp);

	for (uint64_t m = 0; m < mm->M; m++)
		widen_row(pa + m * kp, (const int8_t *)mm->sram + (mm->a + m * mm->lda), mm->K, kp);
	for (uint64_t q = 0; q < kp / 2; q++) {
		const int8_t *r0 = (const int8_t *)mm->sram + (mm->b + 2 * q * mm->ldb);
		const int8_t *r1 = 2 * q + 1 < mm->K
					   ? (const int8_t *)mm->sram + (mm->b + (2 * q + 1) * mm->ldb)
					   : zero_row;
		int16_t *d = pb + q * np * 2;
		uint64_t n = 0;

		for (; n + 8 <= N; n += 8) {
			__m128i s0 = _mm_cvtepi8_epi16(_mm_loadl_epi64((const void *)(r0 + n)));
			__m128i s1 = _mm_cvtepi8_epi16(_mm_loadl_epi64((const void *)(r1 + n)));

			_mm_storeu_si128((void *)(d + 2 * n), _mm_unpacklo_epi16(s0, s1));
			_mm_storeu_si128((void *)(d + 2 * n + 8), _mm_unpackhi_epi16(s0, s1));
		}
		for (; n < N; n++) {
			d[2 * n] = r0[n];
			d[2 * n + 1] = r1[n];
		}
		memset(d + 2 * N, 0, 4 * (np - N));
	}
	mm->pa = pa;
	mm->pb = pb;
	mm->kp = kp;
	mm->np = np;
}

/* ---- AVX2 ------------------------------------------------------------------------------ */
INLINE T_AVX2 __m256 canon8(__m256 v)
{
	return _mm256_blendv_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32((int)CANON_NAN)),
				_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

/* Lanes [0, left) of 8, as a maskload / maskstore mask. */
INLINE T_AVX2 __m256i mask8(int64_t left)
{
	int l = left < 0 ? 0 : left > 8 ? 8 : (int)left;

	return _mm256_cmpgt_epi32(_mm256_set1_epi32(l), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

INLINE T_AVX2 __m256 bin8(enum sim_vop op, __m256 a, __m256 b)
{
	return op == SIM_VOP_ADD ? _mm256_add_ps(a, b)
	       : op == SIM_VOP_SUB ? _mm256_sub_ps(a, b) : _mm256_mul_ps(a, b);
}

INLINE T_AVX2 void bin_f32_8(enum sim_vop op, uint8_t *dst, const uint8_t *a, const uint8_t *b,
			     uint64_t n)
{
	uint64_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 r = bin8(op, _mm256_loadu_ps((const float *)(a + 4 * i)),
				_mm256_loadu_ps((const float *)(b + 4 * i)));

		_mm256_storeu_ps((float *)(dst + 4 * i), canon8(r));
	}
	if (i < n) {
		__m256i k = mask8((int64_t)(n - i));
		__m256 r = bin8(op, _mm256_maskload_ps((const float *)(a + 4 * i), k),
				_mm256_maskload_ps((const float *)(b + 4 * i), k));

		_mm256_maskstore_ps((float *)(dst + 4 * i), k, canon8(r));
	}
}

T_AVX2 static void bin_f32_avx2(enum sim_vop op, uint8_t *dst, const uint8_t *a,
				const uint8_t *b, uint64_t n)
{
	switch (op) {
	case SIM_VOP_ADD: bin_f32_8(SIM_VOP_ADD, dst, a, b, n); break;
	case SIM_VOP_SUB: bin_f32_8(SIM_VOP_SUB, dst, a, b, n); break;
	default:          bin_f32_8(SIM_VOP_MUL, dst, a, b, n); break;
	}
}

/* relu: x if x > 0, else +0; NaN stays NaN (the store makes it canonical). */
INLINE T_AVX2 __m256 relu8(__m256 x)
{
	return _mm256_blendv_ps(_mm256_and_ps(x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ)),
				x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* The exp algorithm of docs/numerics.md ("vexp.f32") on 8 lanes, operation by operation
 * as exp_f32() in sim_exec.c; roundps with nearest-even is rne() for |t| < 2^23 (t is
 * within +-151 here). */
INLINE T_AVX2 __m256 exp8(__m256 x)
{
	const __m256 one = _mm256_set1_ps(1.0f);
	__m256 xc, t, nf, r, z, p, y;
	__m256i n, na;

	xc = _mm256_blendv_ps(x, _mm256_set1_ps(100.0f),
			      _mm256_cmp_ps(x, _mm256_set1_ps(100.0f), _CMP_GT_OQ));
	xc = _mm256_blendv_ps(xc, _mm256_set1_ps(-104.0f),
			      _mm256_cmp_ps(xc, _mm256_set1_ps(-104.0f), _CMP_LT_OQ));
	t = _mm256_mul_ps(xc, _mm256_set1_ps(0x1.715476p+0f));
	nf = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	n = _mm256_cvtps_epi32(nf);
	r = _mm256_sub_ps(xc, _mm256_mul_ps(nf, _mm256_set1_ps(0x1.63p-1f)));
	r = _mm256_sub_ps(r, _mm256_mul_ps(nf, _mm256_set1_ps(-0x1.bd0106p-13f)));
	z = _mm256_mul_ps(r, r);
	p = _mm256_set1_ps(1.9875691500e-4f);
	p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.3981999507e-3f));
	p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(8.3334519073e-3f));
	p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(4.1665795894e-2f));
	p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.6666665459e-1f));
	p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(5.0000001201e-1f));
	y = _mm256_mul_ps(p, z);
	y = _mm256_add_ps(y, r);
	y = _mm256_add_ps(y, one);
	na = _mm256_srai_epi32(n, 1);
	y = _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(
				     _mm256_add_epi32(na, _mm256_set1_epi32(127)), 23)));
	y = _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(
				     _mm256_add_epi32(_mm256_sub_epi32(n, na), _mm256_set1_epi32(127)),
				     23)));
	/* NaN in, canonical NaN out; no other input gives a NaN */
	return _mm256_blendv_ps(y, _mm256_castsi256_ps(_mm256_set1_epi32((int)CANON_NAN)),
				_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* tanh, sigmoid and gelu of docs/numerics.md on 8 lanes, operation by operation as
 * tanh_f32(), sigmoid_f32() and gelu_f32() in sim_exec.c (exp8 for their exp: it differs
 * from exp_f32() only for a NaN input, where these results are NaN anyway). */
INLINE T_AVX2 __m256 tanh8(__m256 x)
{
	const __m256 one = _mm256_set1_ps(1.0f);
	const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
	__m256 ax = _mm256_andnot_ps(sign, x), e, yb, z, p, ys, r;

	e = exp8(_mm256_add_ps(ax, ax));
	yb = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
	yb = _mm256_or_ps(yb, _mm256_and_ps(x, sign));
	z = _mm256_mul_ps(x, x);
	p = _mm256_set1_ps(-5.70498872745e-3f);
	p = _mm256_add_ps(_mm256_mul_ps(p, z), _mm256_set1_ps(2.06390887954e-2f));
	p = _mm256_add_ps(_mm256_mul_ps(p, z), _mm256_set1_ps(-5.37397155531e-2f));
	p = _mm256_add_ps(_mm256_mul_ps(p, z), _mm256_set1_ps(1.33314422036e-1f));
	p = _mm256_add_ps(_mm256_mul_ps(p, z), _mm256_set1_ps(-3.33332819422e-1f));
	ys = _mm256_mul_ps(p, z);
	ys = _mm256_mul_ps(ys, x);
	ys = _mm256_add_ps(ys, x);
	r = _mm256_blendv_ps(ys, yb, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_GT_OQ));
	/* x == +-0 or NaN: x itself */
	return _mm256_blendv_ps(r, x, _mm256_or_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ),
						   _mm256_cmp_ps(x, x, _CMP_UNORD_Q)));
}

INLINE T_AVX2 __m256 sigmoid8(__m256 x)
{
	__m256 e = exp8(_mm256_xor_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u))));

	return _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

INLINE T_AVX2 __m256 gelu8(__m256 x)
{
	__m256 u = _mm256_mul_ps(x, x), t, y, h;

	u = _mm256_mul_ps(u, x);
	u = _mm256_mul_ps(u, _mm256_set1_ps(0.044715f));
	u = _mm256_add_ps(x, u);
	u = _mm256_mul_ps(u, _mm256_set1_ps(0.7978845608f));
	t = tanh8(u);
	y = _mm256_add_ps(t, _mm256_set1_ps(1.0f));
	h = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
	y = _mm256_mul_ps(h, y);
	return _mm256_blendv_ps(y, _mm256_set1_ps(-0.0f),
				_mm256_cmp_ps(x, _mm256_set1_ps(-__builtin_inff()), _CMP_EQ_OQ));
}

/* n elements of fn(src) to dst, canonical NaNs; whole vectors, then a masked tail. */
#define UNARY8(name, fn) \
	T_AVX2 static void name(uint8_t *dst, const uint8_t *src, uint64_t n) \
	{ \
		uint64_t i = 0; \
		for (; i + 8 <= n; i += 8) \
			_mm256_storeu_ps((float *)(dst + 4 * i), \
					 canon8(fn(_mm256_loadu_ps((const float *)(src + 4 * i))))); \
		if (i < n) { \
			__m256i k = mask8((int64_t)(n - i)); \
			_mm256_maskstore_ps((float *)(dst + 4 * i), k, \
					    canon8(fn(_mm256_maskload_ps((const float *)(src + 4 * i), \
									 k)))); \
		} \
	}
UNARY8(relu_f32_avx2, relu8)
UNARY8(exp_f32_avx2, exp8)
UNARY8(tanh_f32_avx2, tanh8)
UNARY8(sigmoid_f32_avx2, sigmoid8)
UNARY8(gelu_f32_avx2, gelu8)

/* Stores of C blocks: a plain store where every lane is in C. (With only the masked store
 * after the k loop, GCC 12 copied every accumulator twice per iteration.) */
INLINE T_AVX2 void st8f(float *p, __m256i k, __m256 v)
{
	if (_mm256_movemask_ps(_mm256_castsi256_ps(k)) == 0xff)
		_mm256_storeu_ps(p, v);
	else
		_mm256_maskstore_ps(p, k, v);
}

INLINE T_AVX2 void st8i(int *p, __m256i k, __m256i v)
{
	if (_mm256_movemask_ps(_mm256_castsi256_ps(k)) == 0xff)
		_mm256_storeu_si256((void *)p, v);
	else
		_mm256_maskstore_epi32(p, k, v);
}

/* Float matmul, R rows x 16 columns of C in registers. */
INLINE T_AVX2 void mmf_block8(const struct sim_mm *mm, uint64_t m, unsigned R, uint64_t n0)
{
	const float *pa = mm->pa, *pb = (const float *)mm->pb + n0;
	__m256 acc[MM_R][2];
	__m256i km[2];
	float *cr[MM_R];

	km[0] = mask8((int64_t)(mm->N - n0));
	km[1] = mask8((int64_t)(mm->N - n0) - 8);
#pragma GCC unroll 4
	for (unsigned r = 0; r < R; r++) {
		cr[r] = (float *)c_row(mm, m + r) + n0;
		for (unsigned j = 0; j < 2; j++)
			acc[r][j] = mm->acc ? _mm256_maskload_ps(cr[r] + 8 * j, km[j])
					    : _mm256_setzero_ps();
	}
	for (uint64_t k = 0; k < mm->K; k++) {
		__m256 b0 = _mm256_load_ps(pb + k * mm->np), b1 = _mm256_load_ps(pb + k * mm->np + 8);

#pragma GCC unroll 4
		for (unsigned r = 0; r < R; r++) {
			__m256 av = _mm256_broadcast_ss(pa + (m + r) * mm->K + k);

			acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_mul_ps(av, b0));
			acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_mul_ps(av, b1));
		}
	}
#pragma GCC unroll 4
	for (unsigned r = 0; r < R; r++)
		for (unsigned j = 0; j < 2; j++)
			st8f(cr[r] + 8 * j, km[j], canon8(acc[r][j]));
}

/* int8 matmul by pmaddwd: R rows x 16 columns of C in registers. */
INLINE T_AVX2 void mmw_block8(const struct sim_mm *mm, uint64_t m, unsigned R, uint64_t n0)
{
	const int16_t *pa = mm->pa, *pb = (const int16_t *)mm->pb + 2 * n0;
	__m256i acc[MM_R][2], km[2];
	int *cr[MM_R];

	km[0] = mask8((int64_t)(mm->N - n0));
	km[1] = mask8((int64_t)(mm->N - n0) - 8);
#pragma GCC unroll 4
	for (unsigned r = 0; r < R; r++) {
		cr[r] = (int *)c_row(mm, m + r) + n0;
		for (unsigned j = 0; j < 2; j++)
			acc[r][j] = mm->acc ? _mm256_maskload_epi32(cr[r] + 8 * j, km[j])
					    : _mm256_setzero_si256();
	}
	for (uint64_t q = 0; q < mm->kp / 2; q++) {
		const int16_t *bq = pb + 2 * q * mm->np;
		__m256i b0 = _mm256_load_si256((const void *)bq);
		__m256i b1 = _mm256_load_si256((const void *)(bq + 16));

#pragma GCC unroll 4
		for (unsigned r = 0; r < R; r++) {
			int32_t pair;
			__m256i av;

			memcpy(&pair, pa + (m + r) * mm->kp + 2 * q, 4);
			av = _mm256_set1_epi32(pair);
			acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, b0));
			acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, b1));
		}
	}
#pragma GCC unroll 4
	for (unsigned r = 0; r < R; r++)
		for (unsigned j = 0; j < 2; j++)
			st8i(cr[r] + 8 * j, km[j], acc[r][j]);
}

T_AVX2 static size_t mm_scratch_avx2(const struct sim_mm *mm)
{
	return mm->type == SIM_MM_I8 ? mmw_scratch(mm, NB_AVX2) : mmf_scratch(mm, NB_AVX2);
}

T_AVX2 static void mm_pack_avx2(struct sim_mm *mm, void *scratch)
{
	if (mm->type == SIM_MM_I8)
		mmw_pack(mm, scratch, NB_AVX2);
	else
		mmf_pack(mm, scratch, NB_AVX2);
}

MM_BLOCKS(mmw_avx2, mmw_block8, T_AVX2);
MM_BLOCKS(mmf_avx2, mmf_block8, T_AVX2);

static void mm_rows_avx2(const struct sim_mm *mm, uint64_t m0, uint64_t m1)
{
	mm_strips(mm, m0, m1, NB_AVX2, mm->type == SIM_MM_I8 ? mmw_avx2 : mmf_avx2);
}

static const struct sim_simd_ops ops_avx2 = {
	.level = SIM_SIMD_AVX2,
	.bin_f32 = bin_f32_avx2,
	.relu_f32 = relu_f32_avx2,
	.exp_f32 = exp_f32_avx2,
	.tanh_f32 = tanh_f32_avx2,
	.sigmoid_f32 = sigmoid_f32_avx2,
	.gelu_f32 = gelu_f32_avx2,
	.mm_scratch = mm_scratch_avx2,
	.mm_pack = mm_pack_avx2,
	.mm_rows = mm_rows_avx2,
};

/* ---- AVX-512 ----------------------------------------------------------------------------- */
INLINE T_AVX512 __m512 canon16(__m512 v)
{
	return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v,
				    _mm512_castsi512_ps(_mm512_set1_epi32((int)CANON_NAN)));
}

/* Lanes [0, left) of 16. */
INLINE T_AVX512 __mmask16 mask16(int64_t left)
{
	return left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
}

INLINE T_AVX512 __m512 bin16(enum sim_vop op, __m512 a, __m512 b)
{
	return op == SIM_VOP_ADD ? _mm512_add_ps(a, b)
	       : op == SIM_VOP_SUB ? _mm512_sub_ps(a, b) : _mm512_mul_ps(a, b);
}

INLINE T_AVX512 void bin_f32_16(enum sim_vop op, uint8_t *dst, const uint8_t *a,
				const uint8_t *b, uint64_t n)
{
	uint64_t i = 0;

	for (; i + 16 <= n; i += 16) {
		__m512 r = bin16(op, _mm512_loadu_ps(a + 4 * i), _mm512_loadu_ps(b + 4 * i));

		_mm512_storeu_ps(dst + 4 * i, canon16(r));
	}
	if (i < n) {
		__mmask16 k = mask16((int64_t)(n - i));
		__m512 r = bin16(op, _mm512_maskz_loadu_ps(k, a + 4 * i),
				 _mm512_maskz_loadu_ps(k, b + 4 * i));

		_mm512_mask_storeu_ps(dst + 4 * i, k, canon16(r));
	}
}

T_AVX512 static void bin_f32_avx512(enum sim_vop op, uint8_t *dst, const uint8_t *a,
				    const uint8_t *b, uint64_t n)
{
	switch (op) {
	case SIM_VOP_ADD: bin_f32_16(SIM_VOP_ADD, dst, a, b, n); break;
	case SIM_VOP_SUB: bin_f32_16(SIM_VOP_SUB, dst, a, b, n); break;
	default:          bin_f32_16(SIM_VOP_MUL, dst, a, b, n); break;
	}
}

INLINE T_AVX512 __m512 relu16(__m512 x)
{
	/* x where x > 0 or NaN, +0 elsewhere */
	return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NLE_UQ), x);
}

/* exp8() on 16 lanes; roundscale with nearest-even is rne(). */
INLINE T_AVX512 __m512 exp16(__m512 x)
{
	const __m512 one = _mm512_set1_ps(1.0f);
	__m512 xc, t, nf, r, z, p, y;
	__m512i n, na;

	xc = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(100.0f), _CMP_GT_OQ), x,
				  _mm512_set1_ps(100.0f));
	xc = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(xc, _mm512_set1_ps(-104.0f), _CMP_LT_OQ), xc,
				  _mm512_set1_ps(-104.0f));
	t = _mm512_mul_ps(xc, _mm512_set1_ps(0x1.715476p+0f));
	nf = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	n = _mm512_cvtps_epi32(nf);
	r = _mm512_sub_ps(xc, _mm512_mul_ps(nf, _mm512_set1_ps(0x1.63p-1f)));
	r = _mm512_sub_ps(r, _mm512_mul_ps(nf, _mm512_set1_ps(-0x1.bd0106p-13f)));
	z = _mm512_mul_ps(r, r);
	p = _mm512_set1_ps(1.9875691500e-4f);
	p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.3981999507e-3f));
	p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(8.3334519073e-3f));
	p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(4.1665795894e-2f));
	p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.6666665459e-1f));
	p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(5.0000001201e-1f));
	y = _mm512_mul_ps(p, z);
	y = _mm512_add_ps(y, r);
	y = _mm512_add_ps(y, one);
	na = _mm512_srai_epi32(n, 1);
	y = _mm512_mul_ps(y, _mm512_castsi512_ps(_mm512_slli_epi32(
				     _mm512_add_epi32(na, _mm512_set1_epi32(127)), 23)));
	y = _mm512_mul_ps(y, _mm512_castsi512_ps(_mm512_slli_epi32(
				     _mm512_add_epi32(_mm512_sub_epi32(n, na), _mm512_set1_epi32(127)),
				     23)));
	return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), y,
				    _mm512_castsi512_ps(_mm512_set1_epi32((int)CANON_NAN)));
}

/* tanh8(), sigmoid8(), gelu8() on 16 lanes. */
INLINE T_AVX512 __m512 tanh16(__m512 x)
{
	const __m512 one = _mm512_set1_ps(1.0f);
	const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
	__m512 ax = _mm512_castsi512_ps(_mm512_andnot_si512(sign, _mm512_castps_si512(x)));
	__m512 e, yb, z, p, ys, r;

	e = exp16(_mm512_add_ps(ax, ax));
	yb = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
	yb = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(yb),
						 _mm512_and_si512(_mm512_castps_si512(x), sign)));
	z = _mm512_mul_ps(x, x);
	p = _mm512_set1_ps(-5.70498872745e-3f);
	p = _mm512_add_ps(_mm512_mul_ps(p, z), _mm512_set1_ps(2.06390887954e-2f));
	p = _mm512_add_ps(_mm512_mul_ps(p, z), _mm512_set1_ps(-5.37397155531e-2f));
	p = _mm512_add_ps(_mm512_mul_ps(p, z), _mm512_set1_ps(1.33314422036e-1f));
	p = _mm512_add_ps(_mm512_mul_ps(p, z), _mm512_set1_ps(-3.33332819422e-1f));
	ys = _mm512_mul_ps(p, z);
	ys = _mm512_mul_ps(ys, x);
	ys = _mm512_add_ps(ys, x);
	r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_GT_OQ), ys, yb);
	return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_EQ_OQ) |
					    _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q),
				    r, x);
}

INLINE T_AVX512 __m512 sigmoid16(__m512 x)
{
	__m512 e = exp16(_mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x),
							      _mm512_set1_epi32((int)0x80000000u))));

	return _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

INLINE T_AVX512 __m512 gelu16(__m512 x)
{
	__m512 u = _mm512_mul_ps(x, x), t, y, h;

	u = _mm512_mul_ps(u, x);
	u = _mm512_mul_ps(u, _mm512_set1_ps(0.044715f));
	u = _mm512_add_ps(x, u);
	u = _mm512_mul_ps(u, _mm512_set1_ps(0.7978845608f));
	t = tanh16(u);
	y = _mm512_add_ps(t, _mm512_set1_ps(1.0f));
	h = _mm512_mul_ps(x, _mm512_set1_ps(0.5f));
	y = _mm512_mul_ps(h, y);
	return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-__builtin_inff()),
						       _CMP_EQ_OQ),
				    y, _mm512_set1_ps(-0.0f));
}

#define UNARY16(name, fn) \
	T_AVX512 static void name(uint8_t *dst, const uint8_t *src, uint64_t n) \
	{ \
		uint64_t i = 0; \
		for (; i + 16 <= n; i += 16) \
			_mm512_storeu_ps(dst + 4 * i, canon16(fn(_mm512_loadu_ps(src + 4 * i)))); \
		if (i < n) { \
			__mmask16 k = mask16((int64_t)(n - i)); \
			_mm512_mask_storeu_ps(dst + 4 * i, k, \
					      canon16(fn(_mm512_maskz_loadu_ps(k, src + 4 * i)))); \
		} \
	}
UNARY16(relu_f32_avx512, relu16)
UNARY16(exp_f32_avx512, exp16)
UNARY16(tanh_f32_avx512, tanh16)
UNARY16(sigmoid_f32_avx512, sigmoid16)
UNARY16(gelu_f32_avx512, gelu16)

INLINE T_AVX512 void st16f(float *p, __mmask16 k, __m512 v)
{
	if (k == 0xffff)
		_mm512_storeu_ps(p, v);
	else
		_mm512_mask_storeu_ps(p, k, v);
}

INLINE T_AVX512 void st16i(int *p, __mmask16 k, __m512i v)
{
	if (k == 0xffff)
		_mm512_storeu_si512(p, v);
	else
		_mm512_mask_storeu_epi32(p, k, v);
}

/* Float matmul, R rows x 64 columns of C in registers. */
INLINE T_AVX512 void mmf_block16(const struct sim_mm *mm, uint64_t m, unsigned R, uint64_t n0)
{
	const float *pa = mm->pa, *pb = (const float *)mm->pb + n0;
	__m512 acc[MM_R][4];
	__mmask16 km[4];
	float *cr[MM_R];

	for (unsigned j = 0; j < 4; j++)
		km[j] = mask16((int64_t)(mm->N - n0) - 16 * j);
#pragma GCC unroll 4
	for (unsigned r = 0; r < R; r++) {
		cr[r] = (float *)c_row(mm, m + r) + n0;
#pragma GCC unroll 4
		for (unsigned j = 0; j < 4; j++)
			acc[r][j] = mm->acc ? _mm512_maskz_loadu_ps(km[j], cr[r] + 16 * j)
					    : _mm512_setzero_ps();
	}
	for (uint64_t k = 0; k < mm->K; k++) {
		const float *bk = pb + k * mm->np;
		__m512 b[4];

#pragma GCC unroll 4
		for (unsigned j = 0; j < 4; j++)
			b[j] = _mm512_load_ps(bk + 16 * j);
#pragma GCC unroll 4
		for (unsigned r = 0; r < R; r++) {
			__m512 av = _mm512_set1_ps(pa[(m + r) * mm->K + k]);

#pragma GCC unroll 4
			for (unsigned j = 0; j < 4; j++)
				acc[r][j] = _mm512_add_ps(acc[r][j], _mm512_mul_ps(av, b[j]));
		}
	}
#pragma GCC unroll 4
	for (unsigned r = 0; r < R; r++)
#pragma GCC unroll 4
		for (unsigned j = 0; j < 4; j++)
			st16f(cr[r] + 16 * j, km[j], canon16(acc[r][j]));
}

/* int8 matmul by vpmaddwd: R rows x 64 columns of C in registers. */
INLINE T_AVX512 void mmw_block16(const struct sim_mm *mm, uint64_t m, unsigned R, uint64_t n0)
{
	const int16_t *pa = mm->pa, *pb = (const int16_t *)mm->pb + 2 * n0;
	__m512i acc[MM_R][4];
	__mmask16 km[4];
	int *cr[MM_R];

	for (unsigned j = 0; j < 4; j++)
		km[j] = mask16((int64_t)(mm->N - n0) - 16 * j);
#pragma GCC unroll 4
	for (unsigned r = 0; r < R; r++) {
		cr[r] = (int *)c_row(mm, m + r) + n0;
#pragma GCC unroll 4
		for (unsigned j = 0; j < 4; j++)
			acc[r][j] = mm->acc ? _mm512_maskz_loadu_epi32(km[j], cr[r] + 16 * j)
					    : _mm512_setzero_si512();
	}
	for (uint64_t q = 0; q < mm->kp / 2; q++) {
		const int16_t *bq = pb + 2 * q * mm->np;
		__m512i b[4];

#pragma GCC unroll 4
		for (unsigned j = 0; j < 4; j++)
			b[j] = _mm512_load_si512(bq + 32 * j);
#pragma GCC unroll 4
		for (unsigned r = 0; r < R; r++) {
			int32_t pair;
			__m512i av;

			memcpy(&pair, pa + (m + r) * mm->kp + 2 * q, 4);
			av = _mm512_set1_epi32(pair);
#pragma GCC unroll 4
			for (unsigned j = 0; j < 4; j++)
				acc[r][j] = _mm512_add_epi32(acc[r][j], _mm512_madd_epi16(av, b[j]));
		}
	}
#pragma GCC unroll 4
	for (unsigned r = 0; r < R; r++)
#pragma GCC unroll 4
		for (unsigned j = 0; j < 4; j++)
			st16i(cr[r] + 16 * j, km[j], acc[r][j]);
}

T_AVX512 static size_t mm_scratch_avx512(const struct sim_mm *mm)
{
	return mm->type == SIM_MM_I8 ? mmw_scratch(mm, NB_AVX512) : mmf_scratch(mm, NB_AVX512);
}

T_AVX512 static void mm_pack_avx512(struct sim_mm *mm, void *scratch)
{
	if (mm->type == SIM_MM_I8)
		mmw_pack(mm, scratch, NB_AVX512);
	else
		mmf_pack(mm, scratch, NB_AVX512);
}

MM_BLOCKS(mmw_avx512, mmw_block16, T_AVX512);
MM_BLOCKS(mmf_avx512, mmf_block16, T_AVX512);

static void mm_rows_avx512(const struct sim_mm *mm, uint64_t m0, uint64_t m1)
{
	mm_strips(mm, m0, m1, NB_AVX512, mm->type == SIM_MM_I8 ? mmw_avx512 : mmf_avx512);
}

static const struct sim_simd_ops ops_avx512 = {
	.level = SIM_SIMD_AVX512,
	.bin_f32 = bin_f32_avx512,
	.relu_f32 = relu_f32_avx512,
	.exp_f32 = exp_f32_avx512,
	.tanh_f32 = tanh_f32_avx512,
	.sigmoid_f32 = sigmoid_f32_avx512,
	.gelu_f32 = gelu_f32_avx512,
	.mm_scratch = mm_scratch_avx512,
	.mm_pack = mm_pack_avx512,
	.mm_rows = mm_rows_avx512,
};

/* ---- AVX-512 VNNI: int8 matmul by vpdpbusd -----------------------------------------------
 * vpdpbusd multiplies unsigned by signed bytes, so A goes in as a + 128 (a ^ 0x80) and each
 * C element gets 128 * sum_k B[k][n] taken off: sum (a + 128) b - 128 sum b = sum a b,
 * exactly, mod 2^32. A as M x kp bytes (kp = K rounded up to 4), B as kp/4 rows of np
 * quads (B[4q..4q+3][n]); padding: B zero (so the A padding does not matter). */
T_VNNI static size_t mm_scratch_vnni(const struct sim_mm *mm)
{
	uint64_t kp = round_up(mm->K, 4), np = round_up(mm->N, NB_AVX512);

	if (mm->type != SIM_MM_I8)
		return mmf_scratch(mm, NB_AVX512);
	return mm->M * kp + kp * np + 4 * np + 192;
}

T_VNNI static void mm_pack_vnni(struct sim_mm *mm, void *scratch)
{
	uint64_t kp = round_up(mm->K, 4), np = round_up(mm->N, NB_AVX512), N = mm->N;
	uint8_t *pa = align64(scratch), *pb = align64(pa + mm->M * kp);
	int32_t *colsum = align64(pb + kp * np);
	__m512i cs[1024 / 16];   /* np <= 1024 columns */
	const __m512i ones = _mm512_set1_epi8(1);

	if (mm->type != SIM_MM_I8) {
		mmf_pack(mm, scratch, NB_AVX512);
		return;
	}
	for (uint64_t m = 0; m < mm->M; m++) {
		const uint8_t *a = mm->sram + (mm->a + m * mm->lda);
		uint8_t *d = pa + m * kp;
		uint64_t k = 0;

		for (; k < mm->K; k += 64) {
			__mmask64 km = mm->K - k >= 64 ? ~(__mmask64)0
						       : ((__mmask64)1 << (mm->K - k)) - 1;

			_mm512_mask_storeu_epi8(d + k, km, _mm512_xor_si512(_mm512_maskz_loadu_epi8(km, a + k),
									 _mm512_set1_epi8(-128)));
		}
		for (k = mm->K; k < kp; k++)
			d[k] = 0x80u;
	}
	for (uint64_t q = 0; q < kp / 4; q++) {
		const int8_t *r[4];
		uint8_t *d = pb + q * np * 4;
		uint64_t n = 0;

		for (unsigned j = 0; j < 4; j++)
			r[j] = 4 * q + j < mm->K
				       ? (const int8_t *)mm->sram + (mm->b + (4 * q + j) * mm->ldb)
				       : zero_row;
		for (; n + 16 <= N; n += 16) {
			__m128i x0 = _mm_loadu_si128((const void *)(r[0] + n));
			__m128i x1 = _mm_loadu_si128((const void *)(r[1] + n));
			__m128i x2 = _mm_loadu_si128((const void *)(r[2] + n));
			__m128i x3 = _mm_loadu_si128((const void *)(r[3] + n));
			__m128i lo01 = _mm_unpacklo_epi8(x0, x1), hi01 = _mm_unpackhi_epi8(x0, x1);
			__m128i lo23 = _mm_unpacklo_epi8(x2, x3), hi23 = _mm_unpackhi_epi8(x2, x3);

			_mm_storeu_si128((void *)(d + 4 * n), _mm_unpacklo_epi16(lo01, lo23));
			_mm_storeu_si128((void *)(d + 4 * n + 16), _mm_unpackhi_epi16(lo01, lo23));
			_mm_storeu_si128((void *)(d + 4 * n + 32), _mm_unpacklo_epi16(hi01, hi23));
			_mm_storeu_si128((void *)(d + 4 * n + 48), _mm_unpackhi_epi16(hi01, hi23));
		}
		for (; n < N; n++)
			for (unsigned j = 0; j < 4; j++)
				d[4 * n + j] = (uint8_t)r[j][n];
		memset(d + 4 * N, 0, 4 * (np - N));
	}
	/* column sums of B, by the same instruction: 1 * each signed byte of a quad */
	for (uint64_t v = 0; v < np / 16; v++)
		cs[v] = _mm512_setzero_si512();
	for (uint64_t q = 0; q < kp / 4; q++)
		for (uint64_t v = 0; v < np / 16; v++)
			cs[v] = _mm512_dpbusd_epi32(cs[v], ones,
						    _mm512_load_si512(pb + (q * np + 16 * v) * 4));
	for (uint64_t v = 0; v < np / 16; v++)
		_mm512_store_si512(colsum + 16 * v, cs[v]);
	mm->pa = pa;
	mm->pb = pb;
	mm->colsum = colsum;
	mm->kp = kp;
	mm->np = np;
}

INLINE T_VNNI void mmq_block16(const struct sim_mm *mm, uint64_t m, unsigned R, uint64_t n0)
{
	const uint8_t *pa = mm->pa, *pb = (const uint8_t *)mm->pb + 4 * n0;
	__m512i acc[MM_R][4], corr[4];
	__mmask16 km[4];
	int *cr[MM_R];

	for (unsigned j = 0; j < 4; j++) {
		km[j] = mask16((int64_t)(mm->N - n0) - 16 * j);
		corr[j] = _mm512_slli_epi32(_mm512_load_si512(mm->colsum + n0 + 16 * j), 7);
	}
#pragma GCC unroll 4
	for (unsigned r = 0; r < R; r++) {
		cr[r] = (int *)c_row(mm, m + r) + n0;
#pragma GCC unroll 4
		for (unsigned j = 0; j < 4; j++)
			acc[r][j] = _mm512_sub_epi32(mm->acc ? _mm512_maskz_loadu_epi32(km[j],
											 cr[r] + 16 * j)
							     : _mm512_setzero_si512(),
						     corr[j]);
	}
	for (uint64_t q = 0; q < mm->kp / 4; q++) {
		const uint8_t *bq = pb + 4 * q * mm->np;
		__m512i b[4];

#pragma GCC unroll 4
		for (unsigned j = 0; j < 4; j++)
			b[j] = _mm512_load_si512(bq + 64 * j);
#pragma GCC unroll 4
		for (unsigned r = 0; r < R; r++) {
			int32_t quad;
			__m512i av;

			memcpy(&quad, pa + (m + r) * mm->kp + 4 * q, 4);
			av = _mm512_set1_epi32(quad);
#pragma GCC unroll 4
			for (unsigned j = 0; j < 4; j++)
				acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], av, b[j]);
		}
	}
#pragma GCC unroll 4
	for (unsigned r = 0; r < R; r++)
#pragma GCC unroll 4
		for (unsigned j = 0; j < 4; j++)
			st16i(cr[r] + 16 * j, km[j], acc[r][j]);
}

MM_BLOCKS(mmq_vnni, mmq_block16, T_VNNI);

static void mm_rows_vnni(const struct sim_mm *mm, uint64_t m0, uint64_t m1)
{
	mm_strips(mm, m0, m1, NB_AVX512, mm->type == SIM_MM_I8 ? mmq_vnni : mmf_avx512);
}

static const struct sim_simd_ops ops_vnni = {
	.level = SIM_SIMD_AVX512_VNNI,
	.bin_f32 = bin_f32_avx512,
	.relu_f32 = relu_f32_avx512,
	.exp_f32 = exp_f32_avx512,
	.tanh_f32 = tanh_f32_avx512,
	.sigmoid_f32 = sigmoid_f32_avx512,
	.gelu_f32 = gelu_f32_avx512,
	.mm_scratch = mm_scratch_vnni,
	.mm_pack = mm_pack_vnni,
	.mm_rows = mm_rows_vnni,
};

static enum sim_simd_level cpu_level(void)
{
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("f16c"))
		return SIM_SIMD_GENERIC;
	if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
	    !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl"))
		return SIM_SIMD_AVX2;
	if (!__builtin_cpu_supports("avx512vnni"))
		return SIM_SIMD_AVX512;
	return SIM_SIMD_AVX512_VNNI;
}

static const struct sim_simd_ops *const level_ops[SIM_SIMD_LEVELS] = {
	&ops_generic, &ops_avx2, &ops_avx512, &ops_vnni,
};
#else /* !__x86_64__ */
static enum sim_simd_level cpu_level(void)
{
	return SIM_SIMD_GENERIC;
}

static const struct sim_simd_ops *const level_ops[SIM_SIMD_LEVELS] = {
	&ops_generic, &ops_generic, &ops_generic, &ops_generic,
};
#endif

const struct sim_simd_ops *sim_simd_ops_of(enum sim_simd_level level)
{
	return level < SIM_SIMD_LEVELS && level <= cpu_level() ? level_ops[level] : NULL;
}

static const struct sim_simd_ops *chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
	enum sim_simd_level level = cpu_level();
	const char *want = getenv("NPU_SIM_SIMD");
	const char *dbg = getenv("NPU_SIM_DEBUG");

	if (want && *want) {
		unsigned i;

		for (i = 0; i < SIM_SIMD_LEVELS; i++)
			if (!strcmp(want, level_names[i]))
				break;
		if (i == SIM_SIMD_LEVELS)
			sim_log("npu-sim: NPU_SIM_SIMD=%s is not one of generic, avx2, avx512, "
				"avx512vnni: ignored", want);
		else if (i < level)
			level = (enum sim_simd_level)i;
	}
	if (dbg && *dbg && strcmp(dbg, "0"))
		sim_log("npu-sim: vector/matrix kernels: %s", level_names[level]);
	chosen = level_ops[level];
}

const struct sim_simd_ops *sim_simd(void)
{
	pthread_once(&chosen_once, resolve);
	return chosen;
}
