/* SPDX-License-Identifier: MIT */
/*
 * npu_dev.c - device nodes: the device table (create and boot on first open, destroy on last
 * close), the fd table, and the exported entry points.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npu_drv_internal.h"

static pthread_mutex_t g_dev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct npu_device *g_devs[NPU_DRV_MAX_DEVICES];

/* The device implementation new devices are created with (under g_dev_lock). */
static const struct npu_hw_ops *g_hw_ops = &npu_sim_hw_ops;

static pthread_mutex_t g_fd_lock = PTHREAD_MUTEX_INITIALIZER;
static struct npu_file *g_files[NPU_DRV_MAX_FILES];

/* ---- Time ------------------------------------------------------------------------------- */
int64_t drv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void drv_ns_to_timespec(int64_t ns, struct timespec *ts)
{
	if (ns < 0)
		ns = 0;
	ts->tv_sec = (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
}

int drv_cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int ret;

	ret = pthread_condattr_init(&attr);
	if (ret)
		return -ret;
	ret = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return -ret;
}

static void npu_sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* ---- Environment ------------------------------------------------------------------------- */
/* Parses a decimal environment variable in [min, max]; returns `def` when unset or invalid. */
static uint64_t npu_env_u64(const char *name, uint64_t def, uint64_t min, uint64_t max)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || !isdigit((unsigned char)s[0]) || v < min || v > max) {
		npu_warn("%s=%s is not a number in [%llu, %llu]; using %llu", name, s,
			 (unsigned long long)min, (unsigned long long)max, (unsigned long long)def);
		return def;
	}
	return v;
}

/* ---- Devices ----------------------------------------------------------------------------- */
static int npu_device_boot(struct npu_device *dev)
{
	int64_t deadline;
	uint32_t status;
	void *ap;

	dev->id = npu_rd32(dev, NPU_REG_ID);
	if (dev->id != NPU_HW_ID_MAGIC) {
		npu_err("device %u: bad id 0x%08x (expected 0x%08x)", dev->index, dev->id,
			NPU_HW_ID_MAGIC);
		return -ENODEV;
	}
	dev->if_version = npu_rd32(dev, NPU_REG_IF_VERSION);
	if (dev->if_version >> 16 != NPU_HW_IF_VERSION_MAJOR) {
		npu_err("device %u: firmware interface %u.%u, driver speaks %u.x", dev->index,
			dev->if_version >> 16, dev->if_version & 0xffff, NPU_HW_IF_VERSION_MAJOR);
		return -ENODEV;
	}
	npu_wr32(dev, NPU_REG_CONTROL, NPU_CONTROL_BOOT);
	/* Boot raises no interrupt: poll STATUS with a growing sleep, bounded. */
	deadline = drv_now_ns() + (int64_t)NPU_BOOT_TIMEOUT_MS * 1000000;
	for (unsigned us = 10;; us = us < 10000 ? us * 2 : us) {
		status = npu_rd32(dev, NPU_REG_STATUS);
		if (status & NPU_STATUS_FAILED) {
			npu_err("device %u: firmware failed to boot (status 0x%x)", dev->index,
				status);
			return -EIO;
		}
		if (status & NPU_STATUS_READY)
			break;
		if (drv_now_ns() >= deadline) {
			npu_err("device %u: firmware not ready after %d ms", dev->index,
				NPU_BOOT_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
		npu_sleep_us(us);
	}
	dev->fw_version = npu_rd32(dev, NPU_REG_FW_VERSION);
	dev->isa_version = npu_rd32(dev, NPU_REG_ISA_VERSION);
	dev->num_cores = npu_rd32(dev, NPU_REG_NUM_CORES);
	dev->sram_size = npu_rd32(dev, NPU_REG_SRAM_SIZE);
	dev->mem_size = npu_rd32(dev, NPU_REG_MEM_SIZE_LO) |
			(uint64_t)npu_rd32(dev, NPU_REG_MEM_SIZE_HI) << 32;
	dev->clock_khz = npu_rd32(dev, NPU_REG_CLOCK_KHZ);
	dev->num_queues = npu_rd32(dev, NPU_REG_NUM_QUEUES);
	dev->page_size = npu_rd32(dev, NPU_REG_PAGE_SIZE);
	/* Interface 1.0 devices have no ENGINES register (reads 0): compute only. */
	dev->engines = dev->if_version >= ((1u << 16) | 1u)
			       ? npu_rd32(dev, NPU_REG_ENGINES) & (NPU_ENGINE_COMPUTE_BIT |
								 NPU_ENGINE_COPY_BIT)
			       : 0;
	dev->engines |= NPU_ENGINE_COMPUTE_BIT;
	if (dev->num_queues > NPU_MAX_HW_QUEUES)
		dev->num_queues = NPU_MAX_HW_QUEUES;
	if (dev->page_size != NPU_PAGE_SIZE) {
		npu_err("device %u: MMU page size %u, driver needs %llu", dev->index,
			dev->page_size, (unsigned long long)NPU_PAGE_SIZE);
		return -ENODEV;
	}
	ap = dev->ops->aperture(dev->hw, &dev->aperture_size);
	dev->aperture = ap;
	if (!ap || dev->aperture_size < 2 * NPU_PAGE_SIZE || !dev->num_queues) {
		npu_err("device %u: unusable device (aperture %llu bytes, %u queues)", dev->index,
			(unsigned long long)dev->aperture_size, dev->num_queues);
		return -ENODEV;
	}
	if (dev->mem_size && dev->mem_size < dev->aperture_size)
		dev->aperture_size = dev->mem_size;
	npu_info("device %u: %s fw %u.%u if %u.%u isa %u.%u, %u cores, %u B SRAM, %llu MiB, "
		 "%u queues", dev->index, dev->ops->name, dev->fw_version >> 16,
		 dev->fw_version & 0xffff, dev->if_version >> 16, dev->if_version & 0xffff,
		 dev->isa_version >> 16, dev->isa_version & 0xffff, dev->num_cores,
		 dev->sram_size, (unsigned long long)(dev->aperture_size >> 20),
		 dev->num_queues);
	return 0;
}

static void npu_device_free(struct npu_device *dev)
{
	for (unsigned i = 0; i < NPU_MAX_HW_QUEUES; i++) {
		pthread_cond_destroy(&dev->hwq[i].cond);
		pthread_mutex_destroy(&dev->hwq[i].lock);
		pthread_mutex_destroy(&dev->hwq[i].svc_lock);
	}
	pthread_cond_destroy(&dev->wd_cond);
	pthread_mutex_destroy(&dev->wd_lock);
	pthread_cond_destroy(&dev->fence_cond);
	pthread_mutex_destroy(&dev->fence_lock);
	pthread_mutex_destroy(&dev->recovery_lock);
	pthread_mutex_destroy(&dev->lock);
	drv_ra_fini(&dev->mem);
	free(dev);
}

static int npu_device_init_sync(struct npu_device *dev)
{
	int ret = 0;

	pthread_mutex_init(&dev->lock, NULL);
	pthread_mutex_init(&dev->recovery_lock, NULL);
	pthread_mutex_init(&dev->fence_lock, NULL);
	pthread_mutex_init(&dev->wd_lock, NULL);
	for (unsigned i = 0; i < NPU_MAX_HW_QUEUES; i++) {
		dev->hwq[i].idx = i;
		pthread_mutex_init(&dev->hwq[i].svc_lock, NULL);
		pthread_mutex_init(&dev->hwq[i].lock, NULL);
		ret = ret ? ret : drv_cond_init_monotonic(&dev->hwq[i].cond);
	}
	ret = ret ? ret : drv_cond_init_monotonic(&dev->fence_cond);
	ret = ret ? ret : drv_cond_init_monotonic(&dev->wd_cond);
	return ret;
}

/* Called with g_dev_lock held. */
static int npu_device_create(unsigned index, struct npu_device **out)
{
	struct npu_device *dev;
	const char *inj;
	int ret;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->index = index;
	dev->ops = g_hw_ops;
	npu_list_init(&dev->files);
	ret = npu_device_init_sync(dev);
	if (ret) {
		/* Conditions that failed to initialise are destroyed harmlessly (glibc). */
		npu_device_free(dev);
		return ret;
	}
	dev->max_insns = npu_env_u64("NPU_WATCHDOG_INSNS", 0, 0, UINT64_MAX);
	dev->hang_ms = npu_env_u64("NPU_WATCHDOG_MS", NPU_HANG_MS_DEFAULT, 0, NPU_HANG_MS_MAX);
	if (dev->hang_ms && dev->hang_ms < NPU_HANG_MS_MIN)
		dev->hang_ms = NPU_HANG_MS_MIN;
	dev->launch_timeout_us = npu_env_u64("NPU_LAUNCH_TIMEOUT_MS", 0, 0,
					     UINT32_MAX / 1000) * 1000;
	dev->ban_threshold = npu_env_u64("NPU_BAN_THRESHOLD", NPU_BAN_DEFAULT, 0, 1000);
	inj = getenv("NPU_FAULT_INJECTION");
	dev->inject_enabled = inj && !strcmp(inj, "1");

	ret = dev->ops->create(NULL, &dev->hw);
	if (ret) {
		npu_err("device %u: %s create failed (%d)", index, dev->ops->name, ret);
		goto err_free;
	}
	ret = npu_device_boot(dev);
	if (ret)
		goto err_destroy_hw;
	/* Page 0 is never handed out: physical address 0 stays an obvious "unset". */
	ret = drv_ra_init(&dev->mem, NPU_PAGE_SIZE,
			  (dev->aperture_size & ~(NPU_PAGE_SIZE - 1)) - NPU_PAGE_SIZE, NPU_PAGE_SIZE);
	if (ret)
		goto err_destroy_hw;
	npu_wr32(dev, NPU_REG_IRQ_MASK, 0);
	dev->ops->set_isr(dev->hw, drv_isr, dev);
	ret = drv_watchdog_start(dev);
	if (ret)
		goto err_unset_isr;
	dev->pub = drv_pub_open(dev); /* best effort: NULL leaves the device unpublished */
	*out = dev;
	return 0;

err_unset_isr:
	dev->ops->set_isr(dev->hw, NULL, NULL);
err_destroy_hw:
	dev->ops->destroy(dev->hw);
err_free:
	npu_device_free(dev);
	return ret;
}

/* Called with g_dev_lock held, after the last file is gone. */
static void npu_device_destroy(struct npu_device *dev)
{
	npu_dbg("device %u: last file closed, powering off", dev->index);
	drv_watchdog_stop(dev);
	npu_wr32(dev, NPU_REG_IRQ_MASK, 0);
	dev->ops->destroy(dev->hw); /* stops the device threads: no interrupt after this */
	drv_pub_close(dev->pub);
	dev->pub = NULL;
	g_devs[dev->index] = NULL;
	npu_device_free(dev);
}

static unsigned g_num_devices;

static void npu_num_devices_init(void)
{
	g_num_devices = (unsigned)npu_env_u64("NPU_SIM_DEVICES", 1, 1, NPU_DRV_MAX_DEVICES);
}

/* NPU_SIM_DEVICES is read once, at the first open. */
static unsigned npu_num_devices(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, npu_num_devices_init);
	return g_num_devices;
}

void npu_drv_set_hw_ops(const struct npu_hw_ops *ops)
{
	pthread_mutex_lock(&g_dev_lock);
	g_hw_ops = ops ? ops : &npu_sim_hw_ops;
	pthread_mutex_unlock(&g_dev_lock);
}

/* "npu0" or "/dev/npu0" -> 0. */
static int npu_parse_node(const char *node, unsigned *index)
{
	unsigned long v;
	char *end;

	if (!strncmp(node, "/dev/", 5))
		node += 5;
	if (strncmp(node, "npu", 3) || !isdigit((unsigned char)node[3]) ||
	    (node[3] == '0' && node[4]))
		return -ENOENT;
	errno = 0;
	v = strtoul(node + 3, &end, 10);
	if (errno || *end || v >= npu_num_devices())
		return -ENOENT;
	*index = (unsigned)v;
	return 0;
}

/* ---- Files ------------------------------------------------------------------------------- */
/* Everything of a file but the struct itself and its device reference. */
static void npu_file_teardown(struct npu_file *f)
{
	struct npu_device *dev = f->dev;
	int efd;

	pthread_mutex_lock(&f->lock);
	/* Queues first: afterwards the device no longer runs or reads anything of this file,
	 * and every fence signal it owed has been made. */
	for (unsigned i = 0; i < NPU_MAX_QUEUES; i++) {
		struct npu_cqueue *cq = f->queues[i];

		if (!cq)
			continue;
		f->queues[i] = NULL;
		drv_cq_destroy(f, cq);
	}
	pthread_mutex_lock(&dev->lock);
	if (f->link.next)
		npu_list_del(&f->link);
	pthread_mutex_unlock(&dev->lock);
	drv_fence_release_all(f);
	drv_bo_release_all(f);
	drv_vm_fini(f);
	drv_file_ustatus_free(f);
	pthread_mutex_unlock(&f->lock);
	efd = __atomic_exchange_n(&f->efd, -1, __ATOMIC_ACQ_REL);
	if (efd >= 0)
		close(efd);
}

static void npu_file_free(struct npu_file *f)
{
	pthread_mutex_destroy(&f->ev_lock);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static void npu_file_destroy(struct npu_file *f)
{
	struct npu_device *dev = f->dev;

	npu_file_teardown(f);
	npu_file_free(f);
	pthread_mutex_lock(&g_dev_lock);
	if (!--dev->open_files)
		npu_device_destroy(dev);
	else
		drv_pub_set_clients(dev->pub, dev->open_files);
	pthread_mutex_unlock(&g_dev_lock);
}

static struct npu_file *npu_file_get(int fd)
{
	struct npu_file *f = NULL;

	if (fd < 0 || fd >= NPU_DRV_MAX_FILES)
		return NULL;
	pthread_mutex_lock(&g_fd_lock);
	f = g_files[fd];
	if (f)
		f->refs++;
	pthread_mutex_unlock(&g_fd_lock);
	return f;
}

static void npu_file_put(struct npu_file *f)
{
	unsigned refs;

	pthread_mutex_lock(&g_fd_lock);
	refs = --f->refs;
	pthread_mutex_unlock(&g_fd_lock);
	if (!refs)
		npu_file_destroy(f);
}

NPU_DRV_EXPORT int npu_drv_open(const char *node, uint32_t flags)
{
	struct npu_device *dev;
	struct npu_file *f;
	unsigned index;
	int ret, fd;

	if (!node) {
		npu_dbg("open: NULL node");
		return -EFAULT;
	}
	if (flags) {
		npu_dbg("open: invalid flags 0x%x", flags);
		return -EINVAL;
	}
	ret = npu_parse_node(node, &index);
	if (ret) {
		npu_dbg("open: no device node \"%s\" (%u devices, NPU_SIM_DEVICES)", node,
			npu_num_devices());
		return ret;
	}

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_init(&f->ev_lock, NULL);
	npu_list_init(&f->bos);
	npu_list_init(&f->deferred);
	f->next_handle = 1;
	f->next_queue_id = 1;
	f->next_fence_handle = 1;
	f->refs = 1;
	f->fd = -1;
	f->efd = -1;
	f->pid = (int32_t)getpid();

	pthread_mutex_lock(&g_dev_lock);
	dev = g_devs[index];
	if (dev && drv_dev_lost(dev)) {
		npu_dbg("open: device %u is lost; close its files to power it off", index);
		ret = -ENODEV;
		goto err_unlock;
	}
	if (!dev) {
		ret = npu_device_create(index, &dev);
		if (ret)
			goto err_unlock;
		g_devs[index] = dev;
	}
	dev->open_files++;
	f->dev = dev;
	ret = drv_vm_init(f);
	if (ret)
		goto err_put_dev;
	ret = drv_cq_create(f, NPU_QUEUE_COMPUTE, NPU_QUEUE_PRIORITY_NORMAL, &f->queues[0]);
	if (ret)
		goto err_fini_vm;
	f->queues[0]->id = 0;
	pthread_mutex_lock(&dev->lock);
	npu_list_add_tail(&dev->files, &f->link);
	pthread_mutex_unlock(&dev->lock);

	pthread_mutex_lock(&g_fd_lock);
	for (fd = 0; fd < NPU_DRV_MAX_FILES && g_files[fd]; fd++)
		;
	if (fd < NPU_DRV_MAX_FILES) {
		f->fd = fd;
		g_files[fd] = f;
	}
	pthread_mutex_unlock(&g_fd_lock);
	if (fd == NPU_DRV_MAX_FILES) {
		npu_dbg("open: all %d file descriptors in use", NPU_DRV_MAX_FILES);
		ret = -EMFILE;
		goto err_teardown;
	}
	drv_pub_set_clients(dev->pub, dev->open_files);
	pthread_mutex_unlock(&g_dev_lock);
	npu_dbg("open: %s -> fd %d", node, fd);
	return fd;

err_teardown:
	npu_file_teardown(f);
	goto err_put_dev;
err_fini_vm:
	drv_vm_fini(f);
err_put_dev:
	if (!--dev->open_files)
		npu_device_destroy(dev);
err_unlock:
	pthread_mutex_unlock(&g_dev_lock);
	npu_file_free(f);
	return ret;
}

NPU_DRV_EXPORT int npu_drv_close(int fd)
{
	struct npu_file *f = NULL;

	if (fd >= 0 && fd < NPU_DRV_MAX_FILES) {
		pthread_mutex_lock(&g_fd_lock);
		f = g_files[fd];
		g_files[fd] = NULL;
		pthread_mutex_unlock(&g_fd_lock);
	}
	if (!f) {
		npu_dbg("close: bad fd %d", fd);
		return -EBADF;
	}
	npu_file_put(f);
	return 0;
}

NPU_DRV_EXPORT int npu_drv_ioctl(int fd, uint32_t request, void *arg)
{
	struct npu_file *f = npu_file_get(fd);
	int ret;

	if (!f) {
		npu_dbg("ioctl: bad fd %d", fd);
		return -EBADF;
	}
	ret = drv_ioctl_dispatch(f, request, arg);
	npu_file_put(f);
	return ret;
}

NPU_DRV_EXPORT void *npu_drv_mmap(int fd, uint64_t offset, uint64_t size, int *err)
{
	struct npu_file *f = npu_file_get(fd);
	void *p;
	int e = 0;

	if (!f) {
		npu_dbg("mmap: bad fd %d", fd);
		if (err)
			*err = -EBADF;
		return NULL;
	}
	pthread_mutex_lock(&f->lock);
	p = drv_bo_mmap(f, offset, size, &e);
	pthread_mutex_unlock(&f->lock);
	npu_file_put(f);
	if (err)
		*err = p ? 0 : e;
	return p;
}

NPU_DRV_EXPORT int npu_drv_munmap(int fd, void *addr, uint64_t size)
{
	struct npu_file *f = npu_file_get(fd);
	int ret;

	if (!f) {
		npu_dbg("munmap: bad fd %d", fd);
		return -EBADF;
	}
	pthread_mutex_lock(&f->lock);
	ret = drv_bo_munmap(f, addr, size);
	pthread_mutex_unlock(&f->lock);
	npu_file_put(f);
	return ret;
}
