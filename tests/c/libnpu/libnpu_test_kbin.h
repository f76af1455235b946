/* SPDX-License-Identifier: MIT */
/* For libnpu C tests that hand-encode kernels: instruction encoding from the generated ISA
 * header, and a one-kernel NPUKBIN image builder (kernel "k", one ptr argument "out"). */
#ifndef LIBNPU_TEST_KBIN_H
#define LIBNPU_TEST_KBIN_H

#include "libnpu_test.h"
#include "npu/npu_kbin.h"
#include "npu_isa.h"

/* Encodes an instruction from its generated match value and operand fields. */
#define F(name, v) (((uint64_t)(v) & ((1ull << NPU_FIELD_##name##_WIDTH) - 1)) << NPU_FIELD_##name##_SHIFT)
static inline uint64_t match_of(enum npu_insn id)
{
	switch (id) {
#define X_MATCH(ID, mn, op, match, mask, t) case NPU_INSN_##ID: return match;
	NPU_INSN_LIST(X_MATCH)
#undef X_MATCH
	default:
		abort();
	}
}
#define M(ID) match_of(NPU_INSN_##ID)

static inline uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return ~c;
}

/* Builds a one-kernel binary "k" with one ptr argument "out". */
static inline size_t build_kbin(uint8_t *buf, size_t cap, const uint64_t *code, uint32_t nwords,
			 uint32_t sram)
{
	static const char strings[] = "k\0out";
	struct npu_kbin_header h = { 0 };
	struct npu_kbin_kernel k = { .name = 0, .entry = 0, .sram_bytes = sram,
				     .first_arg = 0, .num_args = 1 };
	struct npu_kbin_arg a = { .name = 2, .type = NPU_ARG_PTR };
	size_t off = sizeof(h);

	memcpy(h.magic, NPU_KBIN_MAGIC, 8);
	h.format_version = NPU_KBIN_FORMAT_VERSION;
	h.isa_major = NPU_ISA_VERSION_MAJOR;
	h.isa_minor = NPU_ISA_VERSION_MINOR;
	h.header_size = sizeof(h);
	h.code_offset = (uint32_t)off;
	h.code_size = nwords * 8;
	off += h.code_size;
	h.kernels_offset = (uint32_t)off;
	h.num_kernels = 1;
	off += sizeof(k);
	h.args_offset = (uint32_t)off;
	h.num_args = 1;
	off += sizeof(a);
	h.strings_offset = (uint32_t)off;
	h.strings_size = sizeof(strings);
	off += sizeof(strings);
	h.file_size = (uint32_t)off;
	if (off > cap)
		abort();
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + h.code_offset, code, h.code_size);
	memcpy(buf + h.kernels_offset, &k, sizeof(k));
	memcpy(buf + h.args_offset, &a, sizeof(a));
	memcpy(buf + h.strings_offset, strings, sizeof(strings));
	h.crc32 = crc32_ieee(buf, off);
	memcpy(buf + 64, &h.crc32, 4);
	return off;
}

#endif /* LIBNPU_TEST_KBIN_H */
