/* SPDX-License-Identifier: MIT */
/* Guest mistakes are results, never host crashes: random programs (random encodings with
 * random operands, and raw random words) and random packet bytes. Each launch either
 * completes or faults with a known trap code; the device keeps working. Deterministic
 * (fixed seed); NPU_SIM_FUZZ_ITERS scales it. */
#include <errno.h>
#include <string.h>

#include "sim_test.h"

#define VA_CODE 0x0000100000ull
#define VA_DATA 0x0000200000ull

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int64_t interesting_imm(void)
{
	static const int64_t v[] = { 0, 1, 2, 3, 4, 7, 8, 15, 16, -1, -2, -4, -8, 64, 4096,
				     65536, 0x7fffffff, INT32_MIN, 13, 100 };

	if (rnd() % 4 == 0)
		return (int32_t)rnd();
	return v[rnd() % (sizeof(v) / sizeof(v[0]))];
}

static const uint64_t insn_mask[NPU_INSN_COUNT] = {
#define X(ID, mnemonic, opcode, match, mask, timing) [NPU_INSN_##ID] = mask,
	NPU_INSN_LIST(X)
#undef X
};

static uint64_t random_word(uint32_t pc, uint32_t n)
{
	uint64_t w;

	enum npu_insn id;

	switch (rnd() % 10) {
	case 0:
		return rnd();                           /* raw */
	case 1:                                         /* a short branch inside the code */
		return th_enc(NPU_INSN_BNE, 0, rnd() % 4, rnd() % 4, 0,
			      (int64_t)(rnd() % n) - pc);
	case 2:                                         /* small constants */
		return E_LI(rnd() % 8, (int64_t)(rnd() % 8192) - 64);
	default:
		/* a valid encoding: operand fields random, bits the instruction lacks zero */
		id = (enum npu_insn)(1 + rnd() % (NPU_INSN_COUNT - 1));
		w = th_enc(id, rnd() % 8, rnd() % 8, rnd() % 8, rnd() % 8, interesting_imm());
		return (w & ~insn_mask[id]) | (th_enc(id, 0, 0, 0, 0, 0) & insn_mask[id]);
	}
}

int main(void)
{
	const char *env = getenv("NPU_SIM_FUZZ_ITERS");
	int iters = env ? atoi(env) : 300;
	struct th_dev d;
	struct th_ctx ctx;
	struct th_queue q;
	uint64_t code[64];
	uint32_t counts[NPU_TRAP_COUNT] = { 0 };

	th_open(&d, "cores=3,mem=256M,sram=64K");
	th_ctx_init(&ctx, &d);
	th_queue_init(&q, &d, 0, &ctx);
	{
		/* random device data, so DMAs bring random floats and ints into SRAM for the
		 * vector and matrix units (NaNs, infs, denormals, extreme ints) */
		uint64_t *p = th_ptr(&d, th_map_new(&ctx, VA_DATA, 2 * NPU_PAGE_SIZE, true));

		for (uint64_t i = 0; i < 2 * NPU_PAGE_SIZE / 8; i++)
			p[i] = rnd();
	}
	th_map_new(&ctx, VA_DATA + 2 * NPU_PAGE_SIZE, NPU_PAGE_SIZE, false);

	for (int it = 0; it < iters; it++) {
		uint32_t n = 1 + (uint32_t)(rnd() % 64);
		struct th_launch l;
		uint64_t seq, va = VA_CODE + (uint64_t)(it % 16) * NPU_PAGE_SIZE;
		int ret;

		for (uint32_t i = 0; i < n; i++)
			code[i] = random_word(i, n);
		if (it < 16) {
			th_load_code(&ctx, va, code, n);
		} else {
			/* reuse the mapping: rewrite the code in place */
			uint64_t *l1 = th_ptr(&d, ctx.l1);
			uint64_t *l2 = th_ptr(&d, l1[NPU_VA_L1(va)] & NPU_PTE_ADDR_MASK);

			memcpy(th_ptr(&d, l2[NPU_VA_L2(va)] & NPU_PTE_ADDR_MASK), code, n * 8);
		}
		th_launch_init(&l, va, n);
		l.grid[0] = 1 + (uint32_t)(rnd() % 4);
		l.sram_bytes = (uint32_t)(rnd() % (64 * 1024 + 1)) & ~7u;
		l.max_insns = 20000;
		l.nargs = (uint32_t)(rnd() % 4);
		for (uint32_t i = 0; i < l.nargs; i++)
			l.args[i] = rnd() % 2 ? VA_DATA + rnd() % (3 * NPU_PAGE_SIZE) : rnd();
		th_launch(&q, &l);
		seq = th_fence(&q);
		th_submit(&q);
		ret = th_wait_fence(&q, seq, 20000);
		if (ret == -EIO) {
			uint32_t code_ = q.st->fault_code;

			CHECK(code_ >= 1 && code_ < NPU_TRAP_COUNT && code_ != NPU_TRAP_ABORTED &&
			      code_ != NPU_TRAP_BAD_PACKET);
			counts[code_]++;
			if (q.st->fault_flags & NPU_FAULT_INSN_VALID) {
				CHECK(q.st->fault_pc < n);
				CHECK_EQ(q.st->fault_insn, code[q.st->fault_pc]);
				CHECK(q.st->fault_core < 3);
			}
			th_resume(&q);
			ret = th_wait_fence(&q, seq, 20000);
		} else {
			counts[0]++;
		}
		CHECK_EQ(ret, 0);
	}
	for (int c = 0; c < NPU_TRAP_COUNT; c++)
		if (counts[c])
			fprintf(stderr, "%-12s %u\n", npu_trap_name((uint32_t)c), counts[c]);

	/* random packet bytes: BAD_PACKET or something valid, never a crash */
	for (int it = 0; it < iters / 3; it++) {
		uint64_t junk[8];
		uint32_t words = 1 + (uint32_t)(rnd() % 8);
		uint64_t seq;

		for (uint32_t i = 0; i < words; i++)
			junk[i] = rnd();
		if (rnd() % 2) /* plausible header */
			junk[0] = (junk[0] & ~0xffffffffull) >> 32 << 32 |
				  (uint64_t)words << 16 | (rnd() % 6);
		if (rnd() % 2)
			junk[0] &= 0xffffffffull;
		th_emit(&q, junk, words * 8);
		seq = th_fence(&q);
		th_submit(&q);
		if (th_wait_fence(&q, seq, 20000) == -EIO) {
			uint64_t t0 = th_now_ms();

			/* the fence runs, or (no packet boundary) everything queued is dropped;
			 * the rest of a short junk packet may fault again */
			do {
				if (th_qrd(&q, NPU_QREG_STATE) == NPU_QSTATE_FAULTED)
					th_resume(&q);
				CHECK(th_now_ms() - t0 < 10000);
			} while (th_qrd(&q, NPU_QREG_HEAD) != q.tail ||
				 th_qrd(&q, NPU_QREG_STATE) != NPU_QSTATE_IDLE);
		}
	}
	/* still alive */
	CHECK(th_qrd(&q, NPU_QREG_STATE) != NPU_QSTATE_FAULTED);
	th_fill(&q, VA_DATA, 8, 0x12345678);
	CHECK_EQ(th_run(&q), 0);
	th_close(&d);
	return T_PASS;
}
