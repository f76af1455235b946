/* SPDX-License-Identifier: MIT */
/*
 * npu_drv_internal.h - the driver's private structures (never installed).
 *
 * Objects and their locks, outermost first (a thread only ever takes them in this order):
 *
 *   g_dev_lock   (npu_dev.c)   the device table: creating, booting and destroying devices,
 *                              each device's count of open files.
 *   file->lock                 one client: its BOs, its address space, its ring tail.
 *   dev->lock                  one device: the physical memory allocator, queue ownership,
 *                              the IRQ mask.
 *   q->lock                    one hardware queue's interrupt-side state: completed fence,
 *                              fault log, condition variable for waiters.
 *   g_fd_lock    (npu_dev.c)   the fd table; a leaf, nothing is called under it.
 *
 * The interrupt handler runs on a device thread and takes only q->lock. A device call
 * (rd32/wr32/discard/...) may be made under any lock EXCEPT q->lock (only the handler itself
 * touches the device while holding a q->lock): a device is allowed to hold its own locks while
 * it calls the handler, so a thread that held q->lock while waiting for a device lock could
 * deadlock with it.
 */
#ifndef NPU_DRV_INTERNAL_H
#define NPU_DRV_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "npu_accel.h"
#include "npu_hw.h"

#define NPU_DRV_EXPORT __attribute__((visibility("default")))

#define NPU_DRV_MAX_DEVICES 16
#define NPU_DRV_MAX_FILES   1024
#define NPU_RING_SIZE       (256u * 1024u)        /* bytes per client ring */
#define NPU_RING_SLOTS      (NPU_RING_SIZE / 16u) /* a submit takes >= 16 bytes of ring */
#define NPU_FAULT_LOG_SIZE  64
#define NPU_VA_START        (1ull << 32)          /* first device VA handed out */
#define NPU_VA_END          (1ull << NPU_VA_BITS)
#define NPU_DEFAULT_TIMEOUT_US 2000000u           /* launch watchdog when timeout_us == 0 */
#define NPU_BOOT_TIMEOUT_MS 5000
#define NPU_DRAIN_SLACK_MS  10000                 /* close/ring waits: slack over the watchdog */

/* A NOP header's dwords is 16 bits: a pad to the ring end must fit in it. */
_Static_assert(NPU_RING_SIZE / 8u <= 0xffffu, "ring too large for a single NOP pad");
_Static_assert((NPU_RING_SIZE & (NPU_RING_SIZE - 1)) == 0, "ring size is a power of two");

/* ---- Logging (drv_log.c) --------------------------------------------------------------- */
enum npu_log_level { NPU_LOG_DEBUG = 0, NPU_LOG_INFO, NPU_LOG_WARN, NPU_LOG_ERROR };

bool drv_log_enabled(enum npu_log_level level);
void drv_log(enum npu_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define npu_dbg(...)  drv_log(NPU_LOG_DEBUG, __VA_ARGS__)
#define npu_info(...) drv_log(NPU_LOG_INFO, __VA_ARGS__)
#define npu_warn(...) drv_log(NPU_LOG_WARN, __VA_ARGS__)
#define npu_err(...)  drv_log(NPU_LOG_ERROR, __VA_ARGS__)

/* ---- Intrusive doubly linked list -------------------------------------------------------- */
struct npu_list {
	struct npu_list *prev, *next;
};

static inline void npu_list_init(struct npu_list *l)
{
	l->prev = l->next = l;
}

static inline bool npu_list_empty(const struct npu_list *l)
{
	return l->next == l;
}

static inline void npu_list_add_tail(struct npu_list *l, struct npu_list *n)
{
	n->prev = l->prev;
	n->next = l;
	l->prev->next = n;
	l->prev = n;
}

static inline void npu_list_del(struct npu_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

#define npu_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- Range allocator (npu_range.c): first fit over a sorted free list, coalescing ------- */
struct npu_range;

struct npu_range_alloc {
	struct npu_range *free; /* sorted by start, never adjacent (always coalesced) */
	uint64_t base, size;    /* managed range [base, base + size) */
	uint64_t used;          /* bytes allocated */
	uint64_t unit;          /* every size and address is a multiple of this */
};

int drv_ra_init(struct npu_range_alloc *ra, uint64_t base, uint64_t size, uint64_t unit);
void drv_ra_fini(struct npu_range_alloc *ra);
/* size: non-zero multiple of unit. Returns 0 or -ENOMEM. */
int drv_ra_alloc(struct npu_range_alloc *ra, uint64_t size, uint64_t *addr);
void drv_ra_free(struct npu_range_alloc *ra, uint64_t addr, uint64_t size);

/* ---- Device ------------------------------------------------------------------------------ */
struct npu_fault_rec {
	uint64_t seqno, pc, addr, insn;
	uint32_t flags, code, core;
};

/* One hardware queue. Lives as long as the device; owned by at most one file at a time. */
struct npu_queue {
	pthread_mutex_t lock;   /* the ISR lock: everything below */
	pthread_cond_t cond;    /* broadcast on fence progress */
	bool active;            /* owned and programmed: the ISR may handle it */
	uint64_t completed;     /* last fence seen signalled */
	struct npu_hw_queue_status *status; /* host view of the status record */
	struct npu_fault_rec faults[NPU_FAULT_LOG_SIZE];
	unsigned fault_first, fault_count;
	uint32_t fault_lost;
};

struct npu_device {
	unsigned index;
	unsigned open_files;               /* under g_dev_lock */
	const struct npu_hw_ops *ops;
	struct npu_hw *hw;
	uint8_t *aperture;
	uint64_t aperture_size;

	/* Read at boot, constant afterwards. */
	uint32_t id, fw_version, if_version, isa_version;
	uint32_t num_cores, sram_size, clock_khz, num_queues, page_size;
	uint64_t mem_size;
	uint64_t default_max_insns;
	uint32_t default_timeout_us;

	pthread_mutex_t lock;              /* mem, queue_owner, irq_mask */
	struct npu_range_alloc mem;
	uint32_t irq_mask;
	struct npu_file *queue_owner[NPU_MAX_HW_QUEUES];
	struct npu_queue queues[NPU_MAX_HW_QUEUES];
};

static inline uint32_t npu_rd32(struct npu_device *dev, uint32_t off)
{
	return dev->ops->rd32(dev->hw, off);
}

static inline void npu_wr32(struct npu_device *dev, uint32_t off, uint32_t val)
{
	dev->ops->wr32(dev->hw, off, val);
}

static inline uint32_t npu_qrd32(struct npu_device *dev, uint32_t q, uint32_t off)
{
	return npu_rd32(dev, NPU_REG_QUEUE(q) + off);
}

static inline void npu_qwr32(struct npu_device *dev, uint32_t q, uint32_t off, uint32_t val)
{
	npu_wr32(dev, NPU_REG_QUEUE(q) + off, val);
}

static inline void *npu_phys_to_host(struct npu_device *dev, uint64_t phys)
{
	return dev->aperture + phys;
}

/* Device physical memory (npu_mem.c). Free memory always reads as zero (see there). */
int drv_mem_alloc(struct npu_device *dev, uint64_t size, uint64_t *phys);
void drv_mem_free(struct npu_device *dev, uint64_t phys, uint64_t size);
uint64_t drv_mem_used(struct npu_device *dev);

/* ---- Client (one open file) -------------------------------------------------------------- */
struct npu_vm {
	uint64_t l1_phys;
	uint64_t *l1;          /* host view of the level-1 table */
	uint64_t *l2_phys;     /* [NPU_PT_ENTRIES]: level-2 table of each level-1 slot, 0 = none */
	uint16_t *l2_used;     /* [NPU_PT_ENTRIES]: valid PTEs in that level-2 table */
	struct npu_range_alloc va;
};

struct npu_bo {
	uint32_t handle;
	uint32_t flags;
	uint64_t size;         /* page rounded */
	uint64_t phys;
	uint64_t va;
	uint64_t mmap_offset;
	uint64_t release_seqno; /* deferred: release once the queue's fence reaches this */
	unsigned mapcount;      /* host mappings (npu_drv_mmap) not yet unmapped */
	bool freed;             /* handle gone, waiting on the deferred list */
	struct npu_bo *hnext;   /* handle hash chain */
	struct npu_list link;   /* file->bos (live) or file->deferred */
};

struct npu_file {
	struct npu_device *dev;
	int fd;
	unsigned refs;          /* under g_fd_lock */

	uint32_t qid;
	struct npu_queue *q;

	pthread_mutex_t lock;   /* everything below */
	struct npu_vm vm;
	struct npu_bo **buckets;
	uint32_t nbuckets, nbos;
	uint32_t next_handle;
	struct npu_list bos;
	struct npu_list deferred;

	uint64_t ring_phys;
	uint8_t *ring;
	uint64_t status_phys;
	uint32_t tail;                         /* free running, like the TAIL register */
	uint32_t ring_end[NPU_RING_SLOTS];     /* tail after the submit with seqno s, at s % SLOTS */
	uint64_t last_seqno;                   /* written under lock, read atomically by WAIT */
	uint64_t max_submit_us;                /* largest sum of launch watchdogs in one submit */
};

/* npu_mmu.c */
int drv_vm_init(struct npu_file *f);
void drv_vm_fini(struct npu_file *f);
int drv_vm_map(struct npu_file *f, uint64_t va, uint64_t phys, uint64_t size, bool writable);
void drv_vm_unmap(struct npu_file *f, uint64_t va, uint64_t size);

/* npu_bo.c (callers hold f->lock unless stated) */
int drv_bo_create(struct npu_file *f, uint64_t size, uint32_t flags, struct npu_bo **out);
struct npu_bo *drv_bo_lookup(struct npu_file *f, uint32_t handle);
int drv_bo_free(struct npu_file *f, struct npu_bo *bo);
void drv_bo_reap(struct npu_file *f);
void drv_bo_release_all(struct npu_file *f);
void *drv_bo_mmap(struct npu_file *f, uint64_t offset, uint64_t size, int *err);
int drv_bo_munmap(struct npu_file *f, void *addr, uint64_t size);

/* npu_queue.c */
int drv_queue_setup(struct npu_file *f);
/* Waits (bounded) for the file's work, stops the queue. Returns false when the queue did not
 * drain: its memory must then not be reused. */
bool drv_queue_teardown(struct npu_file *f);
uint64_t drv_queue_completed(struct npu_queue *q);
uint64_t drv_file_last_seqno(struct npu_file *f);
int drv_queue_submit(struct npu_file *f, const void *cmds, uint32_t size, uint64_t *seqno);
int drv_queue_wait(struct npu_file *f, uint64_t seqno, int64_t timeout_ns, uint64_t *completed);
int drv_queue_get_fault(struct npu_file *f, struct npu_get_fault *out);
void drv_isr(void *arg);

/* npu_dev.c */
int64_t drv_now_ns(void);
void drv_ns_to_timespec(int64_t ns, struct timespec *ts);
int drv_cond_init_monotonic(pthread_cond_t *cond);

/* Test seam (not exported): devices created from now on use `ops` (NULL = npu_sim_hw_ops).
 * Lets tests drive the boot and error paths with a fake device. */
void npu_drv_set_hw_ops(const struct npu_hw_ops *ops);

/* npu_ioctl.c */
int drv_ioctl_dispatch(struct npu_file *f, uint32_t request, void *arg);

#endif /* NPU_DRV_INTERNAL_H */
