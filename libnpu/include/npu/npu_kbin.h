/* SPDX-License-Identifier: MIT */
/*
 * npu_kbin.h - the kernel binary container ("NPUKBIN"), written by the assembler and loaded
 * by npu_module_load_data(). All integers are little-endian; every offset is from the start
 * of the file; every section lies inside the file and sections do not overlap.
 *
 *   +------------------------------+ 0
 *   | struct npu_kbin_header (72)  |
 *   +------------------------------+ code_offset (8-aligned)
 *   | code: code_size bytes, one 64-bit instruction word each 8 bytes
 *   +------------------------------+ const_offset (8-aligned)
 *   | constants: const_size bytes (readable by kernels at the CONST_PTR special register)
 *   +------------------------------+ kernels_offset (4-aligned)
 *   | struct npu_kbin_kernel[num_kernels]
 *   +------------------------------+ args_offset (4-aligned)
 *   | struct npu_kbin_arg[num_args]    (each kernel owns a contiguous run)
 *   +------------------------------+ strings_offset
 *   | string table: NUL-terminated UTF-8 names, referenced by byte offset
 *   +------------------------------+ file_size
 *
 * crc32 is the CRC-32 (IEEE 802.3, as zlib.crc32) of the whole file with the crc32 field
 * taken as zero. The loader checks, in order: size >= header, magic, format version, header
 * size, flags == 0, file_size == actual size, crc32, ISA major == the device's and ISA
 * minor <= the device's, each section in bounds and aligned, names in the string table and
 * NUL-terminated, kernel names unique and non-empty, entry < code words, arg runs in bounds,
 * arg types known, sram_bytes <= the device's SRAM per core.
 */
#ifndef NPU_KBIN_H
#define NPU_KBIN_H

#include <stdint.h>

#ifndef NPU_STATIC_ASSERT
#ifdef __cplusplus
#define NPU_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define NPU_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif
#endif

#define NPU_KBIN_MAGIC          "NPUKBIN" /* 8 bytes with the NUL */
#define NPU_KBIN_FORMAT_VERSION 1

struct npu_kbin_header {
	uint8_t  magic[8];        /* "NPUKBIN\0" */
	uint16_t format_version;  /* NPU_KBIN_FORMAT_VERSION */
	uint16_t isa_major;       /* ISA the code was assembled for */
	uint16_t isa_minor;
	uint16_t header_size;     /* sizeof(struct npu_kbin_header) */
	uint32_t flags;           /* 0 */
	uint32_t file_size;       /* bytes in the whole file */
	uint32_t code_offset;     /* 8-aligned */
	uint32_t code_size;       /* bytes, a multiple of 8, > 0 */
	uint32_t const_offset;    /* 8-aligned (0 with const_size 0 when there are none) */
	uint32_t const_size;
	uint32_t kernels_offset;  /* 4-aligned */
	uint32_t num_kernels;     /* >= 1 */
	uint32_t args_offset;     /* 4-aligned */
	uint32_t num_args;        /* total over all kernels */
	uint32_t strings_offset;
	uint32_t strings_size;
	uint32_t crc32;
	uint32_t reserved;        /* 0 */
};

struct npu_kbin_kernel {
	uint32_t name;            /* string table offset */
	uint32_t entry;           /* first instruction, index into code */
	uint32_t sram_bytes;      /* SRAM the kernel needs per program instance */
	uint32_t first_arg;       /* index of its first npu_kbin_arg */
	uint32_t num_args;        /* <= 32 */
	uint32_t flags;           /* 0 */
};

/* Argument types: how the host passes a value; every argument is 64 bits on the device
 * (ldarg), smaller integers are sign- or zero-extended, f32 is its bit pattern, zero-extended. */
#define NPU_ARG_PTR  1 /* device address (a tensor) */
#define NPU_ARG_I32  2
#define NPU_ARG_U32  3
#define NPU_ARG_I64  4
#define NPU_ARG_U64  5
#define NPU_ARG_F32  6
#define NPU_ARG_F64  7

struct npu_kbin_arg {
	uint32_t name;            /* string table offset */
	uint8_t  type;            /* NPU_ARG_* */
	uint8_t  pad[3];          /* 0 */
};

NPU_STATIC_ASSERT(sizeof(struct npu_kbin_header) == 72, "kbin header layout");
NPU_STATIC_ASSERT(sizeof(struct npu_kbin_kernel) == 24, "kbin kernel layout");
NPU_STATIC_ASSERT(sizeof(struct npu_kbin_arg) == 8, "kbin arg layout");

#endif /* NPU_KBIN_H */
