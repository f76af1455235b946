/* SPDX-License-Identifier: MIT */
/*
 * npu_ioctl.c - ioctl dispatch and handlers.
 *
 * Each handler copies its argument in, rejects every invalid input with its own early return
 * and debug line, runs one worker, and copies the argument out only on success: a failed call
 * writes nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "npu_drv_internal.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The driver copies user commands into hardware packets of the same layout. */
_Static_assert(sizeof(struct npu_cmd_launch) == sizeof(struct npu_hw_pkt_launch), "launch");
_Static_assert(sizeof(struct npu_cmd_copy) == sizeof(struct npu_hw_pkt_copy), "copy");
_Static_assert(sizeof(struct npu_cmd_fill) == sizeof(struct npu_hw_pkt_fill), "fill");
_Static_assert(NPU_MAX_ARGS == NPU_HW_MAX_ARGS, "argument count");
_Static_assert(NPU_FAULT_NO_CORE == NPU_FAULT_CORE_NONE, "fault core passed through");
_Static_assert(NPU_MAX_CMD_BYTES + 16u + sizeof(struct npu_cmd_launch) < NPU_RING_SIZE,
	       "a whole submit fits in the ring");

/* ---- GET_PARAM --------------------------------------------------------------------------- */
static int npu_ioctl_get_param(struct npu_file *f, void *uarg)
{
	struct npu_device *dev = f->dev;
	struct npu_get_param args;

	memcpy(&args, uarg, sizeof(args));
	if (args.pad) {
		npu_dbg("get_param: pad %u is not 0", args.pad);
		return -EINVAL;
	}
	if (args.param >= NPU_PARAM_COUNT) {
		npu_dbg("get_param: invalid param %u", args.param);
		return -EINVAL;
	}

	switch (args.param) {
	case NPU_PARAM_DEVICE_ID:
		args.value = dev->id;
		break;
	case NPU_PARAM_FW_VERSION:
		args.value = dev->fw_version;
		break;
	case NPU_PARAM_IF_VERSION:
		args.value = dev->if_version;
		break;
	case NPU_PARAM_ISA_VERSION:
		args.value = dev->isa_version;
		break;
	case NPU_PARAM_NUM_CORES:
		args.value = dev->num_cores;
		break;
	case NPU_PARAM_SRAM_SIZE:
		args.value = dev->sram_size;
		break;
	case NPU_PARAM_MEM_SIZE:
		args.value = dev->aperture_size;
		break;
	case NPU_PARAM_MEM_USED:
		/* Buffers whose deferred release is due no longer count. */
		pthread_mutex_lock(&f->lock);
		drv_bo_reap(f);
		pthread_mutex_unlock(&f->lock);
		args.value = drv_mem_used(dev);
		break;
	case NPU_PARAM_CLOCK_KHZ:
		args.value = dev->clock_khz;
		break;
	case NPU_PARAM_PAGE_SIZE:
		args.value = dev->page_size;
		break;
	case NPU_PARAM_MAX_ARGS:
		args.value = NPU_MAX_ARGS;
		break;
	case NPU_PARAM_UAPI_VERSION:
		args.value = (NPU_UAPI_VERSION_MAJOR << 16) | NPU_UAPI_VERSION_MINOR;
		break;
	case NPU_PARAM_VA_BITS:
		args.value = NPU_VA_BITS;
		break;
	}
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

/* ---- BO_CREATE / BO_INFO / BO_FREE -------------------------------------------------------- */
static int npu_ioctl_bo_create(struct npu_file *f, void *uarg)
{
	struct npu_bo_create args;
	struct npu_bo *bo;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	if (!args.size) {
		npu_dbg("bo_create: invalid size 0");
		return -EINVAL;
	}
	if (args.size > UINT64_MAX - (NPU_PAGE_SIZE - 1)) {
		npu_dbg("bo_create: size %llu overflows when rounded to pages",
			(unsigned long long)args.size);
		return -EINVAL;
	}
	if (args.flags & ~NPU_BO_FLAGS_MASK) {
		npu_dbg("bo_create: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}

	pthread_mutex_lock(&f->lock);
	drv_bo_reap(f);
	ret = drv_bo_create(f, (args.size + NPU_PAGE_SIZE - 1) & ~(NPU_PAGE_SIZE - 1), args.flags,
			    &bo);
	if (ret)
		goto err_unlock;
	args.handle = bo->handle;
	args.dev_addr = bo->va;
	args.mmap_offset = bo->mmap_offset;
	pthread_mutex_unlock(&f->lock);
	memcpy(uarg, &args, sizeof(args));
	return 0;

err_unlock:
	pthread_mutex_unlock(&f->lock);
	return ret;
}

static int npu_ioctl_bo_info(struct npu_file *f, void *uarg)
{
	struct npu_bo_info args;
	struct npu_bo *bo;

	memcpy(&args, uarg, sizeof(args));
	pthread_mutex_lock(&f->lock);
	bo = drv_bo_lookup(f, args.handle);
	if (!bo) {
		pthread_mutex_unlock(&f->lock);
		npu_dbg("bo_info: invalid handle %u", args.handle);
		return -ENOENT;
	}
	args.flags = bo->flags;
	args.size = bo->size;
	args.dev_addr = bo->va;
	args.mmap_offset = bo->mmap_offset;
	pthread_mutex_unlock(&f->lock);
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

static int npu_ioctl_bo_free(struct npu_file *f, void *uarg)
{
	struct npu_bo_free args;
	struct npu_bo *bo;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	if (args.pad) {
		npu_dbg("bo_free: pad %u is not 0", args.pad);
		return -EINVAL;
	}
	pthread_mutex_lock(&f->lock);
	bo = drv_bo_lookup(f, args.handle);
	if (!bo) {
		pthread_mutex_unlock(&f->lock);
		npu_dbg("bo_free: invalid handle %u", args.handle);
		return -ENOENT;
	}
	drv_bo_reap(f);
	ret = drv_bo_free(f, bo);
	pthread_mutex_unlock(&f->lock);
	return ret;
}

/* ---- SUBMIT ------------------------------------------------------------------------------- */
static bool npu_va_range_ok(uint64_t addr, uint64_t size)
{
	return addr < NPU_VA_END && size <= NPU_VA_END - addr;
}

static int npu_validate_launch(struct npu_file *f, unsigned i, const uint8_t *p, uint32_t bytes)
{
	struct npu_cmd_launch l;

	if (bytes < sizeof(l)) {
		npu_dbg("submit: cmd %u: launch dwords %u < %zu", i, bytes / 8, sizeof(l) / 8);
		return -EINVAL;
	}
	memcpy(&l, p, sizeof(l));
	if (l.nargs > NPU_MAX_ARGS) {
		npu_dbg("submit: cmd %u: invalid nargs %u", i, l.nargs);
		return -EINVAL;
	}
	if (bytes != sizeof(l) + 8u * l.nargs) {
		npu_dbg("submit: cmd %u: launch dwords %u do not match nargs %u", i, bytes / 8,
			l.nargs);
		return -EINVAL;
	}
	if (!l.code_words) {
		npu_dbg("submit: cmd %u: invalid code_words 0", i);
		return -EINVAL;
	}
	if (l.code_addr % 8 || !npu_va_range_ok(l.code_addr, (uint64_t)l.code_words * 8)) {
		npu_dbg("submit: cmd %u: invalid code_addr 0x%llx (%u words)", i,
			(unsigned long long)l.code_addr, l.code_words);
		return -EINVAL;
	}
	if (l.entry >= l.code_words) {
		npu_dbg("submit: cmd %u: invalid entry %u (code_words %u)", i, l.entry,
			l.code_words);
		return -EINVAL;
	}
	for (unsigned d = 0; d < 3; d++) {
		if (!l.grid[d]) {
			npu_dbg("submit: cmd %u: invalid grid[%u] 0", i, d);
			return -EINVAL;
		}
	}
	if (l.sram_bytes > f->dev->sram_size) {
		npu_dbg("submit: cmd %u: invalid sram_bytes %u (SRAM is %u)", i, l.sram_bytes,
			f->dev->sram_size);
		return -EINVAL;
	}
	return 0;
}

static int npu_validate_copy(unsigned i, const uint8_t *p, uint32_t bytes)
{
	struct npu_cmd_copy c;

	if (bytes != sizeof(c)) {
		npu_dbg("submit: cmd %u: copy dwords %u, expected %zu", i, bytes / 8, sizeof(c) / 8);
		return -EINVAL;
	}
	memcpy(&c, p, sizeof(c));
	if (!c.size) {
		npu_dbg("submit: cmd %u: invalid copy size 0", i);
		return -EINVAL;
	}
	if (!npu_va_range_ok(c.src_addr, c.size)) {
		npu_dbg("submit: cmd %u: invalid src_addr 0x%llx size %llu", i,
			(unsigned long long)c.src_addr, (unsigned long long)c.size);
		return -EINVAL;
	}
	if (!npu_va_range_ok(c.dst_addr, c.size)) {
		npu_dbg("submit: cmd %u: invalid dst_addr 0x%llx size %llu", i,
			(unsigned long long)c.dst_addr, (unsigned long long)c.size);
		return -EINVAL;
	}
	return 0;
}

static int npu_validate_fill(unsigned i, const uint8_t *p, uint32_t bytes)
{
	struct npu_cmd_fill c;

	if (bytes != sizeof(c)) {
		npu_dbg("submit: cmd %u: fill dwords %u, expected %zu", i, bytes / 8, sizeof(c) / 8);
		return -EINVAL;
	}
	memcpy(&c, p, sizeof(c));
	if (c.pad) {
		npu_dbg("submit: cmd %u: fill pad %u is not 0", i, c.pad);
		return -EINVAL;
	}
	if (!c.size || c.size % 4) {
		npu_dbg("submit: cmd %u: invalid fill size %llu", i, (unsigned long long)c.size);
		return -EINVAL;
	}
	if (c.dst_addr % 4 || !npu_va_range_ok(c.dst_addr, c.size)) {
		npu_dbg("submit: cmd %u: invalid fill dst_addr 0x%llx size %llu", i,
			(unsigned long long)c.dst_addr, (unsigned long long)c.size);
		return -EINVAL;
	}
	return 0;
}

static int npu_validate_cmds(struct npu_file *f, const uint8_t *buf, uint32_t size)
{
	uint32_t off = 0;
	unsigned i;
	int ret;

	for (i = 0; off < size; i++) {
		struct npu_cmd_header h;
		uint32_t bytes;

		if (size - off < sizeof(h)) {
			npu_dbg("submit: cmd %u: truncated header", i);
			return -EINVAL;
		}
		memcpy(&h, buf + off, sizeof(h));
		bytes = (uint32_t)h.dwords * 8u;
		if (!h.dwords || bytes > size - off) {
			npu_dbg("submit: cmd %u: invalid dwords %u (%u bytes left)", i, h.dwords,
				size - off);
			return -EINVAL;
		}
		if (h.flags) {
			npu_dbg("submit: cmd %u: invalid flags 0x%x", i, h.flags);
			return -EINVAL;
		}
		switch (h.type) {
		case NPU_CMD_LAUNCH:
			ret = npu_validate_launch(f, i, buf + off, bytes);
			break;
		case NPU_CMD_COPY:
			ret = npu_validate_copy(i, buf + off, bytes);
			break;
		case NPU_CMD_FILL:
			ret = npu_validate_fill(i, buf + off, bytes);
			break;
		default:
			npu_dbg("submit: cmd %u: invalid type %u", i, h.type);
			return -EINVAL;
		}
		if (ret)
			return ret;
		off += bytes;
	}
	return 0;
}

static int npu_ioctl_submit(struct npu_file *f, void *uarg)
{
	struct npu_submit args;
	uint8_t *cmds;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	if (!args.cmds) {
		npu_dbg("submit: NULL cmds");
		return -EFAULT;
	}
	if (args.cmds_size < 8 || args.cmds_size > NPU_MAX_CMD_BYTES || args.cmds_size % 8) {
		npu_dbg("submit: invalid cmds_size %u", args.cmds_size);
		return -EINVAL;
	}
	if (args.queue) {
		npu_dbg("submit: invalid queue %u", args.queue);
		return -EINVAL;
	}
	if (args.flags) {
		npu_dbg("submit: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	if (args.pad) {
		npu_dbg("submit: pad %u is not 0", args.pad);
		return -EINVAL;
	}

	/* Copy the stream once: what is validated is what is executed. */
	cmds = malloc(args.cmds_size);
	if (!cmds)
		return -ENOMEM;
	memcpy(cmds, (const void *)(uintptr_t)args.cmds, args.cmds_size);
	ret = npu_validate_cmds(f, cmds, args.cmds_size);
	if (ret)
		goto err_free_cmds;

	pthread_mutex_lock(&f->lock);
	drv_bo_reap(f);
	ret = drv_queue_submit(f, cmds, args.cmds_size, &args.seqno);
	pthread_mutex_unlock(&f->lock);
	if (ret)
		goto err_free_cmds;
	free(cmds);
	memcpy(uarg, &args, sizeof(args));
	return 0;

err_free_cmds:
	free(cmds);
	return ret;
}

/* ---- WAIT --------------------------------------------------------------------------------- */
static int npu_ioctl_wait(struct npu_file *f, void *uarg)
{
	struct npu_wait args;
	uint64_t last = drv_file_last_seqno(f);
	int ret;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("wait: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	if (args.queue) {
		npu_dbg("wait: invalid queue %u", args.queue);
		return -EINVAL;
	}
	if (args.timeout_ns < 0) {
		npu_dbg("wait: invalid timeout_ns %lld", (long long)args.timeout_ns);
		return -EINVAL;
	}
	if (args.seqno > last) {
		npu_dbg("wait: seqno %llu was never submitted (last %llu)",
			(unsigned long long)args.seqno, (unsigned long long)last);
		return -EINVAL;
	}

	ret = drv_queue_wait(f, args.seqno, args.timeout_ns, &args.completed);
	if (ret)
		return ret;
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

/* ---- GET_FAULT ---------------------------------------------------------------------------- */
static int npu_ioctl_get_fault(struct npu_file *f, void *uarg)
{
	struct npu_get_fault args;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("get_fault: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	ret = drv_queue_get_fault(f, &args);
	if (ret)
		return ret;
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

/* ---- Dispatch ----------------------------------------------------------------------------- */
struct npu_ioctl_desc {
	uint32_t request;
	const char *name;
	int (*fn)(struct npu_file *f, void *arg);
};

#define NPU_IOCTL_DEF(req, func) [NPU_IOC_NR(req)] = { req, #req, func }

static const struct npu_ioctl_desc npu_ioctls[] = {
	NPU_IOCTL_DEF(NPU_IOCTL_GET_PARAM, npu_ioctl_get_param),
	NPU_IOCTL_DEF(NPU_IOCTL_BO_CREATE, npu_ioctl_bo_create),
	NPU_IOCTL_DEF(NPU_IOCTL_BO_INFO, npu_ioctl_bo_info),
	NPU_IOCTL_DEF(NPU_IOCTL_BO_FREE, npu_ioctl_bo_free),
	NPU_IOCTL_DEF(NPU_IOCTL_SUBMIT, npu_ioctl_submit),
	NPU_IOCTL_DEF(NPU_IOCTL_WAIT, npu_ioctl_wait),
	NPU_IOCTL_DEF(NPU_IOCTL_GET_FAULT, npu_ioctl_get_fault),
};

int drv_ioctl_dispatch(struct npu_file *f, uint32_t request, void *arg)
{
	const struct npu_ioctl_desc *d;
	uint32_t nr = NPU_IOC_NR(request);

	if (NPU_IOC_TYPE(request) != 'N' || nr >= ARRAY_SIZE(npu_ioctls) || !npu_ioctls[nr].fn) {
		npu_dbg("ioctl: unknown request 0x%08x", request);
		return -ENOTTY;
	}
	d = &npu_ioctls[nr];
	if (request != d->request) {
		npu_dbg("ioctl %s: request 0x%08x has size %u dir %u, expected size %u dir %u",
			d->name, request, NPU_IOC_SIZE(request), NPU_IOC_DIR(request),
			NPU_IOC_SIZE(d->request), NPU_IOC_DIR(d->request));
		return -EINVAL;
	}
	if (!arg) {
		npu_dbg("ioctl %s: NULL argument", d->name);
		return -EFAULT;
	}
	return d->fn(f, arg);
}
