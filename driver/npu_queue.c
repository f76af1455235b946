/* SPDX-License-Identifier: MIT */
/*
 * npu_queue.c - client queues: binding to a hardware queue, ring buffer and doorbell,
 * per-queue fences (seqnos), job statuses, the fence commands of unfinished jobs, servicing a
 * hardware queue (interrupt handler, and the watchdog when an interrupt got lost), waiting,
 * failing unfinished work (cancel, reset, device loss), the fault log and notifications.
 *
 * Fences: every submit ends with a FENCE packet carrying the queue's next seqno (1, 2, ...).
 * The device writes it to the queue's status record and raises the queue's interrupt; the
 * servicer copies it to cq->completed and wakes the waiters. A job that the device does not
 * finish (cancel, reset, lost device) is completed by the driver with an error status, so
 * every job signals exactly once.
 *
 * Ring space: the ring is free up to HEAD (what the device consumed) or, if further, up to
 * the end of the last submit whose fence signalled (the device read that whole submit before
 * it executed its FENCE). A submit that does not fit sleeps on the hardware queue's condition
 * variable until a fence frees space (or fails with -EBUSY when non-blocking); it never
 * overwrites unread packets.
 */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "npu_drv_internal.h"
#include "npu_isa.h" /* NPU_TRAP_* codes in fault records */

static inline int8_t *job_status(struct npu_cqueue *cq, uint64_t seqno)
{
	return &cq->jstatus[seqno % NPU_JOB_STATUS_HISTORY];
}

uint64_t drv_cq_last_seqno(struct npu_cqueue *cq)
{
	return __atomic_load_n(&cq->last_seqno, __ATOMIC_ACQUIRE);
}

uint64_t drv_cq_completed(struct npu_cqueue *cq)
{
	uint64_t v;

	pthread_mutex_lock(&cq->hq->lock);
	v = cq->completed;
	pthread_mutex_unlock(&cq->hq->lock);
	return v;
}

/* ---- Notifications and the fault log ------------------------------------------------------ */
void drv_file_notify(struct npu_file *f)
{
	int efd = __atomic_load_n(&f->efd, __ATOMIC_ACQUIRE);
	uint64_t one = 1;

	/* A full counter (EAGAIN) is still readable: nothing is lost. */
	if (efd >= 0 && write(efd, &one, sizeof(one)) < 0)
		npu_dbg("fd %d: event fd write failed", f->fd);
}

void drv_dev_notify_fences(struct npu_device *dev)
{
	struct npu_list *it;

	pthread_mutex_lock(&dev->fence_lock);
	pthread_cond_broadcast(&dev->fence_cond);
	pthread_mutex_unlock(&dev->fence_lock);
	pthread_mutex_lock(&dev->lock);
	for (it = dev->files.next; it != &dev->files; it = it->next) {
		struct npu_file *f = npu_container_of(it, struct npu_file, link);

		if (__atomic_load_n(&f->nfences_held, __ATOMIC_RELAXED))
			drv_file_notify(f);
	}
	pthread_mutex_unlock(&dev->lock);
}

void drv_file_add_fault(struct npu_file *f, const struct npu_fault_rec *r)
{
	unsigned slot;

	pthread_mutex_lock(&f->ev_lock);
	if (f->fault_count == NPU_FAULT_LOG_SIZE) { /* full: drop the oldest */
		f->fault_first = (f->fault_first + 1) % NPU_FAULT_LOG_SIZE;
		f->fault_count--;
		f->fault_lost++;
	}
	slot = (f->fault_first + f->fault_count) % NPU_FAULT_LOG_SIZE;
	f->faults[slot] = *r;
	f->fault_count++;
	pthread_mutex_unlock(&f->ev_lock);
	if (!(r->flags & NPU_FAULT_F_LOST))
		drv_pub_fault(f->dev->pub);
}

int drv_file_get_fault(struct npu_file *f, struct npu_get_fault *out)
{
	struct npu_fault_rec r;
	bool have = false;

	pthread_mutex_lock(&f->ev_lock);
	if (f->fault_count) {
		r = f->faults[f->fault_first];
		f->fault_first = (f->fault_first + 1) % NPU_FAULT_LOG_SIZE;
		f->fault_count--;
		have = true;
	}
	out->lost = f->fault_lost;
	f->fault_lost = 0;
	pthread_mutex_unlock(&f->ev_lock);

	out->pad = 0;
	if (!have) {
		out->flags = 0;
		out->code = 0;
		out->seqno = 0;
		out->core = 0;
		out->pc = out->addr = out->insn = 0;
		out->queue = 0;
		return 0;
	}
	out->flags = r.flags;
	out->code = r.code;
	out->seqno = r.seqno;
	out->core = r.core;
	out->pc = r.pc;
	out->addr = r.addr;
	out->insn = r.insn;
	out->queue = r.queue;
	return 0;
}

/* ---- Binding to a hardware queue ---------------------------------------------------------- */
static const uint32_t npu_hw_priority[] = {
	[NPU_QUEUE_PRIORITY_LOW] = 0,
	[NPU_QUEUE_PRIORITY_NORMAL] = 1,
	[NPU_QUEUE_PRIORITY_HIGH] = 2,
};

/* Programs the queue's registers from scratch (empty ring) and enables it. Called with
 * recovery_lock held: at creation and after a device reset. */
void drv_cq_program(struct npu_cqueue *cq)
{
	struct npu_device *dev = cq->file->dev;
	uint32_t q = cq->hq->idx, head;

	npu_qwr32(dev, q, NPU_QREG_CONTROL, 0);
	npu_qwr32(dev, q, NPU_QREG_RING_LO, (uint32_t)cq->ring_phys);
	npu_qwr32(dev, q, NPU_QREG_RING_HI, (uint32_t)(cq->ring_phys >> 32));
	npu_qwr32(dev, q, NPU_QREG_RING_SIZE, NPU_RING_SIZE);
	npu_qwr32(dev, q, NPU_QREG_PT_LO, (uint32_t)cq->file->vm.l1_phys);
	npu_qwr32(dev, q, NPU_QREG_PT_HI, (uint32_t)(cq->file->vm.l1_phys >> 32));
	npu_qwr32(dev, q, NPU_QREG_STATUS_LO, (uint32_t)cq->status_phys);
	npu_qwr32(dev, q, NPU_QREG_STATUS_HI, (uint32_t)(cq->status_phys >> 32));
	npu_qwr32(dev, q, NPU_QREG_PRIORITY, npu_hw_priority[cq->priority]);
	npu_qwr32(dev, q, NPU_QREG_ENGINE, cq->engine);
	/* Jobs the driver completed itself (reset, cancel) never reached the record: a later
	 * fault's fault_fence must name the job after them. The queue is disabled. */
	__atomic_store_n(&cq->status->fence, drv_cq_last_seqno(cq), __ATOMIC_RELEASE);
	/* HEAD is free running; a device may keep an old value: start the tail there. */
	head = npu_qrd32(dev, q, NPU_QREG_HEAD);
	npu_qwr32(dev, q, NPU_QREG_TAIL, head);
	cq->tail = head;
	cq->ring_end[drv_cq_last_seqno(cq) % NPU_RING_SLOTS] = head;
	npu_qwr32(dev, q, NPU_QREG_CONTROL,
		  NPU_QCTL_ENABLE | (cq->jtimes ? NPU_QCTL_JOB_TIMES : 0));
	pthread_mutex_lock(&dev->lock);
	npu_wr32(dev, NPU_REG_IRQ_ACK, 1u << q);
	dev->irq_mask |= 1u << q;
	npu_wr32(dev, NPU_REG_IRQ_MASK, dev->irq_mask);
	pthread_mutex_unlock(&dev->lock);
}

/* ---- Status records (uapi 1.2) ----------------------------------------------------------- */
#define NPU_USTATUS_BYTES (NPU_MAX_QUEUES * sizeof(struct npu_queue_status))

/* The file's record page, mapped twice from one memfd: writable for the driver, read-only
 * for the client, which can then not corrupt what it polls. f->lock held. */
static int npu_file_ustatus(struct npu_file *f)
{
	void *rw, *ro = MAP_FAILED;
	int fd;

	if (f->ustatus_ro)
		return 0;
	fd = memfd_create("npu-queue-status", MFD_CLOEXEC);
	if (fd < 0) {
		npu_dbg("fd %d: memfd_create for queue status records failed (%d)", f->fd, errno);
		return -ENOMEM;
	}
	rw = ftruncate(fd, NPU_USTATUS_BYTES) ? MAP_FAILED
		: mmap(NULL, NPU_USTATUS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rw != MAP_FAILED)
		ro = mmap(NULL, NPU_USTATUS_BYTES, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (ro == MAP_FAILED) {
		if (rw != MAP_FAILED)
			munmap(rw, NPU_USTATUS_BYTES);
		npu_dbg("fd %d: cannot map queue status records", f->fd);
		return -ENOMEM;
	}
	f->ustatus_rw = rw;
	f->ustatus_ro = ro;
	return 0;
}

int drv_cq_status_map(struct npu_file *f, uint32_t id, uint64_t *ptr)
{
	struct npu_queue_status *rec;
	struct npu_cqueue *cq = NULL;
	unsigned slot;
	int ret;

	for (slot = 0; slot < NPU_MAX_QUEUES; slot++) {
		cq = f->queues[slot];
		if (cq && cq->id == id)
			break;
	}
	if (slot == NPU_MAX_QUEUES) {
		npu_dbg("queue_status: invalid queue %u", id);
		return -ENOENT;
	}
	ret = npu_file_ustatus(f);
	if (ret)
		return ret;
	rec = &f->ustatus_rw[slot];
	pthread_mutex_lock(&cq->hq->lock);
	if (cq->ustatus != rec) {
		/* The slot may hold a destroyed queue's record: start afresh. */
		memset(rec, 0, sizeof(*rec));
		rec->submitted = cq->last_seqno;
		rec->failed = cq->failed;
		__atomic_store_n(&rec->completed, cq->completed, __ATOMIC_RELEASE);
		cq->ustatus = rec;
	}
	pthread_mutex_unlock(&cq->hq->lock);
	*ptr = (uint64_t)(uintptr_t)&f->ustatus_ro[slot];
	return 0;
}

void drv_file_ustatus_free(struct npu_file *f)
{
	if (!f->ustatus_ro)
		return;
	munmap(f->ustatus_rw, NPU_USTATUS_BYTES);
	munmap((void *)(uintptr_t)f->ustatus_ro, NPU_USTATUS_BYTES);
	f->ustatus_rw = NULL;
	f->ustatus_ro = NULL;
}

/* Called with f->lock held (or before the file is published). */
int drv_cq_create(struct npu_file *f, uint32_t type, uint32_t priority, struct npu_cqueue **out)
{
	struct npu_device *dev = f->dev;
	struct npu_cqueue *cq;
	struct npu_hwq *hq = NULL;
	int ret;

	cq = calloc(1, sizeof(*cq));
	if (!cq)
		return -ENOMEM;
	cq->file = f;
	cq->type = type;
	cq->priority = priority;
	cq->engine = type == NPU_QUEUE_COPY && (dev->engines & NPU_ENGINE_COPY_BIT)
			     ? NPU_ENGINE_COPY : NPU_ENGINE_COMPUTE;
	cq->refs = 1;
	npu_list_init(&cq->fops);
	pthread_mutex_init(&cq->ring_lock, NULL);

	ret = drv_cq_times_init(cq);
	if (ret)
		goto err_free;
	ret = drv_mem_alloc(dev, NPU_RING_SIZE, &cq->ring_phys);
	if (ret)
		goto err_free;
	ret = drv_mem_alloc(dev, NPU_PAGE_SIZE, &cq->status_phys);
	if (ret)
		goto err_free_ring;
	cq->ring = npu_phys_to_host(dev, cq->ring_phys);
	cq->status = npu_phys_to_host(dev, cq->status_phys);

	pthread_mutex_lock(&dev->recovery_lock);
	if (drv_dev_lost(dev)) {
		ret = -ENODEV;
		goto err_unlock;
	}
	pthread_mutex_lock(&dev->lock);
	for (uint32_t i = 0; i < dev->num_queues; i++) {
		if (!dev->hwq[i].cq) {
			hq = &dev->hwq[i];
			break;
		}
	}
	if (hq) {
		/* Claim it: hq->cq is written under svc_lock and lock; dev->lock orders claims. */
		pthread_mutex_unlock(&dev->lock);
		pthread_mutex_lock(&hq->svc_lock);
		pthread_mutex_lock(&hq->lock);
		hq->cq = cq;
		pthread_mutex_unlock(&hq->lock);
		pthread_mutex_unlock(&hq->svc_lock);
	} else {
		pthread_mutex_unlock(&dev->lock);
		npu_dbg("device %u: all %u hardware queues are in use", dev->index,
			dev->num_queues);
		ret = -EBUSY;
		goto err_unlock;
	}
	cq->hq = hq;
	cq->wd_progress_ns = drv_now_ns();
	/* No completion count yet: the first tick that finds work starts its clock. */
	cq->wd_completed = UINT64_MAX;
	drv_cq_program(cq);
	cq->bound = true;
	pthread_mutex_unlock(&dev->recovery_lock);
	npu_dbg("device %u: fd %d queue got hardware queue %u", dev->index, f->fd, hq->idx);
	*out = cq;
	return 0;

err_unlock:
	pthread_mutex_unlock(&dev->recovery_lock);
	drv_mem_free(dev, cq->status_phys, NPU_PAGE_SIZE);
err_free_ring:
	drv_mem_free(dev, cq->ring_phys, NPU_RING_SIZE);
err_free:
	drv_cq_times_fini(cq);
	pthread_mutex_destroy(&cq->ring_lock);
	free(cq);
	return ret;
}

static void npu_cq_free(struct npu_cqueue *cq)
{
	while (!npu_list_empty(&cq->fops)) { /* unreachable: unbinding failed them all */
		struct npu_fence_op *op = npu_container_of(cq->fops.next, struct npu_fence_op,
							   link);

		npu_list_del(&op->link);
		drv_fence_put(cq->file->dev, op->fence);
		free(op);
	}
	drv_cq_times_fini(cq);
	pthread_mutex_destroy(&cq->ring_lock);
	free(cq);
}

struct npu_cqueue *drv_cq_get(struct npu_file *f, uint32_t id)
{
	for (unsigned i = 0; i < NPU_MAX_QUEUES; i++) {
		struct npu_cqueue *cq = f->queues[i];

		if (cq && cq->id == id) {
			cq->refs++;
			return cq;
		}
	}
	return NULL;
}

void drv_cq_put(struct npu_file *f, struct npu_cqueue *cq)
{
	if (!--cq->refs)
		npu_cq_free(cq);
}

/* Called with f->lock held; the queue is already out of f->queues. */
void drv_cq_destroy(struct npu_file *f, struct npu_cqueue *cq)
{
	struct npu_device *dev = f->dev;
	struct npu_hwq *hq = cq->hq;

	pthread_mutex_lock(&dev->recovery_lock);
	pthread_mutex_lock(&cq->ring_lock);
	cq->dead = true;
	/* Synchronous: when it returns, the device no longer runs or reads this queue. */
	npu_qwr32(dev, hq->idx, NPU_QREG_CONTROL, 0);
	pthread_mutex_lock(&hq->svc_lock);
	drv_cq_fail_unfinished(cq, -ECANCELED, 0, NPU_FENCE_ERR_DRV(ECANCELED));
	pthread_mutex_lock(&dev->lock);
	dev->irq_mask &= ~(1u << hq->idx);
	npu_wr32(dev, NPU_REG_IRQ_MASK, dev->irq_mask);
	npu_wr32(dev, NPU_REG_IRQ_ACK, 1u << hq->idx);
	pthread_mutex_lock(&hq->lock);
	hq->cq = NULL; /* the hardware queue is free again */
	pthread_mutex_unlock(&hq->lock);
	pthread_mutex_unlock(&dev->lock);
	pthread_mutex_unlock(&hq->svc_lock);
	cq->bound = false;
	pthread_mutex_unlock(&cq->ring_lock);
	pthread_mutex_unlock(&dev->recovery_lock);

	drv_mem_free(dev, cq->status_phys, NPU_PAGE_SIZE);
	drv_mem_free(dev, cq->ring_phys, NPU_RING_SIZE);
	cq->ring = NULL;
	cq->status = NULL;
	drv_cq_put(f, cq);
}

/* ---- Completion ------------------------------------------------------------------------------ */
/* Jobs up to `fence` have signalled. hq->lock held; the finished fence ops go to `done`. */
static void npu_cq_complete(struct npu_cqueue *cq, uint64_t fence, struct npu_list *done)
{
	uint64_t last = cq->last_seqno;

	if (fence > last) {
		npu_warn("fd %d queue %u: status record fence %llu is past the last job %llu",
			 cq->file->fd, cq->id, (unsigned long long)fence, (unsigned long long)last);
		fence = last;
	}
	if (fence <= cq->completed)
		return;
	for (uint64_t s = cq->completed + 1; s <= fence; s++)
		if (*job_status(cq, s))
			cq->failed++;
	drv_pub_completed(cq->file->dev->pub, fence - cq->completed, fence == last);
	drv_cq_times_take(cq, cq->completed + 1, fence);
	cq->completed = fence;
	if (cq->ustatus) {
		__atomic_store_n(&cq->ustatus->failed, cq->failed, __ATOMIC_RELAXED);
		/* Last: a client that sees it also sees the statuses and faults recorded. */
		__atomic_store_n(&cq->ustatus->completed, fence, __ATOMIC_RELEASE);
	}
	while (!npu_list_empty(&cq->fops)) {
		struct npu_fence_op *op = npu_container_of(cq->fops.next, struct npu_fence_op, link);

		if (op->seqno > fence)
			break;
		npu_list_del(&op->link);
		npu_list_add_tail(done, &op->link);
	}
	/* The caller wakes the waiters once it dropped hq->lock: a waiter woken now, on the
	 * servicer's CPU, would only run to block on the lock. */
}

static bool npu_cq_has_signals(const struct npu_cqueue *cq)
{
	for (const struct npu_list *it = cq->fops.next; it != &cq->fops; it = it->next)
		if (npu_container_of(it, struct npu_fence_op, link)->signal)
			return true;
	return false;
}

static void npu_ops_release(struct npu_device *dev, struct npu_list *done)
{
	while (!npu_list_empty(done)) {
		struct npu_fence_op *op = npu_container_of(done->next, struct npu_fence_op, link);

		npu_list_del(&op->link);
		drv_fence_put(dev, op->fence);
		free(op);
	}
}

void drv_cq_fail_unfinished(struct npu_cqueue *cq, int status, uint32_t rec_code,
			    uint32_t fence_err)
{
	struct npu_device *dev = cq->file->dev;
	struct npu_hwq *hq = cq->hq;
	struct npu_list done;
	bool signals = false, any;
	uint64_t fence, last;

	npu_list_init(&done);
	pthread_mutex_lock(&hq->lock);
	/* What the device finished stands, with the status it has. */
	fence = __atomic_load_n(&cq->status->fence, __ATOMIC_ACQUIRE);
	npu_cq_complete(cq, fence, &done);
	last = cq->last_seqno;
	any = cq->completed < last;
	for (uint64_t s = cq->completed + 1; s <= last; s++) {
		int8_t *st = job_status(cq, s);

		if (!*st) {
			*st = (int8_t)status;
			if (rec_code) {
				struct npu_fault_rec r = {
					.seqno = s, .flags = NPU_FAULT_F_VALID | NPU_FAULT_F_LOST,
					.code = rec_code, .core = NPU_FAULT_NO_CORE,
					.queue = cq->id,
				};

				drv_file_add_fault(cq->file, &r);
			}
		}
	}
	/* Fence commands of the unfinished jobs: signals happen now, by the driver. */
	while (!npu_list_empty(&cq->fops)) {
		struct npu_fence_op *op = npu_container_of(cq->fops.next, struct npu_fence_op, link);

		if (op->signal) {
			/* A job that failed by itself (fault, hang) signals like the device
			 * does when it skips a faulted job. */
			bool own = *job_status(cq, op->seqno) != (int8_t)status;

			drv_fence_raise(op->fence, op->value, own ? NPU_HW_FENCE_ERR_JOB : fence_err);
			signals = true;
		}
		npu_list_del(&op->link);
		npu_list_add_tail(&done, &op->link);
	}
	npu_cq_complete(cq, last, &done);
	pthread_mutex_unlock(&hq->lock);
	pthread_cond_broadcast(&hq->cond);

	npu_ops_release(dev, &done);
	if (signals) {
		if (!drv_dev_lost(dev))
			npu_wr32(dev, NPU_REG_FENCE_NOTIFY, 1);
		drv_dev_notify_fences(dev);
	}
	if (any)
		drv_file_notify(cq->file);
}

/* A fault the device reported: log it and give the job its status. hq->lock held. */
static void npu_cq_take_fault(struct npu_cqueue *cq)
{
	const struct npu_hw_queue_status *st = cq->status;
	uint32_t hwf = st->fault_flags;
	struct npu_fault_rec r = {
		.seqno = st->fault_fence + 1,
		.code = st->fault_code,
		.core = st->fault_core,
		.pc = st->fault_pc,
		.addr = st->fault_addr,
		.insn = st->fault_insn,
		.queue = cq->id,
		.flags = NPU_FAULT_F_VALID,
	};
	int status = -EFAULT;
	int8_t *slot;

	if (r.seqno <= cq->completed || r.seqno > cq->last_seqno) {
		npu_warn("fd %d queue %u: fault for job %llu, which is not running (%llu done, "
			 "%llu submitted)", cq->file->fd, cq->id, (unsigned long long)r.seqno,
			 (unsigned long long)cq->completed, (unsigned long long)cq->last_seqno);
		return;
	}
	if (hwf & NPU_FAULT_WRITE)
		r.flags |= NPU_FAULT_F_WRITE;
	if (hwf & NPU_FAULT_INSN_VALID)
		r.flags |= NPU_FAULT_F_INSN;
	if (hwf & NPU_FAULT_COPY_ENGINE)
		r.flags |= NPU_FAULT_F_COPY_ENGINE;
	if (hwf & NPU_FAULT_KILLED) {
		r.flags |= NPU_FAULT_F_HANG;
		status = -ETIMEDOUT;
	} else if (hwf & NPU_FAULT_DEVICE_ERROR) {
		r.flags |= NPU_FAULT_F_LOST;
		r.code = NPU_FAULT_CODE_DEVICE_ERROR;
		status = -EAGAIN;
	} else if (r.code == NPU_TRAP_WATCHDOG) {
		status = -ETIMEDOUT;
	}
	slot = job_status(cq, r.seqno);
	if (!*slot)
		*slot = (int8_t)status;
	drv_file_add_fault(cq->file, &r);
	npu_info("device %u fd %d queue %u: fault code %u in job %llu, core %u pc %llu addr 0x%llx "
		 "insn 0x%016llx flags 0x%x", cq->file->dev->index, cq->file->fd, cq->id, r.code,
		 (unsigned long long)r.seqno, r.core, (unsigned long long)r.pc,
		 (unsigned long long)r.addr, (unsigned long long)r.insn, r.flags);
}

void drv_hwq_service_locked(struct npu_device *dev, struct npu_hwq *hq, bool irq)
{
	struct npu_cqueue *cq;
	struct npu_list done;
	bool faulted, signals, progressed;
	uint64_t before;

	npu_list_init(&done);
	pthread_mutex_lock(&hq->lock);
	cq = hq->cq; /* stable while svc_lock is held */
	pthread_mutex_unlock(&hq->lock);
	if (!cq)
		return;
	faulted = npu_qrd32(dev, hq->idx, NPU_QREG_STATE) == NPU_QSTATE_FAULTED;

	pthread_mutex_lock(&hq->lock);
	if (faulted)
		npu_cq_take_fault(cq);
	before = cq->completed;
	/* The device wrote the record before it raised the interrupt that runs us. */
	npu_cq_complete(cq, __atomic_load_n(&cq->status->fence, __ATOMIC_ACQUIRE), &done);
	progressed = cq->completed != before;
	signals = npu_cq_has_signals(cq) || !npu_list_empty(&done);
	pthread_mutex_unlock(&hq->lock);
	if (progressed)
		pthread_cond_broadcast(&hq->cond);

	/* The device skips the rest of the guilty job and signals its fence as usual. */
	if (faulted)
		npu_qwr32(dev, hq->idx, NPU_QREG_CONTROL, NPU_QCTL_ENABLE | NPU_QCTL_RESUME);
	npu_ops_release(dev, &done);
	if (signals && (irq || progressed))
		drv_dev_notify_fences(dev);
	if (faulted || progressed)
		drv_file_notify(cq->file);
}

void drv_hwq_service(struct npu_device *dev, struct npu_hwq *hq, bool irq)
{
	pthread_mutex_lock(&hq->svc_lock);
	drv_hwq_service_locked(dev, hq, irq);
	pthread_mutex_unlock(&hq->svc_lock);
}

void drv_isr(void *arg)
{
	struct npu_device *dev = arg;
	uint32_t pending = npu_rd32(dev, NPU_REG_IRQ_STATUS);

	if (!pending)
		return;
	/* Ack first: news that arrives while we run raises the line again. */
	npu_wr32(dev, NPU_REG_IRQ_ACK, pending);
	for (uint32_t qid = 0; qid < dev->num_queues; qid++)
		if (pending & (1u << qid))
			drv_hwq_service(dev, &dev->hwq[qid], true);
}

/* ---- Submission -------------------------------------------------------------------------- */
static uint32_t npu_cmd_bytes(const void *p)
{
	const struct npu_cmd_header *h = p;

	return (uint32_t)h->dwords * 8u;
}

/* Bytes of ring from `pos` once a packet of n bytes is placed (with a NOP pad if it would
 * cross the ring end). */
static uint32_t npu_ring_place(uint32_t pos, uint32_t n)
{
	uint32_t off = pos & (NPU_RING_SIZE - 1);

	if (off + n > NPU_RING_SIZE)
		pos += NPU_RING_SIZE - off;
	return pos + n;
}

static void npu_ring_put(struct npu_cqueue *cq, const void *pkt, uint32_t n)
{
	uint32_t off = cq->tail & (NPU_RING_SIZE - 1);

	if (off + n > NPU_RING_SIZE) {
		struct npu_hw_pkt_header nop = {
			.type = NPU_PKT_NOP,
			.dwords = (uint16_t)((NPU_RING_SIZE - off) / 8u),
		};

		memcpy(cq->ring + off, &nop, sizeof(nop));
		cq->tail += NPU_RING_SIZE - off;
		off = 0;
	}
	memcpy(cq->ring + off, pkt, n);
	cq->tail += n;
}

/* ring_lock held. */
static uint32_t npu_ring_used(struct npu_cqueue *cq)
{
	struct npu_device *dev = cq->file->dev;
	uint32_t head = npu_qrd32(dev, cq->hq->idx, NPU_QREG_HEAD);
	uint64_t completed = drv_cq_completed(cq);
	uint32_t by_head = cq->tail - head;
	uint32_t by_fence = cq->tail - cq->ring_end[completed % NPU_RING_SLOTS];

	return by_head < by_fence ? by_head : by_fence;
}

/* Bytes of ring a command takes as hardware packets. */
static uint32_t npu_pkt_bytes(const uint8_t *p)
{
	switch (((const struct npu_cmd_header *)(const void *)p)->type) {
	case NPU_CMD_SIGNAL_FENCE:
	case NPU_CMD_WAIT_FENCE:
		return sizeof(struct npu_hw_pkt_fence_op);
	case NPU_CMD_TIMESTAMP:
		return sizeof(struct npu_hw_pkt_timestamp);
	case NPU_CMD_BARRIER:
		return sizeof(struct npu_hw_pkt_header);
	default: /* LAUNCH, COPY, FILL: the same layout as the command */
		return npu_cmd_bytes(p);
	}
}

static int64_t npu_stall_ns(struct npu_cqueue *cq)
{
	return (int64_t)(drv_file_hang_ms(cq->file) + NPU_STALL_SLACK_MS) * 1000000;
}

/* ring_lock held on entry and on return; may drop it to sleep. */
static int npu_ring_reserve(struct npu_cqueue *cq, uint32_t bytes, bool nonblock)
{
	struct npu_device *dev = cq->file->dev;
	struct npu_hwq *hq = cq->hq;
	int64_t since = drv_now_ns();

	for (;;) {
		uint64_t seen;
		int64_t deadline, moved;
		struct timespec ts;

		if (cq->dead)
			return -ENOENT;
		if (drv_dev_lost(dev))
			return -ENODEV;
		if (__atomic_load_n(&cq->file->banned, __ATOMIC_ACQUIRE))
			return -EPERM;
		if (npu_ring_used(cq) <= NPU_RING_SIZE - bytes)
			return 0;
		if (nonblock) {
			npu_dbg("fd %d queue %u: ring full (%u bytes needed)", cq->file->fd, cq->id,
				bytes);
			return -EBUSY;
		}
		/* Any progress of the queue (the watchdog notes it) restarts the bound. */
		moved = __atomic_load_n(&cq->wd_progress_ns, __ATOMIC_RELAXED);
		if (moved > since)
			since = moved;
		deadline = since + npu_stall_ns(cq);
		if (drv_now_ns() >= deadline) {
			npu_warn("fd %d queue %u: ring full and no progress for %lld ms", cq->file->fd,
				 cq->id, (long long)(npu_stall_ns(cq) / 1000000));
			return -ETIMEDOUT;
		}
		pthread_mutex_lock(&hq->lock);
		seen = cq->completed;
		pthread_mutex_unlock(&hq->lock);
		pthread_mutex_unlock(&cq->ring_lock);
		pthread_mutex_lock(&hq->lock);
		/* Wake at least once a second to re-check the progress the watchdog saw. */
		if (deadline > drv_now_ns() + 1000000000)
			deadline = drv_now_ns() + 1000000000;
		drv_ns_to_timespec(deadline, &ts);
		while (cq->completed == seen && drv_now_ns() < deadline)
			pthread_cond_timedwait(&hq->cond, &hq->lock, &ts);
		if (cq->completed != seen)
			since = drv_now_ns();
		pthread_mutex_unlock(&hq->lock);
		pthread_mutex_lock(&cq->ring_lock);
	}
}

static uint64_t npu_eff(uint64_t client, uint64_t device)
{
	return client ? client : device;
}

int drv_cq_submit(struct npu_cqueue *cq, const uint8_t *cmds, uint32_t size,
		  struct npu_fence *const *fences, uint32_t flags, uint64_t *seqno_out)
{
	struct npu_file *f = cq->file;
	struct npu_device *dev = f->dev;
	const uint8_t *p, *end = cmds + size;
	uint64_t max_insns = npu_eff(__atomic_load_n(&f->max_insns, __ATOMIC_RELAXED),
				     __atomic_load_n(&dev->max_insns, __ATOMIC_RELAXED));
	uint64_t timeout_us = npu_eff(__atomic_load_n(&f->launch_timeout_us, __ATOMIC_RELAXED),
				      __atomic_load_n(&dev->launch_timeout_us, __ATOMIC_RELAXED));
	struct npu_list ops;
	uint32_t nf = 0;
	uint64_t seqno;
	int ret = 0;

	/* Everything that can fail without side effects first. */
	npu_list_init(&ops);
	for (p = cmds; p < end; p += npu_cmd_bytes(p)) {
		const struct npu_cmd_header *h = (const void *)p;
		struct npu_cmd_fence c;
		struct npu_fence_op *op;

		if (h->type != NPU_CMD_SIGNAL_FENCE && h->type != NPU_CMD_WAIT_FENCE)
			continue;
		memcpy(&c, p, sizeof(c));
		op = calloc(1, sizeof(*op));
		if (!op) {
			ret = -ENOMEM;
			goto err_free_ops;
		}
		op->fence = fences[nf++];
		op->value = c.value;
		op->signal = h->type == NPU_CMD_SIGNAL_FENCE;
		npu_list_add_tail(&ops, &op->link);
	}

	pthread_mutex_lock(&cq->ring_lock);
	/* The real size depends on where the tail is now; compute it under the lock. */
	{
		uint32_t t = cq->tail, start = cq->tail;

		for (p = cmds; p < end; p += npu_cmd_bytes(p))
			t = npu_ring_place(t, npu_pkt_bytes(p));
		t = npu_ring_place(t, sizeof(struct npu_hw_pkt_fence));
		ret = npu_ring_reserve(cq, t - start, flags & NPU_SUBMIT_NONBLOCK);
	}
	if (ret)
		goto err_unlock;
	/* The tail may have moved while we slept: packets are placed from the current one. */
	seqno = cq->last_seqno + 1;
	nf = 0;
	for (p = cmds; p < end; p += npu_cmd_bytes(p)) {
		const struct npu_cmd_header *h = (const void *)p;

		switch (h->type) {
		case NPU_CMD_LAUNCH: {
			struct npu_cmd_launch l;
			struct npu_hw_pkt_launch hw;
			uint8_t buf[sizeof(hw) + 8u * NPU_HW_MAX_ARGS];

			memcpy(&l, p, sizeof(l));
			memset(&hw, 0, sizeof(hw));
			hw.hdr.type = NPU_PKT_LAUNCH;
			hw.hdr.dwords = h->dwords;
			hw.code_va = l.code_addr;
			hw.code_words = l.code_words;
			hw.entry = l.entry;
			memcpy(hw.grid, l.grid, sizeof(hw.grid));
			hw.sram_bytes = l.sram_bytes;
			hw.const_va = l.const_addr;
			hw.max_insns = l.max_insns ? l.max_insns : max_insns;
			hw.timeout_us = l.timeout_us ? l.timeout_us : (uint32_t)timeout_us;
			hw.nargs = l.nargs;
			memcpy(buf, &hw, sizeof(hw));
			memcpy(buf + sizeof(hw), p + sizeof(l), (size_t)l.nargs * 8u);
			npu_ring_put(cq, buf, npu_cmd_bytes(p));
			break;
		}
		case NPU_CMD_COPY: {
			struct npu_cmd_copy c;
			struct npu_hw_pkt_copy hw = { .hdr = { .type = NPU_PKT_COPY,
							       .dwords = sizeof(hw) / 8u } };

			memcpy(&c, p, sizeof(c));
			hw.src_va = c.src_addr;
			hw.dst_va = c.dst_addr;
			hw.size = c.size;
			npu_ring_put(cq, &hw, sizeof(hw));
			break;
		}
		case NPU_CMD_FILL: {
			struct npu_cmd_fill c;
			struct npu_hw_pkt_fill hw = { .hdr = { .type = NPU_PKT_FILL,
							       .dwords = sizeof(hw) / 8u } };

			memcpy(&c, p, sizeof(c));
			hw.dst_va = c.dst_addr;
			hw.size = c.size;
			hw.pattern = c.pattern;
			npu_ring_put(cq, &hw, sizeof(hw));
			break;
		}
		case NPU_CMD_SIGNAL_FENCE:
		case NPU_CMD_WAIT_FENCE: {
			struct npu_cmd_fence c;
			struct npu_hw_pkt_fence_op hw = {
				.hdr = { .type = h->type == NPU_CMD_SIGNAL_FENCE ? NPU_PKT_SIGNAL
										 : NPU_PKT_WAIT,
					 .dwords = sizeof(hw) / 8u },
			};

			memcpy(&c, p, sizeof(c));
			hw.fence_pa = fences[nf++]->phys;
			hw.value = c.value;
			npu_ring_put(cq, &hw, sizeof(hw));
			break;
		}
		case NPU_CMD_TIMESTAMP: {
			struct npu_cmd_timestamp c;
			struct npu_hw_pkt_timestamp hw = {
				.hdr = { .type = NPU_PKT_TIMESTAMP, .dwords = sizeof(hw) / 8u },
			};

			memcpy(&c, p, sizeof(c));
			hw.dst_va = c.dst_addr;
			npu_ring_put(cq, &hw, sizeof(hw));
			break;
		}
		case NPU_CMD_BARRIER: {
			struct npu_hw_pkt_header hw = { .type = NPU_PKT_BARRIER, .dwords = 1 };

			npu_ring_put(cq, &hw, sizeof(hw));
			break;
		}
		default: /* unreachable: validated before */
			break;
		}
	}
	{
		struct npu_hw_pkt_fence fence = {
			.hdr = { .type = NPU_PKT_FENCE, .dwords = sizeof(fence) / 8u },
			.seqno = seqno,
		};

		npu_ring_put(cq, &fence, sizeof(fence));
	}
	cq->ring_end[seqno % NPU_RING_SLOTS] = cq->tail;
	for (struct npu_list *it = ops.next; it != &ops; it = it->next)
		npu_container_of(it, struct npu_fence_op, link)->seqno = seqno;

	/* Publish the job before the doorbell: its completion may be serviced at once. */
	pthread_mutex_lock(&cq->hq->lock);
	/* Work for an idle queue: its hang clock starts now, not at the watchdog's last look,
	 * which may be long ago (the watchdog is not woken for every submit). */
	if (cq->completed == cq->last_seqno)
		__atomic_store_n(&cq->wd_progress_ns, drv_now_ns(), __ATOMIC_RELAXED);
	*job_status(cq, seqno) = 0;
	npu_list_splice(&ops, &cq->fops);
	drv_pub_submitted(dev->pub, cq->completed == cq->last_seqno);
	__atomic_store_n(&cq->last_seqno, seqno, __ATOMIC_RELEASE);
	if (cq->ustatus)
		__atomic_store_n(&cq->ustatus->submitted, seqno, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&cq->hq->lock);
	/* The doorbell. Like writel(), wr32 orders the packet writes above before it. */
	npu_qwr32(dev, cq->hq->idx, NPU_QREG_TAIL, cq->tail);
	pthread_mutex_unlock(&cq->ring_lock);
	drv_watchdog_submitted(dev);
	*seqno_out = seqno;
	return 0;

err_unlock:
	pthread_mutex_unlock(&cq->ring_lock);
err_free_ops:
	while (!npu_list_empty(&ops)) {
		struct npu_fence_op *op = npu_container_of(ops.next, struct npu_fence_op, link);

		npu_list_del(&op->link);
		free(op);
	}
	return ret;
}

/* ---- Waiting ------------------------------------------------------------------------------ */
int drv_cq_wait(struct npu_cqueue *cq, uint64_t seqno, int64_t timeout_ns, uint64_t *completed,
		int32_t *status, uint32_t *failed)
{
	struct npu_hwq *hq = cq->hq;
	int ret = 0;

	pthread_mutex_lock(&hq->lock);
	while (cq->completed < seqno) {
		struct timespec ts;

		if (!timeout_ns || drv_now_ns() >= timeout_ns) {
			ret = -ETIMEDOUT;
			break;
		}
		drv_ns_to_timespec(timeout_ns, &ts);
		pthread_cond_timedwait(&hq->cond, &hq->lock, &ts);
	}
	*completed = cq->completed;
	if (failed)
		*failed = cq->failed;
	if (status) {
		if (!seqno)
			*status = 0;
		else if (cq->last_seqno - seqno >= NPU_JOB_STATUS_HISTORY)
			*status = NPU_JOB_STATUS_EXPIRED;
		else
			*status = *job_status(cq, seqno);
	}
	pthread_mutex_unlock(&hq->lock);
	return ret;
}
