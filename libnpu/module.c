/* SPDX-License-Identifier: MIT */
/* libnpu: kernel binary loader (npu_kbin.h), kernels and launches. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu_accel.h"
#include "npu_internal.h"
#include "npu_isa.h"

static const uint32_t *crc_table(void)
{
	static uint32_t table[256];
	static int ready;

	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		/* Idempotent: racing threads compute identical entries. */
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
			__atomic_store_n(&table[i], c, __ATOMIC_RELAXED);
		}
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	}
	return table;
}

/* CRC-32 (IEEE, as zlib.crc32), continued from `crc` (0 to start). */
uint32_t npui_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint32_t *table = crc_table();
	const uint8_t *p = data;

	crc ^= 0xffffffffu;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#define BAD(...) npui_set_error(NPU_ERROR_INVALID_IMAGE, "invalid kernel binary: " __VA_ARGS__)

/* Checks that [off, off+len) lies inside a file of `size` bytes, without overflow. */
static int in_file(uint32_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

static npu_result_t check_section(const char *what, uint32_t off, uint64_t len,
				  uint32_t align, size_t size)
{
	if (!in_file(off, len, size))
		return BAD("%s [%" PRIu32 ", +%" PRIu64 ") lies outside the file of %zu bytes",
			   what, off, len, size);
	if (off % align)
		return BAD("%s offset %" PRIu32 " is not %" PRIu32 "-byte aligned", what, off,
			   align);
	return NPU_SUCCESS;
}

/* Validates a string reference: inside the table and NUL-terminated there. */
static const char *string_at(const char *strings, uint32_t strings_size, uint32_t off)
{
	if (off >= strings_size || !memchr(strings + off, '\0', strings_size - off))
		return NULL;
	return strings + off;
}

struct kbin_view {
	struct npu_kbin_header h;
	const uint8_t *base;
};

static npu_result_t parse_header(const uint8_t *p, size_t size, uint32_t device_isa,
				 struct kbin_view *v)
{
	struct npu_kbin_header *h = &v->h;
	npu_result_t ret;

	if (size < sizeof(*h))
		return BAD("%zu bytes is shorter than the %zu-byte header", size, sizeof(*h));
	if (memcmp(p, NPU_KBIN_MAGIC, 8) != 0)
		return BAD("bad magic at offset 0 (not an NPUKBIN file)");
	memcpy(h->magic, p, 8);
	h->format_version = rd16(p + 8);
	h->isa_major = rd16(p + 10);
	h->isa_minor = rd16(p + 12);
	h->header_size = rd16(p + 14);
	h->flags = rd32(p + 16);
	h->file_size = rd32(p + 20);
	h->code_offset = rd32(p + 24);
	h->code_size = rd32(p + 28);
	h->const_offset = rd32(p + 32);
	h->const_size = rd32(p + 36);
	h->kernels_offset = rd32(p + 40);
	h->num_kernels = rd32(p + 44);
	h->args_offset = rd32(p + 48);
	h->num_args = rd32(p + 52);
	h->strings_offset = rd32(p + 56);
	h->strings_size = rd32(p + 60);
	h->crc32 = rd32(p + 64);
	h->reserved = rd32(p + 68);
	v->base = p;

	if (h->format_version != NPU_KBIN_FORMAT_VERSION)
		return BAD("format_version %u at offset 8, expected %u", h->format_version,
			   NPU_KBIN_FORMAT_VERSION);
	if (h->header_size != sizeof(*h))
		return BAD("header_size %u at offset 14, expected %zu", h->header_size, sizeof(*h));
	if (h->flags)
		return BAD("flags 0x%x at offset 16 must be 0", h->flags);
	if (h->reserved)
		return BAD("reserved field at offset 68 must be 0");
	if (h->file_size != size)
		return BAD("file_size %u at offset 20 but %zu bytes were given", h->file_size, size);
	/* The CRC covers the whole file with its own field read as zero. */
	static const uint8_t zero[4];
	uint32_t crc = npui_crc32(0, p, 64);
	crc = npui_crc32(crc, zero, 4);
	crc = npui_crc32(crc, p + 68, size - 68);
	if (crc != h->crc32)
		return BAD("crc32 mismatch (header says 0x%08x, contents give 0x%08x)", h->crc32,
			   crc);
	if (h->isa_major != (device_isa >> 16) || h->isa_minor > (device_isa & 0xffff))
		return BAD("built for ISA %u.%u, the device implements %u.%u", h->isa_major,
			   h->isa_minor, device_isa >> 16, device_isa & 0xffff);
	if (h->code_size == 0 || h->code_size % 8)
		return BAD("code_size %u at offset 28 must be a non-zero multiple of 8",
			   h->code_size);
	if ((ret = check_section("code section", h->code_offset, h->code_size, 8, size)))
		return ret;
	if (h->const_size &&
	    (ret = check_section("constant section", h->const_offset, h->const_size, 8, size)))
		return ret;
	if (h->num_kernels == 0)
		return BAD("num_kernels is 0");
	if ((ret = check_section("kernel table", h->kernels_offset,
				 (uint64_t)h->num_kernels * sizeof(struct npu_kbin_kernel), 4, size)))
		return ret;
	if ((ret = check_section("argument table", h->args_offset,
				 (uint64_t)h->num_args * sizeof(struct npu_kbin_arg), 4, size)))
		return ret;
	if ((ret = check_section("string table", h->strings_offset, h->strings_size, 1, size)))
		return ret;
	return NPU_SUCCESS;
}

static npu_result_t parse_kernels(const struct kbin_view *v, uint32_t sram_per_core,
				  struct npu_module *m)
{
	const struct npu_kbin_header *h = &v->h;
	const char *strings = m->strings;

	m->kernels = calloc(h->num_kernels, sizeof(*m->kernels));
	if (!m->kernels)
		return npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
	m->num_kernels = h->num_kernels;
	for (uint32_t i = 0; i < h->num_kernels; i++) {
		const uint8_t *e = v->base + h->kernels_offset + i * sizeof(struct npu_kbin_kernel);
		struct npu_kernel *k = &m->kernels[i];
		uint32_t name = rd32(e), first = rd32(e + 12), flags = rd32(e + 20);

		k->mod = m;
		k->name = string_at(strings, h->strings_size, name);
		k->entry = rd32(e + 4);
		k->sram_bytes = rd32(e + 8);
		k->num_args = rd32(e + 16);
		if (!k->name || !k->name[0])
			return BAD("kernel %u: name offset %u is not a non-empty string", i, name);
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(m->kernels[j].name, k->name) == 0)
				return BAD("kernel %u: duplicate name '%s'", i, k->name);
		if (flags)
			return BAD("kernel '%s': flags 0x%x must be 0", k->name, flags);
		if (k->entry >= m->code_words)
			return BAD("kernel '%s': entry %u is past the %u code words", k->name,
				   k->entry, m->code_words);
		if (k->sram_bytes > sram_per_core)
			return BAD("kernel '%s': needs %u bytes of SRAM, the device has %u per core",
				   k->name, k->sram_bytes, sram_per_core);
		if (k->num_args > NPU_MAX_KERNEL_ARGS)
			return BAD("kernel '%s': %u arguments, at most %d", k->name, k->num_args,
				   NPU_MAX_KERNEL_ARGS);
		if (first > h->num_args || k->num_args > h->num_args - first)
			return BAD("kernel '%s': arguments [%u, +%u) outside the %u-entry table",
				   k->name, first, k->num_args, h->num_args);
		for (uint32_t a = 0; a < k->num_args; a++) {
			const uint8_t *ae = v->base + h->args_offset +
					    (first + a) * sizeof(struct npu_kbin_arg);
			uint8_t type = ae[4];
			k->arg_names[a] = string_at(strings, h->strings_size, rd32(ae));
			k->arg_types[a] = type;
			if (!k->arg_names[a])
				return BAD("kernel '%s': argument %u name offset %u is not a string",
					   k->name, a, rd32(ae));
			if (type < NPU_ARG_PTR || type > NPU_ARG_F64)
				return BAD("kernel '%s': argument %u ('%s') has unknown type %u",
					   k->name, a, k->arg_names[a], type);
			if (ae[5] || ae[6] || ae[7])
				return BAD("kernel '%s': argument %u padding must be 0", k->name, a);
		}
	}
	return NPU_SUCCESS;
}

npu_result_t npu_module_load_data(npu_device_t *dev, const void *image, size_t size,
				  npu_module_t **out)
{
	struct kbin_view v = { 0 };
	struct npu_module *m;
	struct npu_alloc code = { 0 }, consts = { 0 };
	npu_result_t ret;

	npui_clear_error();
	if (!dev || !image || !out)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_module_load_data: NULL argument");
	ret = parse_header(image, size, dev->props.isa_version, &v);
	if (ret)
		return ret;
	m = calloc(1, sizeof(*m));
	if (!m)
		return npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
	m->dev = dev;
	m->code_words = v.h.code_size / 8;
	m->strings = malloc(v.h.strings_size + 1);
	if (!m->strings) {
		ret = npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
		goto err_free;
	}
	memcpy(m->strings, v.base + v.h.strings_offset, v.h.strings_size);
	m->strings[v.h.strings_size] = '\0';
	ret = parse_kernels(&v, dev->props.sram_per_core, m);
	if (ret)
		goto err_free;

	pthread_mutex_lock(&dev->lock);
	ret = npui_alloc_bo(dev, v.h.code_size, NPU_BO_READ_ONLY, &code);
	if (ret)
		goto err_unlock;
	memcpy(code.host, v.base + v.h.code_offset, v.h.code_size);
	m->code_va = code.va;
	if (v.h.const_size) {
		ret = npui_alloc_bo(dev, v.h.const_size, NPU_BO_READ_ONLY, &consts);
		if (ret)
			goto err_free_code;
		memcpy(consts.host, v.base + v.h.const_offset, v.h.const_size);
		m->const_va = consts.va;
	}
	m->next = dev->modules;
	dev->modules = m;
	pthread_mutex_unlock(&dev->lock);
	*out = m;
	return NPU_SUCCESS;

err_free_code:
	npui_release_alloc(dev, code.va);
err_unlock:
	pthread_mutex_unlock(&dev->lock);
err_free:
	free(m->kernels);
	free(m->strings);
	free(m);
	return ret;
}

npu_result_t npu_module_load_file(npu_device_t *dev, const char *path, npu_module_t **out)
{
	npu_result_t ret;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f;

	npui_clear_error();
	if (!dev || !path || !out)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_module_load_file: NULL argument");
	f = fopen(path, "rb");
	if (!f)
		return npui_set_error(errno == ENOENT ? NPU_ERROR_NOT_FOUND : NPU_ERROR_INVALID_VALUE,
				      "cannot open kernel binary '%s': %s", path, strerror(errno));
	for (;;) {
		if (len == cap) {
			/* Kernel binaries have 32-bit offsets: nothing valid is larger. */
			if (cap >= UINT32_MAX) {
				ret = npui_set_error(NPU_ERROR_INVALID_IMAGE,
						     "invalid kernel binary: '%s' is larger than 4 GiB",
						     path);
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			uint8_t *nb = realloc(buf, cap);
			if (!nb) {
				ret = npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
				goto out;
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		ret = npui_set_error(NPU_ERROR_INVALID_VALUE, "cannot read '%s'", path);
		goto out;
	}
	ret = npu_module_load_data(dev, buf, len, out);
out:
	free(buf);
	fclose(f);
	return ret;
}

npu_result_t npu_module_unload(npu_module_t *mod)
{
	struct npu_device *dev;
	struct npu_module **pp;

	if (!mod)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_module_unload: mod is NULL");
	dev = mod->dev;
	pthread_mutex_lock(&dev->lock);
	for (pp = &dev->modules; *pp && *pp != mod; pp = &(*pp)->next)
		;
	if (!*pp) {
		pthread_mutex_unlock(&dev->lock);
		return npui_set_error(NPU_ERROR_BAD_HANDLE, "npu_module_unload: unknown module");
	}
	*pp = mod->next;
	/* Launches in flight keep the code alive: the driver defers the frees. */
	npui_release_alloc(dev, mod->code_va);
	if (mod->const_va)
		npui_release_alloc(dev, mod->const_va);
	pthread_mutex_unlock(&dev->lock);
	free(mod->kernels);
	free(mod->strings);
	free(mod);
	return NPU_SUCCESS;
}

npu_result_t npu_module_kernel_count(npu_module_t *mod, uint32_t *count)
{
	if (!mod || !count)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_module_kernel_count: NULL argument");
	*count = mod->num_kernels;
	return NPU_SUCCESS;
}

npu_result_t npu_module_get_kernel(npu_module_t *mod, const char *name, npu_kernel_t **out)
{
	if (!mod || !name || !out)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_module_get_kernel: NULL argument");
	for (uint32_t i = 0; i < mod->num_kernels; i++) {
		if (strcmp(mod->kernels[i].name, name) == 0) {
			*out = &mod->kernels[i];
			return NPU_SUCCESS;
		}
	}
	return npui_set_error(NPU_ERROR_NOT_FOUND, "module has no kernel named '%s'", name);
}

npu_result_t npu_module_get_kernel_by_index(npu_module_t *mod, uint32_t index,
					    npu_kernel_t **out)
{
	if (!mod || !out)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				     "npu_module_get_kernel_by_index: NULL argument");
	if (index >= mod->num_kernels)
		return npui_set_error(NPU_ERROR_NOT_FOUND, "kernel index %u, the module has %u",
				     index, mod->num_kernels);
	*out = &mod->kernels[index];
	return NPU_SUCCESS;
}

npu_result_t npu_kernel_get_info(npu_kernel_t *k, struct npu_kernel_info *info)
{
	struct npu_kernel_info full;
	uint32_t n;

	if (!k || !info)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_kernel_get_info: NULL argument");
	if (info->struct_size < offsetof(struct npu_kernel_info, name))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				     "npu_kernel_get_info: struct_size %u too small", info->struct_size);
	memset(&full, 0, sizeof(full));
	full.num_args = k->num_args;
	full.name = k->name;
	full.entry = k->entry;
	full.sram_bytes = k->sram_bytes;
	memcpy(full.arg_types, k->arg_types, sizeof(full.arg_types));
	memcpy(full.arg_names, k->arg_names, sizeof(full.arg_names));
	n = info->struct_size < sizeof(full) ? info->struct_size : (uint32_t)sizeof(full);
	full.struct_size = n;
	memcpy(info, &full, n);
	return NPU_SUCCESS;
}

static const char *const arg_type_names[] = {
	[NPU_ARG_PTR] = "ptr", [NPU_ARG_I32] = "i32", [NPU_ARG_U32] = "u32",
	[NPU_ARG_I64] = "i64", [NPU_ARG_U64] = "u64", [NPU_ARG_F32] = "f32",
	[NPU_ARG_F64] = "f64",
};

/* Widens one host argument value to the device's 64-bit argument slot. */
static uint64_t widen_arg(uint8_t type, const void *value)
{
	uint64_t v64;
	uint32_t v32;

	switch (type) {
	case NPU_ARG_I32: {
		int32_t s;
		memcpy(&s, value, 4);
		return (uint64_t)(int64_t)s;
	}
	case NPU_ARG_U32:
	case NPU_ARG_F32:
		memcpy(&v32, value, 4);
		return v32;
	default:
		memcpy(&v64, value, 8);
		return v64;
	}
}

npu_result_t npu_launch_kernel(npu_device_t *dev, npu_kernel_t *k,
			       const struct npu_launch_config *config, const void *const *args,
			       const size_t *arg_sizes, uint32_t num_args)
{
	struct {
		struct npu_cmd_launch cmd;
		uint64_t args[NPU_MAX_KERNEL_ARGS];
	} pkt;
	struct npu_stream *stream;
	uint32_t grid[3];
	npu_result_t ret;

	npui_clear_error();
	if (!dev || !k || !config)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_launch_kernel: NULL argument");
	if (k->mod->dev != dev)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				     "kernel '%s' was loaded on another device", k->name);
	if (config->struct_size < offsetof(struct npu_launch_config, max_insns))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				     "npu_launch_config.struct_size %u too small", config->struct_size);
	if (num_args != k->num_args)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				     "kernel '%s' takes %u arguments, %u given", k->name,
				     k->num_args, num_args);
	if (num_args && (!args || !arg_sizes))
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_launch_kernel: args is NULL");
	if (config->struct_size >= offsetof(struct npu_launch_config, stream) + sizeof(void *))
		stream = npui_stream(dev, config->stream);
	else
		stream = &dev->default_stream;
	if (!stream)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_launch_config.stream belongs to another device");
	if (stream->flags & NPU_STREAM_COPY)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "kernel '%s': stream %" PRIu64 " was created with "
				      "NPU_STREAM_COPY and takes no launches", k->name, stream->id);
	if (config->struct_size >= offsetof(struct npu_launch_config, stream) && config->reserved)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_launch_config.reserved must be 0");
	uint64_t programs = 1;
	for (int d = 0; d < 3; d++) {
		grid[d] = config->grid[d] ? config->grid[d] : 1;
		programs *= grid[d];
	}
	if (programs > UINT32_MAX)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				     "grid %ux%ux%u has more than 2^32-1 program instances",
				     grid[0], grid[1], grid[2]);

	/* Only the command and the num_args slots filled below are submitted. */
	memset(&pkt.cmd, 0, sizeof(pkt.cmd));
	for (uint32_t i = 0; i < num_args; i++) {
		uint8_t t = k->arg_types[i];
		size_t want = (t == NPU_ARG_I32 || t == NPU_ARG_U32 || t == NPU_ARG_F32) ? 4 : 8;
		if (!args[i])
			return npui_set_error(NPU_ERROR_INVALID_VALUE,
					     "kernel '%s' argument %u ('%s'): value is NULL",
					     k->name, i, k->arg_names[i]);
		if (arg_sizes[i] != want)
			return npui_set_error(NPU_ERROR_INVALID_VALUE,
					     "kernel '%s' argument %u ('%s', %s): %zu bytes given, "
					     "expected %zu", k->name, i, k->arg_names[i],
					     arg_type_names[t], arg_sizes[i], want);
		pkt.args[i] = widen_arg(t, args[i]);
	}
	pkt.cmd.hdr.type = NPU_CMD_LAUNCH;
	pkt.cmd.hdr.dwords = (uint16_t)((sizeof(pkt.cmd) + 8 * num_args) / 8);
	pkt.cmd.code_addr = k->mod->code_va;
	pkt.cmd.code_words = k->mod->code_words;
	pkt.cmd.entry = k->entry;
	memcpy(pkt.cmd.grid, grid, sizeof(grid));
	pkt.cmd.sram_bytes = k->sram_bytes;
	pkt.cmd.const_addr = k->mod->const_va;
	if (config->struct_size >= offsetof(struct npu_launch_config, reserved)) {
		pkt.cmd.max_insns = config->max_insns;
		pkt.cmd.timeout_us = config->timeout_us;
	}
	pkt.cmd.nargs = num_args;

	struct npui_job job = { .kind = NPU_JOB_LAUNCH };
	memcpy(job.grid, grid, sizeof(grid));
	/* A plain copy: snprintf was a visible share of a launch from Python (issue 5). */
	memcpy(job.name, k->name, strnlen(k->name, sizeof(job.name) - 1));
	pthread_mutex_lock(&dev->lock);
	ret = npui_submit(dev, stream, &pkt, pkt.cmd.hdr.dwords * 8u, &job);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}
