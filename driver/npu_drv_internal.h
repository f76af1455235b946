/* SPDX-License-Identifier: MIT */
/*
 * npu_drv_internal.h - the driver's private structures (never installed).
 *
 * Objects:
 *   npu_device   one per powered-on device: hardware queues (npu_hwq), physical memory,
 *                the fence table, the watchdog thread, the list of its files.
 *   npu_file     one client (open file): address space, BOs, queues, fence handles, fault
 *                log, reset status, limits, event fd.
 *   npu_cqueue   one queue of a client, bound to one hardware queue: ring, seqnos, job status
 *                history, the fence commands of its unfinished jobs.
 *   npu_fence    a timeline fence: a slot of the fence table in device memory, refcounted by
 *                handles (of any client) and by unfinished commands.
 *
 * Locks, outermost first (a thread only ever takes them in this order):
 *
 *   g_dev_lock      (npu_dev.c) the device table: create, boot, destroy, open_files.
 *   f->lock         one client: BOs, address space, queue table, fence handles.
 *   dev->recovery_lock  resets, kills and bans (watchdog), binding and unbinding hardware
 *                   queues: the set of active queues does not change while it is held.
 *   cq->ring_lock   one queue's submission side: ring, tail, seqnos. Several are only ever
 *                   taken together by recovery, in hardware queue order.
 *   hq->svc_lock    servicing one hardware queue (drv_hwq_service: reading a fault, RESUME,
 *                   completions). The interrupt handler takes it; device calls are allowed.
 *   dev->lock       physical memory allocator, hardware queue ownership, IRQ mask, file list.
 *   hq->lock        one hardware queue's completion state: the bound queue's completed
 *                   fence, job statuses, pending fence commands; its condition variable.
 *   f->ev_lock      (leaf) a client's fault log, reset status, event fd creation.
 *   dev->fence_lock (leaf) the fence table, fence refcounts and tokens; dev->fence_cond.
 *   g_fd_lock       (npu_dev.c, leaf) the fd table.
 *   pub->lock       (npu_publish.c, leaf) writers of the published status record.
 *
 * No device call (rd32/wr32/discard/dma_*) is made while holding hq->lock, f->ev_lock or
 * dev->fence_lock: a device may hold its own locks while it calls the interrupt handler.
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
#define NPU_RING_SIZE       (256u * 1024u)        /* bytes per queue ring */
#define NPU_RING_SLOTS      (NPU_RING_SIZE / 16u) /* a submit takes >= 24 bytes of ring */
#define NPU_FAULT_LOG_SIZE  64
#define NPU_VA_START        (1ull << 32)          /* first device VA handed out */
#define NPU_VA_END          (1ull << NPU_VA_BITS)
#define NPU_BOOT_TIMEOUT_MS 5000
#define NPU_RESET_BOOT_MS   1000                  /* per reset attempt */
#define NPU_RESET_ATTEMPTS  3
#define NPU_STALL_SLACK_MS  10000                 /* ring-full waits: slack over the hang timeout */
#define NPU_WD_TICK_MS      20                    /* watchdog period while work is pending */
#define NPU_WD_LINGER_MS    1000                  /* ... and after the last job, before it sleeps */
#define NPU_KILL_TIMEOUT_MS 250                   /* a kill not acknowledged by then: reset */
#define NPU_HANG_MS_DEFAULT 2000
#define NPU_HANG_MS_MIN     10
#define NPU_HANG_MS_MAX     3600000
#define NPU_BAN_DEFAULT     3
#define NPU_FENCE_PER_PAGE  (NPU_PAGE_SIZE / sizeof(struct npu_hw_fence))
#define NPU_FENCE_PAGES     16
#define NPU_MAX_FENCES      (NPU_FENCE_PAGES * NPU_FENCE_PER_PAGE)
#define NPU_USERPTR_MAX     (1ull << 36)
/* The driver's own error codes in npu_hw_fence.error: 0x100 | errno. */
#define NPU_FENCE_ERR_DRV(e) (0x100u | (uint32_t)(e))

_Static_assert(NPU_RING_SIZE / 8u <= 0xffffu, "ring too large for a single NOP pad");
_Static_assert((NPU_RING_SIZE & (NPU_RING_SIZE - 1)) == 0, "ring size is a power of two");
_Static_assert(NPU_RING_SLOTS >= NPU_RING_SIZE / 24u, "one ring_end slot per job in flight");
_Static_assert(NPU_JOB_STATUS_HISTORY >= NPU_RING_SIZE / 24u, "statuses outlive jobs in flight");

/* ---- Logging (npu_log.c) --------------------------------------------------------------- */
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

/* Moves every entry of `from` to the end of `to`. */
static inline void npu_list_splice(struct npu_list *from, struct npu_list *to)
{
	if (npu_list_empty(from))
		return;
	from->next->prev = to->prev;
	to->prev->next = from->next;
	from->prev->next = to;
	to->prev = from->prev;
	npu_list_init(from);
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

/* ---- Fences (npu_fence.c) ---------------------------------------------------------------- */
struct npu_fence {
	uint32_t slot;              /* index in dev->fences */
	uint64_t phys;              /* its struct npu_hw_fence in device memory */
	struct npu_hw_fence *rec;   /* host view of it */
	uint32_t refs;              /* handles + unfinished commands; dev->fence_lock */
	uint64_t token;             /* 0 until exported */
};

/* A SIGNAL_FENCE or WAIT_FENCE command of an unfinished job: holds a fence reference. */
struct npu_fence_op {
	struct npu_list link;       /* cq->fops, in seqno order */
	uint64_t seqno;
	uint64_t value;
	struct npu_fence *fence;
	bool signal;
};

struct npu_fence_handle {
	uint32_t handle;
	struct npu_fence *fence;
};

/* ---- Hardware queues --------------------------------------------------------------------- */
struct npu_cqueue;

/* One hardware queue. Lives as long as the device; bound to at most one client queue. */
struct npu_hwq {
	uint32_t idx;
	pthread_mutex_t svc_lock;   /* one servicer at a time (interrupt handler or watchdog) */
	pthread_mutex_t lock;       /* the ISR lock: the bound queue's completion state */
	pthread_cond_t cond;        /* broadcast on completions and on anything waiters care for */
	struct npu_cqueue *cq;      /* bound queue (under lock, and svc_lock to change) */
};

/* One client queue (npu_queue.c). */
struct npu_cqueue {
	struct npu_file *file;
	uint32_t id;
	uint32_t type;              /* NPU_QUEUE_* */
	uint32_t priority;          /* NPU_QUEUE_PRIORITY_* */
	uint32_t engine;            /* NPU_ENGINE_* it runs on */
	struct npu_hwq *hq;
	unsigned refs;              /* f->lock: the queue table + calls in progress */
	bool bound;                 /* f->lock + recovery_lock: owns hq */

	uint64_t ring_phys, status_phys;
	uint8_t *ring;
	struct npu_hw_queue_status *status;

	/* Submission side: ring_lock. */
	pthread_mutex_t ring_lock;
	bool dead;                  /* destroyed or its client closing: submits fail */
	uint32_t tail;              /* free running, like the TAIL register */
	uint32_t ring_end[NPU_RING_SLOTS]; /* tail after the submit with seqno s, at s % SLOTS */
	uint64_t last_seqno;        /* written under ring_lock and hq->lock; read atomically */

	/* Completion side: hq->lock. */
	uint64_t completed;         /* every job <= this has signalled */
	uint32_t failed;            /* jobs signalled with a non-zero status */
	int8_t jstatus[NPU_JOB_STATUS_HISTORY]; /* -errno of job s at s % HISTORY */
	/* Simulated times of job s at s % NPU_JOB_TIME_HISTORY (seqno 0: none); NULL when the
	 * device does not report them (hardware interface < 1.2). */
	struct npu_hw_job_time *jtimes;
	struct npu_list fops;       /* struct npu_fence_op of unfinished jobs, seqno order */

	struct npu_queue_status *ustatus; /* hq->lock: its record in the file's status page
	                                   * (writable view), NULL until mapped */

	/* Watchdog (recovery_lock). */
	int64_t wd_progress_ns;     /* last time the queue moved or was not to blame; atomic */
	uint32_t wd_head;
	uint64_t wd_completed;
	uint64_t wd_kill_seqno;     /* job killed, 0 = none pending */
	int64_t wd_kill_ns;
};

/* ---- Device ------------------------------------------------------------------------------ */
enum { NPU_DEV_ALIVE = 0, NPU_DEV_LOST = 1 };

struct npu_device {
	unsigned index;
	unsigned open_files;               /* under g_dev_lock */
	const struct npu_hw_ops *ops;
	struct npu_hw *hw;
	uint8_t *aperture;
	uint64_t aperture_size;

	/* Read at boot, constant afterwards. */
	uint32_t id, fw_version, if_version, isa_version;
	uint32_t num_cores, sram_size, clock_khz, num_queues, page_size, engines;
	uint64_t mem_size;
	bool inject_enabled;

	/* Device limits (SET_PARAM with NPU_SET_PARAM_DEVICE); atomics. */
	uint64_t hang_ms;
	uint64_t launch_timeout_us;
	uint64_t max_insns;
	uint64_t ban_threshold;

	int state;                         /* atomic: NPU_DEV_* */
	uint32_t resets;                   /* atomic */

	pthread_mutex_t recovery_lock;

	pthread_mutex_t lock;              /* mem, hwq ownership, irq_mask, files */
	struct npu_range_alloc mem;
	uint32_t irq_mask;
	struct npu_list files;
	struct npu_hwq hwq[NPU_MAX_HW_QUEUES];

	/* Fences: dev->fence_lock. */
	pthread_mutex_t fence_lock;
	pthread_cond_t fence_cond;         /* broadcast whenever a fence may have changed */
	uint64_t fence_page[NPU_FENCE_PAGES]; /* physical address, 0 = not allocated yet */
	struct npu_fence *fences[NPU_MAX_FENCES];
	uint32_t nfences;

	/* Watchdog thread. */
	pthread_t wd_thread;
	bool wd_started;
	pthread_mutex_t wd_lock;
	pthread_cond_t wd_cond;
	bool wd_stop;
	bool wd_kick;
	bool wd_idle;                      /* atomic: sleeping until a submit kicks it (set and
	                                    * cleared under wd_lock, read by submits without) */
	uint32_t wd_engq[NPU_NUM_ENGINES];
	uint32_t wd_engprog[NPU_NUM_ENGINES];

	struct npu_pub *pub;               /* published status, NULL if not published */
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

static inline bool drv_dev_lost(struct npu_device *dev)
{
	return __atomic_load_n(&dev->state, __ATOMIC_ACQUIRE) == NPU_DEV_LOST;
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

struct npu_bo_wait {
	uint32_t queue;
	uint64_t seqno;
};

struct npu_bo {
	uint32_t handle;
	uint32_t flags;         /* NPU_BO_*, with NPU_BO_USERPTR for user memory */
	uint64_t size;          /* page rounded; the registered size for user memory */
	uint64_t phys;          /* device memory, or the bus address of user memory */
	uint64_t va;            /* start of the mapping (64 KiB aligned) */
	uint64_t va_size;       /* bytes of VA mapped (without the guard page) */
	uint64_t dev_addr;      /* what the client sees: va, + offset for user memory */
	uint64_t mmap_offset;
	struct npu_bo_wait *waits; /* deferred: the queues' seqnos it waits for */
	uint32_t nwaits;
	unsigned mapcount;      /* host mappings (npu_drv_mmap) not yet unmapped */
	bool freed;             /* handle gone, waiting on the deferred list */
	struct npu_bo *hnext;   /* handle hash chain */
	struct npu_list link;   /* file->bos (live) or file->deferred */
};

struct npu_fault_rec {
	uint64_t seqno, pc, addr, insn;
	uint32_t flags, code, core, queue;
};

struct npu_file {
	struct npu_device *dev;
	int fd;
	unsigned refs;          /* under g_fd_lock */
	struct npu_list link;   /* dev->files (dev->lock) */

	pthread_mutex_t lock;   /* BOs, VM, queues, fence handles */
	struct npu_vm vm;
	struct npu_bo **buckets;
	uint32_t nbuckets, nbos;
	uint32_t next_handle;
	struct npu_list bos;
	struct npu_list deferred;
	struct npu_cqueue *queues[NPU_MAX_QUEUES]; /* [0] is queue 0 */
	uint32_t next_queue_id;
	struct npu_fence_handle *fh;
	uint32_t nfh, fh_cap;
	uint32_t next_fence_handle;

	/* Client limits, 0 = follow the device; atomics. */
	uint64_t hang_ms;
	uint64_t launch_timeout_us;
	uint64_t max_insns;

	int32_t pid;            /* the process that opened it */
	uint64_t jobs;          /* atomic: jobs submitted */
	uint64_t mem_bytes;     /* atomic: device memory of its live BO_CREATE buffers */

	/* Queue status records (uapi 1.2), one per f->queues slot, created by the first
	 * QUEUE_STATUS (f->lock): one shared memory page mapped writable for the driver and
	 * read-only for the client. */
	struct npu_queue_status *ustatus_rw;
	const struct npu_queue_status *ustatus_ro;

	int banned;             /* atomic */
	int efd;                /* atomic: event fd, -1 until GET_EVENTFD */
	uint32_t nfences_held;  /* atomic: fence handles, for notifications */

	pthread_mutex_t ev_lock; /* everything below */
	struct npu_fault_rec faults[NPU_FAULT_LOG_SIZE];
	unsigned fault_first, fault_count;
	uint32_t fault_lost;
	uint32_t reset_status;  /* NPU_RESET_*, worst since the last query */
	uint32_t guilty, innocent;
};

/* npu_mmu.c */
int drv_vm_init(struct npu_file *f);
void drv_vm_fini(struct npu_file *f);
/* system: addr is a bus address of host memory (NPU_PTE_SYSTEM). */
int drv_vm_map(struct npu_file *f, uint64_t va, uint64_t addr, uint64_t size, bool writable,
	       bool system);
void drv_vm_unmap(struct npu_file *f, uint64_t va, uint64_t size);

/* npu_bo.c (callers hold f->lock unless stated) */
int drv_bo_create(struct npu_file *f, uint64_t size, uint32_t flags, struct npu_bo **out);
int drv_bo_userptr(struct npu_file *f, uint64_t ptr, uint64_t size, uint32_t flags,
		   struct npu_bo **out);
struct npu_bo *drv_bo_lookup(struct npu_file *f, uint32_t handle);
int drv_bo_free(struct npu_file *f, struct npu_bo *bo);
void drv_bo_reap(struct npu_file *f);
void drv_bo_release_all(struct npu_file *f);
void *drv_bo_mmap(struct npu_file *f, uint64_t offset, uint64_t size, int *err);
int drv_bo_munmap(struct npu_file *f, void *addr, uint64_t size);

/* npu_queue.c */
int drv_cq_create(struct npu_file *f, uint32_t type, uint32_t priority, struct npu_cqueue **out);
/* Cancels the queue's unfinished work (status -ECANCELED) and unbinds it; f->lock held. */
void drv_cq_destroy(struct npu_file *f, struct npu_cqueue *cq);
struct npu_cqueue *drv_cq_get(struct npu_file *f, uint32_t id); /* f->lock held; ref */
void drv_cq_put(struct npu_file *f, struct npu_cqueue *cq);     /* f->lock held */
uint64_t drv_cq_completed(struct npu_cqueue *cq);
/* npu_jobtime.c: per-job simulated times (hardware interface 1.2). */
bool drv_dev_has_job_times(const struct npu_device *dev);
int drv_cq_times_init(struct npu_cqueue *cq);
void drv_cq_times_fini(struct npu_cqueue *cq);
/* Copies the device's records of jobs first..last into the history. hq->lock held. */
void drv_cq_times_take(struct npu_cqueue *cq, uint64_t first, uint64_t last);
/* The times of completed job `seqno`: 0, -EAGAIN (not completed) or -ENOENT. */
int drv_cq_job_time(struct npu_cqueue *cq, uint64_t seqno, struct npu_hw_job_time *out);
uint64_t drv_cq_last_seqno(struct npu_cqueue *cq);
int drv_cq_submit(struct npu_cqueue *cq, const uint8_t *cmds, uint32_t size,
		  struct npu_fence *const *fences, uint32_t flags, uint64_t *seqno);
int drv_cq_wait(struct npu_cqueue *cq, uint64_t seqno, int64_t timeout_ns, uint64_t *completed,
		int32_t *status, uint32_t *failed);
void drv_hwq_service(struct npu_device *dev, struct npu_hwq *hq, bool irq);
void drv_hwq_service_locked(struct npu_device *dev, struct npu_hwq *hq, bool irq); /* svc_lock */
/* Completes every unfinished job of cq with `status`: the device must no longer run it
 * (queue disabled, or reset). `rec_code` != 0 adds an NPU_FAULT_F_LOST record per job.
 * Caller holds recovery_lock, cq->ring_lock and hq->svc_lock. */
void drv_cq_fail_unfinished(struct npu_cqueue *cq, int status, uint32_t rec_code,
			    uint32_t fence_err);
void drv_cq_program(struct npu_cqueue *cq); /* (re)program and enable its hardware queue */
/* QUEUE_STATUS: the client's read-only pointer to queue `id`'s record (f->lock held). */
int drv_cq_status_map(struct npu_file *f, uint32_t id, uint64_t *ptr);
void drv_file_ustatus_free(struct npu_file *f); /* at close, after the queues are gone */
void drv_isr(void *arg);

/* npu_fault (npu_queue.c) */
void drv_file_add_fault(struct npu_file *f, const struct npu_fault_rec *r);
int drv_file_get_fault(struct npu_file *f, struct npu_get_fault *out);
void drv_file_notify(struct npu_file *f);          /* its event fd, if any */
void drv_dev_notify_fences(struct npu_device *dev); /* fence waiters and holders */

/* npu_fence.c */
int drv_fence_create(struct npu_file *f, uint64_t value, uint32_t *handle);
int drv_fence_destroy(struct npu_file *f, uint32_t handle);
struct npu_fence *drv_fence_lookup(struct npu_file *f, uint32_t handle); /* f->lock; no ref */
void drv_fence_get(struct npu_device *dev, struct npu_fence *fe);
void drv_fence_put(struct npu_device *dev, struct npu_fence *fe);
int drv_fence_export(struct npu_file *f, uint32_t handle, uint64_t *token);
int drv_fence_import(struct npu_file *f, uint64_t token, uint32_t *handle);
void drv_fence_release_all(struct npu_file *f);
uint64_t drv_fence_value(const struct npu_fence *fe);
int32_t drv_fence_error(const struct npu_fence *fe);
/* Raises the fence (never lowers it); err != 0 sets its error if it has none. */
void drv_fence_raise(struct npu_fence *fe, uint64_t value, uint32_t err);
void drv_fence_pages_free(struct npu_device *dev);

/* npu_recover.c */
void drv_watchdog_kick(struct npu_device *dev);
/* A job was published (its last_seqno stored under hq->lock): wakes the watchdog if it sleeps. */
void drv_watchdog_submitted(struct npu_device *dev);
int drv_watchdog_start(struct npu_device *dev);
void drv_watchdog_stop(struct npu_device *dev);
/* Resets the device. guilty: the hardware queue whose job caused it, or NULL. Holds
 * recovery_lock. */
void drv_device_reset(struct npu_device *dev, struct npu_hwq *guilty);
uint64_t drv_file_hang_ms(struct npu_file *f);

/* npu_uaccess.c: the caller's memory behind pointers inside ioctl structs. */
int drv_copy_from_user(void *dst, uint64_t src, uint64_t len); /* 0 or -EFAULT */
int drv_user_range_ok(uint64_t ptr, uint64_t len, bool write);  /* 0 or -EFAULT */

/* npu_dev.c */
int64_t drv_now_ns(void);
void drv_ns_to_timespec(int64_t ns, struct timespec *ts);
int drv_cond_init_monotonic(pthread_cond_t *cond);
bool drv_device_wait_ready(struct npu_device *dev, unsigned timeout_ms);

/* Test seam (not exported): devices created from now on use `ops` (NULL = npu_sim_hw_ops).
 * Lets tests drive the boot and error paths with a fake device. */
void npu_drv_set_hw_ops(const struct npu_hw_ops *ops);

/* ---- Published status (npu_publish.c) ---------------------------------------------------- */
/* The device's status record (npu_accel.h, uapi 1.2), mapped from the run directory. */
struct npu_pub {
	struct npu_status_record *rec;
	pthread_mutex_t lock;      /* leaf: writers of the (seq) fields */
	uint32_t busy_queues;      /* atomic: hardware queues with unfinished jobs */
	int pid;                   /* the publisher: a forked child never removes the file */
	struct npu_pub *next;      /* every published record of the process (exit cleanup) */
	char path[4096];
};

/* NULL when the record cannot be published (logged once per process): the device works
 * regardless. Called when the device is booted, before any file exists. */
struct npu_pub *drv_pub_open(struct npu_device *dev);
void drv_pub_close(struct npu_pub *p);
void drv_pub_busy_edge(struct npu_pub *p);
void drv_pub_set_mem(struct npu_pub *p, uint64_t used);  /* dev->lock held: ordered */
void drv_pub_set_clients(struct npu_pub *p, uint32_t clients);
void drv_pub_set_resets(struct npu_pub *p, uint32_t resets);
/* Test seam: every (seq) field set to v in one write. */
void drv_pub_test_fill(struct npu_pub *p, uint64_t v);

/* The submit and completion paths (hq->lock held) pay one relaxed add into the record, and
 * a clock read only when the whole device goes from idle to busy or back. */
static inline void drv_pub_submitted(struct npu_pub *p, bool queue_was_idle)
{
	if (!p)
		return;
	__atomic_fetch_add(&p->rec->jobs_submitted, 1, __ATOMIC_RELAXED);
	if (queue_was_idle && !__atomic_fetch_add(&p->busy_queues, 1, __ATOMIC_ACQ_REL))
		drv_pub_busy_edge(p);
}

static inline void drv_pub_completed(struct npu_pub *p, uint64_t n, bool queue_now_idle)
{
	if (!p)
		return;
	__atomic_fetch_add(&p->rec->jobs_completed, n, __ATOMIC_RELAXED);
	if (queue_now_idle && !__atomic_sub_fetch(&p->busy_queues, 1, __ATOMIC_ACQ_REL))
		drv_pub_busy_edge(p);
}

static inline void drv_pub_fault(struct npu_pub *p)
{
	if (p)
		__atomic_fetch_add(&p->rec->faults, 1, __ATOMIC_RELAXED);
}

/* npu_ioctl.c */
int drv_ioctl_dispatch(struct npu_file *f, uint32_t request, void *arg);

#endif /* NPU_DRV_INTERNAL_H */
