/* SPDX-License-Identifier: MIT */
/*
 * npu_jobtime.c - per-job simulated device time (hardware interface 1.2, uapi 1.2).
 *
 * With NPU_QCTL_JOB_TIMES the device writes each job's times into a slot of the queue's
 * status area (npu_hw.h, "Simulated time") before it signals the job's fence. The slots are
 * reused every NPU_HW_JOB_TIMES jobs, so completion processing copies them into a longer
 * history of the queue, where NPU_IOCTL_JOB_TIME finds them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "npu_drv_internal.h"

_Static_assert(NPU_JOB_TIME_CORES == NPU_HW_JOB_CORES, "per-core cycles passed through");

bool drv_dev_has_job_times(const struct npu_device *dev)
{
	return (dev->if_version & 0xffffu) >= 2;
}

int drv_cq_times_init(struct npu_cqueue *cq)
{
	if (!drv_dev_has_job_times(cq->file->dev))
		return 0;
	cq->jtimes = calloc(NPU_JOB_TIME_HISTORY, sizeof(*cq->jtimes));
	return cq->jtimes ? 0 : -ENOMEM;
}

void drv_cq_times_fini(struct npu_cqueue *cq)
{
	free(cq->jtimes);
	cq->jtimes = NULL;
}

/* Copies slot `t` if it holds job `seqno` (the device may be rewriting it meanwhile: its
 * release stores invalidate `seqno` before any field changes, so acquire loads of the fields
 * followed by an unchanged `seqno` mean a consistent copy). */
static bool npu_slot_copy(const struct npu_hw_job_time *t, uint64_t seqno,
			  struct npu_hw_job_time *out)
{
	if (__atomic_load_n(&t->seqno, __ATOMIC_ACQUIRE) != seqno)
		return false;
	out->start = __atomic_load_n(&t->start, __ATOMIC_ACQUIRE);
	out->end = __atomic_load_n(&t->end, __ATOMIC_ACQUIRE);
	out->cycles = __atomic_load_n(&t->cycles, __ATOMIC_ACQUIRE);
	out->launches = __atomic_load_n(&t->launches, __ATOMIC_ACQUIRE);
	out->ncores = __atomic_load_n(&t->ncores, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < NPU_HW_JOB_CORES; i++)
		out->core_cycles[i] = __atomic_load_n(&t->core_cycles[i], __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&t->seqno, __ATOMIC_ACQUIRE) != seqno)
		return false;
	if (out->ncores > NPU_HW_JOB_CORES || out->end < out->start)
		return false; /* not a record this driver can trust */
	out->seqno = seqno;
	return true;
}

void drv_cq_times_take(struct npu_cqueue *cq, uint64_t first, uint64_t last)
{
	const struct npu_hw_job_time *slots;
	uint64_t lost = 0;

	if (!cq->jtimes || first > last)
		return;
	slots = (const void *)((const uint8_t *)cq->status + NPU_HW_JOB_TIMES_OFFSET);
	/* Only the newest NPU_HW_JOB_TIMES jobs can still be in their slots. */
	if (last - first >= NPU_HW_JOB_TIMES)
		first = last - NPU_HW_JOB_TIMES + 1;
	for (uint64_t s = first; s <= last; s++) {
		struct npu_hw_job_time *h = &cq->jtimes[s % NPU_JOB_TIME_HISTORY];

		if (!npu_slot_copy(&slots[s % NPU_HW_JOB_TIMES], s, h)) {
			h->seqno = 0;
			lost++;
		}
	}
	if (lost)
		npu_dbg("fd %d queue %u: no device times for %llu of jobs %llu..%llu",
			cq->file->fd, cq->id, (unsigned long long)lost, (unsigned long long)first,
			(unsigned long long)last);
}

int drv_cq_job_time(struct npu_cqueue *cq, uint64_t seqno, struct npu_hw_job_time *out)
{
	int ret = 0;

	pthread_mutex_lock(&cq->hq->lock);
	if (seqno > cq->completed) {
		ret = -EAGAIN;
	} else if (!cq->jtimes || cq->jtimes[seqno % NPU_JOB_TIME_HISTORY].seqno != seqno) {
		ret = -ENOENT;
	} else {
		*out = cq->jtimes[seqno % NPU_JOB_TIME_HISTORY];
	}
	pthread_mutex_unlock(&cq->hq->lock);
	return ret;
}
