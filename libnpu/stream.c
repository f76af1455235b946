/* SPDX-License-Identifier: MIT */
/*
 * libnpu: the queue layer (submission, waiting, faults, job records), streams, events and the
 * completion watcher.
 *
 * Every stream maps onto a driver queue through struct npui_queue. With driver uapi >= 1.1 a
 * stream gets its own queue (compute or copy, with a priority), so streams overlap; each
 * queue then signals a timeline fence with the seqno of every job, and a stream that waits
 * for an event of another queue submits a WAIT_FENCE job. Without queues (uapi 1.0) every
 * stream shares queue 0, which orders everything already.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npu_accel.h"
#include "npu_internal.h"
#include "npu_isa.h"

uint64_t npui_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct npui_job *job_by_id(struct npu_device *dev, uint64_t id)
{
	struct npui_job *j = &dev->jobs[id % NPUI_JOB_HISTORY];

	return id && j->id == id ? j : NULL;
}

/* The record of the job with fence value `seqno` on queue `q`. */
static struct npui_job *job_of(struct npu_device *dev, struct npui_queue *q, uint64_t seqno)
{
	struct npui_job *j;

	if (!seqno)
		return NULL;
	j = job_by_id(dev, q->job_ids[seqno % NPUI_JOB_HISTORY]);
	return j && j->queue == q->id && j->seqno == seqno ? j : NULL;
}

static struct npui_queue *queue_by_id(struct npu_device *dev, uint32_t id)
{
	for (struct npui_queue *q = dev->queues; q; q = q->next)
		if (q->id == id)
			return q;
	return NULL;
}

/* ---- Submission ---------------------------------------------------------------------- */

/* The command staging BO, created at first use (dev->lock held); NULL: use pointers. */
static uint8_t *cmdbo_get(struct npu_device *dev)
{
	struct npu_bo_create c = { .size = NPU_MAX_CMD_BYTES, .flags = NPU_BO_HOST_VISIBLE };
	struct npu_bo_free f = { 0 };
	int err = 0;
	void *host;

	if (dev->cmdbo.tried)
		return dev->cmdbo.off ? NULL : dev->cmdbo.host;
	dev->cmdbo.tried = true;
	if (dev->uapi < 0x10002 || npu_drv_ioctl(dev->fd, NPU_IOCTL_BO_CREATE, &c))
		return NULL;
	host = npu_drv_mmap(dev->fd, c.mmap_offset, NPU_MAX_CMD_BYTES, &err);
	if (!host) {
		f.handle = c.handle;
		npu_drv_ioctl(dev->fd, NPU_IOCTL_BO_FREE, &f);
		return NULL;
	}
	dev->cmdbo.handle = c.handle;
	dev->cmdbo.host = host;
	return host;
}

npu_result_t npui_submit(struct npu_device *dev, struct npu_stream *stream, const void *cmds,
			 uint32_t size, struct npui_job *job)
{
	struct npui_queue *q = stream->queue;
	/* The largest command is a launch with 32 arguments (320 bytes), plus the fence signal;
	 * graph segments (up to NPU_GRAPH_SEGMENT_BYTES) take a heap buffer. */
	uint8_t stackbuf[512], *buf = NULL, *stage;
	struct npu_submit s = {
		.cmds = (uint64_t)(uintptr_t)cmds,
		.cmds_size = size,
		.queue = q->id,
	};
	uint64_t now = npui_now_ns(), id = dev->last_job + 1;
	bool stamp = dev->ts.host && dev->watch.tracing;
	uint32_t len = 0;
	int ret;

	if (stream->capture)
		return npui_graph_add_cmds(stream->capture, cmds, size, job);
	/* 64 bytes: room for the timestamps and the fence signal added below. */
	stage = cmdbo_get(dev);
	if (stage && size + 64 <= NPU_MAX_CMD_BYTES)
		buf = stage;
	else if (q->fence || stamp)
		buf = stackbuf;
	if (buf == stackbuf) {
		if (size + 64 > sizeof(stackbuf) &&
		    (size > NPU_GRAPH_SEGMENT_BYTES || !(buf = malloc(size + 64))))
			return npui_set_error(size > NPU_GRAPH_SEGMENT_BYTES ? NPU_ERROR_INVALID_VALUE
									      : NPU_ERROR_OUT_OF_MEMORY,
					      "command stream of %u bytes: %s", size,
					      size > NPU_GRAPH_SEGMENT_BYTES ? "too large"
									     : "out of host memory");
	}
	if (buf) {
		struct npu_cmd_timestamp ts = {
			.hdr = { .type = NPU_CMD_TIMESTAMP, .dwords = sizeof(ts) / 8 },
			.dst_addr = dev->ts.va + (id % NPUI_JOB_HISTORY) * 16,
		};
		if (stamp) {
			/* Device-clock start and end of the job, for profilers. */
			dev->ts.host[(id % NPUI_JOB_HISTORY) * 2] = 0;
			dev->ts.host[(id % NPUI_JOB_HISTORY) * 2 + 1] = 0;
			memcpy(buf, &ts, sizeof(ts));
			len += sizeof(ts);
		}
		memcpy(buf + len, cmds, size);
		len += size;
		if (stamp) {
			ts.dst_addr += 8;
			memcpy(buf + len, &ts, sizeof(ts));
			len += sizeof(ts);
		}
		if (q->fence) {
			struct npu_cmd_fence sig = {
				.hdr = { .type = NPU_CMD_SIGNAL_FENCE, .dwords = sizeof(sig) / 8 },
				.fence = q->fence,
				.value = q->last_seqno + 1,  /* seqnos count up by one per submit */
			};
			memcpy(buf + len, &sig, sizeof(sig));
			len += sizeof(sig);
		}
		s.cmds = (uint64_t)(uintptr_t)buf;
		s.cmds_size = len;
		if (buf == stage) {
			s.cmds = dev->cmdbo.handle;
			s.flags = NPU_SUBMIT_CMDS_BO;
		}
	}
	ret = npu_drv_ioctl(dev->fd, NPU_IOCTL_SUBMIT, &s);
	if (ret == -EINVAL && buf && buf == stage) {
		/* A 1.2 driver from before the flag? The same stream by pointer tells. */
		s.cmds = (uint64_t)(uintptr_t)stage;
		s.flags = 0;
		ret = npu_drv_ioctl(dev->fd, NPU_IOCTL_SUBMIT, &s);
		if (!ret)
			dev->cmdbo.off = true;
	}
	if (buf && buf != stackbuf && buf != stage)
		free(buf);
	if (ret)
		return npui_set_error(ret, "submit to queue %u failed: %s", q->id, strerror(-ret));
	q->last_seqno = s.seqno;
	stream->last_seqno = s.seqno;
	job->id = ++dev->last_job;
	job->device_clock = stamp;
	job->seqno = s.seqno;
	job->queue = q->id;
	job->stream_id = stream->id;
	job->submit_ns = now;
	job->complete_ns = 0;
	job->faulted = 0;
	job->sim_state = NPUI_SIM_UNKNOWN;
	dev->jobs[job->id % NPUI_JOB_HISTORY] = *job;
	q->job_ids[s.seqno % NPUI_JOB_HISTORY] = job->id;
	if (!dev->outstanding++)
		dev->busy_since = now;
	pthread_cond_broadcast(&dev->submitted);
	return NPU_SUCCESS;
}

/* ---- Completion and faults ------------------------------------------------------------ */

/* Fetches the simulated times of completed job j from the driver, once (dev->lock held). */
static void sim_fetch(struct npu_device *dev, struct npui_job *j)
{
	struct npu_job_time t = { .queue = j->queue, .seqno = j->seqno };
	int ret;

	if (j->sim_state != NPUI_SIM_UNKNOWN)
		return;
	if (dev->uapi < 0x10002) {
		j->sim_state = NPUI_SIM_NONE;
		return;
	}
	ret = npu_drv_ioctl(dev->fd, NPU_IOCTL_JOB_TIME, &t);
	if (ret == -EAGAIN)
		return; /* not complete yet: ask again later */
	if (ret) {
		j->sim_state = NPUI_SIM_NONE;
		return;
	}
	j->sim_state = NPUI_SIM_VALID;
	j->sim_start = t.start_cycles;
	j->sim_end = t.end_cycles;
	j->sim_cycles = t.cycles;
	j->sim_launches = t.launches;
	j->sim_ncores = t.ncores < NPU_JOB_MAX_CORES ? t.ncores : NPU_JOB_MAX_CORES;
	memcpy(j->sim_core, t.core_cycles, sizeof(j->sim_core));
}

/* The queue's fence reached `completed`: stamp the jobs that finished (dev->lock held). */
static void note_completed(struct npu_device *dev, struct npui_queue *q, uint64_t completed)
{
	uint64_t now, n;

	if (completed <= q->completed)
		return;
	now = npui_now_ns();
	for (uint64_t s = q->completed + 1; s <= completed; s++) {
		struct npui_job *j = job_of(dev, q, s);
		if (j && !j->complete_ns)
			j->complete_ns = now;
		/* Profilers read jobs later: keep their device times before the driver drops
		 * them (it keeps the last 1024 of a queue). */
		if (j && dev->watch.tracing)
			sim_fetch(dev, j);
	}
	n = completed - q->completed;
	dev->jobs_completed += n;
	q->completed = completed;
	dev->outstanding = dev->outstanding > n ? dev->outstanding - n : 0;
	if (!dev->outstanding && dev->busy_since) {
		dev->busy_ns += now - dev->busy_since;
		dev->busy_since = 0;
	}
}

/* The driver's completion record of `q` (uapi >= 1.2), mapped on first use; NULL if the
 * driver has none (dev->lock held). */
static const struct npu_queue_status *queue_status(struct npu_device *dev, struct npui_queue *q)
{
	if (!q->status_tried && dev->uapi >= 0x10002) {
		struct npu_queue_status_map m = { .queue = q->id };

		if (npu_drv_ioctl(dev->fd, NPU_IOCTL_QUEUE_STATUS, &m) == 0)
			q->status = (const struct npu_queue_status *)(uintptr_t)m.status_ptr;
	}
	q->status_tried = true;
	return q->status;
}

/* Reads the queue's completed fence without sleeping (dev->lock held). */
static npu_result_t poll_queue(struct npu_device *dev, struct npui_queue *q)
{
	struct npu_wait w = { .seqno = 0, .timeout_ns = 0, .queue = q->id };
	int ret;

	/* The record needs no call; a queue that was never waited on by spinning has none
	 * mapped and asks the driver. */
	if (q->status) {
		note_completed(dev, q, __atomic_load_n(&q->status->completed, __ATOMIC_ACQUIRE));
		return NPU_SUCCESS;
	}
	ret = npu_drv_ioctl(dev->fd, NPU_IOCTL_WAIT, &w);

	if (ret)
		return npui_set_error(ret, "polling queue %u failed: %s", q->id, strerror(-ret));
	note_completed(dev, q, w.completed);
	return NPU_SUCCESS;
}

/* Whether the work up to `seqno` of `q` has finished (dev->lock held): the completion fence,
 * or the queue's timeline fence, which a job signals at its end, a moment before the driver
 * sees the job complete (so a stream that waited on it may already have run). */
static npu_result_t queue_reached(struct npu_device *dev, struct npui_queue *q, uint64_t seqno,
				  bool *done)
{
	npu_result_t ret = NPU_SUCCESS;

	if (seqno > q->completed)
		ret = poll_queue(dev, q);
	*done = seqno <= q->completed;
	if (!*done && !ret && q->fence && seqno >= q->fence_from) {
		struct npu_fence_query fq = { .handle = q->fence };
		if (npu_drv_ioctl(dev->fd, NPU_IOCTL_FENCE_QUERY, &fq) == 0)
			*done = fq.value >= seqno;
	}
	return ret;
}

npu_result_t npui_query(struct npu_device *dev, struct npui_queue *q, uint64_t seqno, bool *done)
{
	return queue_reached(dev, q, seqno, done);
}

static void describe_fault(struct npu_device *dev, const struct npu_get_fault *f,
			   struct npu_fault_info *info)
{
	struct npui_queue *q = queue_by_id(dev, f->queue);
	const struct npui_job *job = q ? job_of(dev, q, f->seqno) : NULL;

	memset(info, 0, sizeof(*info));
	info->struct_size = sizeof(*info);
	info->code = f->code;
	snprintf(info->trap_name, sizeof(info->trap_name), "%s", npu_trap_name(f->code));
	/* A graph segment carries the names of the kernels it launches (grid set). */
	if (job && (job->kind == NPU_JOB_LAUNCH ||
		    (job->kind == NPU_JOB_GRAPH && job->grid[0])))
		snprintf(info->kernel, sizeof(info->kernel), "%s", job->name);
	info->core = f->core;
	info->is_write = !!(f->flags & NPU_FAULT_F_WRITE);
	info->has_insn = !!(f->flags & NPU_FAULT_F_INSN);
	info->pc = f->pc;
	info->addr = f->addr;
	info->insn = f->insn;
	if (info->has_insn) {
		npu_isa_disasm(f->insn, info->disasm, sizeof(info->disasm));
		snprintf(info->message, sizeof(info->message),
			 "%s in kernel '%s' on core %u at pc %" PRIu64 " (%s), address 0x%" PRIx64
			 "%s: %s",
			 info->trap_name, info->kernel, info->core, info->pc, info->disasm,
			 info->addr, info->is_write ? " (write)" : "", npu_trap_doc(f->code));
	} else {
		snprintf(info->message, sizeof(info->message),
			 "%s in %s%s%s, address 0x%" PRIx64 "%s: %s", info->trap_name,
			 info->kernel[0] ? "kernel '" : "a copy/fill command",
			 info->kernel, info->kernel[0] ? "'" : "", info->addr,
			 info->is_write ? " (write)" : "", npu_trap_doc(f->code));
	}
}

/* Moves every fault the driver holds for us into dev->pending (dev->lock held). */
static npu_result_t collect_faults(struct npu_device *dev)
{
	struct npu_get_fault f;
	int ret;

	for (;;) {
		memset(&f, 0, sizeof(f));
		ret = npu_drv_ioctl(dev->fd, NPU_IOCTL_GET_FAULT, &f);
		if (ret)
			return npui_set_error(ret, "GET_FAULT failed: %s", strerror(-ret));
		dev->faults += f.lost;
		if (!(f.flags & NPU_FAULT_F_VALID))
			return NPU_SUCCESS;
		dev->faults++;
		struct npui_queue *fq = queue_by_id(dev, f.queue);
		struct npui_job *job = fq ? job_of(dev, fq, f.seqno) : NULL;
		if (job)
			job->faulted = 1;
		if (dev->npending == NPUI_MAX_PENDING_FAULTS) {
			/* Keep the newest: drop the oldest unreported one. */
			memmove(&dev->pending[0], &dev->pending[1],
				(NPUI_MAX_PENDING_FAULTS - 1) * sizeof(dev->pending[0]));
			memmove(&dev->pending_seqno[0], &dev->pending_seqno[1],
				(NPUI_MAX_PENDING_FAULTS - 1) * sizeof(dev->pending_seqno[0]));
			memmove(&dev->pending_queue[0], &dev->pending_queue[1],
				(NPUI_MAX_PENDING_FAULTS - 1) * sizeof(dev->pending_queue[0]));
			dev->npending--;
		}
		struct npu_fault_info info;
		describe_fault(dev, &f, &info);
		dev->pending[dev->npending] = info;
		dev->pending_seqno[dev->npending] = f.seqno;
		dev->pending_queue[dev->npending] = f.queue;
		dev->npending++;
	}
}

/* Returns the oldest pending fault of a job of `q` <= seqno (of any queue if q is NULL) and
 * forgets every other one of those: one wait reports one fault, and each fault is reported at
 * most once. */
static npu_result_t report_faults(struct npu_device *dev, struct npui_queue *q, uint64_t seqno)
{
	npu_result_t result = NPU_SUCCESS;
	uint32_t keep = 0;

	for (uint32_t i = 0; i < dev->npending; i++) {
		if (!q || (dev->pending_queue[i] == q->id && dev->pending_seqno[i] <= seqno)) {
			if (result == NPU_SUCCESS) {
				dev->last_fault = dev->pending[i];
				result = npui_set_error(NPU_ERROR_KERNEL_FAULT, "%s",
							dev->last_fault.message);
			}
			continue;
		}
		if (keep != i) {
			dev->pending[keep] = dev->pending[i];
			dev->pending_seqno[keep] = dev->pending_seqno[i];
			dev->pending_queue[keep] = dev->pending_queue[i];
		}
		keep++;
	}
	dev->npending = keep;
	return result;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

/* NPU_WAIT_SPIN / _YIELD: polls the queue's record for up to the spin budget (or the
 * timeout, if shorter). True when `seqno` completed. dev->lock held, dropped while polling;
 * *spent is the time it took. */
static bool spin_seqno(struct npu_device *dev, struct npui_queue *q, uint64_t seqno,
		       int64_t timeout_ns, int64_t *spent)
{
	const struct npu_queue_status *st = queue_status(dev, q);
	uint64_t budget = dev->wait_spin_ns, done = 0, t0, end;
	bool yield = dev->wait_mode == NPU_WAIT_YIELD;

	*spent = 0;
	if (!st)
		return false;
	if (timeout_ns >= 0 && (uint64_t)timeout_ns < budget)
		budget = (uint64_t)timeout_ns;
	pthread_mutex_unlock(&dev->lock);
	t0 = npui_now_ns();
	end = t0 + budget;
	for (unsigned i = 1;; i++) {
		done = __atomic_load_n(&st->completed, __ATOMIC_ACQUIRE);
		if (done >= seqno)
			break;
		/* The clock costs more than a look: read it every 16 looks. */
		if (!(i % 16) && npui_now_ns() >= end)
			break;
		if (yield)
			sched_yield();
		else
			cpu_relax();
	}
	*spent = (int64_t)(npui_now_ns() - t0);
	pthread_mutex_lock(&dev->lock);
	note_completed(dev, q, done);
	return done >= seqno;
}

/* Sleeps until `seqno` of `q` has signalled (dev->lock held, dropped while sleeping). */
static npu_result_t wait_seqno(struct npu_device *dev, struct npui_queue *q, uint64_t seqno,
			       int64_t timeout_ns)
{
	struct npu_wait w = { .seqno = seqno, .queue = q->id };
	int64_t now, spent;
	int err;

	if (seqno <= q->completed)
		return NPU_SUCCESS;
	if (dev->wait_mode != NPU_WAIT_BLOCK) {
		if (spin_seqno(dev, q, seqno, timeout_ns, &spent) || seqno <= q->completed)
			return NPU_SUCCESS;
		if (timeout_ns >= 0)
			timeout_ns = timeout_ns > spent ? timeout_ns - spent : 0;
	}
	now = (int64_t)npui_now_ns();
	w.timeout_ns = timeout_ns < 0 || timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
	/* Sleep without the device lock so other threads keep submitting. */
	pthread_mutex_unlock(&dev->lock);
	err = npu_drv_ioctl(dev->fd, NPU_IOCTL_WAIT, &w);
	pthread_mutex_lock(&dev->lock);
	if (err == -ETIMEDOUT)
		return npui_set_error(NPU_ERROR_TIMEOUT,
				      "job %" PRIu64 " of queue %u did not complete within %" PRId64
				      " ns", seqno, q->id, timeout_ns);
	if (err)
		return npui_set_error(err, "waiting for job %" PRIu64 " of queue %u failed: %s",
				      seqno, q->id, strerror(-err));
	note_completed(dev, q, w.completed);
	return NPU_SUCCESS;
}

npu_result_t npu_device_set_wait_mode(npu_device_t *dev, uint32_t mode, uint64_t spin_ns)
{
	npui_clear_error();
	if (!dev)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_device_set_wait_mode: dev is NULL");
	if (mode != NPU_WAIT_BLOCK && mode != NPU_WAIT_SPIN && mode != NPU_WAIT_YIELD)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_device_set_wait_mode: unknown mode %u (NPU_WAIT_BLOCK, "
				      "NPU_WAIT_SPIN or NPU_WAIT_YIELD)", mode);
	if (spin_ns > NPU_WAIT_SPIN_MAX_NS)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_device_set_wait_mode: spin_ns %" PRIu64 " is above "
				      "NPU_WAIT_SPIN_MAX_NS (%llu)", spin_ns,
				      (unsigned long long)NPU_WAIT_SPIN_MAX_NS);
	pthread_mutex_lock(&dev->lock);
	dev->wait_mode = mode;
	dev->wait_spin_ns = spin_ns ? spin_ns : NPU_WAIT_SPIN_DEFAULT_NS;
	pthread_mutex_unlock(&dev->lock);
	return NPU_SUCCESS;
}

npu_result_t npui_wait(struct npu_device *dev, struct npui_queue *q, uint64_t seqno,
		       int64_t timeout_ns)
{
	npu_result_t ret = wait_seqno(dev, q, seqno, timeout_ns);

	if (ret)
		return ret;
	ret = collect_faults(dev);
	if (ret)
		return ret;
	return report_faults(dev, q, seqno);
}

npu_result_t npui_sync_all(struct npu_device *dev)
{
	npu_result_t ret;

	/* Queue structs are never freed while the device is open, so the list survives the
	 * lock being dropped in wait_seqno(); queues added meanwhile are newer work. */
	for (struct npui_queue *q = dev->queues; q; q = q->next) {
		ret = wait_seqno(dev, q, q->last_seqno, -1);
		if (ret)
			return ret;
	}
	ret = collect_faults(dev);
	if (ret)
		return ret;
	return report_faults(dev, NULL, 0);
}

/* ---- Completion watcher ---------------------------------------------------------------- */

static bool work_pending(struct npu_device *dev)
{
	for (struct npui_queue *q = dev->queues; q; q = q->next)
		if (q->completed < q->last_seqno)
			return true;
	return false;
}

/* Stamps completions as they happen. With the driver's event fd one thread watches every
 * queue; without it (uapi 1.0: one queue) it waits for the next job. Sleeps are bounded so
 * that stopping never waits for a long kernel. */
static void *watch_main(void *arg)
{
	struct npu_device *dev = arg;

	pthread_mutex_lock(&dev->lock);
	while (!dev->watch.stop) {
		if (!work_pending(dev)) {
			pthread_cond_wait(&dev->submitted, &dev->lock);
			continue;
		}
		if (dev->watch.eventfd >= 0) {
			struct pollfd pfd = { .fd = dev->watch.eventfd, .events = POLLIN };
			uint64_t count;

			pthread_mutex_unlock(&dev->lock);
			if (poll(&pfd, 1, 50) > 0 && read(pfd.fd, &count, sizeof(count)) < 0)
				count = 0;  /* non-blocking: another reader got it; re-check anyway */
			pthread_mutex_lock(&dev->lock);
			for (struct npui_queue *q = dev->queues; q; q = q->next)
				if (q->completed < q->last_seqno)
					poll_queue(dev, q);
		} else {
			struct npui_queue *q = dev->queue0;
			struct npu_wait w = {
				.seqno = q->completed + 1,
				.timeout_ns = (int64_t)(npui_now_ns() + 50000000ull),
				.queue = q->id,
			};
			pthread_mutex_unlock(&dev->lock);
			int err = npu_drv_ioctl(dev->fd, NPU_IOCTL_WAIT, &w);
			pthread_mutex_lock(&dev->lock);
			if (err == 0)
				note_completed(dev, q, w.completed);
			else if (err != -ETIMEDOUT)
				break;  /* the file is broken; waits by callers report it */
		}
		collect_faults(dev);
	}
	pthread_mutex_unlock(&dev->lock);
	return NULL;
}

npu_result_t npui_watch_get(struct npu_device *dev)
{
	npu_result_t ret = NPU_SUCCESS;

	pthread_mutex_lock(&dev->lock);
	if (dev->watch.users++ == 0 && !dev->watch.running) {
		dev->watch.stop = false;
		int err = pthread_create(&dev->watch.thread, NULL, watch_main, dev);
		if (err) {
			dev->watch.users--;
			ret = npui_set_error(NPU_ERROR_OUT_OF_MEMORY,
					     "cannot start the completion watcher: %s", strerror(err));
		} else {
			dev->watch.running = true;
		}
	}
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

static void watch_stop(struct npu_device *dev)
{
	pthread_mutex_lock(&dev->lock);
	if (!dev->watch.running) {
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	dev->watch.stop = true;
	pthread_cond_broadcast(&dev->submitted);
	pthread_mutex_unlock(&dev->lock);
	pthread_join(dev->watch.thread, NULL);
	pthread_mutex_lock(&dev->lock);
	dev->watch.running = false;
	pthread_mutex_unlock(&dev->lock);
}

void npui_watch_put(struct npu_device *dev)
{
	bool last;

	pthread_mutex_lock(&dev->lock);
	last = dev->watch.users && --dev->watch.users == 0;
	pthread_mutex_unlock(&dev->lock);
	if (last)
		watch_stop(dev);
}

npu_result_t npu_device_set_tracing(npu_device_t *dev, int enable)
{
	bool change;

	npui_clear_error();
	if (!dev)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_device_set_tracing: dev is NULL");
	pthread_mutex_lock(&dev->lock);
	change = dev->watch.tracing != !!enable;
	dev->watch.tracing = !!enable;
	pthread_mutex_unlock(&dev->lock);
	if (!change)
		return NPU_SUCCESS;
	if (!enable) {
		npui_watch_put(dev);
		return NPU_SUCCESS;
	}
	pthread_mutex_lock(&dev->lock);
	if (!dev->ts.host && dev->uapi >= 0x10001) {
		struct npu_get_param gp = { .param = NPU_PARAM_TIMESTAMP_FREQ };
		struct npu_alloc a;
		/* Without the buffer, tracing still works on host times. */
		if (npu_drv_ioctl(dev->fd, NPU_IOCTL_GET_PARAM, &gp) == 0 && gp.value &&
		    npui_alloc_bo(dev, NPUI_JOB_HISTORY * 16, 0, &a) == NPU_SUCCESS) {
			dev->ts.va = a.va;
			dev->ts.host = a.host;
			dev->ts.freq = gp.value;
		}
		npui_clear_error();
	}
	pthread_mutex_unlock(&dev->lock);
	npu_result_t ret = npui_watch_get(dev);
	if (ret) {
		pthread_mutex_lock(&dev->lock);
		dev->watch.tracing = false;
		pthread_mutex_unlock(&dev->lock);
	}
	return ret;
}

/* ---- Job records and statistics --------------------------------------------------------- */

npu_result_t npu_device_get_job(npu_device_t *dev, uint64_t id, struct npu_job_info *info)
{
	struct npu_job_info full;
	struct npui_job *j;
	uint32_t n;

	npui_clear_error();
	if (!dev || !info)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_device_get_job: NULL argument");
	if (info->struct_size < offsetof(struct npu_job_info, id))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_device_get_job: struct_size %u too small",
				      info->struct_size);
	memset(&full, 0, sizeof(full));
	pthread_mutex_lock(&dev->lock);
	j = job_by_id(dev, id);
	if (!j) {
		pthread_mutex_unlock(&dev->lock);
		return npui_set_error(NPU_ERROR_NOT_FOUND,
				      "no record of job %" PRIu64 " (last submitted %" PRIu64
				      ", %d kept)", id, dev->last_job, NPUI_JOB_HISTORY);
	}
	full.kind = j->kind;
	full.id = j->id;
	full.stream_id = j->stream_id;
	memcpy(full.name, j->name, sizeof(full.name));
	memcpy(full.grid, j->grid, sizeof(full.grid));
	full.flags = (j->complete_ns ? NPU_JOB_F_COMPLETE : 0) | (j->faulted ? NPU_JOB_F_FAULTED : 0);
	full.bytes = j->bytes;
	full.submit_ns = j->submit_ns;
	full.complete_ns = j->complete_ns;
	full.queue = j->queue;
	full.seqno = j->seqno;
	if (j->complete_ns)
		sim_fetch(dev, j);
	if (j->sim_state == NPUI_SIM_VALID) {
		full.flags |= NPU_JOB_F_DEVICE_TIME | NPU_JOB_F_SIM_CLOCK;
		full.device_cycles = j->sim_cycles;
		full.device_start_cycles = j->sim_start;
		full.device_end_cycles = j->sim_end;
		full.device_launches = j->sim_launches;
		full.device_cores = j->sim_ncores;
		memcpy(full.core_cycles, j->sim_core, sizeof(full.core_cycles));
	}
	if (j->device_clock && j->complete_ns && dev->ts.host) {
		uint64_t t0 = dev->ts.host[(id % NPUI_JOB_HISTORY) * 2];
		uint64_t t1 = dev->ts.host[(id % NPUI_JOB_HISTORY) * 2 + 1];
		if (t0 && t1 >= t0 && dev->ts.freq) {
			full.flags |= NPU_JOB_F_DEVICE_CLOCK;
			full.device_start_ns = (uint64_t)((unsigned __int128)t0 * 1000000000u /
							  dev->ts.freq);
			full.device_end_ns = (uint64_t)((unsigned __int128)t1 * 1000000000u /
							dev->ts.freq);
		}
	}
	pthread_mutex_unlock(&dev->lock);
	n = info->struct_size < sizeof(full) ? info->struct_size : (uint32_t)sizeof(full);
	full.struct_size = n;
	memcpy(info, &full, n);
	return NPU_SUCCESS;
}

npu_result_t npu_device_get_stats(npu_device_t *dev, struct npu_device_stats *stats)
{
	struct npu_device_stats full;
	struct npu_get_param gp = { .param = NPU_PARAM_MEM_USED };
	uint64_t now;
	uint32_t n;
	int err;

	npui_clear_error();
	if (!dev || !stats)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_device_get_stats: NULL argument");
	if (stats->struct_size < offsetof(struct npu_device_stats, mem_used))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_device_get_stats: struct_size %u too small",
				      stats->struct_size);
	err = npu_drv_ioctl(dev->fd, NPU_IOCTL_GET_PARAM, &gp);
	if (err)
		return npui_set_error(err, "GET_PARAM MEM_USED failed: %s", strerror(-err));
	memset(&full, 0, sizeof(full));
	pthread_mutex_lock(&dev->lock);
	for (struct npui_queue *q = dev->queues; q; q = q->next)
		if (q->completed < q->last_seqno)
			poll_queue(dev, q);
	now = npui_now_ns();
	full.flags = NPU_STATS_MEM | NPU_STATS_CLIENT;
	if (dev->uapi >= 0x10002) {
		struct npu_get_param nc = { .param = NPU_PARAM_NUM_CLIENTS };
		if (npu_drv_ioctl(dev->fd, NPU_IOCTL_GET_PARAM, &nc) == 0) {
			full.flags |= NPU_STATS_CLIENTS;
			full.clients = (uint32_t)nc.value;
		}
	}
	if (dev->uapi >= 0x10001) {
		struct npu_reset_status rs = { 0 };
		if (npu_drv_ioctl(dev->fd, NPU_IOCTL_RESET_STATUS, &rs) == 0) {
			full.flags |= NPU_STATS_RESETS;
			full.resets = rs.device_resets;
		}
	}
	full.mem_used = gp.value;
	full.mem_total = dev->props.mem_total;
	full.jobs_submitted = dev->last_job;
	full.jobs_completed = dev->jobs_completed;
	full.faults = dev->faults;
	full.busy_ns = dev->busy_ns + (dev->busy_since ? now - dev->busy_since : 0);
	full.uptime_ns = now - dev->open_ns;
	full.last_job = dev->last_job;
	full.queues = dev->nqueues;
	pthread_mutex_unlock(&dev->lock);
	n = stats->struct_size < sizeof(full) ? stats->struct_size : (uint32_t)sizeof(full);
	full.struct_size = n;
	memcpy(stats, &full, n);
	return NPU_SUCCESS;
}

npu_result_t npu_device_get_client(npu_device_t *dev, uint32_t index,
				   struct npu_client_stats *info)
{
	struct npu_client_stats full;
	struct npu_client_info ci = { .index = index };
	uint32_t n;
	int err;

	npui_clear_error();
	if (!dev || !info)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_device_get_client: NULL argument");
	if (info->struct_size < offsetof(struct npu_client_stats, flags))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_device_get_client: struct_size %u too small",
				      info->struct_size);
	if (dev->uapi < 0x10002)
		return npui_set_error(NPU_ERROR_NOT_SUPPORTED,
				      "npu_device_get_client: the driver (uapi %u.%u) does not list "
				      "clients (needs 1.2)", dev->uapi >> 16, dev->uapi & 0xffff);
	err = npu_drv_ioctl(dev->fd, NPU_IOCTL_CLIENT_INFO, &ci);
	if (err == -ENOENT)
		return npui_set_error(NPU_ERROR_NOT_FOUND,
				      "npu_device_get_client: no client %u (the device has fewer)",
				      index);
	if (err)
		return npui_set_error(err, "CLIENT_INFO %u failed: %s", index, strerror(-err));
	memset(&full, 0, sizeof(full));
	full.flags = ci.flags & NPU_CLIENT_INFO_SELF ? NPU_CLIENT_SELF : 0;
	full.pid = ci.pid;
	full.id = ci.client_id;
	full.jobs = ci.jobs;
	full.mem_bytes = ci.mem_bytes;
	n = info->struct_size < sizeof(full) ? info->struct_size : (uint32_t)sizeof(full);
	full.struct_size = n;
	memcpy(info, &full, n);
	return NPU_SUCCESS;
}

/* ---- Streams ------------------------------------------------------------------------------ */

static struct npui_queue *queue_new(struct npu_device *dev, uint32_t id, uint32_t type,
				    uint32_t priority)
{
	struct npui_queue *q = calloc(1, sizeof(*q)), **pp;

	if (!q)
		return NULL;
	q->id = id;
	q->type = type;
	q->priority = priority;
	for (pp = &dev->queues; *pp; pp = &(*pp)->next)
		;
	*pp = q;
	dev->nqueues++;
	return q;
}

/* Gives `q` a timeline fence that its jobs signal from the next one on (dev->lock held). */
static void queue_add_fence(struct npu_device *dev, struct npui_queue *q)
{
	struct npu_fence_create fc = { .value = 0 };

	if (q->fence || dev->uapi < 0x10001)
		return;
	if (npu_drv_ioctl(dev->fd, NPU_IOCTL_FENCE_CREATE, &fc) == 0) {
		q->fence = fc.handle;
		q->fence_from = q->last_seqno + 1;
	}
}

npu_result_t npui_streams_init(struct npu_device *dev)
{
	struct npu_get_param gp = { .param = NPU_PARAM_UAPI_VERSION };

	pthread_cond_init(&dev->submitted, NULL);
	dev->uapi = npu_drv_ioctl(dev->fd, NPU_IOCTL_GET_PARAM, &gp) == 0 ? (uint32_t)gp.value
									 : 0x10000;
	dev->watch.eventfd = -1;
	if (dev->uapi >= 0x10001) {
		struct npu_get_eventfd ge = { 0 };
		if (npu_drv_ioctl(dev->fd, NPU_IOCTL_GET_EVENTFD, &ge) == 0)
			dev->watch.eventfd = ge.fd;
	}
	dev->queue0 = queue_new(dev, 0, NPU_QUEUE_COMPUTE, NPU_QUEUE_PRIORITY_NORMAL);
	if (!dev->queue0) {
		pthread_cond_destroy(&dev->submitted);
		return npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
	}
	dev->default_stream.dev = dev;
	dev->default_stream.id = 0;
	dev->default_stream.queue = dev->queue0;
	dev->next_stream_id = 1;
	dev->open_ns = npui_now_ns();
	return NPU_SUCCESS;
}

void npui_streams_fini(struct npu_device *dev)
{
	watch_stop(dev);
	while (dev->streams) {
		struct npu_stream *s = dev->streams;
		dev->streams = s->next;
		free(s);
	}
	/* Closing the file destroys its queues and fences. */
	while (dev->queues) {
		struct npui_queue *q = dev->queues;
		dev->queues = q->next;
		free(q);
	}
	pthread_cond_destroy(&dev->submitted);
}

/* A queue for a new stream (dev->lock held): an idle one of the same kind, a new one, or,
 * at the limit, the least shared one of that kind (queue 0 for compute). */
static struct npui_queue *queue_for_stream(struct npu_device *dev, uint32_t type,
					   uint32_t priority)
{
	struct npui_queue *q, *best = NULL;

	if (dev->uapi < 0x10001)
		return dev->queue0;
	for (q = dev->queues; q; q = q->next)
		if (q != dev->queue0 && !q->streams && q->type == type && q->priority == priority)
			return q;
	if (dev->nqueues < NPUI_MAX_QUEUES + 1) {
		struct npu_queue_create qc = { .type = type, .priority = priority };
		if (npu_drv_ioctl(dev->fd, NPU_IOCTL_QUEUE_CREATE, &qc) == 0) {
			q = queue_new(dev, qc.queue, type, priority);
			if (q) {
				queue_add_fence(dev, q);
				/* Events of the default stream may now be waited for by others. */
				queue_add_fence(dev, dev->queue0);
				return q;
			}
			struct npu_queue_destroy qd = { .queue = qc.queue };
			npu_drv_ioctl(dev->fd, NPU_IOCTL_QUEUE_DESTROY, &qd);
		}
	}
	for (q = dev->queues; q; q = q->next)
		if (q->type == type && (!best || q->streams < best->streams))
			best = q;
	return best ? best : dev->queue0;
}

struct npu_stream *npui_stream(struct npu_device *dev, npu_stream_t *stream)
{
	if (!stream)
		return &dev->default_stream;
	return stream->dev == dev ? stream : NULL;
}

npu_result_t npu_stream_create(npu_device_t *dev, const struct npu_stream_desc *desc,
			       npu_stream_t **out)
{
	struct npu_stream *s;
	uint32_t flags = 0;
	int32_t priority = 0;

	npui_clear_error();
	if (!dev || !out)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_stream_create: NULL argument");
	if (desc) {
		if (desc->struct_size < offsetof(struct npu_stream_desc, priority))
			return npui_set_error(NPU_ERROR_INVALID_VALUE,
					      "npu_stream_desc.struct_size %u too small",
					      desc->struct_size);
		flags = desc->flags;
		if (desc->struct_size >= offsetof(struct npu_stream_desc, reserved))
			priority = desc->priority;
		if (desc->struct_size >= sizeof(*desc) && desc->reserved)
			return npui_set_error(NPU_ERROR_INVALID_VALUE,
					      "npu_stream_desc.reserved must be 0");
	}
	if (flags & ~NPU_STREAM_FLAGS_MASK)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_stream_desc.flags 0x%x has unknown bits", flags);
	s = calloc(1, sizeof(*s));
	if (!s)
		return npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
	s->dev = dev;
	s->flags = flags;
	s->priority = priority;
	pthread_mutex_lock(&dev->lock);
	s->id = dev->next_stream_id++;
	s->queue = queue_for_stream(dev, flags & NPU_STREAM_COPY ? NPU_QUEUE_COPY
								 : NPU_QUEUE_COMPUTE,
				    priority < 0 ? NPU_QUEUE_PRIORITY_LOW
				    : priority > 0 ? NPU_QUEUE_PRIORITY_HIGH
						   : NPU_QUEUE_PRIORITY_NORMAL);
	s->queue->streams++;
	s->next = dev->streams;
	dev->streams = s;
	pthread_mutex_unlock(&dev->lock);
	*out = s;
	return NPU_SUCCESS;
}

npu_result_t npu_stream_destroy(npu_stream_t *stream)
{
	struct npu_device *dev;
	struct npu_stream **pp;
	npu_result_t ret;

	npui_clear_error();
	if (!stream)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_stream_destroy: stream is NULL");
	dev = stream->dev;
	pthread_mutex_lock(&dev->lock);
	for (pp = &dev->streams; *pp && *pp != stream; pp = &(*pp)->next)
		;
	if (!*pp) {
		pthread_mutex_unlock(&dev->lock);
		return npui_set_error(NPU_ERROR_BAD_HANDLE, "npu_stream_destroy: unknown stream");
	}
	if (stream->capture) {
		pthread_mutex_unlock(&dev->lock);
		return npui_set_error(NPU_ERROR_BUSY, "npu_stream_destroy: stream %" PRIu64
				      " is capturing a graph; end the capture first", stream->id);
	}
	ret = npui_wait(dev, stream->queue, stream->last_seqno, -1);
	/* Unlink after the wait: the list may have changed while the lock was dropped. */
	for (pp = &dev->streams; *pp && *pp != stream; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = stream->next;
	stream->queue->streams--;  /* the queue stays, for the next stream */
	pthread_mutex_unlock(&dev->lock);
	free(stream);
	return ret == NPU_ERROR_KERNEL_FAULT ? NPU_SUCCESS : ret;
}

npu_result_t npu_stream_synchronize(npu_stream_t *stream)
{
	struct npu_device *dev;
	npu_result_t ret;

	npui_clear_error();
	if (!stream)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_stream_synchronize: stream is NULL (use "
				      "npu_device_synchronize for the default stream)");
	dev = stream->dev;
	pthread_mutex_lock(&dev->lock);
	if (stream->capture)
		ret = npui_set_error(NPU_ERROR_NOT_PERMITTED,
				     "npu_stream_synchronize: stream %" PRIu64 " is capturing a "
				     "graph (its work runs at npu_graph_launch)", stream->id);
	else
		ret = npui_wait(dev, stream->queue, stream->last_seqno, -1);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

npu_result_t npu_stream_query(npu_stream_t *stream)
{
	struct npu_device *dev;
	npu_result_t ret;

	npui_clear_error();
	if (!stream)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_stream_query: stream is NULL");
	dev = stream->dev;
	pthread_mutex_lock(&dev->lock);
	bool done;
	if (stream->capture) {
		pthread_mutex_unlock(&dev->lock);
		return npui_set_error(NPU_ERROR_NOT_PERMITTED,
				      "npu_stream_query: stream %" PRIu64 " is capturing a graph",
				      stream->id);
	}
	ret = queue_reached(dev, stream->queue, stream->last_seqno, &done);
	if (ret == NPU_SUCCESS && !done)
		ret = NPU_ERROR_NOT_READY;
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

npu_result_t npu_stream_wait_event(npu_stream_t *stream, npu_event_t *event)
{
	struct npu_device *dev;
	struct npui_queue *eq;
	npu_result_t ret = NPU_SUCCESS;

	npui_clear_error();
	if (!stream || !event)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_stream_wait_event: NULL argument");
	if (stream->dev != event->dev)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_stream_wait_event: the event belongs to another device");
	dev = stream->dev;
	pthread_mutex_lock(&dev->lock);
	if (stream->capture) {
		ret = npui_graph_add_event(stream->capture, event, true);
		goto out;
	}
	eq = event->queue;
	/* Nothing to wait for: never recorded, same queue (it runs in order), or done. */
	if (!event->recorded || eq == stream->queue || event->seqno <= eq->completed)
		goto out;
	ret = poll_queue(dev, eq);
	if (ret || event->seqno <= eq->completed)
		goto out;
	if (eq->fence && event->seqno >= eq->fence_from) {
		struct npu_cmd_fence w = {
			.hdr = { .type = NPU_CMD_WAIT_FENCE, .dwords = sizeof(w) / 8 },
			.fence = eq->fence,
			.value = event->seqno,
		};
		struct npui_job job = { .kind = NPU_JOB_WAIT, .name = "wait" };
		ret = npui_submit(dev, stream, &w, sizeof(w), &job);
	} else {
		/* Work from before the queue had a fence: wait on the host (faults stay pending for
		 * the waits of the stream that ran them). */
		ret = wait_seqno(dev, eq, event->seqno, -1);
	}
out:
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

npu_result_t npu_stream_get_info(npu_device_t *dev, npu_stream_t *stream,
				 struct npu_stream_info *info)
{
	struct npu_stream_info full;
	struct npu_stream *s;
	uint32_t n;

	npui_clear_error();
	if (!dev || !info)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_stream_get_info: NULL argument");
	if (info->struct_size < offsetof(struct npu_stream_info, flags))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_stream_info.struct_size %u too small", info->struct_size);
	s = npui_stream(dev, stream);
	if (!s)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_stream_get_info: the stream belongs to another device");
	memset(&full, 0, sizeof(full));
	pthread_mutex_lock(&dev->lock);
	full.flags = s->flags;
	full.priority = s->priority;
	full.queue = s->queue->id;
	full.id = s->id;
	full.last_seqno = s->last_seqno;
	pthread_mutex_unlock(&dev->lock);
	n = info->struct_size < sizeof(full) ? info->struct_size : (uint32_t)sizeof(full);
	full.struct_size = n;
	memcpy(info, &full, n);
	return NPU_SUCCESS;
}

/* ---- Events ------------------------------------------------------------------------------- */

npu_result_t npu_event_create(npu_device_t *dev, uint32_t flags, npu_event_t **out)
{
	struct npu_event *e;

	npui_clear_error();
	if (!dev || !out)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_event_create: NULL argument");
	if (flags & ~NPU_EVENT_FLAGS_MASK)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_event_create: flags 0x%x has unknown bits", flags);
	e = calloc(1, sizeof(*e));
	if (!e)
		return npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
	e->dev = dev;
	e->flags = flags;
	e->queue = dev->queue0;
	if (!(flags & NPU_EVENT_DISABLE_TIMING)) {
		/* Timing events need completion times to the interrupt, not to the next wait. */
		npu_result_t ret = npui_watch_get(dev);
		if (ret) {
			free(e);
			return ret;
		}
	}
	*out = e;
	return NPU_SUCCESS;
}

npu_result_t npu_event_destroy(npu_event_t *event)
{
	npui_clear_error();
	if (!event)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_event_destroy: event is NULL");
	if (!(event->flags & NPU_EVENT_DISABLE_TIMING))
		npui_watch_put(event->dev);
	free(event);
	return NPU_SUCCESS;
}

/* Fills in the completion time of a complete timing event (dev->lock held). The event is
 * reached when its stream got there: not before it was recorded, not before its work. */
static void stamp_event(struct npu_device *dev, struct npu_event *e)
{
	const struct npui_job *j = job_of(dev, e->queue, e->seqno);
	uint64_t t = j && j->complete_ns ? j->complete_ns : npui_now_ns();

	e->host_ns = t > e->record_ns ? t : e->record_ns;
}

npu_result_t npu_event_record(npu_event_t *event, npu_stream_t *stream)
{
	struct npu_device *dev;
	struct npu_stream *s;
	npu_result_t ret = NPU_SUCCESS;

	npui_clear_error();
	if (!event)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_event_record: event is NULL");
	dev = event->dev;
	s = npui_stream(dev, stream);
	if (!s)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_event_record: the stream belongs to another device");
	pthread_mutex_lock(&dev->lock);
	if (s->capture) {
		ret = npui_graph_add_event(s->capture, event, false);
		pthread_mutex_unlock(&dev->lock);
		return ret;
	}
	event->record_ns = npui_now_ns();
	event->queue = s->queue;
	event->seqno = s->last_seqno;
	event->recorded = true;
	event->host_ns = 0;
	if (event->seqno > s->queue->completed)
		ret = poll_queue(dev, s->queue);
	if (!(event->flags & NPU_EVENT_DISABLE_TIMING) && event->seqno <= s->queue->completed)
		stamp_event(dev, event);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

npu_result_t npu_event_query(npu_event_t *event)
{
	struct npu_device *dev;
	npu_result_t ret = NPU_SUCCESS;

	npui_clear_error();
	if (!event)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_event_query: event is NULL");
	dev = event->dev;
	pthread_mutex_lock(&dev->lock);
	bool done = true;
	if (event->recorded)
		ret = queue_reached(dev, event->queue, event->seqno, &done);
	if (ret == NPU_SUCCESS && !done)
		ret = NPU_ERROR_NOT_READY;
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

npu_result_t npu_event_synchronize(npu_event_t *event, int64_t timeout_ns)
{
	struct npu_device *dev;
	npu_result_t ret = NPU_SUCCESS;

	npui_clear_error();
	if (!event)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_event_synchronize: event is NULL");
	dev = event->dev;
	pthread_mutex_lock(&dev->lock);
	if (event->recorded) {
		ret = npui_wait(dev, event->queue, event->seqno, timeout_ns);
		if (event->seqno <= event->queue->completed && !event->host_ns &&
		    !(event->flags & NPU_EVENT_DISABLE_TIMING))
			stamp_event(dev, event);
	}
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

/* Simulated cycles of the launches between two complete events of one stream's queue: the
 * sum over its jobs after `start` up to `end` (dev->lock held). False when the driver does
 * not report them for one of those jobs, or the events are on different queues. */
static bool sim_between(struct npu_device *dev, const struct npu_event *start,
			const struct npu_event *end, uint64_t *cycles)
{
	uint64_t sum = 0;

	if (start->queue != end->queue || end->seqno < start->seqno ||
	    end->seqno - start->seqno > NPUI_JOB_HISTORY || dev->uapi < 0x10002)
		return false;
	for (uint64_t s = start->seqno + 1; s <= end->seqno; s++) {
		struct npui_job *j = job_of(dev, end->queue, s);

		if (!j)
			return false;
		sim_fetch(dev, j);
		if (j->sim_state != NPUI_SIM_VALID)
			return false;
		sum += j->sim_cycles;
	}
	*cycles = sum;
	return true;
}

npu_result_t npu_event_elapsed(npu_event_t *start, npu_event_t *end, struct npu_elapsed *out)
{
	struct npu_elapsed full;
	struct npu_device *dev;
	npu_result_t ret = NPU_SUCCESS;
	uint32_t n;

	npui_clear_error();
	if (!start || !end || !out)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_event_elapsed: NULL argument");
	if (out->struct_size < offsetof(struct npu_elapsed, host_ns))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_elapsed.struct_size %u too small", out->struct_size);
	if (start->dev != end->dev)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_event_elapsed: events of different devices");
	if ((start->flags | end->flags) & NPU_EVENT_DISABLE_TIMING)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_event_elapsed: an event was created with "
				      "NPU_EVENT_DISABLE_TIMING");
	if (!start->recorded || !end->recorded)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_event_elapsed: the %s event was never recorded",
				      start->recorded ? "end" : "start");
	dev = start->dev;
	memset(&full, 0, sizeof(full));
	pthread_mutex_lock(&dev->lock);
	struct npu_event *ev[2] = { start, end };
	for (int i = 0; i < 2 && ret == NPU_SUCCESS; i++) {
		if (ev[i]->host_ns)
			continue;
		if (ev[i]->seqno > ev[i]->queue->completed)
			ret = poll_queue(dev, ev[i]->queue);
		if (ret == NPU_SUCCESS && ev[i]->seqno > ev[i]->queue->completed)
			ret = npui_set_error(NPU_ERROR_NOT_READY,
					     "npu_event_elapsed: the %s event has not completed",
					     i ? "end" : "start");
		else if (ret == NPU_SUCCESS)
			stamp_event(dev, ev[i]);
	}
	if (ret == NPU_SUCCESS) {
		full.flags = NPU_ELAPSED_HOST;
		full.host_ns = (int64_t)(end->host_ns - start->host_ns);
		if (sim_between(dev, start, end, &full.device_cycles)) {
			full.flags |= NPU_ELAPSED_DEVICE;
			full.device_ns = dev->props.clock_khz
				? (uint64_t)((unsigned __int128)full.device_cycles * 1000000u /
					     dev->props.clock_khz)
				: 0;
		}
	}
	pthread_mutex_unlock(&dev->lock);
	if (ret)
		return ret;
	n = out->struct_size < sizeof(full) ? out->struct_size : (uint32_t)sizeof(full);
	full.struct_size = n;
	memcpy(out, &full, n);
	return NPU_SUCCESS;
}
