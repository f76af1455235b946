/* SPDX-License-Identifier: MIT */
/*
 * sim_internal.h - firmware-sim's private state: the device, its queues, MMU contexts,
 * cores and launches. Nothing outside firmware-sim/ includes this; the rest of the stack
 * sees only npu_hw.h.
 */
#ifndef SIM_INTERNAL_H
#define SIM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "npu_hw.h"
#include "npu_isa.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "firmware-sim assumes a little-endian host (device memory is little-endian)"
#endif

#define SIM_LIKELY(x)   __builtin_expect(!!(x), 1)
#define SIM_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define SIM_FW_VERSION      ((0u << 16) | 1u) /* firmware 0.1 */
#define SIM_MAX_CORES       256
#define SIM_CHECK_INTERVAL  4096u       /* instructions between abort / watchdog checks */
#define SIM_MAX_CODE_WORDS  (1u << 24)  /* a launch's code is at most 128 MiB */
#define SIM_TLB_SIZE        16          /* direct-mapped, per core; flushed at each launch */
#define SIM_VA_LIMIT        (1ull << NPU_VA_BITS)
#define SIM_NUM_DMA_TAGS    16
#define SIM_NUM_SEMS        16          /* semaphores per launch (sem.signal / sem.wait) */

/* ---- configuration (sim_config.c) ---------------------------------------------------- */
struct sim_config {
	uint32_t cores;
	uint32_t queues;
	uint32_t clock_khz;
	uint64_t sram;      /* bytes per core */
	uint64_t mem;       /* bytes of device memory */
	bool copy_engine;   /* a second command processor for copy queues */
	uint32_t cp_poll_us; /* an engine polls its rings this long after a packet before it
	                      * sleeps; 0 = never polls */
};

void sim_config_defaults(struct sim_config *cfg);
/* Applies "key=value,..." on top of cfg. Returns 0 or -EINVAL (cfg may be partly updated). */
int sim_config_apply(struct sim_config *cfg, const char *str);

/* ---- overflow-proof range checks ----------------------------------------------------- */
/* [addr, addr + len) lies inside [0, limit). */
static inline bool sim_range_ok(uint64_t addr, uint64_t len, uint64_t limit)
{
	return addr <= limit && len <= limit - addr;
}

/* ---- MMU (sim_mmu.c) ----------------------------------------------------------------- */
struct sim_tlbe {
	uint64_t tag;       /* virtual page number + 1; 0 = empty */
	uintptr_t host;     /* host address of byte 0 of the page (only [lo, hi) is valid) */
	uint32_t lo, hi;    /* valid bytes of the page: all of it, except host-memory pages at
	                     * the edges of a dma_map'ed range */
	bool writable;
};

/* The IOMMU (sim_mmu.c): host memory the device reaches through NPU_PTE_SYSTEM PTEs. Slot i
 * owns the bus addresses [(i + 1) << 36, (i + 2) << 36); a mapping of `size` bytes at host
 * address `host` sits at bus address ((i + 1) << 36) + host % 64 KiB. */
#define SIM_IOMMU_SLOTS     4094
#define SIM_IOMMU_SHIFT     36
struct sim_iommu_slot {
	int used;           /* atomic: published after host/size */
	uintptr_t host;
	uint64_t size;
};
struct sim_iommu {
	pthread_mutex_t lock;   /* map/unmap */
	uint32_t next;          /* slot search starts here */
	struct sim_iommu_slot slots[SIM_IOMMU_SLOTS];
};

struct sim_mmu {
	uint8_t *mem;
	uint64_t mem_size;
	uint64_t root;      /* physical address of the level-1 table */
	/* Set once by the owner and kept by sim_mmu_init(): */
	struct sim_iommu *iommu;    /* NULL: NPU_PTE_SYSTEM pages fault */
	uint32_t *progress;         /* atomic: bumped per sim_mmu_copy() (a DMA transfer) */
	struct sim_tlbe tlb[SIM_TLB_SIZE];
};

/* Sets mem, mem_size, root and empties the TLB; keeps iommu and progress. */
void sim_mmu_init(struct sim_mmu *m, uint8_t *mem, uint64_t mem_size, uint64_t root);
/* Page walk; fills the TLB entry of va. Returns it, or NULL (page fault). */
struct sim_tlbe *sim_mmu_walk(struct sim_mmu *m, uint64_t va, bool write);

/* Host address of the byte at va and, in *avail, how many bytes from there are valid in its
 * page (>= 1); NULL for a page fault. */
static inline uint8_t *sim_mmu_span(struct sim_mmu *m, uint64_t va, bool write, uint64_t *avail)
{
	uint64_t vpn = va >> NPU_PAGE_SHIFT;
	uint32_t off = (uint32_t)(va & (NPU_PAGE_SIZE - 1));
	struct sim_tlbe *e = &m->tlb[vpn & (SIM_TLB_SIZE - 1)];

	if (SIM_UNLIKELY(e->tag != vpn + 1 || (write && !e->writable))) {
		e = sim_mmu_walk(m, va, write);
		if (!e)
			return NULL;
	}
	if (SIM_UNLIKELY(off < e->lo || off >= e->hi))
		return NULL;
	*avail = e->hi - off;
	return (uint8_t *)(e->host + off);
}

int sim_iommu_map(struct npu_hw *hw, void *host, uint64_t size, uint64_t *iova);
void sim_iommu_unmap(struct npu_hw *hw, uint64_t iova);

/* Checks that every page of [va, va + len) is mapped (and writable for write); on failure
 * stores the first faulting VA. `cancel` (may be NULL) is polled once per page. */
int sim_mmu_check(struct sim_mmu *m, uint64_t va, uint64_t len, bool write, uint64_t *fault_va,
		  const int *cancel);
/* Copies between a host buffer and device VAs, page by page; the range must have been
 * checked. to_dev: buf -> device, else device -> buf. Counts no progress event (inline for
 * the rows of a 2-D DMA, often a few hundred bytes). */
static inline void sim_mmu_copy_pages(struct sim_mmu *m, uint64_t va, uint8_t *buf,
				      uint64_t len, bool to_dev)
{
	uint64_t off = 0, avail;

	while (off < len) {
		uint8_t *p = sim_mmu_span(m, va + off, to_dev, &avail);

		if (!p) /* checked before; only a concurrent page-table edit gets here */
			break;
		if (avail > len - off)
			avail = len - off;
		if (to_dev)
			memcpy(p, buf + off, avail);
		else
			memcpy(buf + off, p, avail);
		off += avail;
	}
}
/* sim_mmu_copy_pages(), counting one progress event (a DMA transfer). */
void sim_mmu_copy(struct sim_mmu *m, uint64_t va, void *buf, uint64_t len, bool to_dev);

/* ---- faults ---------------------------------------------------------------------------- */
struct sim_fault {
	uint32_t code;      /* NPU_TRAP_* */
	uint32_t core;      /* NPU_FAULT_CORE_NONE for the command processor */
	uint32_t flags;     /* NPU_FAULT_* */
	uint64_t pc;
	uint64_t addr;
	uint64_t insn;
};

/* ---- launches and cores (sim_core.c, sim_exec.c) ------------------------------------- */
/* One pre-decoded instruction (rv32emu style): everything a body needs, no bit fiddling.
 * The code of a launch is cut into basic blocks: a block ends at a branch-class instruction
 * (its imm is a pc-relative target, 0 for a register jump) or at halt. The interpreter
 * accounts for a whole block (instruction budget, cycles) when it enters it, so each entry
 * knows the rest of its block; a block may be entered in the middle (a branch target). */
struct sim_dinsn {
	const void *op;     /* handler: a label of the threaded interpreter (sim_exec_link) */
	uint8_t id;         /* enum npu_insn, or SIM_OP_PC_OOB */
	uint8_t rd;         /* destination index; writes to r0 go to the sink register r[32] */
	uint8_t rdr;        /* rd as a source (lih, loop, and rd-as-address in vector/DMA) */
	uint8_t rs1, rs2, rs3;
	uint8_t timing;     /* enum npu_timing */
	uint8_t pad;
	uint64_t blk;       /* the rest of its block from here, this one included: instructions
	                     * and their base cycles (SIM_BLK), read together once per block */
	int64_t imm;        /* sign-extended imm; sreg id or arg index (unsigned); a branch's
	                     * target relative to it, validated (a bad one leads to a
	                     * SIM_OP_PC_OOB entry past the code); SIM_OP_PC_OOB: the
	                     * instruction that leads there */
};
_Static_assert(sizeof(struct sim_dinsn) == 32, "keep the decoded instruction small");
#define SIM_BLK(insns, cycles)  ((uint64_t)(insns) | (uint64_t)(cycles) << 32)
#define SIM_BLK_INSNS(blk)      ((uint32_t)(blk))
#define SIM_BLK_CYCLES(blk)     ((uint32_t)((blk) >> 32))

/* A pseudo instruction after the code: running off the end, or taking a branch whose target
 * is outside the code, lands on one and traps PC_OOB; nothing checks pc per instruction. */
#define SIM_OP_PC_OOB   NPU_INSN_COUNT
_Static_assert(NPU_INSN_COUNT < 255, "instruction ids fit struct sim_dinsn's id");

/* Barrier and semaphore state of one launch (sim_exec.c). Used only when every program
 * instance can run at once (total <= cores); lock guards everything below it. */
struct sim_sync {
	pthread_mutex_t lock;
	pthread_cond_t cond;            /* CLOCK_MONOTONIC, waited on in slices */
	uint64_t finished;              /* instances that halted */
	uint64_t at_barrier;            /* instances waiting at the current barrier */
	uint64_t barrier_gen;
	uint64_t sem_waiters;           /* instances waiting in sem.wait, in all */
	bool deadlock;
	uint64_t sem[SIM_NUM_SEMS];
	uint64_t sem_wait_n[SIM_NUM_SEMS]; /* ... and per semaphore */
};

struct sim_launch {
	/* read-only while cores run */
	const struct sim_dinsn *code;   /* code_words entries, then the SIM_OP_PC_OOB ones */
	const uint64_t *raw;            /* the instruction words, for fault reports */
	uint32_t code_words;
	uint32_t entry;
	uint32_t grid[3];
	uint64_t total;                 /* gx * gy * gz, <= UINT32_MAX */
	uint32_t sram_bytes;
	uint32_t nargs;
	uint64_t const_va;
	uint64_t max_insns;             /* per program instance, 0 = none */
	uint64_t deadline_ns;           /* CLOCK_MONOTONIC, 0 = none */
	uint64_t pt_root;
	uint64_t args[NPU_HW_MAX_ARGS];
	/* shared, atomics */
	uint64_t next;                  /* next program id to hand out */
	int abort;                      /* set on the first trap, on reset/disable/destroy */
	int trapped;                    /* 0 -> 1 by the trap that wins */
	int kill;                       /* atomic, set before abort by NPU_QCTL_KILL: the core that
	                                 * sees it reports NPU_TRAP_WATCHDOG where it is */
	struct sim_fault fault;         /* written by the winner only */
	uint64_t *core_cycles;          /* atomic: per timing-model core (pid % cores) */
	bool sync_ok;                   /* total <= cores: barrier and sem.wait allowed */
	struct sim_sync sync;
};

struct sim_core {
	struct npu_hw *hw;
	uint32_t id;
	pthread_t thread;
	bool started;
	pthread_cond_t wake;            /* with hw->core_lock: a launch for this core, or stop */
	bool wake_ok;                   /* wake is initialised */
	uint8_t *sram;
	struct sim_mmu mmu;
	uint64_t cycles;                /* sum over this core's instances of the current launch */
	uint64_t seen_gen;
};

/* Sets the handler (op) of code[0 .. count) from its id; every launch before its cores run. */
void sim_exec_link(struct sim_dinsn *code, uint64_t count);
/* Runs one program instance on core c. Returns 0 (halted), or 1 when it trapped or was
 * aborted (the trap, if it won, is in l->fault). */
int sim_exec_instance(struct sim_core *c, struct sim_launch *l, uint64_t pid);
/* Records a trap for the launch; the first caller wins and sets abort. */
void sim_launch_trap(struct sim_launch *l, const struct sim_fault *f);
/* Frees the calling thread's scratch buffers (matrix unit); call when a core's run ends. */
void sim_exec_thread_done(void);
uint64_t sim_now_ns(void);

/* Runs a LAUNCH packet to completion. Returns 0 (done, *cycles set: the maximum over cores,
 * and core_cycles[0 .. ncore_out) the first cores' cycles), 1 (fault in *f) or -ECANCELED
 * (reset / disable / destroy; nothing to report). */
int sim_launch_run(struct npu_hw *hw, const struct npu_hw_pkt_launch *p, uint64_t pt_root,
		   struct sim_fault *f, uint64_t *cycles, uint64_t *core_cycles,
		   uint32_t ncore_out);
int sim_cores_start(struct npu_hw *hw);
void sim_cores_stop(struct npu_hw *hw);

/* ---- the device (sim_device.c) and its command processor (sim_cp.c) ----------------- */
struct sim_queue {
	uint64_t ring;
	uint64_t pt;
	uint64_t status;
	uint32_t ring_size;
	uint32_t head;
	uint32_t tail;
	uint32_t ctrl;          /* NPU_QCTL_ENABLE */
	uint32_t priority;      /* 0..3 */
	uint32_t engine;        /* NPU_ENGINE_* */
	bool faulted;           /* waiting for NPU_QCTL_RESUME */
	bool stuck;             /* the fault left no packet boundary to resume from */
	bool skipping;          /* after RESUME: skip packets up to the next FENCE */
	bool waiting;           /* at a WAIT whose fence is not reached; cleared by fence events */
	/* Simulated time of the job in progress (NPU_QCTL_JOB_TIMES). */
	bool job_times;         /* NPU_QCTL_JOB_TIMES was set with ENABLE */
	bool job_open;          /* a packet of the job is done: job_start is set */
	uint32_t job_launches;
	uint64_t job_start;
	uint64_t job_cycles;
	uint64_t job_core[NPU_HW_JOB_CORES];
};

/* A command processor: the compute engine runs every packet, the copy engine all but LAUNCH. */
struct sim_engine {
	struct npu_hw *hw;
	uint32_t id;            /* NPU_ENGINE_* */
	pthread_t thread;
	bool started;
	int q;                  /* queue whose packet it runs, or -1 */
	int *cancel;            /* atomic, polled while a packet runs: &hw->cp_cancel for compute */
	int own_cancel;
	bool dropped;           /* reset / disable / destroy: forget the packet in flight */
	bool killed;            /* NPU_QCTL_KILL: the packet in flight ends as a fault */
	uint32_t rr_next;
	uint32_t progress;      /* atomic: NPU_REG_ENGINE_PROGRESS */
	uint64_t poll_until;    /* sim_now_ns() until which it polls instead of sleeping */
	pthread_cond_t cond;    /* doorbell, enable, resume, boot, fence event, stop: sim_cp_wake */
	uint32_t wake_gen;      /* atomic: bumped with every signal of cond, so that a polling
	                         * engine sees it without the lock */
};

struct npu_hw {
	struct sim_config cfg;
	bool debug;
	uint8_t *mem;
	uint64_t mem_size;

	/* lock protects registers, queues, IRQ state and the command processor's hand-off. */
	pthread_mutex_t lock;
	pthread_cond_t cp_idle_cond;    /* cp_q went back to -1 */
	pthread_cond_t irq_cond;        /* irq_gen changed or stop */
	pthread_cond_t isr_idle_cond;   /* an ISR call returned */
	bool stop;
	uint32_t status;                /* NPU_STATUS_* */
	uint32_t irq_status;
	uint32_t irq_mask;
	uint64_t irq_gen;               /* bumped when bits are raised, the mask or the ISR change */
	uint64_t irq_seen;              /* irq_gen when the ISR was last called */
	npu_hw_isr_fn isr;
	void *isr_arg;
	bool in_isr;                    /* a thread runs the ISR: it calls it again while irq_gen
	                                 * moves, so no other thread does meanwhile */
	pthread_t isr_thread;           /* that thread, while in_isr */
	struct sim_queue *queues;
	struct sim_engine eng[NPU_NUM_ENGINES];
	uint32_t num_engines;
	int cp_cancel;                  /* atomic: stop the compute engine's packet in flight */
	struct sim_launch *cur_launch;  /* launch in flight, for aborts */
	uint64_t fence_gen;             /* bumped by every fence event (SIGNAL, FENCE_NOTIFY) */
	uint32_t ts_hi;                 /* TIMESTAMP_HI latched by a read of TIMESTAMP_LO */
	uint64_t clock;                 /* device cycle clock (npu_hw.h "Simulated time") */
	/* fault injection (NPU_REG_INJECT) */
	uint32_t inj_lost_irq;
	uint32_t inj_reset_fail;
	uint32_t inj_alloc_fail;        /* atomic */
	bool inj_cp_stall;

	pthread_t irq_thread;
	bool irq_started;
	struct sim_iommu iommu;

	/* Cores: core_lock hands a launch to the cores it needs (each woken on its own
	 * sim_core.wake; core_cond is unused) and collects them. */
	pthread_mutex_t core_lock;
	pthread_cond_t core_cond;
	pthread_cond_t done_cond;
	struct sim_launch *launch;
	uint64_t launch_gen;
	uint32_t cores_running;
	uint32_t launch_cores;          /* cores 0 .. launch_cores - 1 run it: min(cores, grid) */
	bool core_stop;
	struct sim_core *cores;
};

void *sim_cp_main(void *arg);      /* arg: struct sim_engine * */
/* Wakes engine e (a doorbell, enable or resume of one of its queues). Lock held. */
static inline void sim_cp_wake_one(struct sim_engine *e)
{
	__atomic_fetch_add(&e->wake_gen, 1, __ATOMIC_RELEASE);
	pthread_cond_signal(&e->cond);
}
/* Wakes every engine (boot, fence event, stop). Lock held. */
static inline void sim_cp_wake(struct npu_hw *hw)
{
	for (uint32_t i = 0; i < hw->num_engines; i++)
		sim_cp_wake_one(&hw->eng[i]);
}
/* Calls the ISR while an interrupt is deliverable and no other thread is in it. Called with
 * the lock held and no packet in flight on the calling engine; drops the lock around the
 * call. (sim_device.c) */
void sim_irq_deliver(struct npu_hw *hw);
/* Fault injection: true when the device's next internal allocation must fail. */
bool sim_alloc_fail(struct npu_hw *hw);
/* A fence in device memory may have changed: queues at a WAIT look again. Lock held. */
void sim_fence_notify(struct npu_hw *hw);

#define sim_dbg(hw, ...) \
	do { \
		if ((hw)->debug) \
			sim_log("npu-sim: " __VA_ARGS__); \
	} while (0)
void sim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* SIM_INTERNAL_H */
