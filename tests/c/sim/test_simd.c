/* SPDX-License-Identifier: MIT */
/*
 * test_simd.c - the wide kernels of firmware-sim/sim_simd.c on every level this CPU has,
 * at the edges of their buffers: every operand ends exactly where an inaccessible page
 * begins (C's last row ends the SRAM block), so a vector tail that reads or writes one
 * byte too far crashes the test (masked lanes may not fault, and the sanitizers do not see
 * into intrinsics). Results are compared with plain loops of docs/numerics.md
 * (relu, add, matmul: products rounded, k ascending, int8 sums mod 2^32) and, for the
 * transcendentals, between levels. The Python tests (tests/test_sim_simd.py) check them against the
 * reference model through the whole stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim_simd.h"
#include "sim_test.h"

static uint64_t seed = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (uint32_t)(seed >> 16);
}

/* size bytes (a multiple of 4) ending at an inaccessible page. */
static void *guarded(uint64_t size)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE), span = (size + pg - 1) / pg * pg;
	uint8_t *p = mmap(NULL, span + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	CHECK(p != MAP_FAILED);
	CHECK(mprotect(p + span, pg, PROT_NONE) == 0);
	return p + span - size;
}

static void unguard(void *p, uint64_t size)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE), span = (size + pg - 1) / pg * pg;

	munmap((uint8_t *)p + size - span, span + pg);
}

static float u2f(uint32_t u)
{
	float f;

	memcpy(&f, &u, 4);
	return f;
}

static uint32_t f2u(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

static uint32_t canon(float f)
{
	return (f2u(f) & 0x7fffffffu) > 0x7f800000u ? 0x7fc00000u : f2u(f);
}

/* Random fp32 bits, a quarter of them special (NaNs with payloads, infinities, zeros,
 * denormals). */
static uint32_t rnd_f32(void)
{
	static const uint32_t special[] = { 0x7fc00001u, 0xffc00000u, 0x7f800001u, 0x7f800000u,
					    0xff800000u, 0x80000000u, 0u, 1u, 0x807fffffu };

	if (rnd() % 4 == 0)
		return special[rnd() % (sizeof(special) / sizeof(special[0]))];
	return f2u(((float)(int32_t)(rnd() % 2001) - 1000.0f) / 7.0f);
}

static float f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;

	if (e == 0x1f)
		return u2f(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0));
	if (e == 0)
		return u2f(sign | f2u((float)m * 0x1p-24f));
	return u2f(sign | ((e + 112) << 23) | (m << 13));
}

static void test_elementwise(const struct sim_simd_ops *o, const struct sim_simd_ops *first)
{
	for (uint64_t n = 1; n <= 40; n++) {
		uint32_t *a = guarded(4 * n), *b = guarded(4 * n), *d = guarded(4 * n);
		uint32_t *e = guarded(4 * n);

		for (uint64_t i = 0; i < n; i++) {
			a[i] = rnd_f32();
			b[i] = rnd_f32();
		}
		o->relu_f32((uint8_t *)d, (const uint8_t *)a, n);
		for (uint64_t i = 0; i < n; i++) {
			float x = u2f(a[i]);

			CHECK_EQ(d[i], canon(x != x ? x : x > 0.0f ? x : 0.0f));
		}
		o->bin_f32(SIM_VOP_ADD, (uint8_t *)d, (const uint8_t *)a, (const uint8_t *)b, n);
		for (uint64_t i = 0; i < n; i++)
			CHECK_EQ(d[i], canon(u2f(a[i]) + u2f(b[i])));
		o->bin_f32(SIM_VOP_MUL, (uint8_t *)d, (const uint8_t *)a, (const uint8_t *)b, n);
		for (uint64_t i = 0; i < n; i++)
			CHECK_EQ(d[i], canon(u2f(a[i]) * u2f(b[i])));
		o->exp_f32((uint8_t *)d, (const uint8_t *)a, n);
		first->exp_f32((uint8_t *)e, (const uint8_t *)a, n);
		CHECK(memcmp(d, e, 4 * n) == 0);
		o->tanh_f32((uint8_t *)d, (const uint8_t *)a, n);
		first->tanh_f32((uint8_t *)e, (const uint8_t *)a, n);
		CHECK(memcmp(d, e, 4 * n) == 0);
		o->sigmoid_f32((uint8_t *)d, (const uint8_t *)a, n);
		first->sigmoid_f32((uint8_t *)e, (const uint8_t *)a, n);
		CHECK(memcmp(d, e, 4 * n) == 0);
		o->gelu_f32((uint8_t *)d, (const uint8_t *)a, n);
		first->gelu_f32((uint8_t *)e, (const uint8_t *)a, n);
		CHECK(memcmp(d, e, 4 * n) == 0);
		o->exp_f32((uint8_t *)d, (const uint8_t *)a, n);
		/* in place */
		memcpy(e, a, 4 * n);
		o->exp_f32((uint8_t *)e, (const uint8_t *)e, n);
		CHECK(memcmp(d, e, 4 * n) == 0);
		unguard(a, 4 * n);
		unguard(b, 4 * n);
		unguard(d, 4 * n);
		unguard(e, 4 * n);
	}
}

/* One mm / mma of M x N x K with tight strides, C last in an SRAM block of exact size. */
static void test_mm_one(const struct sim_simd_ops *o, enum sim_mm_type t, bool acc, uint64_t M,
			uint64_t N, uint64_t K)
{
	unsigned es = t == SIM_MM_F32 ? 4 : t == SIM_MM_I8 ? 1 : 2;
	uint64_t a = 0, b = M * K * es, c = (b + K * N * es + 3) & ~3ull;
	uint64_t size = c + 4 * M * N;
	uint8_t *sram = guarded(size), *before = malloc(size);
	struct sim_mm mm = {
		.sram = sram, .a = a, .lda = K * es, .b = b, .ldb = N * es, .c = c, .ldc = 4 * N,
		.M = M, .N = N, .K = K, .type = t, .acc = acc,
	};
	void *scratch;

	CHECK(before);
	for (uint64_t i = 0; i < size; i++)
		sram[i] = (uint8_t)rnd();
	if (t == SIM_MM_F32) {
		for (uint64_t i = 0; i < M * K + K * N; i++) {
			uint32_t v = rnd_f32();

			memcpy(sram + 4 * i, &v, 4);
		}
	} else if (t == SIM_MM_I8) {
		for (uint64_t i = 0; i < M * K + K * N; i++)
			sram[i] = rnd() % 3 ? (uint8_t)rnd() : 0x80; /* many -128 */
	}
	for (uint64_t i = 0; i < M * N && t != SIM_MM_I8; i++) {
		uint32_t v = rnd_f32();

		memcpy(sram + c + 4 * i, &v, 4);
	}
	memcpy(before, sram, size);
	scratch = malloc(o->mm_scratch(&mm));
	CHECK(scratch);
	o->mm_pack(&mm, scratch);
	o->mm_rows(&mm, 0, M);
	for (uint64_t m = 0; m < M; m++) {
		for (uint64_t n = 0; n < N; n++) {
			uint32_t want, got;

			if (t == SIM_MM_I8) {
				uint32_t s = 0;

				if (acc)
					memcpy(&s, before + c + 4 * (m * N + n), 4);
				for (uint64_t k = 0; k < K; k++)
					s += (uint32_t)((int8_t)before[m * K + k] *
							(int8_t)before[b + k * N + n]);
				want = s;
			} else {
				float s = 0.0f, x, y;

				if (acc)
					memcpy(&s, before + c + 4 * (m * N + n), 4);
				for (uint64_t k = 0; k < K; k++) {
					if (t == SIM_MM_F32) {
						memcpy(&x, before + 4 * (m * K + k), 4);
						memcpy(&y, before + b + 4 * (k * N + n), 4);
					} else {
						uint16_t hx, hy;

						memcpy(&hx, before + 2 * (m * K + k), 2);
						memcpy(&hy, before + b + 2 * (k * N + n), 2);
						x = t == SIM_MM_F16 ? f16_to_f32(hx) : u2f((uint32_t)hx << 16);
						y = t == SIM_MM_F16 ? f16_to_f32(hy) : u2f((uint32_t)hy << 16);
					}
					s = s + x * y;
				}
				want = canon(s);
			}
			memcpy(&got, sram + c + 4 * (m * N + n), 4);
			if (got != want) {
				fprintf(stderr, "level %s type %d acc %d M %llu N %llu K %llu: C[%llu][%llu]\n",
					sim_simd_name(o->level), t, acc, (unsigned long long)M,
					(unsigned long long)N, (unsigned long long)K,
					(unsigned long long)m, (unsigned long long)n);
				CHECK_EQ(got, want);
			}
		}
	}
	CHECK(memcmp(sram, before, c) == 0); /* A and B untouched */
	free(scratch);
	free(before);
	unguard(sram, size);
}

int main(void)
{
	static const uint64_t ms[] = { 1, 2, 3, 4, 5, 6, 9 };
	static const uint64_t ns[] = { 1, 5, 8, 16, 17, 64, 65, 70 };
	static const uint64_t ks[] = { 1, 2, 3, 5, 9 };
	const struct sim_simd_ops *first = NULL;
	int levels = 0;

	for (int l = SIM_SIMD_AVX2; l < SIM_SIMD_LEVELS; l++) {
		const struct sim_simd_ops *o = sim_simd_ops_of((enum sim_simd_level)l);

		if (!o)
			continue;
		CHECK(o->exp_f32 && o->relu_f32 && o->tanh_f32 && o->sigmoid_f32 && o->gelu_f32 &&
		      o->bin_f32 && o->mm_rows);
		first = first ? first : o;
		levels++;
		test_elementwise(o, first);
		for (int t = SIM_MM_F32; t <= SIM_MM_I8; t++)
			for (unsigned i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
				for (unsigned j = 0; j < sizeof(ns) / sizeof(ns[0]); j++)
					test_mm_one(o, (enum sim_mm_type)t, (i + j) & 1, ms[i], ns[j],
						    ks[(i + j) % 5]);
	}
	CHECK(sim_simd_ops_of(SIM_SIMD_GENERIC) != NULL);
	if (!levels) {
		fprintf(stderr, "no wide kernels on this CPU\n");
		return T_SKIP;
	}
	return T_PASS;
}
