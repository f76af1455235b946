/* SPDX-License-Identifier: MIT */
/*
 * sim_cp.c - the command processor: one thread per device serving every enabled queue,
 * one packet per turn, round robin. A packet is read and executed without the device
 * lock; its effects on registers and on the queue status record are committed under the
 * lock afterwards, unless a reset, a queue disable or destroy cancelled it meanwhile.
 */
#include <errno.h>

#include "sim_internal.h"

/* What the command processor knows about a queue while it runs one of its packets. */
struct cp_snap {
	uint32_t q;
	uint64_t ring;
	uint32_t ring_size;
	uint32_t head;
	uint32_t tail;
	uint64_t pt;
	bool skipping;
};

enum cp_kind { CP_NONE, CP_FENCE, CP_LAUNCH, CP_FAULT };

struct cp_result {
	enum cp_kind kind;
	uint32_t consumed;      /* bytes to advance HEAD by */
	bool stuck;             /* fault without a packet boundary to continue from */
	uint64_t seqno;
	uint64_t cycles;
	struct sim_fault fault;
};

#define PKT_MAX_BYTES (sizeof(struct npu_hw_pkt_launch) + NPU_HW_MAX_ARGS * sizeof(uint64_t))

static void cp_fault(struct cp_result *r, uint32_t code, uint64_t addr, uint32_t flags)
{
	r->kind = CP_FAULT;
	memset(&r->fault, 0, sizeof(r->fault));
	r->fault.code = code;
	r->fault.core = NPU_FAULT_CORE_NONE;
	r->fault.addr = addr;
	r->fault.flags = flags;
}

static bool cancelled(struct npu_hw *hw)
{
	return __atomic_load_n(&hw->cp_cancel, __ATOMIC_ACQUIRE) != 0;
}

static void exec_copy(struct npu_hw *hw, const struct cp_snap *s,
		      const struct npu_hw_pkt_copy *p, struct cp_result *r)
{
	struct sim_mmu src, dst;
	uint64_t off = 0, fault_va = 0;

	sim_mmu_init(&src, hw->mem, hw->mem_size, s->pt);
	sim_mmu_init(&dst, hw->mem, hw->mem_size, s->pt);
	/* Check both ranges first, so a faulting copy writes nothing. */
	if (sim_mmu_check(&src, p->src_va, p->size, false, &fault_va, &hw->cp_cancel)) {
		cp_fault(r, NPU_TRAP_PAGE_FAULT, fault_va, 0);
		return;
	}
	if (sim_mmu_check(&dst, p->dst_va, p->size, true, &fault_va, &hw->cp_cancel)) {
		cp_fault(r, NPU_TRAP_PAGE_FAULT, fault_va, NPU_FAULT_WRITE);
		return;
	}
	while (off < p->size && !cancelled(hw)) {
		uint64_t sva = p->src_va + off, dva = p->dst_va + off;
		uint64_t soff = sva & (NPU_PAGE_SIZE - 1), doff = dva & (NPU_PAGE_SIZE - 1);
		uint64_t chunk = NPU_PAGE_SIZE - (soff > doff ? soff : doff);
		uint8_t *sp = sim_mmu_page(&src, sva, false);
		uint8_t *dp = sim_mmu_page(&dst, dva, true);

		if (chunk > p->size - off)
			chunk = p->size - off;
		if (!sp || !dp)
			break; /* page tables edited under a running copy */
		memmove(dp + doff, sp + soff, chunk);
		off += chunk;
	}
}

static void fill_bytes(uint8_t *dst, uint64_t len, uint32_t pattern, uint64_t phase)
{
	uint8_t pb[4];

	memcpy(pb, &pattern, 4);
	if (pb[0] == pb[1] && pb[1] == pb[2] && pb[2] == pb[3]) {
		memset(dst, pb[0], len);
		return;
	}
	for (uint64_t i = 0; i < len; i++)
		dst[i] = pb[(phase + i) & 3];
}

static void exec_fill(struct npu_hw *hw, const struct cp_snap *s,
		      const struct npu_hw_pkt_fill *p, struct cp_result *r)
{
	struct sim_mmu m;
	uint64_t off = 0, fault_va = 0;

	sim_mmu_init(&m, hw->mem, hw->mem_size, s->pt);
	if (sim_mmu_check(&m, p->dst_va, p->size, true, &fault_va, &hw->cp_cancel)) {
		cp_fault(r, NPU_TRAP_PAGE_FAULT, fault_va, NPU_FAULT_WRITE);
		return;
	}
	while (off < p->size && !cancelled(hw)) {
		uint64_t va = p->dst_va + off, in_page = va & (NPU_PAGE_SIZE - 1);
		uint64_t chunk = NPU_PAGE_SIZE - in_page;
		uint8_t *page = sim_mmu_page(&m, va, true);

		if (chunk > p->size - off)
			chunk = p->size - off;
		if (!page)
			break;
		fill_bytes(page + in_page, chunk, p->pattern, off);
		off += chunk;
	}
}

/* Reads and runs the packet at the queue's HEAD. Never touches registers or the status
 * record: the caller commits *r under the device lock. */
static void cp_exec(struct npu_hw *hw, const struct cp_snap *s, struct cp_result *r)
{
	union {
		struct npu_hw_pkt_header hdr;
		struct npu_hw_pkt_launch launch;
		struct npu_hw_pkt_copy copy;
		struct npu_hw_pkt_fill fill;
		struct npu_hw_pkt_fence fence;
		uint64_t words[PKT_MAX_BYTES / 8];
	} pkt;
	uint32_t off, pending, bytes, avail;
	uint64_t pa;
	int ret;

	memset(r, 0, sizeof(*r));
	/* The ring itself: a bad ring or TAIL leaves no packet to step over. */
	pa = s->ring;
	if (s->ring_size < 4096 || (s->ring_size & (s->ring_size - 1)) || (s->ring & 7) ||
	    !sim_range_ok(s->ring, s->ring_size, hw->mem_size)) {
		cp_fault(r, NPU_TRAP_BAD_PACKET, pa, 0);
		r->stuck = true;
		return;
	}
	off = s->head & (s->ring_size - 1);
	pending = s->tail - s->head;
	pa = s->ring + off;
	if ((pending & 7) || pending > s->ring_size) {
		cp_fault(r, NPU_TRAP_BAD_PACKET, pa, 0);
		r->stuck = true;
		return;
	}
	memcpy(&pkt.hdr, hw->mem + pa, sizeof(pkt.hdr));
	bytes = (uint32_t)pkt.hdr.dwords * 8;
	avail = s->ring_size - off;
	if (avail > pending)
		avail = pending;
	if (bytes == 0 || bytes > avail) {
		cp_fault(r, NPU_TRAP_BAD_PACKET, pa, 0);
		r->stuck = true;
		return;
	}
	/* From here the packet can be stepped over, whatever its content. */
	r->consumed = bytes;
	if (pkt.hdr.flags) {
		cp_fault(r, NPU_TRAP_BAD_PACKET, pa, 0);
		return;
	}
	memcpy(&pkt, hw->mem + pa, bytes < sizeof(pkt) ? bytes : sizeof(pkt));

	if (s->skipping) {
		/* After a fault: only the job's FENCE still runs. */
		if (pkt.hdr.type != NPU_PKT_FENCE)
			return;
	}

	switch (pkt.hdr.type) {
	case NPU_PKT_NOP:
		return;
	case NPU_PKT_FENCE:
		if (bytes != sizeof(pkt.fence))
			break;
		r->kind = CP_FENCE;
		r->seqno = pkt.fence.seqno;
		return;
	case NPU_PKT_COPY:
		if (bytes != sizeof(pkt.copy))
			break;
		exec_copy(hw, s, &pkt.copy, r);
		return;
	case NPU_PKT_FILL:
		if (bytes != sizeof(pkt.fill) || pkt.fill.pad || (pkt.fill.size & 3))
			break;
		exec_fill(hw, s, &pkt.fill, r);
		return;
	case NPU_PKT_LAUNCH:
		if (bytes < sizeof(pkt.launch))
			break;
		if (pkt.launch.nargs > NPU_HW_MAX_ARGS) {
			cp_fault(r, NPU_TRAP_BAD_LAUNCH, pkt.launch.nargs, 0);
			return;
		}
		if (bytes != sizeof(pkt.launch) + pkt.launch.nargs * sizeof(uint64_t))
			break;
		ret = sim_launch_run(hw, &pkt.launch, s->pt, &r->fault, &r->cycles);
		if (ret == 0) {
			r->kind = CP_LAUNCH;
		} else if (ret == 1) {
			r->kind = CP_FAULT;
		} else if (ret != -ECANCELED) {
			sim_dbg(hw, "queue %u: launch failed on the host (%d)", s->q, ret);
			cp_fault(r, NPU_TRAP_BAD_LAUNCH, 0, 0);
		}
		return;
	default:
		break;
	}
	sim_dbg(hw, "queue %u: bad packet type %u dwords %u at 0x%llx", s->q, pkt.hdr.type,
		pkt.hdr.dwords, (unsigned long long)pa);
	cp_fault(r, NPU_TRAP_BAD_PACKET, pa, 0);
}

static struct npu_hw_queue_status *status_record(struct npu_hw *hw, struct sim_queue *q)
{
	if ((q->status & 7) || !sim_range_ok(q->status, sizeof(struct npu_hw_queue_status),
					     hw->mem_size))
		return NULL;
	return (struct npu_hw_queue_status *)(hw->mem + q->status);
}

/* Called with the lock held. */
static void raise_irq(struct npu_hw *hw, uint32_t q)
{
	hw->irq_status |= 1u << q;
	hw->irq_gen++;
	pthread_cond_signal(&hw->irq_cond);
}

/* Applies a packet's result: HEAD, status record, interrupt. Called with the lock held. */
static void cp_commit(struct npu_hw *hw, const struct cp_snap *s, const struct cp_result *r)
{
	struct sim_queue *q = &hw->queues[s->q];
	struct npu_hw_queue_status *st = status_record(hw, q);

	q->head = s->head + r->consumed;
	if (!st && r->kind != CP_NONE)
		sim_dbg(hw, "queue %u: status record 0x%llx is outside device memory", s->q,
			(unsigned long long)q->status);
	switch (r->kind) {
	case CP_NONE:
		break;
	case CP_LAUNCH:
		if (st) {
			st->cycles = r->cycles;
			st->launches++;
		}
		break;
	case CP_FENCE:
		q->skipping = false;
		if (st)
			__atomic_store_n(&st->fence, r->seqno, __ATOMIC_RELEASE);
		raise_irq(hw, s->q);
		break;
	case CP_FAULT:
		sim_dbg(hw, "queue %u: fault %s core %u pc %llu addr 0x%llx", s->q,
			npu_trap_name(r->fault.code), r->fault.core,
			(unsigned long long)r->fault.pc, (unsigned long long)r->fault.addr);
		if (st) {
			st->fault_fence = __atomic_load_n(&st->fence, __ATOMIC_RELAXED);
			st->fault_code = r->fault.code;
			st->fault_core = r->fault.core;
			st->fault_pc = r->fault.pc;
			st->fault_addr = r->fault.addr;
			st->fault_insn = r->fault.insn;
			st->fault_flags = r->fault.flags;
		}
		q->faulted = true;
		q->stuck = r->stuck;
		raise_irq(hw, s->q);
		break;
	}
}

/* Next queue with work, round robin from the one after the last served. Lock held. */
static int cp_pick(struct npu_hw *hw)
{
	uint32_t n = hw->cfg.queues;

	if (!(hw->status & NPU_STATUS_READY))
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t qi = (hw->rr_next + i) % n;
		struct sim_queue *q = &hw->queues[qi];

		if ((q->ctrl & NPU_QCTL_ENABLE) && !q->faulted && q->head != q->tail) {
			hw->rr_next = (qi + 1) % n;
			return (int)qi;
		}
	}
	return -1;
}

void *sim_cp_main(void *arg)
{
	struct npu_hw *hw = arg;

	pthread_mutex_lock(&hw->lock);
	while (!hw->stop) {
		struct cp_snap s;
		struct cp_result r;
		struct sim_queue *q;
		int qi = cp_pick(hw);

		if (qi < 0) {
			pthread_cond_wait(&hw->cp_cond, &hw->lock);
			continue;
		}
		q = &hw->queues[qi];
		s.q = (uint32_t)qi;
		s.ring = q->ring;
		s.ring_size = q->ring_size;
		s.head = q->head;
		s.tail = q->tail;
		s.pt = q->pt;
		s.skipping = q->skipping;
		hw->cp_q = qi;
		__atomic_store_n(&hw->cp_cancel, 0, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&hw->lock);

		cp_exec(hw, &s, &r);

		pthread_mutex_lock(&hw->lock);
		if (!cancelled(hw))
			cp_commit(hw, &s, &r);
		hw->cp_q = -1;
		pthread_cond_broadcast(&hw->cp_idle_cond);
	}
	pthread_mutex_unlock(&hw->lock);
	return NULL;
}
