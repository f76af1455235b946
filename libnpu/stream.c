/* SPDX-License-Identifier: MIT */
/*
 * libnpu: the queue layer (submission, waiting, faults, job records), streams, events and the
 * completion watcher.
 *
 * Every stream maps onto a driver queue through struct npui_queue. The driver ABI gives each
 * client one queue today, so all streams share it: work is correct (each stream stays in
 * order, and so does everything else) but streams do not overlap, and waiting on an event of
 * another stream needs no fence packet because the queue orders them already.
 */
#include <errno.h>
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

static struct npui_job *job_of(struct npu_device *dev, uint64_t seqno)
{
	struct npui_job *j = &dev->jobs[seqno % NPUI_JOB_HISTORY];

	return seqno && j->seqno == seqno ? j : NULL;
}

/* ---- Submission ---------------------------------------------------------------------- */

npu_result_t npui_submit(struct npu_device *dev, struct npu_stream *stream, const void *cmds,
			 uint32_t size, struct npui_job *job)
{
	struct npui_queue *q = stream->queue;
	struct npu_submit s = {
		.cmds = (uint64_t)(uintptr_t)cmds,
		.cmds_size = size,
		.queue = q->id,
	};
	uint64_t now = npui_now_ns();
	int ret = npu_drv_ioctl(dev->fd, NPU_IOCTL_SUBMIT, &s);

	if (ret)
		return npui_set_error(ret, "submit failed: %s", strerror(-ret));
	q->last_seqno = s.seqno;
	stream->last_seqno = s.seqno;
	job->seqno = s.seqno;
	job->stream_id = stream->id;
	job->submit_ns = now;
	job->complete_ns = 0;
	job->faulted = 0;
	dev->jobs[s.seqno % NPUI_JOB_HISTORY] = *job;
	if (!dev->busy_since)
		dev->busy_since = now;
	pthread_cond_broadcast(&dev->submitted);
	return NPU_SUCCESS;
}

/* ---- Completion and faults ------------------------------------------------------------ */

/* The queue's fence reached `completed`: stamp the jobs that finished (dev->lock held). */
static void note_completed(struct npu_device *dev, struct npui_queue *q, uint64_t completed)
{
	uint64_t now;

	if (completed <= q->completed)
		return;
	now = npui_now_ns();
	for (uint64_t s = q->completed + 1; s <= completed; s++) {
		struct npui_job *j = job_of(dev, s);
		if (j && !j->complete_ns)
			j->complete_ns = now;
	}
	dev->jobs_completed += completed - q->completed;
	q->completed = completed;
	if (completed >= q->last_seqno && dev->busy_since) {
		dev->busy_ns += now - dev->busy_since;
		dev->busy_since = 0;
	}
}

/* Reads the queue's completed fence without sleeping (dev->lock held). */
static npu_result_t poll_queue(struct npu_device *dev, struct npui_queue *q)
{
	struct npu_wait w = { .seqno = 0, .timeout_ns = 0, .queue = q->id };
	int ret = npu_drv_ioctl(dev->fd, NPU_IOCTL_WAIT, &w);

	if (ret)
		return npui_set_error(ret, "polling queue %u failed: %s", q->id, strerror(-ret));
	note_completed(dev, q, w.completed);
	return NPU_SUCCESS;
}

static void describe_fault(struct npu_device *dev, const struct npu_get_fault *f,
			   struct npu_fault_info *info)
{
	const struct npui_job *job = job_of(dev, f->seqno);

	memset(info, 0, sizeof(*info));
	info->struct_size = sizeof(*info);
	info->code = f->code;
	snprintf(info->trap_name, sizeof(info->trap_name), "%s", npu_trap_name(f->code));
	if (job && job->kind == NPU_JOB_LAUNCH)
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
		struct npui_job *job = job_of(dev, f.seqno);
		if (job)
			job->faulted = 1;
		if (dev->npending == NPUI_MAX_PENDING_FAULTS) {
			/* Keep the newest: drop the oldest unreported one. */
			memmove(&dev->pending[0], &dev->pending[1],
				(NPUI_MAX_PENDING_FAULTS - 1) * sizeof(dev->pending[0]));
			memmove(&dev->pending_seqno[0], &dev->pending_seqno[1],
				(NPUI_MAX_PENDING_FAULTS - 1) * sizeof(dev->pending_seqno[0]));
			dev->npending--;
		}
		struct npu_fault_info info;
		describe_fault(dev, &f, &info);
		dev->pending[dev->npending] = info;
		dev->pending_seqno[dev->npending] = f.seqno;
		dev->npending++;
	}
}

/* Returns the oldest pending fault of a job <= seqno and forgets every other one of those:
 * one wait reports one fault, and each fault is reported at most once. */
static npu_result_t report_faults(struct npu_device *dev, uint64_t seqno)
{
	npu_result_t result = NPU_SUCCESS;
	uint32_t keep = 0;

	for (uint32_t i = 0; i < dev->npending; i++) {
		if (dev->pending_seqno[i] <= seqno) {
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
		}
		keep++;
	}
	dev->npending = keep;
	return result;
}

npu_result_t npui_wait(struct npu_device *dev, struct npui_queue *q, uint64_t seqno,
		       int64_t timeout_ns)
{
	npu_result_t ret;

	if (seqno > q->completed) {
		struct npu_wait w = { .seqno = seqno, .queue = q->id };
		int64_t now = (int64_t)npui_now_ns();

		w.timeout_ns = timeout_ns < 0 || timeout_ns > INT64_MAX - now ? INT64_MAX
									 : now + timeout_ns;
		/* Sleep without the device lock so other threads keep submitting. */
		pthread_mutex_unlock(&dev->lock);
		int err = npu_drv_ioctl(dev->fd, NPU_IOCTL_WAIT, &w);
		pthread_mutex_lock(&dev->lock);
		if (err == -ETIMEDOUT)
			return npui_set_error(NPU_ERROR_TIMEOUT,
					      "job %" PRIu64 " did not complete within %" PRId64 " ns",
					      seqno, timeout_ns);
		if (err)
			return npui_set_error(err, "waiting for job %" PRIu64 " failed: %s", seqno,
					      strerror(-err));
		note_completed(dev, q, w.completed);
	}
	ret = collect_faults(dev);
	if (ret)
		return ret;
	return report_faults(dev, seqno);
}

npu_result_t npui_sync_all(struct npu_device *dev)
{
	return npui_wait(dev, &dev->queue, dev->queue.last_seqno, -1);
}

/* ---- Completion watcher ---------------------------------------------------------------- */

static void *watch_main(void *arg)
{
	struct npu_device *dev = arg;
	struct npui_queue *q = &dev->queue;

	pthread_mutex_lock(&dev->lock);
	while (!dev->watch.stop) {
		if (q->completed >= q->last_seqno) {
			pthread_cond_wait(&dev->submitted, &dev->lock);
			continue;
		}
		/* Bounded sleeps, so that stopping never waits for a long kernel. */
		struct npu_wait w = {
			.seqno = q->completed + 1,
			.timeout_ns = (int64_t)(npui_now_ns() + 50000000ull),
			.queue = q->id,
		};
		pthread_mutex_unlock(&dev->lock);
		int err = npu_drv_ioctl(dev->fd, NPU_IOCTL_WAIT, &w);
		pthread_mutex_lock(&dev->lock);
		if (err == 0) {
			note_completed(dev, q, w.completed);
			collect_faults(dev);
		} else if (err != -ETIMEDOUT) {
			break;  /* the file is broken; waits by callers report it */
		}
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
	npu_result_t ret = npui_watch_get(dev);
	if (ret) {
		pthread_mutex_lock(&dev->lock);
		dev->watch.tracing = false;
		pthread_mutex_unlock(&dev->lock);
	}
	return ret;
}

/* ---- Job records and statistics --------------------------------------------------------- */

npu_result_t npu_device_get_job(npu_device_t *dev, uint64_t seqno, struct npu_job_info *info)
{
	struct npu_job_info full;
	struct npui_job *j;
	uint32_t n;

	npui_clear_error();
	if (!dev || !info)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_device_get_job: NULL argument");
	if (info->struct_size < offsetof(struct npu_job_info, seqno))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_device_get_job: struct_size %u too small",
				      info->struct_size);
	memset(&full, 0, sizeof(full));
	pthread_mutex_lock(&dev->lock);
	j = job_of(dev, seqno);
	if (!j) {
		pthread_mutex_unlock(&dev->lock);
		return npui_set_error(NPU_ERROR_NOT_FOUND,
				      "no record of job %" PRIu64 " (last submitted %" PRIu64
				      ", %d kept)", seqno, dev->queue.last_seqno, NPUI_JOB_HISTORY);
	}
	full.kind = j->kind;
	full.seqno = j->seqno;
	full.stream_id = j->stream_id;
	memcpy(full.name, j->name, sizeof(full.name));
	memcpy(full.grid, j->grid, sizeof(full.grid));
	full.flags = (j->complete_ns ? NPU_JOB_F_COMPLETE : 0) | (j->faulted ? NPU_JOB_F_FAULTED : 0);
	full.bytes = j->bytes;
	full.submit_ns = j->submit_ns;
	full.complete_ns = j->complete_ns;
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
	poll_queue(dev, &dev->queue);
	now = npui_now_ns();
	/* Resets and the client count need a driver query that the ABI does not have yet. */
	full.flags = NPU_STATS_MEM | NPU_STATS_CLIENT;
	full.mem_used = gp.value;
	full.mem_total = dev->props.mem_total;
	full.jobs_submitted = dev->queue.last_seqno;
	full.jobs_completed = dev->jobs_completed;
	full.faults = dev->faults;
	full.busy_ns = dev->busy_ns + (dev->busy_since ? now - dev->busy_since : 0);
	full.uptime_ns = now - dev->open_ns;
	full.last_seqno = dev->queue.last_seqno;
	pthread_mutex_unlock(&dev->lock);
	n = stats->struct_size < sizeof(full) ? stats->struct_size : (uint32_t)sizeof(full);
	full.struct_size = n;
	memcpy(stats, &full, n);
	return NPU_SUCCESS;
}

/* ---- Streams ------------------------------------------------------------------------------ */

void npui_streams_init(struct npu_device *dev)
{
	pthread_cond_init(&dev->submitted, NULL);
	dev->queue.id = 0;
	dev->default_stream.dev = dev;
	dev->default_stream.id = 0;
	dev->default_stream.queue = &dev->queue;
	dev->next_stream_id = 1;
	dev->open_ns = npui_now_ns();
}

void npui_streams_fini(struct npu_device *dev)
{
	watch_stop(dev);
	while (dev->streams) {
		struct npu_stream *s = dev->streams;
		dev->streams = s->next;
		free(s);
	}
	pthread_cond_destroy(&dev->submitted);
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
	s->queue = &dev->queue;  /* the only queue the driver gives a client today */
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
	ret = npui_wait(dev, stream->queue, stream->last_seqno, -1);
	/* Unlink after the wait: the list may have changed while the lock was dropped. */
	for (pp = &dev->streams; *pp && *pp != stream; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = stream->next;
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
	ret = stream->last_seqno <= stream->queue->completed ? NPU_SUCCESS
							      : poll_queue(dev, stream->queue);
	if (ret == NPU_SUCCESS && stream->last_seqno > stream->queue->completed)
		ret = NPU_ERROR_NOT_READY;
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

npu_result_t npu_stream_wait_event(npu_stream_t *stream, npu_event_t *event)
{
	npui_clear_error();
	if (!stream || !event)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_stream_wait_event: NULL argument");
	if (stream->dev != event->dev)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_stream_wait_event: the event belongs to another device");
	/* Same queue: the queue already runs the event's work before anything submitted later.
	 * With several queues this becomes a fence-wait packet. */
	return NPU_SUCCESS;
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
	e->queue = &dev->queue;
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
	const struct npui_job *j = job_of(dev, e->seqno);
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
	if (event->recorded && event->seqno > event->queue->completed)
		ret = poll_queue(dev, event->queue);
	if (ret == NPU_SUCCESS && event->recorded && event->seqno > event->queue->completed)
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
	}
	pthread_mutex_unlock(&dev->lock);
	if (ret)
		return ret;
	n = out->struct_size < sizeof(full) ? out->struct_size : (uint32_t)sizeof(full);
	full.struct_size = n;
	memcpy(out, &full, n);
	return NPU_SUCCESS;
}
