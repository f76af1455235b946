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
#include <sys/eventfd.h>

#include "npu_drv_internal.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The driver copies user commands into hardware packets of the same layout. */
_Static_assert(sizeof(struct npu_cmd_launch) == sizeof(struct npu_hw_pkt_launch), "launch");
_Static_assert(sizeof(struct npu_cmd_copy) == sizeof(struct npu_hw_pkt_copy), "copy");
_Static_assert(sizeof(struct npu_cmd_fill) == sizeof(struct npu_hw_pkt_fill), "fill");
_Static_assert(NPU_MAX_ARGS == NPU_HW_MAX_ARGS, "argument count");
_Static_assert(NPU_FAULT_NO_CORE == NPU_FAULT_CORE_NONE, "fault core passed through");
_Static_assert(NPU_MAX_CMD_BYTES * 2u + 64u < NPU_RING_SIZE, "a whole submit fits in the ring");
_Static_assert(NPU_MAX_QUEUES <= NPU_MAX_HW_QUEUES * 2, "queue table is scanned linearly");

static uint64_t npu_eff(uint64_t client, uint64_t device)
{
	return client ? client : device;
}

/* ---- GET_PARAM / SET_PARAM ----------------------------------------------------------------- */
static uint32_t npu_files_count(struct npu_device *dev)
{
	uint32_t n = 0;

	for (const struct npu_list *it = dev->files.next; it != &dev->files; it = it->next)
		n++;
	return n;
}

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
	case NPU_PARAM_NUM_HW_QUEUES:
		args.value = dev->num_queues;
		break;
	case NPU_PARAM_ENGINES:
		args.value = dev->engines;
		break;
	case NPU_PARAM_TIMESTAMP_FREQ:
		args.value = NPU_TIMESTAMP_HZ;
		break;
	case NPU_PARAM_HANG_TIMEOUT_MS:
		args.value = drv_file_hang_ms(f);
		break;
	case NPU_PARAM_LAUNCH_TIMEOUT_US:
		args.value = npu_eff(__atomic_load_n(&f->launch_timeout_us, __ATOMIC_RELAXED),
				     __atomic_load_n(&dev->launch_timeout_us, __ATOMIC_RELAXED));
		break;
	case NPU_PARAM_MAX_INSNS:
		args.value = npu_eff(__atomic_load_n(&f->max_insns, __ATOMIC_RELAXED),
				     __atomic_load_n(&dev->max_insns, __ATOMIC_RELAXED));
		break;
	case NPU_PARAM_NUM_CLIENTS:
		pthread_mutex_lock(&dev->lock);
		args.value = npu_files_count(dev);
		pthread_mutex_unlock(&dev->lock);
		break;
	case NPU_PARAM_BAN_THRESHOLD:
		args.value = __atomic_load_n(&dev->ban_threshold, __ATOMIC_RELAXED);
		break;
	}
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

static int npu_ioctl_set_param(struct npu_file *f, void *uarg)
{
	struct npu_device *dev = f->dev;
	struct npu_set_param args;
	bool device;
	uint64_t *slot;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags & ~NPU_SET_PARAM_FLAGS_MASK) {
		npu_dbg("set_param: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	device = args.flags & NPU_SET_PARAM_DEVICE;
	switch (args.param) {
	case NPU_PARAM_HANG_TIMEOUT_MS:
		if (args.value && (args.value < NPU_HANG_MS_MIN || args.value > NPU_HANG_MS_MAX)) {
			npu_dbg("set_param: invalid hang timeout %llu ms",
				(unsigned long long)args.value);
			return -EINVAL;
		}
		slot = device ? &dev->hang_ms : &f->hang_ms;
		break;
	case NPU_PARAM_LAUNCH_TIMEOUT_US:
		if (args.value > UINT32_MAX) {
			npu_dbg("set_param: invalid launch timeout %llu us",
				(unsigned long long)args.value);
			return -EINVAL;
		}
		slot = device ? &dev->launch_timeout_us : &f->launch_timeout_us;
		break;
	case NPU_PARAM_MAX_INSNS:
		slot = device ? &dev->max_insns : &f->max_insns;
		break;
	case NPU_PARAM_BAN_THRESHOLD:
		if (!device || args.value > 1000) {
			npu_dbg("set_param: invalid ban threshold %llu%s",
				(unsigned long long)args.value, device ? "" : " (device only)");
			return -EINVAL;
		}
		slot = &dev->ban_threshold;
		break;
	default:
		npu_dbg("set_param: param %u cannot be set", args.param);
		return -EINVAL;
	}
	__atomic_store_n(slot, args.value, __ATOMIC_RELAXED);
	return 0;
}

/* ---- BO_CREATE / BO_USERPTR / BO_INFO / BO_FREE -------------------------------------------- */
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
	if (drv_dev_lost(f->dev)) {
		npu_dbg("bo_create: device lost");
		return -ENODEV;
	}

	pthread_mutex_lock(&f->lock);
	drv_bo_reap(f);
	ret = drv_bo_create(f, (args.size + NPU_PAGE_SIZE - 1) & ~(NPU_PAGE_SIZE - 1), args.flags,
			    &bo);
	if (ret)
		goto err_unlock;
	args.handle = bo->handle;
	args.dev_addr = bo->dev_addr;
	args.mmap_offset = bo->mmap_offset;
	__atomic_fetch_add(&f->mem_bytes, bo->size, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&f->lock);
	memcpy(uarg, &args, sizeof(args));
	return 0;

err_unlock:
	pthread_mutex_unlock(&f->lock);
	return ret;
}

static int npu_ioctl_bo_userptr(struct npu_file *f, void *uarg)
{
	struct npu_bo_userptr args;
	struct npu_bo *bo;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	if (!args.user_ptr) {
		npu_dbg("bo_userptr: NULL user_ptr");
		return -EFAULT;
	}
	if (!args.size || args.size > NPU_USERPTR_MAX) {
		npu_dbg("bo_userptr: invalid size %llu", (unsigned long long)args.size);
		return -EINVAL;
	}
	if (args.user_ptr > UINTPTR_MAX - args.size) {
		npu_dbg("bo_userptr: range 0x%llx + %llu wraps", (unsigned long long)args.user_ptr,
			(unsigned long long)args.size);
		return -EINVAL;
	}
	if (args.flags & ~NPU_BO_READ_ONLY) {
		npu_dbg("bo_userptr: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	if (drv_dev_lost(f->dev)) {
		npu_dbg("bo_userptr: device lost");
		return -ENODEV;
	}
	if (drv_user_range_ok(args.user_ptr, args.size, !(args.flags & NPU_BO_READ_ONLY))) {
		npu_dbg("bo_userptr: 0x%llx + %llu is not mapped %s", (unsigned long long)args.user_ptr,
			(unsigned long long)args.size,
			args.flags & NPU_BO_READ_ONLY ? "readable" : "writable");
		return -EFAULT;
	}

	pthread_mutex_lock(&f->lock);
	drv_bo_reap(f);
	ret = drv_bo_userptr(f, args.user_ptr, args.size, args.flags, &bo);
	if (ret)
		goto err_unlock;
	args.handle = bo->handle;
	args.dev_addr = bo->dev_addr;
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
	args.dev_addr = bo->dev_addr;
	args.mmap_offset = bo->mmap_offset;
	pthread_mutex_unlock(&f->lock);
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

static int npu_ioctl_bo_free(struct npu_file *f, void *uarg)
{
	struct npu_bo_free args;
	struct npu_bo *bo;
	uint64_t size;
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
	size = bo->flags & NPU_BO_USERPTR ? 0 : bo->size;
	ret = drv_bo_free(f, bo);
	if (!ret)
		__atomic_fetch_sub(&f->mem_bytes, size, __ATOMIC_RELAXED);
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

static int npu_validate_fence_cmd(unsigned i, const uint8_t *p, uint32_t bytes)
{
	struct npu_cmd_fence c;

	if (bytes != sizeof(c)) {
		npu_dbg("submit: cmd %u: fence dwords %u, expected %zu", i, bytes / 8,
			sizeof(c) / 8);
		return -EINVAL;
	}
	memcpy(&c, p, sizeof(c));
	if (c.pad) {
		npu_dbg("submit: cmd %u: fence pad %u is not 0", i, c.pad);
		return -EINVAL;
	}
	if (!c.value) {
		npu_dbg("submit: cmd %u: invalid fence value 0", i);
		return -EINVAL;
	}
	return 0;
}

static int npu_validate_timestamp(unsigned i, const uint8_t *p, uint32_t bytes)
{
	struct npu_cmd_timestamp c;

	if (bytes != sizeof(c)) {
		npu_dbg("submit: cmd %u: timestamp dwords %u, expected %zu", i, bytes / 8,
			sizeof(c) / 8);
		return -EINVAL;
	}
	memcpy(&c, p, sizeof(c));
	if (c.dst_addr % 8 || !npu_va_range_ok(c.dst_addr, 8)) {
		npu_dbg("submit: cmd %u: invalid timestamp dst_addr 0x%llx", i,
			(unsigned long long)c.dst_addr);
		return -EINVAL;
	}
	return 0;
}

/* Static checks of every command; counts the fence commands. */
static int npu_validate_cmds(struct npu_file *f, const uint8_t *buf, uint32_t size,
			     uint32_t *nfences, bool *launches)
{
	uint32_t off = 0;
	unsigned i;
	int ret;

	*nfences = 0;
	*launches = false;
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
			*launches = true;
			break;
		case NPU_CMD_COPY:
			ret = npu_validate_copy(i, buf + off, bytes);
			break;
		case NPU_CMD_FILL:
			ret = npu_validate_fill(i, buf + off, bytes);
			break;
		case NPU_CMD_SIGNAL_FENCE:
		case NPU_CMD_WAIT_FENCE:
			ret = npu_validate_fence_cmd(i, buf + off, bytes);
			++*nfences;
			break;
		case NPU_CMD_TIMESTAMP:
			ret = npu_validate_timestamp(i, buf + off, bytes);
			break;
		case NPU_CMD_BARRIER:
			ret = 0;
			if (bytes != 8) {
				npu_dbg("submit: cmd %u: barrier dwords %u, expected 1", i, h.dwords);
				ret = -EINVAL;
			}
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

/* Resolves the fence handles of the stream, in order, each with a reference. f->lock held. */
static int npu_resolve_fences(struct npu_file *f, const uint8_t *buf, uint32_t size,
			      struct npu_fence **out)
{
	uint32_t n = 0;

	for (uint32_t off = 0; off < size;) {
		const struct npu_cmd_header *h = (const void *)(buf + off);

		if (h->type == NPU_CMD_SIGNAL_FENCE || h->type == NPU_CMD_WAIT_FENCE) {
			struct npu_cmd_fence c;
			struct npu_fence *fe;

			memcpy(&c, buf + off, sizeof(c));
			fe = drv_fence_lookup(f, c.fence);
			if (!fe) {
				npu_dbg("submit: invalid fence handle %u", c.fence);
				while (n--)
					drv_fence_put(f->dev, out[n]);
				return -ENOENT;
			}
			drv_fence_get(f->dev, fe);
			out[n++] = fe;
		}
		off += (uint32_t)h->dwords * 8u;
	}
	return 0;
}

/* NPU_SUBMIT_CMDS_BO: the stream is in a BO the driver owns, so a plain memcpy() reads it.
 * f->lock (which BO_FREE takes) keeps the BO alive while we copy. */
static int npu_copy_cmds_bo(struct npu_file *f, const struct npu_submit *args, uint8_t *cmds)
{
	struct npu_bo *bo;
	uint8_t *host;

	if (args->cmds >> 32) {
		npu_dbg("submit: cmds 0x%llx is not a buffer handle",
			(unsigned long long)args->cmds);
		return -EINVAL;
	}
	if (args->pad % 8) {
		npu_dbg("submit: cmds offset %u is not 8-aligned", args->pad);
		return -EINVAL;
	}
	pthread_mutex_lock(&f->lock);
	bo = drv_bo_lookup(f, (uint32_t)args->cmds);
	if (!bo) {
		pthread_mutex_unlock(&f->lock);
		npu_dbg("submit: invalid cmds buffer handle %u", (uint32_t)args->cmds);
		return -ENOENT;
	}
	/* USERPTR memory is the caller's: it could be unmapped under us. */
	if (!(bo->flags & NPU_BO_HOST_VISIBLE) || (bo->flags & NPU_BO_USERPTR)) {
		pthread_mutex_unlock(&f->lock);
		npu_dbg("submit: cmds buffer %u is not host-visible device memory (flags 0x%x)",
			bo->handle, bo->flags);
		return -EINVAL;
	}
	if ((uint64_t)args->pad + args->cmds_size > bo->size) {
		pthread_mutex_unlock(&f->lock);
		npu_dbg("submit: cmds offset %u + %u past the end of buffer %u (%llu bytes)",
			args->pad, args->cmds_size, (uint32_t)args->cmds,
			(unsigned long long)bo->size);
		return -EFAULT;
	}
	host = npu_phys_to_host(f->dev, bo->phys);
	memcpy(cmds, host + args->pad, args->cmds_size);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int npu_ioctl_submit(struct npu_file *f, void *uarg)
{
	struct npu_submit args;
	struct npu_fence **fences = NULL;
	struct npu_cqueue *cq;
	uint32_t nfences;
	bool launches, bo_cmds;
	uint8_t *cmds;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	bo_cmds = args.flags & NPU_SUBMIT_CMDS_BO;
	if (!bo_cmds && !args.cmds) {
		npu_dbg("submit: NULL cmds");
		return -EFAULT;
	}
	if (args.cmds_size < 8 || args.cmds_size > NPU_MAX_CMD_BYTES || args.cmds_size % 8) {
		npu_dbg("submit: invalid cmds_size %u", args.cmds_size);
		return -EINVAL;
	}
	if (args.flags & ~NPU_SUBMIT_FLAGS_MASK) {
		npu_dbg("submit: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	if (!bo_cmds && args.pad) {
		npu_dbg("submit: pad %u is not 0", args.pad);
		return -EINVAL;
	}

	/* Copy the stream once: what is validated is what is executed. */
	cmds = malloc(args.cmds_size);
	if (!cmds)
		return -ENOMEM;
	if (bo_cmds) {
		ret = npu_copy_cmds_bo(f, &args, cmds);
		if (ret)
			goto err_free_cmds;
	} else if (drv_copy_from_user(cmds, args.cmds, args.cmds_size)) {
		npu_dbg("submit: cmds 0x%llx + %u is not readable", (unsigned long long)args.cmds,
			args.cmds_size);
		ret = -EFAULT;
		goto err_free_cmds;
	}
	ret = npu_validate_cmds(f, cmds, args.cmds_size, &nfences, &launches);
	if (ret)
		goto err_free_cmds;
	if (nfences) {
		fences = calloc(nfences, sizeof(*fences));
		if (!fences) {
			ret = -ENOMEM;
			goto err_free_cmds;
		}
	}

	pthread_mutex_lock(&f->lock);
	cq = drv_cq_get(f, args.queue);
	if (!cq) {
		pthread_mutex_unlock(&f->lock);
		npu_dbg("submit: invalid queue %u", args.queue);
		ret = -ENOENT;
		goto err_free_fences;
	}
	if (launches && cq->type == NPU_QUEUE_COPY) {
		npu_dbg("submit: LAUNCH on copy queue %u", args.queue);
		ret = -EINVAL;
		goto err_put_queue;
	}
	ret = npu_resolve_fences(f, cmds, args.cmds_size, fences);
	if (ret)
		goto err_put_queue;
	drv_bo_reap(f);
	pthread_mutex_unlock(&f->lock);

	/* May sleep for ring space: without f->lock, holding a reference to the queue. */
	ret = drv_cq_submit(cq, cmds, args.cmds_size, fences, args.flags, &args.seqno);

	pthread_mutex_lock(&f->lock);
	if (ret) {
		for (uint32_t i = 0; i < nfences; i++)
			drv_fence_put(f->dev, fences[i]);
		goto err_put_queue;
	}
	__atomic_fetch_add(&f->jobs, 1, __ATOMIC_RELAXED);
	drv_cq_put(f, cq);
	pthread_mutex_unlock(&f->lock);
	free(fences);
	free(cmds);
	memcpy(uarg, &args, sizeof(args));
	return 0;

err_put_queue:
	drv_cq_put(f, cq);
	pthread_mutex_unlock(&f->lock);
err_free_fences:
	free(fences);
err_free_cmds:
	free(cmds);
	return ret;
}

/* ---- WAIT / JOB_WAIT ---------------------------------------------------------------------- */
static int npu_do_wait(struct npu_file *f, const char *name, uint32_t queue, uint32_t flags,
		       uint64_t seqno, int64_t timeout_ns, uint64_t *completed, int32_t *status,
		       uint32_t *failed)
{
	struct npu_cqueue *cq;
	uint64_t last;
	int ret;

	if (flags) {
		npu_dbg("%s: invalid flags 0x%x", name, flags);
		return -EINVAL;
	}
	if (timeout_ns < 0) {
		npu_dbg("%s: invalid timeout_ns %lld", name, (long long)timeout_ns);
		return -EINVAL;
	}
	pthread_mutex_lock(&f->lock);
	cq = drv_cq_get(f, queue);
	pthread_mutex_unlock(&f->lock);
	if (!cq) {
		npu_dbg("%s: invalid queue %u", name, queue);
		return -ENOENT;
	}
	last = drv_cq_last_seqno(cq);
	if (seqno > last) {
		npu_dbg("%s: seqno %llu was never submitted on queue %u (last %llu)", name,
			(unsigned long long)seqno, queue, (unsigned long long)last);
		ret = -EINVAL;
	} else {
		ret = drv_cq_wait(cq, seqno, timeout_ns, completed, status, failed);
	}
	pthread_mutex_lock(&f->lock);
	drv_cq_put(f, cq);
	pthread_mutex_unlock(&f->lock);
	return ret;
}

static int npu_ioctl_wait(struct npu_file *f, void *uarg)
{
	struct npu_wait args;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	ret = npu_do_wait(f, "wait", args.queue, args.flags, args.seqno, args.timeout_ns,
			  &args.completed, NULL, NULL);
	if (ret)
		return ret;
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

static int npu_ioctl_job_wait(struct npu_file *f, void *uarg)
{
	struct npu_job_wait args;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	ret = npu_do_wait(f, "job_wait", args.queue, args.flags, args.seqno, args.timeout_ns,
			  &args.completed, &args.status, &args.failed);
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
	ret = drv_file_get_fault(f, &args);
	if (ret)
		return ret;
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

/* ---- Queues ------------------------------------------------------------------------------- */
static int npu_ioctl_queue_create(struct npu_file *f, void *uarg)
{
	struct npu_queue_create args;
	struct npu_cqueue *cq;
	unsigned slot;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	if (args.type != NPU_QUEUE_COMPUTE && args.type != NPU_QUEUE_COPY) {
		npu_dbg("queue_create: invalid type %u", args.type);
		return -EINVAL;
	}
	if (args.priority > NPU_QUEUE_PRIORITY_HIGH) {
		npu_dbg("queue_create: invalid priority %u", args.priority);
		return -EINVAL;
	}
	if (args.flags) {
		npu_dbg("queue_create: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	if (__atomic_load_n(&f->banned, __ATOMIC_ACQUIRE)) {
		npu_dbg("queue_create: fd %d is banned", f->fd);
		return -EPERM;
	}
	if (drv_dev_lost(f->dev)) {
		npu_dbg("queue_create: device lost");
		return -ENODEV;
	}

	pthread_mutex_lock(&f->lock);
	for (slot = 1; slot < NPU_MAX_QUEUES && f->queues[slot]; slot++)
		;
	if (slot == NPU_MAX_QUEUES) {
		pthread_mutex_unlock(&f->lock);
		npu_dbg("queue_create: fd %d has %d queues", f->fd, NPU_MAX_QUEUES);
		return -EMFILE;
	}
	ret = drv_cq_create(f, args.type, args.priority, &cq);
	if (ret) {
		pthread_mutex_unlock(&f->lock);
		return ret;
	}
	/* Ids count up and skip live ones: a destroyed queue's id is not reused soon. */
	for (;;) {
		struct npu_cqueue *other;
		uint32_t id = f->next_queue_id++;

		if (!id)
			continue;
		other = drv_cq_get(f, id);
		if (!other) {
			cq->id = id;
			break;
		}
		drv_cq_put(f, other);
	}
	f->queues[slot] = cq;
	args.queue = cq->id;
	pthread_mutex_unlock(&f->lock);
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

static int npu_ioctl_queue_destroy(struct npu_file *f, void *uarg)
{
	struct npu_queue_destroy args;
	unsigned slot;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("queue_destroy: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	if (!args.queue) {
		npu_dbg("queue_destroy: queue 0 cannot be destroyed");
		return -EINVAL;
	}
	pthread_mutex_lock(&f->lock);
	for (slot = 1; slot < NPU_MAX_QUEUES; slot++)
		if (f->queues[slot] && f->queues[slot]->id == args.queue)
			break;
	if (slot == NPU_MAX_QUEUES) {
		pthread_mutex_unlock(&f->lock);
		npu_dbg("queue_destroy: invalid queue %u", args.queue);
		return -ENOENT;
	}
	drv_cq_destroy(f, f->queues[slot]);
	f->queues[slot] = NULL;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

/* ---- Fences ------------------------------------------------------------------------------- */
static int npu_ioctl_fence_create(struct npu_file *f, void *uarg)
{
	struct npu_fence_create args;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("fence_create: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	if (drv_dev_lost(f->dev)) {
		npu_dbg("fence_create: device lost");
		return -ENODEV;
	}
	pthread_mutex_lock(&f->lock);
	ret = drv_fence_create(f, args.value, &args.handle);
	pthread_mutex_unlock(&f->lock);
	if (ret)
		return ret;
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

static int npu_ioctl_fence_destroy(struct npu_file *f, void *uarg)
{
	struct npu_fence_destroy args;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("fence_destroy: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	pthread_mutex_lock(&f->lock);
	ret = drv_fence_destroy(f, args.handle);
	pthread_mutex_unlock(&f->lock);
	if (ret)
		npu_dbg("fence_destroy: invalid handle %u", args.handle);
	return ret;
}

static int npu_ioctl_fence_signal(struct npu_file *f, void *uarg)
{
	struct npu_device *dev = f->dev;
	struct npu_fence_signal args;
	struct npu_fence *fe;
	uint64_t cur;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("fence_signal: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	pthread_mutex_lock(&f->lock);
	fe = drv_fence_lookup(f, args.handle);
	if (!fe) {
		pthread_mutex_unlock(&f->lock);
		npu_dbg("fence_signal: invalid handle %u", args.handle);
		return -ENOENT;
	}
	if (drv_dev_lost(dev)) {
		pthread_mutex_unlock(&f->lock);
		npu_dbg("fence_signal: device lost");
		return -ENODEV;
	}
	/* Monotonic: compare and raise in one step, so two signallers cannot both pass. */
	cur = drv_fence_value(fe);
	do {
		if (args.value <= cur) {
			pthread_mutex_unlock(&f->lock);
			npu_dbg("fence_signal: value %llu is not above the current %llu",
				(unsigned long long)args.value, (unsigned long long)cur);
			return -EINVAL;
		}
	} while (!__atomic_compare_exchange_n(&fe->rec->value, &cur, args.value, false,
					      __ATOMIC_RELEASE, __ATOMIC_ACQUIRE));
	pthread_mutex_unlock(&f->lock);
	npu_wr32(dev, NPU_REG_FENCE_NOTIFY, 1);
	drv_dev_notify_fences(dev);
	return 0;
}

static int npu_ioctl_fence_query(struct npu_file *f, void *uarg)
{
	struct npu_fence_query args;
	struct npu_fence *fe;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("fence_query: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	pthread_mutex_lock(&f->lock);
	fe = drv_fence_lookup(f, args.handle);
	if (!fe) {
		pthread_mutex_unlock(&f->lock);
		npu_dbg("fence_query: invalid handle %u", args.handle);
		return -ENOENT;
	}
	/* Value first (acquire): an error set before the value was raised is then seen. */
	args.value = drv_fence_value(fe);
	args.error = drv_fence_error(fe);
	args.pad = 0;
	pthread_mutex_unlock(&f->lock);
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

static int npu_ioctl_fence_wait(struct npu_file *f, void *uarg)
{
	struct npu_device *dev = f->dev;
	struct npu_fence_wait args;
	struct npu_fence *fences[NPU_MAX_WAIT_FENCES];
	uint32_t handles[NPU_MAX_WAIT_FENCES];
	uint64_t values[NPU_MAX_WAIT_FENCES];
	uint32_t n = 0, first = 0;
	int32_t error = 0;
	int ret = 0;

	memcpy(&args, uarg, sizeof(args));
	if (!args.handles || !args.values) {
		npu_dbg("fence_wait: NULL %s", args.handles ? "values" : "handles");
		return -EFAULT;
	}
	if (!args.count || args.count > NPU_MAX_WAIT_FENCES) {
		npu_dbg("fence_wait: invalid count %u", args.count);
		return -EINVAL;
	}
	if (args.flags & ~NPU_FENCE_WAIT_FLAGS_MASK) {
		npu_dbg("fence_wait: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	if (args.timeout_ns < 0) {
		npu_dbg("fence_wait: invalid timeout_ns %lld", (long long)args.timeout_ns);
		return -EINVAL;
	}
	if (drv_copy_from_user(handles, args.handles, args.count * sizeof(*handles)) ||
	    drv_copy_from_user(values, args.values, args.count * sizeof(*values))) {
		npu_dbg("fence_wait: handles or values not readable");
		return -EFAULT;
	}

	pthread_mutex_lock(&f->lock);
	for (n = 0; n < args.count; n++) {
		fences[n] = drv_fence_lookup(f, handles[n]);
		if (!fences[n]) {
			npu_dbg("fence_wait: invalid handle %u (index %u)", handles[n], n);
			ret = -ENOENT;
			break;
		}
		drv_fence_get(dev, fences[n]);
	}
	pthread_mutex_unlock(&f->lock);

	if (!ret) {
		pthread_mutex_lock(&dev->fence_lock);
		for (;;) {
			uint32_t reached = 0;
			bool have_first = false;
			struct timespec ts;

			error = 0;
			for (uint32_t i = 0; i < n; i++) {
				if (drv_fence_value(fences[i]) < values[i])
					continue;
				reached++;
				if (!have_first) {
					first = i;
					have_first = true;
				}
				if (!error)
					error = drv_fence_error(fences[i]);
			}
			if (args.flags & NPU_FENCE_WAIT_ANY ? reached > 0 : reached == n)
				break;
			if (!args.timeout_ns || drv_now_ns() >= args.timeout_ns) {
				ret = -ETIMEDOUT;
				break;
			}
			drv_ns_to_timespec(args.timeout_ns, &ts);
			pthread_cond_timedwait(&dev->fence_cond, &dev->fence_lock, &ts);
		}
		pthread_mutex_unlock(&dev->fence_lock);
	}
	while (n--)
		drv_fence_put(dev, fences[n]);
	if (ret)
		return ret;
	args.first = first;
	args.error = error;
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

static int npu_ioctl_fence_export(struct npu_file *f, void *uarg)
{
	struct npu_fence_export args;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("fence_export: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	pthread_mutex_lock(&f->lock);
	ret = drv_fence_export(f, args.handle, &args.token);
	pthread_mutex_unlock(&f->lock);
	if (ret) {
		npu_dbg("fence_export: invalid handle %u", args.handle);
		return ret;
	}
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

static int npu_ioctl_fence_import(struct npu_file *f, void *uarg)
{
	struct npu_fence_import args;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("fence_import: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	pthread_mutex_lock(&f->lock);
	ret = drv_fence_import(f, args.token, &args.handle);
	pthread_mutex_unlock(&f->lock);
	if (ret) {
		npu_dbg("fence_import: no fence of this device has token 0x%llx",
			(unsigned long long)args.token);
		return ret;
	}
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

/* ---- Event fd, reset status, fault injection ------------------------------------------------ */
static int npu_ioctl_get_eventfd(struct npu_file *f, void *uarg)
{
	struct npu_get_eventfd args;
	int efd;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("get_eventfd: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	pthread_mutex_lock(&f->ev_lock);
	efd = f->efd;
	if (efd < 0) {
		efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (efd < 0) {
			int err = -errno;

			pthread_mutex_unlock(&f->ev_lock);
			npu_dbg("get_eventfd: eventfd failed (%d)", err);
			return err;
		}
		__atomic_store_n(&f->efd, efd, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&f->ev_lock);
	args.fd = efd;
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

static int npu_ioctl_reset_status(struct npu_file *f, void *uarg)
{
	struct npu_reset_status args;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("reset_status: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	pthread_mutex_lock(&f->ev_lock);
	args.status = f->reset_status;
	f->reset_status = NPU_RESET_NONE;
	args.guilty = f->guilty;
	args.innocent = f->innocent;
	pthread_mutex_unlock(&f->ev_lock);
	args.device_resets = __atomic_load_n(&f->dev->resets, __ATOMIC_RELAXED);
	args.state = (__atomic_load_n(&f->banned, __ATOMIC_ACQUIRE) ? NPU_CLIENT_BANNED : 0) |
		     (drv_dev_lost(f->dev) ? NPU_CLIENT_DEVICE_LOST : 0);
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

static int npu_ioctl_inject(struct npu_file *f, void *uarg)
{
	struct npu_device *dev = f->dev;
	struct npu_inject args;

	memcpy(&args, uarg, sizeof(args));
	if (args.what < NPU_INJECT_LOST_IRQ || args.what > NPU_INJECT_DEVICE_RESET) {
		npu_dbg("inject: invalid what %u", args.what);
		return -EINVAL;
	}
	if (!args.count || args.count > 1000000 ||
	    (args.what == NPU_INJECT_DEVICE_RESET && args.count != 1)) {
		npu_dbg("inject: invalid count %u", args.count);
		return -EINVAL;
	}
	if (args.flags) {
		npu_dbg("inject: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	if (args.pad) {
		npu_dbg("inject: pad %u is not 0", args.pad);
		return -EINVAL;
	}
	if (!dev->inject_enabled) {
		npu_dbg("inject: not enabled (NPU_FAULT_INJECTION=1 at power-on)");
		return -EPERM;
	}
	if (drv_dev_lost(dev)) {
		npu_dbg("inject: device lost");
		return -ENODEV;
	}
	switch (args.what) {
	case NPU_INJECT_DEVICE_RESET:
		pthread_mutex_lock(&dev->recovery_lock);
		drv_device_reset(dev, NULL);
		pthread_mutex_unlock(&dev->recovery_lock);
		break;
	case NPU_INJECT_LOST_IRQ:
		npu_wr32(dev, NPU_REG_INJECT, NPU_HW_INJECT_LOST_IRQ | args.count << 8);
		break;
	case NPU_INJECT_CP_STALL:
		npu_wr32(dev, NPU_REG_INJECT, NPU_HW_INJECT_CP_STALL | args.count << 8);
		break;
	case NPU_INJECT_RESET_FAIL:
		npu_wr32(dev, NPU_REG_INJECT, NPU_HW_INJECT_RESET_FAIL | args.count << 8);
		break;
	case NPU_INJECT_ALLOC_FAIL:
		npu_wr32(dev, NPU_REG_INJECT, NPU_HW_INJECT_ALLOC_FAIL | args.count << 8);
		break;
	}
	return 0;
}

/* ---- JOB_TIME, CLIENT_INFO (uapi 1.2) ------------------------------------------------------ */
static int npu_ioctl_job_time(struct npu_file *f, void *uarg)
{
	struct npu_job_time args;
	struct npu_hw_job_time t;
	struct npu_cqueue *cq;
	uint64_t last;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("job_time: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	pthread_mutex_lock(&f->lock);
	cq = drv_cq_get(f, args.queue);
	pthread_mutex_unlock(&f->lock);
	if (!cq) {
		npu_dbg("job_time: invalid queue %u", args.queue);
		return -ENOENT;
	}
	last = drv_cq_last_seqno(cq);
	if (!args.seqno || args.seqno > last) {
		npu_dbg("job_time: seqno %llu was never submitted on queue %u (last %llu)",
			(unsigned long long)args.seqno, args.queue, (unsigned long long)last);
		ret = -EINVAL;
	} else {
		ret = drv_cq_job_time(cq, args.seqno, &t);
		if (ret)
			npu_dbg("job_time: queue %u seqno %llu: %s", args.queue,
				(unsigned long long)args.seqno,
				ret == -EAGAIN ? "not completed" : "no device times");
	}
	pthread_mutex_lock(&f->lock);
	drv_cq_put(f, cq);
	pthread_mutex_unlock(&f->lock);
	if (ret)
		return ret;
	args.start_cycles = t.start;
	args.end_cycles = t.end;
	args.cycles = t.cycles;
	args.launches = t.launches;
	args.ncores = t.ncores;
	memcpy(args.core_cycles, t.core_cycles, sizeof(args.core_cycles));
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

static int npu_ioctl_client_info(struct npu_file *f, void *uarg)
{
	struct npu_device *dev = f->dev;
	struct npu_client_info args;
	struct npu_list *it;
	uint32_t i = 0;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("client_info: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	pthread_mutex_lock(&dev->lock);
	for (it = dev->files.next; it != &dev->files && i < args.index; it = it->next)
		i++;
	if (it == &dev->files) {
		pthread_mutex_unlock(&dev->lock);
		npu_dbg("client_info: index %u >= %u open clients", args.index, i);
		return -ENOENT;
	}
	{
		const struct npu_file *c = npu_container_of(it, struct npu_file, link);

		args.flags = c == f ? NPU_CLIENT_INFO_SELF : 0;
		args.pid = c->pid;
		args.client_id = (uint32_t)c->fd;
		args.jobs = __atomic_load_n(&c->jobs, __ATOMIC_RELAXED);
		args.mem_bytes = __atomic_load_n(&c->mem_bytes, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&dev->lock);
	memcpy(uarg, &args, sizeof(args));
	return 0;
}

/* ---- QUEUE_STATUS (uapi 1.2) ------------------------------------------------------------- */
static int npu_ioctl_queue_status(struct npu_file *f, void *uarg)
{
	struct npu_queue_status_map args;
	int ret;

	memcpy(&args, uarg, sizeof(args));
	if (args.flags) {
		npu_dbg("queue_status: invalid flags 0x%x", args.flags);
		return -EINVAL;
	}
	pthread_mutex_lock(&f->lock);
	ret = drv_cq_status_map(f, args.queue, &args.status_ptr);
	pthread_mutex_unlock(&f->lock);
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
	NPU_IOCTL_DEF(NPU_IOCTL_SET_PARAM, npu_ioctl_set_param),
	NPU_IOCTL_DEF(NPU_IOCTL_QUEUE_CREATE, npu_ioctl_queue_create),
	NPU_IOCTL_DEF(NPU_IOCTL_QUEUE_DESTROY, npu_ioctl_queue_destroy),
	NPU_IOCTL_DEF(NPU_IOCTL_JOB_WAIT, npu_ioctl_job_wait),
	NPU_IOCTL_DEF(NPU_IOCTL_FENCE_CREATE, npu_ioctl_fence_create),
	NPU_IOCTL_DEF(NPU_IOCTL_FENCE_DESTROY, npu_ioctl_fence_destroy),
	NPU_IOCTL_DEF(NPU_IOCTL_FENCE_SIGNAL, npu_ioctl_fence_signal),
	NPU_IOCTL_DEF(NPU_IOCTL_FENCE_QUERY, npu_ioctl_fence_query),
	NPU_IOCTL_DEF(NPU_IOCTL_FENCE_WAIT, npu_ioctl_fence_wait),
	NPU_IOCTL_DEF(NPU_IOCTL_FENCE_EXPORT, npu_ioctl_fence_export),
	NPU_IOCTL_DEF(NPU_IOCTL_FENCE_IMPORT, npu_ioctl_fence_import),
	NPU_IOCTL_DEF(NPU_IOCTL_GET_EVENTFD, npu_ioctl_get_eventfd),
	NPU_IOCTL_DEF(NPU_IOCTL_RESET_STATUS, npu_ioctl_reset_status),
	NPU_IOCTL_DEF(NPU_IOCTL_BO_USERPTR, npu_ioctl_bo_userptr),
	NPU_IOCTL_DEF(NPU_IOCTL_INJECT, npu_ioctl_inject),
	NPU_IOCTL_DEF(NPU_IOCTL_JOB_TIME, npu_ioctl_job_time),
	NPU_IOCTL_DEF(NPU_IOCTL_CLIENT_INFO, npu_ioctl_client_info),
	NPU_IOCTL_DEF(NPU_IOCTL_QUEUE_STATUS, npu_ioctl_queue_status),
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
