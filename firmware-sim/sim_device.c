/* SPDX-License-Identifier: MIT */
/*
 * sim_device.c - the simulated NPU as seen through npu_hw.h: power on/off, the register
 * block (a switch on the offset, QEMU edu.c style), device memory and the interrupt line.
 *
 * Threads: one per command processor (sim_cp.c: the compute engine, and the copy engine
 * when configured), one per NPU core (sim_core.c) and one that delivers interrupts, all
 * created at power-on and sleeping until there is work (an engine polls its rings for
 * cp_poll_us after each packet first).
 *
 * Interrupts: an engine that raised one and has nothing else to run (or only short fence
 * packets) calls the ISR itself (as a device's interrupt line reaches the CPU without a hop
 * through another agent): the completion of a lone job costs one thread hand-off, to the
 * host thread the ISR wakes. An engine with a long packet next hands the interrupt to the
 * interrupt thread, which also delivers
 * what a register write of the driver (IRQ_MASK) or set_isr makes deliverable (never from
 * inside wr32). Either way the ISR runs with no device lock held, so it may use rd32/wr32,
 * and one call at a time.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim_internal.h"

/* ---- interrupts ------------------------------------------------------------------------ */
void sim_irq_deliver(struct npu_hw *hw)
{
	/* Bits raised while the ISR runs bump irq_gen: whoever runs it calls it again. */
	while (!hw->in_isr && hw->isr && hw->irq_gen != hw->irq_seen &&
	       (hw->irq_status & hw->irq_mask)) {
		npu_hw_isr_fn fn = hw->isr;
		void *fn_arg = hw->isr_arg;

		hw->irq_seen = hw->irq_gen;
		hw->in_isr = true;
		hw->isr_thread = pthread_self();
		pthread_mutex_unlock(&hw->lock);
		fn(fn_arg);
		pthread_mutex_lock(&hw->lock);
		hw->in_isr = false;
		pthread_cond_broadcast(&hw->isr_idle_cond);
	}
}

static void *irq_main(void *arg)
{
	struct npu_hw *hw = arg;

	pthread_mutex_lock(&hw->lock);
	while (!hw->stop) {
		sim_irq_deliver(hw);
		/* Nothing deliverable (or another thread delivers it): a later mask or ISR
		 * change, or an engine with more work, wakes us again. The ISR ran without the
		 * lock: look at stop again first. */
		if (!hw->stop)
			pthread_cond_wait(&hw->irq_cond, &hw->lock);
	}
	pthread_mutex_unlock(&hw->lock);
	return NULL;
}

/* The mask or the ISR changed: the interrupt thread delivers what became deliverable. */
static void irq_kick(struct npu_hw *hw)
{
	hw->irq_gen++;
	pthread_cond_signal(&hw->irq_cond);
}

static void sim_set_isr(struct npu_hw *hw, npu_hw_isr_fn fn, void *arg)
{
	pthread_mutex_lock(&hw->lock);
	hw->isr = fn;
	hw->isr_arg = arg;
	irq_kick(hw);
	/* After set_isr returns the old handler is not running (unless we are inside it). */
	while (hw->in_isr && !pthread_equal(pthread_self(), hw->isr_thread))
		pthread_cond_wait(&hw->isr_idle_cond, &hw->lock);
	pthread_mutex_unlock(&hw->lock);
}

/* ---- stopping work (lock held) ----------------------------------------------------------- */
/* Stops engine e's packet in flight: its flag makes COPY/FILL and launches return early. */
static void engine_stop(struct npu_hw *hw, struct sim_engine *e, bool kill)
{
	if (e->id == NPU_ENGINE_COMPUTE && hw->cur_launch) {
		if (kill)
			__atomic_store_n(&hw->cur_launch->kill, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&hw->cur_launch->abort, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(e->cancel, 1, __ATOMIC_RELEASE);
}

static bool engine_busy_with(const struct sim_engine *e, int q)
{
	return e->q >= 0 && (q < 0 || e->q == q);
}

/* Drops the packets the engines run (if `q` < 0, or they belong to queue q) and waits until
 * they have let go of them: afterwards the device no longer touches that memory. */
static void cp_cancel_wait(struct npu_hw *hw, int q)
{
	for (uint32_t i = 0; i < hw->num_engines; i++) {
		struct sim_engine *e = &hw->eng[i];

		if (!engine_busy_with(e, q))
			continue;
		e->dropped = true;
		engine_stop(hw, e, false);
	}
	for (uint32_t i = 0; i < hw->num_engines; i++) {
		struct sim_engine *e = &hw->eng[i];

		if (e->started && pthread_equal(pthread_self(), e->thread))
			continue;
		while (engine_busy_with(e, q))
			pthread_cond_wait(&hw->cp_idle_cond, &hw->lock);
	}
}

static void device_reset(struct npu_hw *hw)
{
	hw->status = 0; /* the engines pick nothing new from here on */
	cp_cancel_wait(hw, -1);
	memset(hw->queues, 0, hw->cfg.queues * sizeof(*hw->queues));
	hw->irq_status = 0;
	hw->irq_mask = 0;
	hw->inj_cp_stall = false;
	for (uint32_t i = 0; i < hw->num_engines; i++)
		hw->eng[i].rr_next = 0;
	if (hw->inj_reset_fail) {
		hw->inj_reset_fail--;
		hw->status = NPU_STATUS_FAILED;
		sim_dbg(hw, "reset failed (fault injection)");
	}
}

bool sim_alloc_fail(struct npu_hw *hw)
{
	uint32_t n = __atomic_load_n(&hw->inj_alloc_fail, __ATOMIC_RELAXED);

	while (n) {
		if (__atomic_compare_exchange_n(&hw->inj_alloc_fail, &n, n - 1, true,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

static void inject(struct npu_hw *hw, uint32_t v)
{
	uint32_t what = v & 0xff, count = v >> 8;

	if (!count) {
		sim_dbg(hw, "INJECT 0x%x: count 0", v);
		return;
	}
	switch (what) {
	case NPU_HW_INJECT_LOST_IRQ:
		hw->inj_lost_irq = count;
		break;
	case NPU_HW_INJECT_CP_STALL:
		hw->inj_cp_stall = true;
		break;
	case NPU_HW_INJECT_RESET_FAIL:
		hw->inj_reset_fail = count;
		break;
	case NPU_HW_INJECT_ALLOC_FAIL:
		__atomic_store_n(&hw->inj_alloc_fail, count, __ATOMIC_RELAXED);
		break;
	default:
		sim_dbg(hw, "INJECT 0x%x: unknown kind %u", v, what);
		break;
	}
}

/* ---- registers ---------------------------------------------------------------------------- */
static uint32_t queue_state(const struct npu_hw *hw, uint32_t qi)
{
	const struct sim_queue *q = &hw->queues[qi];

	if (!(q->ctrl & NPU_QCTL_ENABLE))
		return NPU_QSTATE_DISABLED;
	if (q->faulted)
		return NPU_QSTATE_FAULTED;
	if (q->waiting)
		return NPU_QSTATE_WAITING;
	if (q->head != q->tail || hw->eng[q->engine].q == (int)qi)
		return NPU_QSTATE_BUSY;
	return NPU_QSTATE_IDLE;
}

static uint32_t queue_rd(struct npu_hw *hw, uint32_t qi, uint32_t reg)
{
	const struct sim_queue *q = &hw->queues[qi];

	switch (reg) {
	case NPU_QREG_RING_LO:   return (uint32_t)q->ring;
	case NPU_QREG_RING_HI:   return (uint32_t)(q->ring >> 32);
	case NPU_QREG_RING_SIZE: return q->ring_size;
	case NPU_QREG_HEAD:      return q->head;
	case NPU_QREG_TAIL:      return q->tail;
	case NPU_QREG_PT_LO:     return (uint32_t)q->pt;
	case NPU_QREG_PT_HI:     return (uint32_t)(q->pt >> 32);
	case NPU_QREG_STATUS_LO: return (uint32_t)q->status;
	case NPU_QREG_STATUS_HI: return (uint32_t)(q->status >> 32);
	case NPU_QREG_CONTROL:   return q->ctrl | (q->job_times ? NPU_QCTL_JOB_TIMES : 0);
	case NPU_QREG_STATE:     return queue_state(hw, qi);
	case NPU_QREG_PRIORITY:  return q->priority;
	case NPU_QREG_ENGINE:    return q->engine;
	default:
		sim_dbg(hw, "read of unknown queue register 0x%x", reg);
		return 0;
	}
}

static void set_lo(uint64_t *r, uint32_t v)
{
	*r = (*r & ~0xffffffffull) | v;
}

static void set_hi(uint64_t *r, uint32_t v)
{
	*r = (*r & 0xffffffffull) | ((uint64_t)v << 32);
}

static void queue_wr(struct npu_hw *hw, uint32_t qi, uint32_t reg, uint32_t v)
{
	struct sim_queue *q = &hw->queues[qi];

	switch (reg) {
	case NPU_QREG_RING_LO:
	case NPU_QREG_RING_HI:
	case NPU_QREG_RING_SIZE:
		/* A new ring: only while disabled, and it starts empty. */
		if (q->ctrl & NPU_QCTL_ENABLE) {
			sim_dbg(hw, "queue %u: ring register 0x%x written while enabled", qi, reg);
			return;
		}
		if (reg == NPU_QREG_RING_LO)
			set_lo(&q->ring, v);
		else if (reg == NPU_QREG_RING_HI)
			set_hi(&q->ring, v);
		else
			q->ring_size = v;
		q->head = q->tail = 0;
		q->skipping = q->waiting = false;
		return;
	case NPU_QREG_TAIL:
		q->tail = v;
		sim_cp_wake_one(&hw->eng[q->engine]); /* the doorbell */
		return;
	case NPU_QREG_PRIORITY:
		q->priority = v & 3;
		return;
	case NPU_QREG_ENGINE:
		if ((q->ctrl & NPU_QCTL_ENABLE) || v >= hw->num_engines) {
			sim_dbg(hw, "queue %u: ENGINE = %u ignored", qi, v);
			return;
		}
		q->engine = v;
		return;
	case NPU_QREG_PT_LO:     set_lo(&q->pt, v); return;
	case NPU_QREG_PT_HI:     set_hi(&q->pt, v); return;
	case NPU_QREG_STATUS_LO: set_lo(&q->status, v); return;
	case NPU_QREG_STATUS_HI: set_hi(&q->status, v); return;
	case NPU_QREG_CONTROL:
		if (!(v & NPU_QCTL_ENABLE)) {
			/* Disable: stop fetching, drop the packet in flight, forget a fault. */
			q->ctrl = 0;
			cp_cancel_wait(hw, (int)qi);
			q->faulted = q->stuck = q->skipping = q->waiting = false;
			q->job_times = q->job_open = false;
			q->job_cycles = q->job_launches = 0;
			memset(q->job_core, 0, sizeof(q->job_core));
			return;
		}
		if (v & NPU_QCTL_JOB_TIMES)
			q->job_times = true;
		if ((v & NPU_QCTL_KILL) && (q->ctrl & NPU_QCTL_ENABLE)) {
			struct sim_engine *e = &hw->eng[q->engine];

			if (e->q == (int)qi && !e->dropped) {
				e->killed = true;
				engine_stop(hw, e, true);
			}
		}
		q->ctrl = NPU_QCTL_ENABLE;
		if ((v & NPU_QCTL_RESUME) && q->faulted) {
			q->faulted = false;
			if (q->stuck) {
				/* No packet boundary to resume from: drop what is queued. */
				q->head = q->tail;
				q->stuck = false;
				q->skipping = false;
			} else {
				q->skipping = true;
			}
		}
		sim_cp_wake_one(&hw->eng[q->engine]);
		return;
	default:
		sim_dbg(hw, "write of read-only or unknown queue register 0x%x", reg);
		return;
	}
}

static uint32_t sim_rd32(struct npu_hw *hw, uint32_t off)
{
	uint32_t v;

	if (off & 3) {
		sim_dbg(hw, "unaligned register read 0x%x", off);
		return 0;
	}
	switch (off) {
	case NPU_REG_ID:          return NPU_HW_ID_MAGIC;
	case NPU_REG_FW_VERSION:  return SIM_FW_VERSION;
	case NPU_REG_IF_VERSION:  return NPU_HW_IF_VERSION;
	case NPU_REG_ISA_VERSION: return NPU_ISA_VERSION;
	case NPU_REG_NUM_CORES:   return hw->cfg.cores;
	case NPU_REG_SRAM_SIZE:   return (uint32_t)hw->cfg.sram;
	case NPU_REG_MEM_SIZE_LO: return (uint32_t)hw->mem_size;
	case NPU_REG_MEM_SIZE_HI: return (uint32_t)(hw->mem_size >> 32);
	case NPU_REG_CLOCK_KHZ:   return hw->cfg.clock_khz;
	case NPU_REG_NUM_QUEUES:  return hw->cfg.queues;
	case NPU_REG_PAGE_SIZE:   return (uint32_t)NPU_PAGE_SIZE;
	case NPU_REG_ENGINES:     return hw->num_engines > 1 ? 3u : 1u;
	default:
		break;
	}

	pthread_mutex_lock(&hw->lock);
	switch (off) {
	case NPU_REG_STATUS:     v = hw->status; break;
	case NPU_REG_IRQ_STATUS: v = hw->irq_status; break;
	case NPU_REG_IRQ_MASK:   v = hw->irq_mask; break;
	case NPU_REG_ENGINE_QUEUE(0):
	case NPU_REG_ENGINE_QUEUE(1): {
		uint32_t e = (off - NPU_REG_ENGINE_QUEUE(0)) / 4;

		v = e < hw->num_engines && hw->eng[e].q >= 0 ? (uint32_t)hw->eng[e].q
							       : NPU_ENGINE_IDLE;
		break;
	}
	case NPU_REG_ENGINE_PROGRESS(0):
	case NPU_REG_ENGINE_PROGRESS(1): {
		uint32_t e = (off - NPU_REG_ENGINE_PROGRESS(0)) / 4;

		v = 0;
		if (e < hw->num_engines) {
			v = __atomic_load_n(&hw->eng[e].progress, __ATOMIC_RELAXED);
			/* Program instances handed out count too. */
			if (e == NPU_ENGINE_COMPUTE && hw->cur_launch)
				v += (uint32_t)__atomic_load_n(&hw->cur_launch->next,
							       __ATOMIC_RELAXED);
		}
		break;
	}
	case NPU_REG_TIMESTAMP_LO: {
		uint64_t now = sim_now_ns();

		hw->ts_hi = (uint32_t)(now >> 32);
		v = (uint32_t)now;
		break;
	}
	case NPU_REG_TIMESTAMP_HI: v = hw->ts_hi; break;
	default:
		if (off >= NPU_REG_QUEUE(0) && off < NPU_REG_QUEUE(hw->cfg.queues)) {
			uint32_t rel = off - NPU_REG_QUEUE(0);

			v = queue_rd(hw, rel / 0x40u, rel % 0x40u);
		} else {
			sim_dbg(hw, "read of unknown register 0x%x", off);
			v = 0;
		}
		break;
	}
	pthread_mutex_unlock(&hw->lock);
	return v;
}

static void sim_wr32(struct npu_hw *hw, uint32_t off, uint32_t v)
{
	uint32_t qmask = hw->cfg.queues == 32 ? ~0u : (1u << hw->cfg.queues) - 1;

	if (off & 3) {
		sim_dbg(hw, "unaligned register write 0x%x", off);
		return;
	}
	pthread_mutex_lock(&hw->lock);
	switch (off) {
	case NPU_REG_CONTROL:
		if (v & NPU_CONTROL_RESET)
			device_reset(hw);
		if ((v & NPU_CONTROL_BOOT) && !(hw->status & (NPU_STATUS_READY | NPU_STATUS_FAILED))) {
			hw->status = NPU_STATUS_READY;
			sim_cp_wake(hw);
		}
		if (v & ~(NPU_CONTROL_BOOT | NPU_CONTROL_RESET))
			sim_dbg(hw, "unknown CONTROL bits 0x%x", v);
		break;
	case NPU_REG_IRQ_MASK:
		hw->irq_mask = v & qmask;
		irq_kick(hw);
		break;
	case NPU_REG_IRQ_ACK:
		hw->irq_status &= ~v;
		break;
	case NPU_REG_FENCE_NOTIFY:
		sim_fence_notify(hw);
		break;
	case NPU_REG_INJECT:
		inject(hw, v);
		break;
	default:
		if (off >= NPU_REG_QUEUE(0) && off < NPU_REG_QUEUE(hw->cfg.queues)) {
			uint32_t rel = off - NPU_REG_QUEUE(0);

			queue_wr(hw, rel / 0x40u, rel % 0x40u, v);
		} else {
			sim_dbg(hw, "write of read-only or unknown register 0x%x = 0x%x", off, v);
		}
		break;
	}
	pthread_mutex_unlock(&hw->lock);
}

/* ---- device memory ---------------------------------------------------------------------- */
static void *sim_aperture(struct npu_hw *hw, uint64_t *size)
{
	if (size)
		*size = hw->mem_size;
	return hw->mem;
}

static void sim_discard(struct npu_hw *hw, uint64_t phys, uint64_t size)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t end, first, last;

	if (phys >= hw->mem_size)
		return;
	if (size > hw->mem_size - phys)
		size = hw->mem_size - phys;
	end = phys + size;
	first = (phys + page - 1) & ~(page - 1);
	last = end & ~(page - 1);
	if (first >= last) {
		memset(hw->mem + phys, 0, size);
		return;
	}
	memset(hw->mem + phys, 0, first - phys);
	/* Private anonymous memory reads as zeros again once dropped. */
	if (madvise(hw->mem + first, last - first, MADV_DONTNEED))
		memset(hw->mem + first, 0, last - first);
	memset(hw->mem + last, 0, end - last);
}

/* ---- power on / off ------------------------------------------------------------------------ */
#define SIM_HUGE_PAGE (2ull << 20)

/* Device memory is lazily backed: it costs nothing until touched, however large. It asks
 * for transparent huge pages (in "madvise" mode, the common default, memory gets them only
 * on request): big host <-> device copies ran at 0.7x memcpy into 4 KiB pages, since the
 * host buffers numpy and malloc hand out are huge-page backed. Memory is then populated 2
 * MiB at a time, still only where touched. The mapping starts on a 2 MiB boundary so that
 * device physical 2 MiB blocks are huge pages. */
static uint8_t *device_mem_map(uint64_t size)
{
	uint8_t *p = mmap(NULL, size + SIM_HUGE_PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t head;

	if (p == MAP_FAILED)
		return NULL;
	head = (SIM_HUGE_PAGE - (uintptr_t)p % SIM_HUGE_PAGE) % SIM_HUGE_PAGE;
	if (head)
		munmap(p, head);
	munmap(p + head + size, SIM_HUGE_PAGE - head);
	p += head;
#ifdef MADV_HUGEPAGE
	/* Only a hint: without THP the memory simply keeps 4 KiB pages. */
	(void)madvise(p, size, MADV_HUGEPAGE);
#endif
	return p;
}

static void sim_destroy(struct npu_hw *hw);

static int init_sync(struct npu_hw *hw)
{
	pthread_mutexattr_t attr;
	int ret;

	/* The device lock is held briefly but taken by every doorbell, register read, engine
	 * and ISR: a contender spins a little before it sleeps, since waking a sleeping thread
	 * costs far more (tens of us on a VM) than the wait. */
	if (pthread_mutexattr_init(&attr))
		return -ENOMEM;
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	ret = pthread_mutex_init(&hw->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (ret || pthread_mutex_init(&hw->core_lock, NULL) ||
	    pthread_mutex_init(&hw->iommu.lock, NULL))
		return -ENOMEM;
	for (uint32_t i = 0; i < NPU_NUM_ENGINES; i++)
		if (pthread_cond_init(&hw->eng[i].cond, NULL))
			return -ENOMEM;
	if (pthread_cond_init(&hw->cp_idle_cond, NULL) ||
	    pthread_cond_init(&hw->irq_cond, NULL) || pthread_cond_init(&hw->isr_idle_cond, NULL) ||
	    pthread_cond_init(&hw->core_cond, NULL) || pthread_cond_init(&hw->done_cond, NULL))
		return -ENOMEM;
	return 0;
}

static int sim_create(const char *config, struct npu_hw **out)
{
	struct sim_config cfg;
	struct npu_hw *hw;
	const char *dbg;
	void *mem;
	int ret;

	if (!out)
		return -EINVAL;
	sim_config_defaults(&cfg);
	if (sim_config_apply(&cfg, getenv("NPU_SIM_CONFIG")) || sim_config_apply(&cfg, config))
		return -EINVAL;

	hw = calloc(1, sizeof(*hw));
	if (!hw)
		return -ENOMEM;
	hw->cfg = cfg;
	hw->num_engines = cfg.copy_engine ? 2 : 1;
	for (uint32_t i = 0; i < NPU_NUM_ENGINES; i++) {
		hw->eng[i].hw = hw;
		hw->eng[i].id = i;
		hw->eng[i].q = -1;
		hw->eng[i].cancel = i == NPU_ENGINE_COMPUTE ? &hw->cp_cancel : &hw->eng[i].own_cancel;
	}
	dbg = getenv("NPU_SIM_DEBUG");
	hw->debug = dbg && *dbg && strcmp(dbg, "0") != 0;
	ret = init_sync(hw);
	if (ret)
		goto err_free;

	mem = device_mem_map(cfg.mem);
	if (!mem) {
		ret = -ENOMEM;
		goto err_free;
	}
	hw->mem = mem;
	hw->mem_size = cfg.mem;

	hw->queues = calloc(cfg.queues, sizeof(*hw->queues));
	hw->cores = calloc(cfg.cores, sizeof(*hw->cores));
	if (!hw->queues || !hw->cores) {
		ret = -ENOMEM;
		goto err_free;
	}
	for (uint32_t i = 0; i < cfg.cores; i++) {
		struct sim_core *c = &hw->cores[i];

		c->hw = hw;
		c->id = i;
		if (posix_memalign((void **)&c->sram, 64, cfg.sram)) {
			c->sram = NULL;
			ret = -ENOMEM;
			goto err_free;
		}
		c->mmu.iommu = &hw->iommu;
		c->mmu.progress = &hw->eng[NPU_ENGINE_COMPUTE].progress;
		sim_mmu_init(&c->mmu, hw->mem, hw->mem_size, 0);
	}

	if (sim_cores_start(hw)) {
		ret = -EAGAIN;
		goto err_free;
	}
	for (uint32_t i = 0; i < hw->num_engines; i++) {
		if (pthread_create(&hw->eng[i].thread, NULL, sim_cp_main, &hw->eng[i])) {
			ret = -EAGAIN;
			goto err_free;
		}
		hw->eng[i].started = true;
	}
	if (pthread_create(&hw->irq_thread, NULL, irq_main, hw)) {
		ret = -EAGAIN;
		goto err_free;
	}
	hw->irq_started = true;
	*out = hw;
	return 0;

err_free:
	sim_destroy(hw); /* copes with a partly built device */
	return ret;
}

static void sim_destroy(struct npu_hw *hw)
{
	if (!hw)
		return;
	if (hw->eng[0].started || hw->irq_started) {
		pthread_mutex_lock(&hw->lock);
		hw->stop = true;
		hw->status = 0;
		for (uint32_t i = 0; i < hw->num_engines; i++) {
			hw->eng[i].dropped = true;
			engine_stop(hw, &hw->eng[i], false);
		}
		sim_cp_wake(hw);
		pthread_cond_broadcast(&hw->irq_cond);
		pthread_mutex_unlock(&hw->lock);
	}
	/* The compute engine may be waiting for the cores: join it before them. */
	for (uint32_t i = 0; i < NPU_NUM_ENGINES; i++)
		if (hw->eng[i].started)
			pthread_join(hw->eng[i].thread, NULL);
	if (hw->cores)
		sim_cores_stop(hw);
	if (hw->irq_started)
		pthread_join(hw->irq_thread, NULL);
	if (hw->cores)
		for (uint32_t i = 0; i < hw->cfg.cores; i++)
			free(hw->cores[i].sram);
	free(hw->cores);
	free(hw->queues);
	if (hw->mem)
		munmap(hw->mem, hw->mem_size);
	pthread_cond_destroy(&hw->done_cond);
	pthread_cond_destroy(&hw->core_cond);
	pthread_cond_destroy(&hw->isr_idle_cond);
	pthread_cond_destroy(&hw->irq_cond);
	pthread_cond_destroy(&hw->cp_idle_cond);
	for (uint32_t i = 0; i < NPU_NUM_ENGINES; i++)
		pthread_cond_destroy(&hw->eng[i].cond);
	pthread_mutex_destroy(&hw->iommu.lock);
	pthread_mutex_destroy(&hw->core_lock);
	pthread_mutex_destroy(&hw->lock);
	free(hw);
}

const struct npu_hw_ops npu_sim_hw_ops = {
	.name = "npu-sim",
	.create = sim_create,
	.destroy = sim_destroy,
	.rd32 = sim_rd32,
	.wr32 = sim_wr32,
	.aperture = sim_aperture,
	.discard = sim_discard,
	.set_isr = sim_set_isr,
	.dma_map = sim_iommu_map,
	.dma_unmap = sim_iommu_unmap,
};
