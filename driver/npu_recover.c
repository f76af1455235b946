/* SPDX-License-Identifier: MIT */
/*
 * npu_recover.c - the watchdog: hang detection by progress, lost interrupts, kills, device
 * resets, bans, and the device-lost state.
 *
 * One thread per device. While any job is pending, and for NPU_WD_LINGER_MS after the last
 * one finished, it wakes every NPU_WD_TICK_MS; then it sleeps until a submit wakes it. (A
 * submit to a ticking watchdog costs nothing: a stream of launches, each waited for, never
 * wakes it.) Each tick, under recovery_lock, for every bound queue:
 *   - services it when the status record shows news the interrupt did not deliver (a lost
 *     interrupt) or a fault is waiting;
 *   - decides whether it made progress since the last tick: its HEAD or completed fence moved,
 *     or its engine is executing it and the engine's progress counter moved (npu_hw.h:
 *     packets, program instances, kernel DMA, 64 KiB of COPY/FILL). A queue waiting on a
 *     fence, or queued behind another queue on a busy engine, is not to blame and counts as
 *     progressing;
 *   - when the engine is executing it and it has not progressed for the client's hang
 *     timeout, kills the job (NPU_QCTL_KILL): the device turns it into a WATCHDOG fault and
 *     the queue goes on with its next job;
 *   - when a kill is not acknowledged within NPU_KILL_TIMEOUT_MS, or an engine with runnable
 *     work executes nothing for the hang timeout (a stalled command processor), resets the
 *     device (drv_device_reset).
 * Every wait on the device here is bounded, so a dead device ends as "lost", never as a hung
 * host thread.
 */
#include <errno.h>
#include <stdlib.h>

#include "npu_drv_internal.h"
#include "npu_isa.h" /* NPU_TRAP_* codes in fault records */

uint64_t drv_file_hang_ms(struct npu_file *f)
{
	uint64_t v = __atomic_load_n(&f->hang_ms, __ATOMIC_RELAXED);

	return v ? v : __atomic_load_n(&f->dev->hang_ms, __ATOMIC_RELAXED);
}

/* The watchdog must look again. A kick during a tick makes it tick once more before it goes
 * idle, so a job published meanwhile is never missed. */
void drv_watchdog_kick(struct npu_device *dev)
{
	pthread_mutex_lock(&dev->wd_lock);
	dev->wd_kick = true;
	if (__atomic_load_n(&dev->wd_idle, __ATOMIC_RELAXED))
		pthread_cond_signal(&dev->wd_cond);
	pthread_mutex_unlock(&dev->wd_lock);
}

/* While it ticks it will find the job. Going idle, the watchdog sets wd_idle and then looks at
 * every queue's last_seqno under hq->lock once more; the submit stored last_seqno under the
 * same lock before it reads wd_idle: either that look finds the job, or this sees wd_idle. */
void drv_watchdog_submitted(struct npu_device *dev)
{
	if (__atomic_load_n(&dev->wd_idle, __ATOMIC_ACQUIRE))
		drv_watchdog_kick(dev);
}

static void npu_file_mark(struct npu_file *f, uint32_t status, bool guilty)
{
	pthread_mutex_lock(&f->ev_lock);
	if (status > f->reset_status)
		f->reset_status = status;
	if (guilty)
		f->guilty++;
	else if (status == NPU_RESET_INNOCENT)
		f->innocent++;
	pthread_mutex_unlock(&f->ev_lock);
	drv_file_notify(f);
}

/* Job `seqno` of cq (0: the oldest unfinished one) hung: give it -ETIMEDOUT and a hang
 * record, unless it completed meanwhile or the device's kill fault already did. Caller holds
 * svc_lock; the queue no longer runs. */
static void npu_mark_hung(struct npu_cqueue *cq, uint64_t seqno, uint32_t flags)
{
	struct npu_hwq *hq = cq->hq;
	uint64_t s;

	pthread_mutex_lock(&hq->lock);
	s = seqno ? seqno : cq->completed + 1;
	if (s > cq->completed && s <= cq->last_seqno &&
	    !cq->jstatus[s % NPU_JOB_STATUS_HISTORY]) {
		struct npu_fault_rec r = {
			.seqno = s, .code = NPU_TRAP_WATCHDOG, .core = NPU_FAULT_NO_CORE,
			.queue = cq->id, .flags = NPU_FAULT_F_VALID | NPU_FAULT_F_HANG | flags,
		};

		cq->jstatus[s % NPU_JOB_STATUS_HISTORY] = -ETIMEDOUT;
		drv_file_add_fault(cq->file, &r);
	}
	pthread_mutex_unlock(&hq->lock);
}

/* Every queue of f: unfinished work cancelled, submits refused from now on. recovery_lock
 * held. */
static void npu_file_ban(struct npu_device *dev, struct npu_file *f)
{
	if (__atomic_exchange_n(&f->banned, 1, __ATOMIC_ACQ_REL))
		return;
	npu_warn("device %u: fd %d is banned after %llu hangs", dev->index, f->fd,
		 (unsigned long long)__atomic_load_n(&dev->ban_threshold, __ATOMIC_RELAXED));
	for (uint32_t i = 0; i < dev->num_queues; i++) {
		struct npu_hwq *hq = &dev->hwq[i];
		struct npu_cqueue *cq = hq->cq; /* stable under recovery_lock */

		if (!cq || cq->file != f)
			continue;
		pthread_mutex_lock(&cq->ring_lock);
		npu_qwr32(dev, hq->idx, NPU_QREG_CONTROL, 0);
		pthread_mutex_lock(&hq->svc_lock);
		if (cq->wd_kill_seqno) /* the hang that banned it, or a kill not back yet */
			npu_mark_hung(cq, cq->wd_kill_seqno, 0);
		drv_cq_fail_unfinished(cq, -ECANCELED, NPU_FAULT_CODE_CANCELED,
				       NPU_FENCE_ERR_DRV(ECANCELED));
		cq->wd_kill_seqno = 0;
		pthread_mutex_unlock(&hq->svc_lock);
		/* Keep it bound with an empty ring: waits, QUEUE_DESTROY and close still work. */
		drv_cq_program(cq);
		pthread_mutex_unlock(&cq->ring_lock);
	}
	drv_file_notify(f);
}

static void npu_kill(struct npu_device *dev, struct npu_cqueue *cq, uint64_t completed,
		     int64_t now, uint64_t hang_ms)
{
	struct npu_file *f = cq->file;
	uint64_t ban = __atomic_load_n(&dev->ban_threshold, __ATOMIC_RELAXED);
	uint32_t guilty;

	npu_warn("device %u: fd %d queue %u job %llu made no progress for %llu ms: killing it",
		 dev->index, f->fd, cq->id, (unsigned long long)completed + 1,
		 (unsigned long long)hang_ms);
	cq->wd_kill_seqno = completed + 1;
	cq->wd_kill_ns = now;
	npu_file_mark(f, NPU_RESET_GUILTY, true);
	pthread_mutex_lock(&f->ev_lock);
	guilty = f->guilty;
	pthread_mutex_unlock(&f->ev_lock);
	/* A hang that bans the client stops its queues before the device resumes this one
	 * after the kill: nothing queued behind the hung job runs (it is all cancelled). */
	if (ban && guilty >= ban) {
		npu_file_ban(dev, f);
		return;
	}
	npu_qwr32(dev, cq->hq->idx, NPU_QREG_CONTROL, NPU_QCTL_ENABLE | NPU_QCTL_KILL);
}

bool drv_device_wait_ready(struct npu_device *dev, unsigned timeout_ms)
{
	int64_t deadline = drv_now_ns() + (int64_t)timeout_ms * 1000000;

	for (unsigned us = 10;; us = us < 10000 ? us * 2 : us) {
		uint32_t status = npu_rd32(dev, NPU_REG_STATUS);
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)us * 1000 };

		if (status & NPU_STATUS_FAILED)
			return false;
		if (status & NPU_STATUS_READY)
			return true;
		if (drv_now_ns() >= deadline)
			return false;
		nanosleep(&ts, NULL);
	}
}

void drv_device_reset(struct npu_device *dev, struct npu_hwq *guilty)
{
	struct npu_cqueue *active[NPU_MAX_HW_QUEUES];
	struct npu_file *guilty_file = NULL;
	unsigned n = 0;
	bool ok = false;
	struct npu_list *it;

	if (drv_dev_lost(dev))
		return;
	for (uint32_t i = 0; i < dev->num_queues; i++)
		if (dev->hwq[i].cq)
			active[n++] = dev->hwq[i].cq;
	/* No submit rings a doorbell and no interrupt is serviced while the device resets. */
	for (unsigned i = 0; i < n; i++)
		pthread_mutex_lock(&active[i]->ring_lock);
	for (unsigned i = 0; i < n; i++)
		pthread_mutex_lock(&active[i]->hq->svc_lock);
	/* A fault the device reported but nobody serviced yet is lost by the reset: take it. */
	for (unsigned i = 0; i < n; i++) {
		struct npu_cqueue *cq = active[i];

		if (npu_qrd32(dev, cq->hq->idx, NPU_QREG_STATE) == NPU_QSTATE_FAULTED)
			drv_hwq_service_locked(dev, cq->hq, false);
	}

	for (unsigned attempt = 1; attempt <= NPU_RESET_ATTEMPTS; attempt++) {
		npu_wr32(dev, NPU_REG_CONTROL, NPU_CONTROL_RESET);
		npu_wr32(dev, NPU_REG_CONTROL, NPU_CONTROL_BOOT);
		if (drv_device_wait_ready(dev, NPU_RESET_BOOT_MS)) {
			ok = true;
			break;
		}
		npu_err("device %u: reset attempt %u of %u failed (status 0x%x)", dev->index,
			attempt, NPU_RESET_ATTEMPTS, npu_rd32(dev, NPU_REG_STATUS));
	}
	__atomic_fetch_add(&dev->resets, 1, __ATOMIC_RELAXED);
	drv_pub_set_resets(dev->pub, __atomic_load_n(&dev->resets, __ATOMIC_RELAXED));
	if (!ok)
		__atomic_store_n(&dev->state, NPU_DEV_LOST, __ATOMIC_RELEASE);

	/* Reset status first: whoever wakes up from a failed job below can already read it. */
	if (guilty && guilty->cq)
		guilty_file = guilty->cq->file;
	pthread_mutex_lock(&dev->lock);
	for (it = dev->files.next; it != &dev->files; it = it->next) {
		struct npu_file *f = npu_container_of(it, struct npu_file, link);

		if (f != guilty_file)
			npu_file_mark(f, NPU_RESET_INNOCENT, false);
	}
	pthread_mutex_unlock(&dev->lock);

	if (!ok) {
		npu_err("device %u is lost: every unfinished job fails with -ENODEV", dev->index);
		for (unsigned i = 0; i < n; i++)
			drv_cq_fail_unfinished(active[i], -ENODEV, NPU_FAULT_CODE_DEVICE_LOST,
					       NPU_FENCE_ERR_DRV(ENODEV));
	} else {
		for (unsigned i = 0; i < n; i++) {
			struct npu_cqueue *cq = active[i];

			if (cq->hq == guilty)
				npu_mark_hung(cq, 0, NPU_FAULT_F_RESET);
			drv_cq_fail_unfinished(cq, -EAGAIN, NPU_FAULT_CODE_RESET,
					       NPU_FENCE_ERR_DRV(EAGAIN));
			cq->wd_kill_seqno = 0;
			__atomic_store_n(&cq->wd_progress_ns, drv_now_ns(), __ATOMIC_RELAXED);
			drv_cq_program(cq); /* a banned client's too: bound, empty, refusing */
		}
		pthread_mutex_lock(&dev->lock);
		npu_wr32(dev, NPU_REG_IRQ_MASK, dev->irq_mask);
		pthread_mutex_unlock(&dev->lock);
		npu_warn("device %u: reset %u done (%s)", dev->index,
			 __atomic_load_n(&dev->resets, __ATOMIC_RELAXED),
			 guilty_file ? "a hung job" : "no job to blame");
	}
	for (unsigned i = n; i--;)
		pthread_mutex_unlock(&active[i]->hq->svc_lock);
	for (unsigned i = n; i--;)
		pthread_mutex_unlock(&active[i]->ring_lock);
	drv_dev_notify_fences(dev);
}

/* One look at every queue. Returns whether any job is pending. */
static bool npu_watchdog_tick(struct npu_device *dev)
{
	uint32_t engq[NPU_NUM_ENGINES], engprog[NPU_NUM_ENGINES];
	bool moved_eng[NPU_NUM_ENGINES];
	struct npu_hwq *reset_guilty = NULL;
	bool busy = false, reset = false;
	int64_t now;

	pthread_mutex_lock(&dev->recovery_lock);
	if (drv_dev_lost(dev)) {
		pthread_mutex_unlock(&dev->recovery_lock);
		return false;
	}
	now = drv_now_ns();
	for (uint32_t e = 0; e < NPU_NUM_ENGINES; e++) {
		engq[e] = NPU_ENGINE_IDLE;
		engprog[e] = 0;
		if (!(dev->engines & (1u << e)))
			continue;
		engq[e] = npu_rd32(dev, NPU_REG_ENGINE_QUEUE(e));
		engprog[e] = npu_rd32(dev, NPU_REG_ENGINE_PROGRESS(e));
		moved_eng[e] = engq[e] != dev->wd_engq[e] || engprog[e] != dev->wd_engprog[e];
		dev->wd_engq[e] = engq[e];
		dev->wd_engprog[e] = engprog[e];
	}

	for (uint32_t i = 0; i < dev->num_queues; i++) {
		struct npu_hwq *hq = &dev->hwq[i];
		struct npu_cqueue *cq = hq->cq; /* stable under recovery_lock */
		uint64_t completed, last, fence, hang_ms;
		uint32_t state, head, e;
		bool executing, progress;

		if (!cq)
			continue;
		state = npu_qrd32(dev, i, NPU_QREG_STATE);
		fence = __atomic_load_n(&cq->status->fence, __ATOMIC_ACQUIRE);
		pthread_mutex_lock(&hq->lock);
		completed = cq->completed;
		last = cq->last_seqno;
		pthread_mutex_unlock(&hq->lock);
		if (state == NPU_QSTATE_FAULTED || (fence > completed && fence <= last)) {
			/* The interrupt is late or lost: do its work. */
			drv_hwq_service(dev, hq, false);
			state = npu_qrd32(dev, i, NPU_QREG_STATE);
			completed = drv_cq_completed(cq);
		}
		if (completed >= last) {
			cq->wd_kill_seqno = 0;
			__atomic_store_n(&cq->wd_progress_ns, now, __ATOMIC_RELAXED);
			/* The watchdog may sleep for a long time now: the first tick that finds new
			 * work must count as progress, not compare against this stale state. */
			cq->wd_completed = UINT64_MAX;
			continue;
		}
		busy = true;
		head = npu_qrd32(dev, i, NPU_QREG_HEAD);
		e = cq->engine;
		executing = engq[e] == i;
		progress = head != cq->wd_head || completed != cq->wd_completed ||
			   state == NPU_QSTATE_WAITING || state == NPU_QSTATE_FAULTED ||
			   (executing && moved_eng[e]) ||
			   (!executing && engq[e] != NPU_ENGINE_IDLE);
		cq->wd_head = head;
		cq->wd_completed = completed;
		if (progress)
			__atomic_store_n(&cq->wd_progress_ns, now, __ATOMIC_RELAXED);

		if (cq->wd_kill_seqno) {
			bool stopped;

			/* The kill came back as soon as the device reported the job's fault: its
			 * FENCE may then still wait behind another queue's long packet. */
			pthread_mutex_lock(&hq->lock);
			stopped = completed >= cq->wd_kill_seqno ||
				  cq->jstatus[cq->wd_kill_seqno % NPU_JOB_STATUS_HISTORY];
			pthread_mutex_unlock(&hq->lock);
			if (stopped) {
				cq->wd_kill_seqno = 0;
			} else if (now - cq->wd_kill_ns > (int64_t)NPU_KILL_TIMEOUT_MS * 1000000) {
				npu_err("device %u: fd %d queue %u did not stop its hung job in %d ms",
					dev->index, cq->file->fd, cq->id, NPU_KILL_TIMEOUT_MS);
				reset = true;
				reset_guilty = hq;
			}
			continue;
		}
		hang_ms = drv_file_hang_ms(cq->file);
		if (!hang_ms || now - __atomic_load_n(&cq->wd_progress_ns, __ATOMIC_RELAXED) <
				(int64_t)hang_ms * 1000000)
			continue;
		if (executing) {
			npu_kill(dev, cq, completed, now, hang_ms);
		} else if (!reset) {
			npu_err("device %u: engine %u has work of queue %u (fd %d) but ran nothing "
				"for %llu ms: the command processor is stuck", dev->index, e, i,
				cq->file->fd, (unsigned long long)hang_ms);
			reset = true;
		}
	}
	if (reset)
		drv_device_reset(dev, reset_guilty);
	pthread_mutex_unlock(&dev->recovery_lock);
	return busy;
}

static void *npu_watchdog_main(void *arg)
{
	struct npu_device *dev = arg;
	int64_t last_busy = drv_now_ns();
	bool busy = false;

	pthread_mutex_lock(&dev->wd_lock);
	while (!dev->wd_stop) {
		if (busy || drv_now_ns() - last_busy < NPU_WD_LINGER_MS * 1000000ll) {
			int64_t deadline = drv_now_ns() + NPU_WD_TICK_MS * 1000000ll;
			struct timespec ts;

			drv_ns_to_timespec(deadline, &ts);
			while (!dev->wd_stop && drv_now_ns() < deadline)
				pthread_cond_timedwait(&dev->wd_cond, &dev->wd_lock, &ts);
		} else {
			/* Submits stop skipping the kick from here on; one more look catches a job
			 * published before they could see it (drv_watchdog_submitted). */
			__atomic_store_n(&dev->wd_idle, true, __ATOMIC_RELEASE);
			dev->wd_kick = false;
			pthread_mutex_unlock(&dev->wd_lock);
			busy = npu_watchdog_tick(dev);
			pthread_mutex_lock(&dev->wd_lock);
			while (!busy && !dev->wd_stop && !dev->wd_kick)
				pthread_cond_wait(&dev->wd_cond, &dev->wd_lock);
			__atomic_store_n(&dev->wd_idle, false, __ATOMIC_RELAXED);
		}
		if (dev->wd_stop)
			break;
		dev->wd_kick = false;
		pthread_mutex_unlock(&dev->wd_lock);
		busy = npu_watchdog_tick(dev);
		pthread_mutex_lock(&dev->wd_lock);
		if (busy)
			last_busy = drv_now_ns();
	}
	pthread_mutex_unlock(&dev->wd_lock);
	return NULL;
}

int drv_watchdog_start(struct npu_device *dev)
{
	int ret = pthread_create(&dev->wd_thread, NULL, npu_watchdog_main, dev);

	if (ret)
		return -ret;
	dev->wd_started = true;
	return 0;
}

void drv_watchdog_stop(struct npu_device *dev)
{
	if (!dev->wd_started)
		return;
	pthread_mutex_lock(&dev->wd_lock);
	dev->wd_stop = true;
	pthread_cond_signal(&dev->wd_cond);
	pthread_mutex_unlock(&dev->wd_lock);
	pthread_join(dev->wd_thread, NULL);
	dev->wd_started = false;
}
