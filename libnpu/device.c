/* SPDX-License-Identifier: MIT */
/* libnpu: errors, devices, memory and synchronisation over the driver ABI. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npu_accel.h"
#include "npu_internal.h"
#include "npu_isa.h"

/* ---- Errors ---------------------------------------------------------------------------- */

static __thread char last_error[512];

npu_result_t npui_set_error(npu_result_t code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return code;
}

void npui_clear_error(void)
{
	last_error[0] = '\0';
}

const char *npu_last_error_message(void)
{
	return last_error;
}

static const struct {
	npu_result_t code;
	const char *name;
	const char *text;
} error_table[] = {
	{ NPU_SUCCESS, "NPU_SUCCESS", "success" },
	{ NPU_ERROR_NOT_PERMITTED, "NPU_ERROR_NOT_PERMITTED", "operation not permitted" },
	{ NPU_ERROR_NOT_FOUND, "NPU_ERROR_NOT_FOUND", "not found" },
	{ NPU_ERROR_KERNEL_FAULT, "NPU_ERROR_KERNEL_FAULT", "a kernel or command faulted on the device" },
	{ NPU_ERROR_INVALID_IMAGE, "NPU_ERROR_INVALID_IMAGE", "malformed kernel binary" },
	{ NPU_ERROR_BAD_HANDLE, "NPU_ERROR_BAD_HANDLE", "invalid handle" },
	{ NPU_ERROR_NOT_READY, "NPU_ERROR_NOT_READY", "the work has not completed yet" },
	{ NPU_ERROR_OUT_OF_MEMORY, "NPU_ERROR_OUT_OF_MEMORY", "out of device memory" },
	{ NPU_ERROR_INVALID_ADDRESS, "NPU_ERROR_INVALID_ADDRESS", "not a valid device address range" },
	{ NPU_ERROR_BUSY, "NPU_ERROR_BUSY", "device or resource busy" },
	{ NPU_ERROR_NO_DEVICE, "NPU_ERROR_NO_DEVICE", "no such device" },
	{ NPU_ERROR_INVALID_VALUE, "NPU_ERROR_INVALID_VALUE", "invalid argument" },
	{ NPU_ERROR_NOT_SUPPORTED, "NPU_ERROR_NOT_SUPPORTED", "operation not supported" },
	{ NPU_ERROR_TIMEOUT, "NPU_ERROR_TIMEOUT", "timed out" },
};

const char *npu_error_name(npu_result_t result)
{
	for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
		if (error_table[i].code == result)
			return error_table[i].name;
	return "NPU_ERROR_UNKNOWN";
}

const char *npu_error_string(npu_result_t result)
{
	for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++)
		if (error_table[i].code == result)
			return error_table[i].text;
	return "unknown error";
}

int npu_get_version(void)
{
	return NPU_VERSION;
}

/* ---- Devices --------------------------------------------------------------------------- */

#define NPU_MAX_DEVICES 16

npu_result_t npu_device_count(int *count)
{
	char node[16];
	int n = 0;

	if (!count)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_device_count: count is NULL");
	for (; n < NPU_MAX_DEVICES; n++) {
		snprintf(node, sizeof(node), "npu%d", n);
		int fd = npu_drv_open(node, 0);
		if (fd < 0)
			break;
		npu_drv_close(fd);
	}
	*count = n;
	return NPU_SUCCESS;
}

static int get_param(int fd, uint32_t param, uint64_t *value)
{
	struct npu_get_param gp = { .param = param };
	int ret = npu_drv_ioctl(fd, NPU_IOCTL_GET_PARAM, &gp);

	if (ret == 0)
		*value = gp.value;
	return ret;
}

static npu_result_t read_props(struct npu_device *dev)
{
	struct npu_device_props *p = &dev->props;
	uint64_t v[NPU_PARAM_COUNT];
	static const uint32_t wanted[] = {
		NPU_PARAM_NUM_CORES, NPU_PARAM_SRAM_SIZE, NPU_PARAM_MEM_SIZE,
		NPU_PARAM_CLOCK_KHZ, NPU_PARAM_FW_VERSION, NPU_PARAM_ISA_VERSION,
		NPU_PARAM_MAX_ARGS, NPU_PARAM_PAGE_SIZE,
	};

	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		int ret = get_param(dev->fd, wanted[i], &v[wanted[i]]);
		if (ret)
			return npui_set_error(ret, "GET_PARAM %u failed: %s", wanted[i],
					     strerror(-ret));
	}
	memset(p, 0, sizeof(*p));
	p->struct_size = sizeof(*p);
	p->ordinal = (uint32_t)dev->ordinal;
	snprintf(p->name, sizeof(p->name), "npu%d (firmware-sim)", dev->ordinal);
	p->num_cores = (uint32_t)v[NPU_PARAM_NUM_CORES];
	p->sram_per_core = (uint32_t)v[NPU_PARAM_SRAM_SIZE];
	p->mem_total = v[NPU_PARAM_MEM_SIZE];
	p->clock_khz = (uint32_t)v[NPU_PARAM_CLOCK_KHZ];
	p->fw_version = (uint32_t)v[NPU_PARAM_FW_VERSION];
	p->isa_version = (uint32_t)v[NPU_PARAM_ISA_VERSION];
	p->max_kernel_args = (uint32_t)v[NPU_PARAM_MAX_ARGS];
	p->page_size = (uint32_t)v[NPU_PARAM_PAGE_SIZE];
	if ((p->isa_version >> 16) != NPU_ISA_VERSION_MAJOR)
		return npui_set_error(NPU_ERROR_NO_DEVICE,
				     "device speaks ISA %u.%u, this libnpu ISA %u.%u",
				     p->isa_version >> 16, p->isa_version & 0xffff,
				     NPU_ISA_VERSION_MAJOR, NPU_ISA_VERSION_MINOR);
	return NPU_SUCCESS;
}

npu_result_t npu_device_open(int ordinal, npu_device_t **out)
{
	struct npu_device *dev;
	char node[16];
	npu_result_t ret;

	npui_clear_error();
	if (!out)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_device_open: out is NULL");
	if (ordinal < 0 || ordinal >= NPU_MAX_DEVICES)
		return npui_set_error(NPU_ERROR_NO_DEVICE, "no device %d", ordinal);
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
	snprintf(node, sizeof(node), "npu%d", ordinal);
	dev->fd = npu_drv_open(node, 0);
	if (dev->fd < 0) {
		ret = npui_set_error(dev->fd == -ENOENT ? NPU_ERROR_NO_DEVICE : dev->fd,
				    "cannot open device node %s: %s", node, strerror(-dev->fd));
		goto err_free;
	}
	dev->ordinal = ordinal;
	ret = read_props(dev);
	if (ret)
		goto err_close;
	pthread_mutex_init(&dev->lock, NULL);
	ret = npui_streams_init(dev);
	if (ret) {
		pthread_mutex_destroy(&dev->lock);
		goto err_close;
	}
	*out = dev;
	return NPU_SUCCESS;

err_close:
	npu_drv_close(dev->fd);
err_free:
	free(dev);
	return ret;
}

npu_result_t npu_device_close(npu_device_t *dev)
{
	npu_result_t ret;

	if (!dev)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_device_close: dev is NULL");
	pthread_mutex_lock(&dev->lock);
	ret = npui_sync_all(dev);
	pthread_mutex_unlock(&dev->lock);
	npui_streams_fini(dev);
	pthread_mutex_lock(&dev->lock);
	while (dev->modules) {
		struct npu_module *m = dev->modules;
		dev->modules = m->next;
		free(m->kernels);
		free(m->strings);
		free(m);
	}
	/* Closing the node frees every buffer object the client still holds. */
	for (size_t i = 0; i < dev->nallocs; i++)
		npu_drv_munmap(dev->fd, dev->allocs[i].host, dev->allocs[i].size);
	if (dev->cmdbo.host)
		npu_drv_munmap(dev->fd, dev->cmdbo.host, NPU_MAX_CMD_BYTES);
	free(dev->allocs);
	pthread_mutex_unlock(&dev->lock);
	npu_drv_close(dev->fd);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
	return ret == NPU_ERROR_KERNEL_FAULT ? NPU_SUCCESS : ret;
}

npu_result_t npu_device_get_props(npu_device_t *dev, struct npu_device_props *props)
{
	uint64_t used = 0;
	uint32_t n;
	int ret;

	if (!dev || !props)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_device_get_props: NULL argument");
	if (props->struct_size < offsetof(struct npu_device_props, name))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				     "npu_device_get_props: struct_size %u too small",
				     props->struct_size);
	ret = get_param(dev->fd, NPU_PARAM_MEM_USED, &used);
	if (ret)
		return npui_set_error(ret, "GET_PARAM MEM_USED failed: %s", strerror(-ret));
	n = props->struct_size < sizeof(*props) ? props->struct_size : (uint32_t)sizeof(*props);
	pthread_mutex_lock(&dev->lock);
	dev->props.mem_used = used;
	memcpy(props, &dev->props, n);
	pthread_mutex_unlock(&dev->lock);
	props->struct_size = n;
	return NPU_SUCCESS;
}

npu_result_t npu_device_synchronize(npu_device_t *dev)
{
	npu_result_t ret;

	if (!dev)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_device_synchronize: dev is NULL");
	npui_clear_error();
	pthread_mutex_lock(&dev->lock);
	ret = npui_sync_all(dev);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

npu_result_t npu_device_get_last_fault(npu_device_t *dev, struct npu_fault_info *info)
{
	uint32_t n;

	if (!dev || !info)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				     "npu_device_get_last_fault: NULL argument");
	if (info->struct_size < sizeof(uint32_t) * 2)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				     "npu_device_get_last_fault: struct_size %u too small",
				     info->struct_size);
	pthread_mutex_lock(&dev->lock);
	if (!dev->last_fault.code) {
		pthread_mutex_unlock(&dev->lock);
		return npui_set_error(NPU_ERROR_NOT_FOUND, "no fault has been reported");
	}
	n = info->struct_size < sizeof(*info) ? info->struct_size : (uint32_t)sizeof(*info);
	memcpy(info, &dev->last_fault, n);
	info->struct_size = n;
	pthread_mutex_unlock(&dev->lock);
	return NPU_SUCCESS;
}

/* ---- Memory ------------------------------------------------------------------------------ */

npu_result_t npui_alloc_bo(struct npu_device *dev, uint64_t size, uint32_t flags,
			  struct npu_alloc *out)
{
	struct npu_bo_create c = { .size = size, .flags = flags | NPU_BO_HOST_VISIBLE };
	struct npu_bo_free f = { 0 };
	int err = 0, ret;
	void *host = NULL;

	if (dev->nallocs == dev->cap_allocs) {
		size_t cap = dev->cap_allocs ? dev->cap_allocs * 2 : 64;
		struct npu_alloc *a = realloc(dev->allocs, cap * sizeof(*a));
		if (!a)
			return npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
		dev->allocs = a;
		dev->cap_allocs = cap;
	}
	ret = npu_drv_ioctl(dev->fd, NPU_IOCTL_BO_CREATE, &c);
	if (ret) {
		uint64_t used = 0;
		get_param(dev->fd, NPU_PARAM_MEM_USED, &used);
		return npui_set_error(ret, "cannot allocate %" PRIu64 " bytes of device memory "
				     "(%" PRIu64 " of %" PRIu64 " bytes in use): %s",
				     size, used, dev->props.mem_total, strerror(-ret));
	}
	host = npu_drv_mmap(dev->fd, c.mmap_offset, c.size, &err);
	if (!host) {
		f.handle = c.handle;
		npu_drv_ioctl(dev->fd, NPU_IOCTL_BO_FREE, &f);
		return npui_set_error(err ? err : NPU_ERROR_INVALID_VALUE,
				     "cannot map a new buffer: %s", strerror(-err));
	}
	/* Keep the table sorted by device address for lookups. */
	size_t i = dev->nallocs;
	while (i > 0 && dev->allocs[i - 1].va > c.dev_addr) {
		dev->allocs[i] = dev->allocs[i - 1];
		i--;
	}
	dev->allocs[i] = (struct npu_alloc){ c.dev_addr, c.size, c.handle, host };
	dev->nallocs++;
	*out = dev->allocs[i];
	return NPU_SUCCESS;
}

struct npu_alloc *npui_find_alloc(struct npu_device *dev, npu_deviceptr_t ptr, uint64_t size)
{
	size_t lo = 0, hi = dev->nallocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (dev->allocs[mid].va <= ptr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	struct npu_alloc *a = &dev->allocs[lo - 1];
	uint64_t off = ptr - a->va;
	if (off >= a->size || size > a->size - off)
		return NULL;
	return a;
}

void npui_release_alloc(struct npu_device *dev, npu_deviceptr_t va)
{
	struct npu_alloc *a = npui_find_alloc(dev, va, 1);
	struct npu_bo_free f;

	if (!a || a->va != va)
		return;
	npu_drv_munmap(dev->fd, a->host, a->size);
	f = (struct npu_bo_free){ .handle = a->handle };
	npu_drv_ioctl(dev->fd, NPU_IOCTL_BO_FREE, &f);
	size_t i = (size_t)(a - dev->allocs);
	memmove(&dev->allocs[i], &dev->allocs[i + 1], (dev->nallocs - i - 1) * sizeof(*a));
	dev->nallocs--;
}

npu_result_t npu_mem_alloc(npu_device_t *dev, uint64_t size, npu_deviceptr_t *out)
{
	struct npu_alloc a;
	npu_result_t ret;

	npui_clear_error();
	if (!dev || !out)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_mem_alloc: NULL argument");
	if (size == 0)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_mem_alloc: size is 0");
	pthread_mutex_lock(&dev->lock);
	ret = npui_alloc_bo(dev, size, 0, &a);
	pthread_mutex_unlock(&dev->lock);
	if (ret == NPU_SUCCESS)
		*out = a.va;
	return ret;
}

npu_result_t npu_mem_free(npu_device_t *dev, npu_deviceptr_t ptr)
{
	struct npu_alloc *a;

	npui_clear_error();
	if (!dev)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_mem_free: dev is NULL");
	pthread_mutex_lock(&dev->lock);
	a = npui_find_alloc(dev, ptr, 1);
	if (!a || a->va != ptr) {
		pthread_mutex_unlock(&dev->lock);
		return npui_set_error(NPU_ERROR_INVALID_ADDRESS,
				     "npu_mem_free: 0x%" PRIx64 " is not the start of an allocation",
				     ptr);
	}
	/* The driver keeps the buffer alive until work already submitted is done. */
	npui_release_alloc(dev, ptr);
	pthread_mutex_unlock(&dev->lock);
	return NPU_SUCCESS;
}

/* Checks a 2-D device range: rows of `width` bytes `pitch` apart, `height` of them. On
 * success *extent is the bytes from the first row's start to the last row's end. */
static npu_result_t range_2d(uint64_t pitch, uint64_t width, uint64_t height, const char *what,
			     const char *side, uint64_t *extent)
{
	if (width == 0 || height == 0)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "%s: %s is 0", what,
				      width == 0 ? (height == 1 ? "size" : "width") : "height");
	if (height > 1 && pitch < width)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "%s: %s pitch %" PRIu64 " is smaller than width %" PRIu64,
				      what, side, pitch, width);
	if (height > 1 && (height - 1 > (UINT64_MAX - width) / pitch))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "%s: %s pitch %" PRIu64 " x height %" PRIu64
				      " overflows 64 bits", what, side, pitch, height);
	*extent = (height - 1) * (height > 1 ? pitch : 0) + width;
	return NPU_SUCCESS;
}

/* Checks a host <-> device copy without touching memory (dev->lock held). */
static npu_result_t check_host_copy(struct npu_device *dev, const struct npui_host_copy *c,
				    uint64_t *dextent)
{
	uint64_t hextent = 0;
	npu_result_t ret;

	ret = range_2d(c->dpitch, c->width, c->height, c->what, "device", dextent);
	if (!ret)
		ret = range_2d(c->hpitch, c->width, c->height, c->what, "host", &hextent);
	if (ret)
		return ret;
	if ((uintptr_t)c->host > UINTPTR_MAX - hextent)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "%s: host range %p + %" PRIu64 " wraps around", c->what,
				      c->host, hextent);
	if (!npui_find_alloc(dev, c->ptr, *dextent))
		return npui_set_error(NPU_ERROR_INVALID_ADDRESS,
				      "%s: [0x%" PRIx64 ", +%" PRIu64 ") is not inside one allocation",
				      c->what, c->ptr, *dextent);
	return NPU_SUCCESS;
}

npu_result_t npui_host_copy(struct npu_device *dev, struct npu_stream *s,
			    const struct npui_host_copy *c)
{
	struct npu_alloc *a;
	uint64_t extent = 0;
	npu_result_t ret;
	char *d, *h;

	ret = check_host_copy(dev, c, &extent);
	if (ret)
		return ret;
	if (s && s->capture)
		return npui_graph_add_host_copy(s->capture, c);
	/* dev->lock is dropped while waiting, so the range is looked up again afterwards. */
	ret = s ? npui_wait(dev, s->queue, s->last_seqno, -1) : npui_sync_all(dev);
	if (ret)
		return ret;
	a = npui_find_alloc(dev, c->ptr, extent);
	if (!a)
		return npui_set_error(NPU_ERROR_INVALID_ADDRESS,
				      "%s: 0x%" PRIx64 " was freed while waiting", c->what, c->ptr);
	/* Host copies go through the buffer's host mapping. */
	d = (char *)a->host + (c->ptr - a->va);
	h = c->host;
	if (c->height == 1 || (c->dpitch == c->width && c->hpitch == c->width)) {
		if (c->to_device)
			memcpy(d, h, c->width * c->height);
		else
			memcpy(h, d, c->width * c->height);
		return NPU_SUCCESS;
	}
	for (uint64_t i = 0; i < c->height; i++, d += c->dpitch, h += c->hpitch) {
		if (c->to_device)
			memcpy(d, h, c->width);
		else
			memcpy(h, d, c->width);
	}
	return NPU_SUCCESS;
}

static npu_result_t copy_host(struct npu_device *dev, struct npu_stream *s, void *hostbuf,
			      npu_deviceptr_t ptr, uint64_t size, bool to_device,
			      const char *what)
{
	struct npui_host_copy c = {
		.host = hostbuf, .hpitch = size, .ptr = ptr, .dpitch = size,
		.width = size, .height = 1, .to_device = to_device, .what = what,
	};
	npu_result_t ret;

	pthread_mutex_lock(&dev->lock);
	ret = npui_host_copy(dev, s, &c);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

npu_result_t npu_memcpy_htod(npu_device_t *dev, npu_deviceptr_t dst, const void *src,
			     uint64_t size)
{
	npui_clear_error();
	if (!dev || (!src && size))
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_memcpy_htod: NULL argument");
	/* A synchronous copy waits for all work of the device, on every stream. */
	return copy_host(dev, NULL, (void *)src, dst, size, true, "npu_memcpy_htod");
}

npu_result_t npu_memcpy_dtoh(npu_device_t *dev, void *dst, npu_deviceptr_t src, uint64_t size)
{
	npui_clear_error();
	if (!dev || (!dst && size))
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_memcpy_dtoh: NULL argument");
	return copy_host(dev, NULL, dst, src, size, false, "npu_memcpy_dtoh");
}

npu_result_t npu_memcpy_htod_async(npu_device_t *dev, npu_deviceptr_t dst, const void *src,
				   uint64_t size, npu_stream_t *stream)
{
	struct npu_stream *s;

	npui_clear_error();
	if (!dev || (!src && size))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_memcpy_htod_async: NULL argument");
	s = npui_stream(dev, stream);
	if (!s)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_memcpy_htod_async: the stream belongs to another device");
	/* No host-memory DMA in the driver ABI yet: the CPU copies once the stream gets here. */
	return copy_host(dev, s, (void *)src, dst, size, true, "npu_memcpy_htod_async");
}

npu_result_t npu_memcpy_dtoh_async(npu_device_t *dev, void *dst, npu_deviceptr_t src,
				   uint64_t size, npu_stream_t *stream)
{
	struct npu_stream *s;

	npui_clear_error();
	if (!dev || (!dst && size))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_memcpy_dtoh_async: NULL argument");
	s = npui_stream(dev, stream);
	if (!s)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_memcpy_dtoh_async: the stream belongs to another device");
	return copy_host(dev, s, dst, src, size, false, "npu_memcpy_dtoh_async");
}

npu_result_t npu_memcpy_dtod_async(npu_device_t *dev, npu_deviceptr_t dst, npu_deviceptr_t src,
				   uint64_t size, npu_stream_t *stream)
{
	struct npu_cmd_copy c = {
		.hdr = { .type = NPU_CMD_COPY, .dwords = sizeof(c) / 8 },
		.src_addr = src, .dst_addr = dst, .size = size,
	};
	struct npui_job job = { .kind = NPU_JOB_COPY, .bytes = size, .name = "copy" };
	struct npu_stream *s;
	npu_result_t ret;

	npui_clear_error();
	if (!dev)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_memcpy_dtod: dev is NULL");
	if (size == 0)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_memcpy_dtod: size is 0");
	s = npui_stream(dev, stream);
	if (!s)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_memcpy_dtod: the stream belongs to another device");
	pthread_mutex_lock(&dev->lock);
	ret = npui_submit(dev, s, &c, sizeof(c), &job);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

npu_result_t npu_memcpy_dtod(npu_device_t *dev, npu_deviceptr_t dst, npu_deviceptr_t src,
			     uint64_t size)
{
	return npu_memcpy_dtod_async(dev, dst, src, size, NULL);
}

npu_result_t npu_memset_d32_async(npu_device_t *dev, npu_deviceptr_t dst, uint32_t value,
				  uint64_t count, npu_stream_t *stream)
{
	struct npu_cmd_fill c = {
		.hdr = { .type = NPU_CMD_FILL, .dwords = sizeof(c) / 8 },
		.dst_addr = dst, .size = count * 4, .pattern = value,
	};
	struct npui_job job = { .kind = NPU_JOB_FILL, .bytes = count * 4, .name = "fill" };
	struct npu_stream *s;
	npu_result_t ret;

	npui_clear_error();
	if (!dev)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_memset_d32: dev is NULL");
	if (count == 0 || count > UINT64_MAX / 4)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_memset_d32: bad count %" PRIu64,
				      count);
	if (dst % 4)
		return npui_set_error(NPU_ERROR_INVALID_ADDRESS,
				      "npu_memset_d32: 0x%" PRIx64 " is not 4-byte aligned", dst);
	s = npui_stream(dev, stream);
	if (!s)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_memset_d32: the stream belongs to another device");
	pthread_mutex_lock(&dev->lock);
	ret = npui_submit(dev, s, &c, sizeof(c), &job);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

npu_result_t npu_memset_d32(npu_device_t *dev, npu_deviceptr_t dst, uint32_t value,
			    uint64_t count)
{
	return npu_memset_d32_async(dev, dst, value, count, NULL);
}

/* ---- 2-D copies ----------------------------------------------------------------------------- */

static npu_result_t copy_2d_host(npu_device_t *dev, npu_stream_t *stream, bool async,
				 const struct npui_host_copy *c)
{
	struct npu_stream *s = NULL;

	npui_clear_error();
	if (!dev || !c->host)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "%s: NULL argument", c->what);
	if (async) {
		s = npui_stream(dev, stream);
		if (!s)
			return npui_set_error(NPU_ERROR_INVALID_VALUE,
					      "%s: the stream belongs to another device", c->what);
	}
	pthread_mutex_lock(&dev->lock);
	npu_result_t ret = npui_host_copy(dev, s, c);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

npu_result_t npu_memcpy_2d_htod_async(npu_device_t *dev, npu_deviceptr_t dst, uint64_t dpitch,
				      const void *src, uint64_t spitch, uint64_t width,
				      uint64_t height, npu_stream_t *stream)
{
	struct npui_host_copy c = {
		.host = (void *)src, .hpitch = spitch, .ptr = dst, .dpitch = dpitch,
		.width = width, .height = height, .to_device = true,
		.what = "npu_memcpy_2d_htod_async",
	};

	return copy_2d_host(dev, stream, true, &c);
}

npu_result_t npu_memcpy_2d_htod(npu_device_t *dev, npu_deviceptr_t dst, uint64_t dpitch,
				const void *src, uint64_t spitch, uint64_t width, uint64_t height)
{
	struct npui_host_copy c = {
		.host = (void *)src, .hpitch = spitch, .ptr = dst, .dpitch = dpitch,
		.width = width, .height = height, .to_device = true, .what = "npu_memcpy_2d_htod",
	};

	return copy_2d_host(dev, NULL, false, &c);
}

npu_result_t npu_memcpy_2d_dtoh_async(npu_device_t *dev, void *dst, uint64_t dpitch,
				      npu_deviceptr_t src, uint64_t spitch, uint64_t width,
				      uint64_t height, npu_stream_t *stream)
{
	struct npui_host_copy c = {
		.host = dst, .hpitch = dpitch, .ptr = src, .dpitch = spitch,
		.width = width, .height = height, .to_device = false,
		.what = "npu_memcpy_2d_dtoh_async",
	};

	return copy_2d_host(dev, stream, true, &c);
}

npu_result_t npu_memcpy_2d_dtoh(npu_device_t *dev, void *dst, uint64_t dpitch,
				npu_deviceptr_t src, uint64_t spitch, uint64_t width,
				uint64_t height)
{
	struct npui_host_copy c = {
		.host = dst, .hpitch = dpitch, .ptr = src, .dpitch = spitch,
		.width = width, .height = height, .to_device = false, .what = "npu_memcpy_2d_dtoh",
	};

	return copy_2d_host(dev, NULL, false, &c);
}

/* Rows of COPY commands per submission: a job's command stream is at most
 * NPU_GRAPH_SEGMENT_BYTES. */
#define ROWS_PER_SUBMIT (NPU_GRAPH_SEGMENT_BYTES / sizeof(struct npu_cmd_copy))

npu_result_t npu_memcpy_2d_dtod_async(npu_device_t *dev, npu_deviceptr_t dst, uint64_t dpitch,
				      npu_deviceptr_t src, uint64_t spitch, uint64_t width,
				      uint64_t height, npu_stream_t *stream)
{
	static const char what[] = "npu_memcpy_2d_dtod";
	struct npu_cmd_copy *cmds;
	uint64_t dext = 0, sext = 0;
	struct npu_stream *s;
	npu_result_t ret;

	npui_clear_error();
	if (!dev)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "%s: dev is NULL", what);
	ret = range_2d(dpitch, width, height, what, "destination", &dext);
	if (!ret)
		ret = range_2d(spitch, width, height, what, "source", &sext);
	if (ret)
		return ret;
	s = npui_stream(dev, stream);
	if (!s)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "%s: the stream belongs to another device", what);
	pthread_mutex_lock(&dev->lock);
	/* Checked here for a precise error; the device checks every row again. */
	if (!npui_find_alloc(dev, dst, dext) || !npui_find_alloc(dev, src, sext)) {
		bool d = !npui_find_alloc(dev, dst, dext);
		pthread_mutex_unlock(&dev->lock);
		return npui_set_error(NPU_ERROR_INVALID_ADDRESS,
				      "%s: %s [0x%" PRIx64 ", +%" PRIu64 ") is not inside one "
				      "allocation", what, d ? "destination" : "source",
				      d ? dst : src, d ? dext : sext);
	}
	pthread_mutex_unlock(&dev->lock);
	/* Contiguous on both sides: one command. */
	if (height == 1 || (dpitch == width && spitch == width))
		return npu_memcpy_dtod_async(dev, dst, src, width * height, stream);
	uint64_t chunk = height < ROWS_PER_SUBMIT ? height : ROWS_PER_SUBMIT;
	cmds = calloc(chunk, sizeof(*cmds));
	if (!cmds)
		return npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
	pthread_mutex_lock(&dev->lock);
	for (uint64_t row = 0; row < height && !ret; row += chunk) {
		uint64_t n = height - row < chunk ? height - row : chunk;
		struct npui_job job = { .kind = NPU_JOB_COPY, .bytes = n * width, .name = "copy" };

		for (uint64_t i = 0; i < n; i++) {
			cmds[i].hdr.type = NPU_CMD_COPY;
			cmds[i].hdr.dwords = sizeof(cmds[i]) / 8;
			cmds[i].src_addr = src + (row + i) * spitch;
			cmds[i].dst_addr = dst + (row + i) * dpitch;
			cmds[i].size = width;
		}
		ret = npui_submit(dev, s, cmds, (uint32_t)(n * sizeof(*cmds)), &job);
	}
	pthread_mutex_unlock(&dev->lock);
	free(cmds);
	return ret;
}

npu_result_t npu_memcpy_2d_dtod(npu_device_t *dev, npu_deviceptr_t dst, uint64_t dpitch,
				npu_deviceptr_t src, uint64_t spitch, uint64_t width,
				uint64_t height)
{
	return npu_memcpy_2d_dtod_async(dev, dst, dpitch, src, spitch, width, height, NULL);
}
