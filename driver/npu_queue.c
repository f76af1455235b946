/* SPDX-License-Identifier: MIT */
/*
 * npu_queue.c - a client's hardware queue: ring buffer, doorbell, fences, interrupt handler,
 * waiting, fault log.
 *
 * Fences: every submit ends with a FENCE packet carrying the client's next seqno (1, 2, ...).
 * The device writes the value to the queue's status record and raises the queue's interrupt;
 * the handler (drv_isr) copies it to q->completed and wakes the waiters. Only the handler
 * reads the status record, so its reads are ordered after the device's writes by the
 * interrupt itself.
 *
 * Ring space: the ring is free up to HEAD (what the device consumed) or, if further, up to
 * the end of the last submit whose fence signalled (the device read that whole submit before
 * it executed its FENCE). A submit that does not fit sleeps on the queue's condition variable
 * until a fence frees space; it never overwrites unread packets. Since every submit in flight
 * ends with a FENCE, the sleeper is always woken by progress; it gives up with -ETIMEDOUT only
 * when no fence signals for longer than the longest submit of this client can take (the sum
 * of its launches' watchdogs) plus 10 s.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "npu_drv_internal.h"

uint64_t drv_queue_completed(struct npu_queue *q)
{
	uint64_t v;

	pthread_mutex_lock(&q->lock);
	v = q->completed;
	pthread_mutex_unlock(&q->lock);
	return v;
}

uint64_t drv_file_last_seqno(struct npu_file *f)
{
	return __atomic_load_n(&f->last_seqno, __ATOMIC_ACQUIRE);
}

static int64_t npu_stall_ns(struct npu_file *f)
{
	return (int64_t)f->max_submit_us * 1000 + (int64_t)NPU_DRAIN_SLACK_MS * 1000000;
}

/* ---- Setup and teardown ---------------------------------------------------------------- */
int drv_queue_setup(struct npu_file *f)
{
	struct npu_device *dev = f->dev;
	struct npu_queue *q;
	uint32_t qid, head;
	int ret;

	pthread_mutex_lock(&dev->lock);
	for (qid = 0; qid < dev->num_queues; qid++) {
		if (!dev->queue_owner[qid])
			break;
	}
	if (qid == dev->num_queues) {
		pthread_mutex_unlock(&dev->lock);
		npu_dbg("device %u: all %u hardware queues are in use", dev->index,
			dev->num_queues);
		return -EBUSY;
	}
	dev->queue_owner[qid] = f;
	pthread_mutex_unlock(&dev->lock);
	f->qid = qid;
	f->q = q = &dev->queues[qid];

	ret = drv_mem_alloc(dev, NPU_RING_SIZE, &f->ring_phys);
	if (ret)
		goto err_release_queue;
	ret = drv_mem_alloc(dev, NPU_PAGE_SIZE, &f->status_phys);
	if (ret)
		goto err_free_ring;
	f->ring = npu_phys_to_host(dev, f->ring_phys);

	npu_qwr32(dev, qid, NPU_QREG_CONTROL, 0);
	npu_qwr32(dev, qid, NPU_QREG_RING_LO, (uint32_t)f->ring_phys);
	npu_qwr32(dev, qid, NPU_QREG_RING_HI, (uint32_t)(f->ring_phys >> 32));
	npu_qwr32(dev, qid, NPU_QREG_RING_SIZE, NPU_RING_SIZE);
	npu_qwr32(dev, qid, NPU_QREG_PT_LO, (uint32_t)f->vm.l1_phys);
	npu_qwr32(dev, qid, NPU_QREG_PT_HI, (uint32_t)(f->vm.l1_phys >> 32));
	npu_qwr32(dev, qid, NPU_QREG_STATUS_LO, (uint32_t)f->status_phys);
	npu_qwr32(dev, qid, NPU_QREG_STATUS_HI, (uint32_t)(f->status_phys >> 32));
	/* HEAD is free running and may keep a previous owner's value: start the tail there. */
	head = npu_qrd32(dev, qid, NPU_QREG_HEAD);
	npu_qwr32(dev, qid, NPU_QREG_TAIL, head);
	f->tail = head;
	f->ring_end[0] = head;
	f->last_seqno = 0;

	pthread_mutex_lock(&q->lock);
	q->status = npu_phys_to_host(dev, f->status_phys);
	q->completed = 0;
	q->fault_first = q->fault_count = 0;
	q->fault_lost = 0;
	q->active = true;
	pthread_mutex_unlock(&q->lock);

	npu_qwr32(dev, qid, NPU_QREG_CONTROL, NPU_QCTL_ENABLE);
	pthread_mutex_lock(&dev->lock);
	npu_wr32(dev, NPU_REG_IRQ_ACK, 1u << qid);
	dev->irq_mask |= 1u << qid;
	npu_wr32(dev, NPU_REG_IRQ_MASK, dev->irq_mask);
	pthread_mutex_unlock(&dev->lock);
	npu_dbg("device %u: new file got hardware queue %u", dev->index, qid);
	return 0;

err_free_ring:
	drv_mem_free(dev, f->ring_phys, NPU_RING_SIZE);
err_release_queue:
	pthread_mutex_lock(&dev->lock);
	dev->queue_owner[qid] = NULL;
	pthread_mutex_unlock(&dev->lock);
	f->q = NULL;
	return ret;
}

bool drv_queue_teardown(struct npu_file *f)
{
	struct npu_device *dev = f->dev;
	struct npu_queue *q = f->q;
	uint64_t last = f->last_seqno, seen;
	int64_t deadline = drv_now_ns() + npu_stall_ns(f);
	bool drained;

	pthread_mutex_lock(&q->lock);
	seen = q->completed;
	while (q->completed < last) {
		struct timespec ts;

		if (q->completed != seen) { /* progress: the bound restarts */
			seen = q->completed;
			deadline = drv_now_ns() + npu_stall_ns(f);
		}
		if (drv_now_ns() >= deadline)
			break;
		drv_ns_to_timespec(deadline, &ts);
		pthread_cond_timedwait(&q->cond, &q->lock, &ts);
	}
	drained = q->completed >= last;
	seen = q->completed;
	q->active = false;
	q->status = NULL;
	pthread_mutex_unlock(&q->lock);

	npu_qwr32(dev, f->qid, NPU_QREG_CONTROL, 0);
	pthread_mutex_lock(&dev->lock);
	dev->irq_mask &= ~(1u << f->qid);
	npu_wr32(dev, NPU_REG_IRQ_MASK, dev->irq_mask);
	npu_wr32(dev, NPU_REG_IRQ_ACK, 1u << f->qid);
	pthread_mutex_unlock(&dev->lock);
	if (!drained) {
		npu_warn("device %u: queue %u did not drain at close (fence %llu of %llu); its memory "
			 "is quarantined", dev->index, f->qid, (unsigned long long)seen,
			 (unsigned long long)last);
		return false;
	}
	drv_mem_free(dev, f->status_phys, NPU_PAGE_SIZE);
	drv_mem_free(dev, f->ring_phys, NPU_RING_SIZE);
	pthread_mutex_lock(&dev->lock);
	dev->queue_owner[f->qid] = NULL;
	pthread_mutex_unlock(&dev->lock);
	return true;
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

static void npu_ring_put(struct npu_file *f, const void *pkt, uint32_t n)
{
	uint32_t off = f->tail & (NPU_RING_SIZE - 1);

	if (off + n > NPU_RING_SIZE) {
		struct npu_hw_pkt_header nop = {
			.type = NPU_PKT_NOP,
			.dwords = (uint16_t)((NPU_RING_SIZE - off) / 8u),
		};

		memcpy(f->ring + off, &nop, sizeof(nop));
		f->tail += NPU_RING_SIZE - off;
		off = 0;
	}
	memcpy(f->ring + off, pkt, n);
	f->tail += n;
}

static uint32_t npu_ring_used(struct npu_file *f, uint64_t completed)
{
	uint32_t head = npu_qrd32(f->dev, f->qid, NPU_QREG_HEAD);
	uint32_t by_head = f->tail - head;
	uint32_t by_fence = f->tail - f->ring_end[completed % NPU_RING_SLOTS];

	return by_head < by_fence ? by_head : by_fence;
}

static int npu_ring_reserve(struct npu_file *f, uint32_t bytes)
{
	struct npu_queue *q = f->q;
	int64_t deadline = drv_now_ns() + npu_stall_ns(f);
	uint64_t completed = drv_queue_completed(q);

	for (;;) {
		struct timespec ts;

		if (npu_ring_used(f, completed) <= NPU_RING_SIZE - bytes)
			return 0;
		npu_dbg("fd %d: ring full (%u bytes needed), waiting for fence %llu", f->fd, bytes,
			(unsigned long long)completed + 1);
		pthread_mutex_lock(&q->lock);
		while (q->completed == completed && drv_now_ns() < deadline) {
			drv_ns_to_timespec(deadline, &ts);
			pthread_cond_timedwait(&q->cond, &q->lock, &ts);
		}
		if (q->completed == completed) {
			pthread_mutex_unlock(&q->lock);
			npu_warn("fd %d: ring full and no fence signalled for %lld ms", f->fd,
				 (long long)(npu_stall_ns(f) / 1000000));
			return -ETIMEDOUT;
		}
		completed = q->completed;
		pthread_mutex_unlock(&q->lock);
		deadline = drv_now_ns() + npu_stall_ns(f);
	}
}

/* The stream is validated (npu_ioctl.c). Called with f->lock held. */
int drv_queue_submit(struct npu_file *f, const void *cmds, uint32_t size, uint64_t *seqno_out)
{
	struct npu_device *dev = f->dev;
	const uint8_t *p = cmds, *end = p + size;
	uint32_t pos = f->tail, start = f->tail;
	uint64_t submit_us = 0; /* the watchdogs of this submit's launches, end to end */
	uint64_t seqno = f->last_seqno + 1;
	struct npu_hw_pkt_fence fence = {
		.hdr = { .type = NPU_PKT_FENCE, .dwords = sizeof(fence) / 8u },
		.seqno = seqno,
	};
	int ret;

	for (const uint8_t *c = p; c < end; c += npu_cmd_bytes(c))
		pos = npu_ring_place(pos, npu_cmd_bytes(c));
	pos = npu_ring_place(pos, sizeof(fence));
	ret = npu_ring_reserve(f, pos - f->tail);
	if (ret)
		return ret;

	for (; p < end; p += npu_cmd_bytes(p)) {
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
			hw.max_insns = l.max_insns ? l.max_insns : dev->default_max_insns;
			hw.timeout_us = l.timeout_us ? l.timeout_us : dev->default_timeout_us;
			hw.nargs = l.nargs;
			memcpy(buf, &hw, sizeof(hw));
			memcpy(buf + sizeof(hw), p + sizeof(l), (size_t)l.nargs * 8u);
			submit_us += hw.timeout_us;
			npu_ring_put(f, buf, npu_cmd_bytes(p));
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
			npu_ring_put(f, &hw, sizeof(hw));
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
			npu_ring_put(f, &hw, sizeof(hw));
			break;
		}
		default:
			/* Unreachable: validated before. Nothing was published: drop it. */
			npu_err("submit: unvalidated command type %u", h->type);
			f->tail = start;
			return -EINVAL;
		}
	}
	npu_ring_put(f, &fence, sizeof(fence));
	f->ring_end[seqno % NPU_RING_SLOTS] = f->tail;
	if (submit_us > f->max_submit_us)
		f->max_submit_us = submit_us;
	__atomic_store_n(&f->last_seqno, seqno, __ATOMIC_RELEASE);
	/* The doorbell. Like writel(), wr32 orders the packet writes above before it. */
	npu_qwr32(dev, f->qid, NPU_QREG_TAIL, f->tail);
	*seqno_out = seqno;
	return 0;
}

/* ---- Waiting ------------------------------------------------------------------------------ */
int drv_queue_wait(struct npu_file *f, uint64_t seqno, int64_t timeout_ns, uint64_t *completed)
{
	struct npu_queue *q = f->q;
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	while (q->completed < seqno) {
		struct timespec ts;

		if (!timeout_ns || drv_now_ns() >= timeout_ns) {
			ret = -ETIMEDOUT;
			break;
		}
		drv_ns_to_timespec(timeout_ns, &ts);
		pthread_cond_timedwait(&q->cond, &q->lock, &ts);
	}
	*completed = q->completed;
	pthread_mutex_unlock(&q->lock);
	return ret;
}

/* ---- Faults -------------------------------------------------------------------------------- */
int drv_queue_get_fault(struct npu_file *f, struct npu_get_fault *out)
{
	struct npu_queue *q = f->q;
	struct npu_fault_rec r;
	bool have = false;

	pthread_mutex_lock(&q->lock);
	if (q->fault_count) {
		r = q->faults[q->fault_first];
		q->fault_first = (q->fault_first + 1) % NPU_FAULT_LOG_SIZE;
		q->fault_count--;
		have = true;
	}
	out->lost = q->fault_lost;
	q->fault_lost = 0;
	pthread_mutex_unlock(&q->lock);

	out->queue = 0; /* the client's default queue, as named in npu_submit.queue */
	out->pad = 0;
	if (!have) {
		out->flags = 0;
		out->code = 0;
		out->seqno = 0;
		out->core = 0;
		out->pc = out->addr = out->insn = 0;
		return 0;
	}
	out->flags = NPU_FAULT_F_VALID;
	if (r.flags & NPU_FAULT_WRITE)
		out->flags |= NPU_FAULT_F_WRITE;
	if (r.flags & NPU_FAULT_INSN_VALID)
		out->flags |= NPU_FAULT_F_INSN;
	out->code = r.code;
	out->seqno = r.seqno;
	out->core = r.core;
	out->pc = r.pc;
	out->addr = r.addr;
	out->insn = r.insn;
	return 0;
}

/* ---- Interrupt handler ---------------------------------------------------------------------- */
static void npu_isr_fault(struct npu_device *dev, uint32_t qid, struct npu_queue *q)
{
	/* The device wrote these before it raised the interrupt that runs us. */
	const struct npu_hw_queue_status *st = q->status;
	struct npu_fault_rec r = {
		.seqno = st->fault_fence + 1,
		.code = st->fault_code,
		.core = st->fault_core,
		.pc = st->fault_pc,
		.addr = st->fault_addr,
		.insn = st->fault_insn,
		.flags = st->fault_flags,
	};
	unsigned slot;

	if (q->fault_count == NPU_FAULT_LOG_SIZE) { /* full: drop the oldest */
		q->fault_first = (q->fault_first + 1) % NPU_FAULT_LOG_SIZE;
		q->fault_count--;
		q->fault_lost++;
	}
	slot = (q->fault_first + q->fault_count) % NPU_FAULT_LOG_SIZE;
	q->faults[slot] = r;
	q->fault_count++;
	npu_info("device %u queue %u: fault code %u in job %llu, core %u pc %llu addr 0x%llx "
		 "insn 0x%016llx flags 0x%x", dev->index, qid, r.code, (unsigned long long)r.seqno,
		 r.core, (unsigned long long)r.pc, (unsigned long long)r.addr,
		 (unsigned long long)r.insn, r.flags);
	/* The device skips the rest of the guilty job and signals its fence as usual. */
	npu_qwr32(dev, qid, NPU_QREG_CONTROL, NPU_QCTL_ENABLE | NPU_QCTL_RESUME);
}

void drv_isr(void *arg)
{
	struct npu_device *dev = arg;
	uint32_t pending = npu_rd32(dev, NPU_REG_IRQ_STATUS);

	if (!pending)
		return;
	/* Ack first: news that arrives while we run raises the line again. */
	npu_wr32(dev, NPU_REG_IRQ_ACK, pending);
	for (uint32_t qid = 0; qid < dev->num_queues; qid++) {
		struct npu_queue *q = &dev->queues[qid];
		uint64_t fence;

		if (!(pending & (1u << qid)))
			continue;
		pthread_mutex_lock(&q->lock);
		if (!q->active) {
			pthread_mutex_unlock(&q->lock);
			continue;
		}
		if (npu_qrd32(dev, qid, NPU_QREG_STATE) == NPU_QSTATE_FAULTED)
			npu_isr_fault(dev, qid, q);
		fence = __atomic_load_n(&q->status->fence, __ATOMIC_ACQUIRE);
		if (fence > q->completed) {
			q->completed = fence;
			pthread_cond_broadcast(&q->cond);
		}
		pthread_mutex_unlock(&q->lock);
	}
}
