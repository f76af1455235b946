/* SPDX-License-Identifier: MIT */
/*
 * sim_cp.c - the command processors ("engines"): one thread each, the compute engine for
 * compute queues (every packet) and, when configured, the copy engine for copy queues (every
 * packet but LAUNCH). Each serves its enabled queues one packet per turn: the highest
 * priority queue with runnable work first, equal priorities round robin. A packet is read and
 * executed without the device lock; its effects on registers and on the queue status record
 * are committed under the lock afterwards, unless a reset, a queue disable or destroy dropped
 * it meanwhile. NPU_QCTL_KILL instead turns the packet in flight into a WATCHDOG fault.
 */
#include <errno.h>
#include <sched.h>

#include "sim_internal.h"

/* What the engine knows about a queue while it runs one of its packets. */
struct cp_snap {
	uint32_t q;
	uint64_t ring;
	uint32_t ring_size;
	uint32_t head;
	uint32_t tail;
	uint64_t pt;
	uint64_t fence_gen;
	bool skipping;
};

enum cp_kind { CP_NONE, CP_FENCE, CP_LAUNCH, CP_FAULT, CP_SIGNAL, CP_WAIT };

struct cp_result {
	enum cp_kind kind;
	uint32_t consumed;      /* bytes to advance HEAD by */
	bool stuck;             /* fault without a packet boundary to continue from */
	bool interrupted;       /* stopped early by the engine's cancel flag */
	uint64_t seqno;
	uint64_t cycles;
	uint64_t core_cycles[NPU_HW_JOB_CORES];
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

static bool stopped(const struct sim_engine *e)
{
	return __atomic_load_n(e->cancel, __ATOMIC_ACQUIRE) != 0;
}

static void progress(struct sim_engine *e)
{
	__atomic_fetch_add(&e->progress, 1, __ATOMIC_RELAXED);
}

static void mmu_for(struct sim_engine *e, struct sim_mmu *m, uint64_t pt)
{
	struct npu_hw *hw = e->hw;

	m->iommu = &hw->iommu;
	m->progress = NULL;
	sim_mmu_init(m, hw->mem, hw->mem_size, pt);
}

static void exec_copy(struct sim_engine *e, const struct cp_snap *s,
		      const struct npu_hw_pkt_copy *p, struct cp_result *r)
{
	struct sim_mmu src, dst;
	uint64_t off = 0, fault_va = 0, moved = 0;

	mmu_for(e, &src, s->pt);
	mmu_for(e, &dst, s->pt);
	/* Check both ranges first, so a faulting copy writes nothing. */
	if (sim_mmu_check(&src, p->src_va, p->size, false, &fault_va, e->cancel)) {
		if (!(r->interrupted = stopped(e)))
			cp_fault(r, NPU_TRAP_PAGE_FAULT, fault_va, 0);
		return;
	}
	if (sim_mmu_check(&dst, p->dst_va, p->size, true, &fault_va, e->cancel)) {
		if (!(r->interrupted = stopped(e)))
			cp_fault(r, NPU_TRAP_PAGE_FAULT, fault_va, NPU_FAULT_WRITE);
		return;
	}
	while (off < p->size && !stopped(e)) {
		uint64_t savail = 0, davail = 0, chunk;
		uint8_t *sp = sim_mmu_span(&src, p->src_va + off, false, &savail);
		uint8_t *dp = sim_mmu_span(&dst, p->dst_va + off, true, &davail);

		if (!sp || !dp)
			break; /* page tables edited under a running copy */
		chunk = savail < davail ? savail : davail;
		if (chunk > p->size - off)
			chunk = p->size - off;
		memmove(dp, sp, chunk);
		off += chunk;
		moved += chunk;
		if (moved >= NPU_PAGE_SIZE) {
			moved = 0;
			progress(e);
		}
	}
	r->interrupted = off < p->size;
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

static void exec_fill(struct sim_engine *e, const struct cp_snap *s,
		      const struct npu_hw_pkt_fill *p, struct cp_result *r)
{
	struct sim_mmu m;
	uint64_t off = 0, fault_va = 0, moved = 0;

	mmu_for(e, &m, s->pt);
	if (sim_mmu_check(&m, p->dst_va, p->size, true, &fault_va, e->cancel)) {
		if (!(r->interrupted = stopped(e)))
			cp_fault(r, NPU_TRAP_PAGE_FAULT, fault_va, NPU_FAULT_WRITE);
		return;
	}
	while (off < p->size && !stopped(e)) {
		uint64_t avail = 0;
		uint8_t *d = sim_mmu_span(&m, p->dst_va + off, true, &avail);

		if (!d)
			break;
		if (avail > p->size - off)
			avail = p->size - off;
		fill_bytes(d, avail, p->pattern, off);
		off += avail;
		moved += avail;
		if (moved >= NPU_PAGE_SIZE) {
			moved = 0;
			progress(e);
		}
	}
	r->interrupted = off < p->size;
}

static void exec_timestamp(struct sim_engine *e, const struct cp_snap *s,
			   const struct npu_hw_pkt_timestamp *p, struct cp_result *r)
{
	struct sim_mmu m;
	uint64_t fault_va = 0, now;

	if (p->dst_va & 7) {
		cp_fault(r, NPU_TRAP_MISALIGNED, p->dst_va, NPU_FAULT_WRITE);
		return;
	}
	mmu_for(e, &m, s->pt);
	if (sim_mmu_check(&m, p->dst_va, 8, true, &fault_va, NULL)) {
		cp_fault(r, NPU_TRAP_PAGE_FAULT, fault_va, NPU_FAULT_WRITE);
		return;
	}
	now = sim_now_ns();
	sim_mmu_copy(&m, p->dst_va, &now, 8, true);
}

/* The fence record a SIGNAL/WAIT names, or NULL when it is not inside device memory. */
static struct npu_hw_fence *fence_at(struct npu_hw *hw, uint64_t pa)
{
	if ((pa & 15) || !sim_range_ok(pa, sizeof(struct npu_hw_fence), hw->mem_size))
		return NULL;
	return (struct npu_hw_fence *)(hw->mem + pa);
}

static void fence_raise(struct npu_hw_fence *f, uint64_t value)
{
	uint64_t cur = __atomic_load_n(&f->value, __ATOMIC_RELAXED);

	while (cur < value && !__atomic_compare_exchange_n(&f->value, &cur, value, true,
							    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

/* Reads and runs the packet at the queue's HEAD. Never touches registers or the status
 * record: the caller commits *r under the device lock. */
static void cp_exec(struct sim_engine *e, const struct cp_snap *s, struct cp_result *r)
{
	struct npu_hw *hw = e->hw;
	union {
		struct npu_hw_pkt_header hdr;
		struct npu_hw_pkt_launch launch;
		struct npu_hw_pkt_copy copy;
		struct npu_hw_pkt_fill fill;
		struct npu_hw_pkt_fence fence;
		struct npu_hw_pkt_fence_op fop;
		struct npu_hw_pkt_timestamp ts;
		uint64_t words[PKT_MAX_BYTES / 8];
	} pkt;
	struct npu_hw_fence *fr;
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
		/* After a fault only the job's SIGNALs (marked failed) and its FENCE still run. */
		if (pkt.hdr.type != NPU_PKT_FENCE && pkt.hdr.type != NPU_PKT_SIGNAL)
			return;
	}

	switch (pkt.hdr.type) {
	case NPU_PKT_NOP:
		return;
	case NPU_PKT_BARRIER:
		if (bytes != sizeof(pkt.hdr))
			break;
		/* Packets of a queue already run one after the other, and each is committed
		 * under the device lock (a full barrier): the earlier ones' writes are visible
		 * to everyone before a later one starts. Nothing more to do. */
		return;
	case NPU_PKT_FENCE:
		if (bytes != sizeof(pkt.fence))
			break;
		r->kind = CP_FENCE;
		r->seqno = pkt.fence.seqno;
		return;
	case NPU_PKT_SIGNAL:
		if (bytes != sizeof(pkt.fop) || !(fr = fence_at(hw, pkt.fop.fence_pa)))
			break;
		if (s->skipping) {
			uint32_t zero = 0;

			__atomic_compare_exchange_n(&fr->error, &zero, NPU_HW_FENCE_ERR_JOB, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		}
		fence_raise(fr, pkt.fop.value);
		r->kind = CP_SIGNAL;
		return;
	case NPU_PKT_WAIT:
		if (bytes != sizeof(pkt.fop) || !(fr = fence_at(hw, pkt.fop.fence_pa)))
			break;
		if (__atomic_load_n(&fr->value, __ATOMIC_ACQUIRE) < pkt.fop.value) {
			r->kind = CP_WAIT;
			r->consumed = 0;
		}
		return;
	case NPU_PKT_TIMESTAMP:
		if (bytes != sizeof(pkt.ts))
			break;
		exec_timestamp(e, s, &pkt.ts, r);
		return;
	case NPU_PKT_COPY:
		if (bytes != sizeof(pkt.copy))
			break;
		exec_copy(e, s, &pkt.copy, r);
		return;
	case NPU_PKT_FILL:
		if (bytes != sizeof(pkt.fill) || pkt.fill.pad || (pkt.fill.size & 3))
			break;
		exec_fill(e, s, &pkt.fill, r);
		return;
	case NPU_PKT_LAUNCH:
		if (e->id != NPU_ENGINE_COMPUTE || bytes < sizeof(pkt.launch))
			break;
		if (pkt.launch.nargs > NPU_HW_MAX_ARGS) {
			cp_fault(r, NPU_TRAP_BAD_LAUNCH, pkt.launch.nargs, 0);
			return;
		}
		if (bytes != sizeof(pkt.launch) + pkt.launch.nargs * sizeof(uint64_t))
			break;
		if (sim_alloc_fail(hw)) {
			cp_fault(r, NPU_TRAP_BAD_LAUNCH, 0, NPU_FAULT_DEVICE_ERROR);
			return;
		}
		ret = sim_launch_run(hw, &pkt.launch, s->pt, &r->fault, &r->cycles, r->core_cycles,
				     NPU_HW_JOB_CORES);
		if (ret == 0) {
			r->kind = CP_LAUNCH;
		} else if (ret == 1) {
			r->kind = CP_FAULT;
		} else if (ret == -ECANCELED) {
			r->interrupted = true;
		} else {
			sim_dbg(hw, "queue %u: launch failed on the host (%d)", s->q, ret);
			cp_fault(r, NPU_TRAP_BAD_LAUNCH, 0, NPU_FAULT_DEVICE_ERROR);
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
	if (hw->inj_lost_irq) {
		hw->inj_lost_irq--;
		sim_dbg(hw, "queue %u: interrupt dropped (fault injection)", q);
		return;
	}
	hw->irq_status |= 1u << q;
	hw->irq_gen++; /* delivered by sim_cp_main once the packet is committed */
}

/* Called with the lock held. */
static void fence_event(struct npu_hw *hw)
{
	bool wake[NPU_NUM_ENGINES] = { false };

	hw->fence_gen++;
	for (uint32_t i = 0; i < hw->cfg.queues; i++) {
		if (hw->queues[i].waiting)
			wake[hw->queues[i].engine] = true;
		hw->queues[i].waiting = false;
	}
	/* Only engines with a queue at a WAIT have something new to look at. */
	for (uint32_t i = 0; i < hw->num_engines; i++)
		if (wake[i])
			sim_cp_wake_one(&hw->eng[i]);
}

void sim_fence_notify(struct npu_hw *hw)
{
	fence_event(hw);
}

/* Writes the finished job's simulated times into its slot (NPU_QCTL_JOB_TIMES), then starts
 * the next job. Lock held; before the FENCE's seqno is published. */
static void job_time_write(struct npu_hw *hw, struct sim_queue *q, uint32_t qi, uint64_t seqno)
{
	struct npu_hw_job_time *t;
	uint32_t n = hw->cfg.cores < NPU_HW_JOB_CORES ? hw->cfg.cores : NPU_HW_JOB_CORES;

	if (!q->job_times)
		goto out;
	if ((q->status & 7) || !sim_range_ok(q->status, NPU_HW_STATUS_AREA, hw->mem_size)) {
		sim_dbg(hw, "queue %u: status area 0x%llx is outside device memory", qi,
			(unsigned long long)q->status);
		goto out;
	}
	t = (struct npu_hw_job_time *)(hw->mem + q->status + NPU_HW_JOB_TIMES_OFFSET) +
	    seqno % NPU_HW_JOB_TIMES;
	/* Field by field with atomics: the driver may be copying a slot it reads late. Release
	 * stores keep `seqno = 0` ahead of every field, so a reader that saw a new field sees
	 * the slot invalidated when it reads `seqno` again. */
	__atomic_store_n(&t->seqno, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&t->start, q->job_open ? q->job_start : hw->clock, __ATOMIC_RELEASE);
	__atomic_store_n(&t->end, hw->clock, __ATOMIC_RELEASE);
	__atomic_store_n(&t->cycles, q->job_cycles, __ATOMIC_RELEASE);
	__atomic_store_n(&t->launches, q->job_launches, __ATOMIC_RELEASE);
	__atomic_store_n(&t->ncores, n, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < NPU_HW_JOB_CORES; i++)
		__atomic_store_n(&t->core_cycles[i], i < n ? q->job_core[i] : 0, __ATOMIC_RELEASE);
	__atomic_store_n(&t->seqno, seqno, __ATOMIC_RELEASE);
out:
	q->job_open = false;
	q->job_cycles = 0;
	q->job_launches = 0;
	memset(q->job_core, 0, sizeof(q->job_core));
}

/* Applies a packet's result: HEAD, status record, interrupt. Called with the lock held. */
static void cp_commit(struct sim_engine *e, const struct cp_snap *s, const struct cp_result *r)
{
	struct npu_hw *hw = e->hw;
	struct sim_queue *q = &hw->queues[s->q];
	struct npu_hw_queue_status *st = status_record(hw, q);

	q->head = s->head + r->consumed;
	if (r->consumed)
		progress(e);
	if (!st && r->kind != CP_NONE && r->kind != CP_WAIT)
		sim_dbg(hw, "queue %u: status record 0x%llx is outside device memory", s->q,
			(unsigned long long)q->status);
	switch (r->kind) {
	case CP_NONE:
		break;
	case CP_WAIT:
		/* Unless a fence moved since we looked, sleep until one does. */
		if (hw->fence_gen == s->fence_gen)
			q->waiting = true;
		break;
	case CP_SIGNAL:
		fence_event(hw);
		raise_irq(hw, s->q);
		break;
	case CP_LAUNCH:
		if (!q->job_open) {
			/* Only launches take simulated time: the job starts with its first one. */
			q->job_open = true;
			q->job_start = hw->clock;
		}
		hw->clock += r->cycles;
		q->job_cycles += r->cycles;
		q->job_launches++;
		for (uint32_t i = 0; i < NPU_HW_JOB_CORES; i++)
			q->job_core[i] += r->core_cycles[i];
		if (st) {
			st->cycles = r->cycles;
			st->launches++;
		}
		break;
	case CP_FENCE:
		q->skipping = false;
		job_time_write(hw, q, s->q, r->seqno);
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
			st->fault_flags = r->fault.flags |
					  (e->id == NPU_ENGINE_COPY ? NPU_FAULT_COPY_ENGINE : 0);
		}
		q->faulted = true;
		q->stuck = r->stuck;
		raise_irq(hw, s->q);
		break;
	}
}

/* Next queue for engine e: the highest priority with runnable work, round robin among
 * equals from the one after the last served. Lock held. */
static int cp_pick(struct sim_engine *e)
{
	struct npu_hw *hw = e->hw;
	uint32_t n = hw->cfg.queues;
	int best = -1;

	if (!(hw->status & NPU_STATUS_READY) || hw->inj_cp_stall)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t qi = (e->rr_next + i) % n;
		struct sim_queue *q = &hw->queues[qi];

		if (q->engine != e->id || !(q->ctrl & NPU_QCTL_ENABLE) || q->faulted ||
		    q->waiting || q->head == q->tail)
			continue;
		if (best < 0 || q->priority > hw->queues[best].priority)
			best = (int)qi;
	}
	if (best >= 0)
		e->rr_next = ((uint32_t)best + 1) % n;
	return best;
}

/* Whether queue qi's next packet is one that takes no time (fence work, NOP, BARRIER,
 * TIMESTAMP): an interrupt can wait for it. Anything else (a launch, a copy) may run long,
 * as may what cp_exec makes of a malformed ring. Lock held. */
static bool cp_next_is_short(const struct npu_hw *hw, uint32_t qi)
{
	const struct sim_queue *q = &hw->queues[qi];
	struct npu_hw_pkt_header h;
	uint64_t pa;

	if (q->ring_size < 4096 || (q->ring_size & (q->ring_size - 1)) || (q->ring & 7) ||
	    !sim_range_ok(q->ring, q->ring_size, hw->mem_size))
		return false;
	pa = q->ring + (q->head & (q->ring_size - 1));
	memcpy(&h, hw->mem + pa, sizeof(h));
	switch (h.type) {
	case NPU_PKT_NOP:
	case NPU_PKT_FENCE:
	case NPU_PKT_SIGNAL:
	case NPU_PKT_WAIT:
	case NPU_PKT_TIMESTAMP:
	case NPU_PKT_BARRIER:
		return true;
	default:
		return false;
	}
}

/* An interrupt waits for delivery and nobody is delivering. Lock held. */
static bool irq_deliverable(const struct npu_hw *hw)
{
	return !hw->in_isr && hw->isr && hw->irq_gen != hw->irq_seen &&
	       (hw->irq_status & hw->irq_mask);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

/* An engine with nothing to run polls for a while before it sleeps (a device's command
 * processor polls its rings; here it saves the host the wake-up of a sleeping thread, tens of
 * microseconds when that thread's CPU is idle). It watches its wake_gen without the lock and
 * yields the CPU between short spins, so a host thread that shares its CPU still runs.
 * Called and returns with the lock held; true when something may have changed. */
static bool cp_poll(struct sim_engine *e)
{
	struct npu_hw *hw = e->hw;
	uint32_t gen = __atomic_load_n(&e->wake_gen, __ATOMIC_RELAXED);
	bool woken = false;

	if (sim_now_ns() >= e->poll_until)
		return false;
	pthread_mutex_unlock(&hw->lock);
	while (!woken && sim_now_ns() < e->poll_until) {
		for (int i = 0; i < 32; i++) {
			if (__atomic_load_n(&e->wake_gen, __ATOMIC_ACQUIRE) != gen) {
				woken = true;
				break;
			}
			cpu_relax();
		}
		if (!woken)
			sched_yield();
	}
	pthread_mutex_lock(&hw->lock);
	/* A wake-up between the last look and the lock found nobody waiting: take it here. */
	if (__atomic_load_n(&e->wake_gen, __ATOMIC_RELAXED) != gen)
		woken = true;
	if (!woken)
		e->poll_until = 0;
	return woken;
}

void *sim_cp_main(void *arg)
{
	struct sim_engine *e = arg;
	struct npu_hw *hw = e->hw;

	pthread_mutex_lock(&hw->lock);
	while (!hw->stop) {
		struct cp_snap s;
		struct cp_result r;
		struct sim_queue *q;
		uint32_t rr = e->rr_next;
		int qi = cp_pick(e);
		bool kick_irq = false;

		if (irq_deliverable(hw)) {
			if (qi < 0) {
				/* Nothing else to run: call the ISR here, with no packet in flight
				 * (it may reset the device or disable a queue), then look again. */
				e->rr_next = rr;
				sim_irq_deliver(hw);
				continue;
			}
			/* More work: unless it is only the job's closing fence work (delivered
			 * right after it), the interrupt thread delivers it meanwhile, so
			 * completions do not wait behind a long packet (and get batched). */
			if (!cp_next_is_short(hw, (uint32_t)qi))
				kick_irq = true;
		}
		if (qi < 0) {
			if (!cp_poll(e))
				pthread_cond_wait(&e->cond, &hw->lock);
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
		s.fence_gen = hw->fence_gen;
		e->q = qi;
		e->dropped = e->killed = false;
		__atomic_store_n(e->cancel, 0, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&hw->lock);
		/* Waking the sleeping interrupt thread is a system call, and the host's doorbells
		 * and register reads wait for the lock: signal it without the lock. It looks at
		 * irq_gen under the lock, so the wake-up cannot be lost. */
		if (kick_irq)
			pthread_cond_signal(&hw->irq_cond);

		cp_exec(e, &s, &r);

		pthread_mutex_lock(&hw->lock);
		if (e->killed && !e->dropped && r.interrupted) {
			/* NPU_QCTL_KILL stopped the packet: it ends as a WATCHDOG fault. (A kernel
			 * that saw the kill reported where it was, as a fault, not here.) A packet
			 * that finished before the kill took effect stands. */
			uint32_t consumed = r.consumed;

			cp_fault(&r, NPU_TRAP_WATCHDOG, 0, NPU_FAULT_KILLED);
			r.consumed = consumed;
		}
		if (!e->dropped)
			cp_commit(e, &s, &r);
		e->q = -1;
		pthread_cond_broadcast(&hw->cp_idle_cond);
		if (hw->cfg.cp_poll_us)
			e->poll_until = sim_now_ns() + hw->cfg.cp_poll_us * 1000ull;
	}
	pthread_mutex_unlock(&hw->lock);
	return NULL;
}
