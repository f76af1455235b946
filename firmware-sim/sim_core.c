/* SPDX-License-Identifier: MIT */
/*
 * sim_core.c - launches: validation, fetching and pre-decoding the code once, handing the
 * program instances of the grid to the NPU core threads and collecting them.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "sim_internal.h"

/* Turns a word into its pre-decoded form. Operand checks that depend only on the word
 * (unknown special register, csrw of a read-only one, DMA tag outside 0..15) make it
 * illegal here, so the bodies never test them; the trap still happens only if the word is
 * executed. */
static void decode(uint64_t w, struct sim_dinsn *d)
{
	enum npu_insn id = npu_isa_decode(w);
	uint32_t rd = NPU_FIELD_RD(w);

	d->imm = NPU_FIELD_IMM(w);
	switch (id) {
	case NPU_INSN_CSRR:
		d->imm = (int64_t)NPU_FIELD_SREG(w);
		if (!npu_sreg_name(NPU_FIELD_SREG(w)))
			id = NPU_INSN_ILLEGAL;
		break;
	case NPU_INSN_CSRW:
		d->imm = (int64_t)NPU_FIELD_SREG(w);
		if (!npu_sreg_writable(NPU_FIELD_SREG(w)))
			id = NPU_INSN_ILLEGAL;
		break;
	case NPU_INSN_LDARG:
		d->imm = (int64_t)NPU_FIELD_ARG(w);
		break;
	case NPU_INSN_DMA_LD:
	case NPU_INSN_DMA_ST:
	case NPU_INSN_DMA_WAIT:
	case NPU_INSN_DMA_LD2:
	case NPU_INSN_DMA_ST2:
		if (d->imm < 0 || d->imm >= SIM_NUM_DMA_TAGS)
			id = NPU_INSN_ILLEGAL;
		break;
	default:
		break;
	}
	d->id = (uint8_t)id;
	d->rd = (uint8_t)(rd ? rd : NPU_ISA_NUM_REGS);
	d->rdr = (uint8_t)rd;
	d->rs1 = (uint8_t)NPU_FIELD_RS1(w);
	d->rs2 = (uint8_t)NPU_FIELD_RS2(w);
	d->rs3 = (uint8_t)NPU_FIELD_RS3(w);
	d->timing = npu_insn_timing[id];
	d->pad = 0;
	d->op = NULL;
	d->blk = 0;
}

static bool is_branch(const struct sim_dinsn *d)
{
	return d->timing == NPU_TIMING_BRANCH;
}

/* The instruction at `from` leads outside the code (the interpreter works out where). */
static void pc_oob_entry(struct sim_dinsn *e, uint32_t from)
{
	memset(e, 0, sizeof(*e));
	e->id = SIM_OP_PC_OOB;
	e->imm = from;
}

/* How many branches of code[0 .. n) have a target outside the code. */
static uint64_t count_bad_targets(const struct sim_dinsn *code, uint32_t n)
{
	uint64_t bad = 0;

	for (uint32_t i = 0; i < n; i++)
		bad += is_branch(&code[i]) && (uint64_t)i + (uint64_t)code[i].imm >= n;
	return bad;
}

/* Cuts code[0 .. n) into basic blocks and points every branch whose target is outside the
 * code at a PC_OOB entry of its own past the end (code[n] catches running off the end), so
 * that pc never needs a check. Branch-class instructions all carry a pc-relative target in
 * imm (a register jump has none, imm = 0, its own pc: valid); halt ends a block too. Returns
 * 0, or -EOVERFLOW when a block's base cycles do not fit 32 bits (not with the spec's costs:
 * at most 2^24 instructions of at most 64 cycles). */
static int link_blocks(struct sim_dinsn *code, uint32_t n)
{
	uint64_t insns = 0, cycles = 0;     /* of the block that goes on after code[i] */
	uint64_t next_bad = (uint64_t)n + 1;

	pc_oob_entry(&code[n], n - 1);
	for (uint32_t i = n; i-- > 0;) {
		struct sim_dinsn *d = &code[i];

		if (is_branch(d) || d->id == NPU_INSN_HALT)
			insns = cycles = 0;
		insns++;
		cycles += npu_timing_costs[d->timing].base;
		if (cycles > UINT32_MAX)
			return -EOVERFLOW;
		d->blk = SIM_BLK(insns, cycles);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct sim_dinsn *d = &code[i];
		uint64_t t = (uint64_t)i + (uint64_t)d->imm;

		if (!is_branch(d) || t < n)
			continue;
		pc_oob_entry(&code[next_bad], i);
		d->imm = (int64_t)(next_bad - i);
		next_bad++;
	}
	sim_exec_link(code, next_bad);
	return 0;
}

/* Runs program instances of l on core c until the grid is exhausted or the launch aborts. */
static void core_run(struct sim_core *c, struct sim_launch *l)
{
	memset(c->mmu.tlb, 0, sizeof(c->mmu.tlb));
	c->mmu.root = l->pt_root;
	c->cycles = 0;
	for (;;) {
		uint64_t pid, before;

		if (__atomic_load_n(&l->abort, __ATOMIC_ACQUIRE))
			break;
		pid = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
		if (pid >= l->total)
			break;
		if (l->deadline_ns && sim_now_ns() >= l->deadline_ns) {
			struct sim_fault f = {
				.code = NPU_TRAP_WATCHDOG, .core = c->id,
				.flags = NPU_FAULT_INSN_VALID, .pc = l->entry,
				.insn = l->raw[l->entry],
			};
			sim_launch_trap(l, &f);
			break;
		}
		before = c->cycles;
		if (sim_exec_instance(c, l, pid))
			break;
		/* The timing model's schedule, not the host's: deterministic per-core cycles. */
		__atomic_fetch_add(&l->core_cycles[pid % c->hw->cfg.cores], c->cycles - before,
				   __ATOMIC_RELAXED);
	}
	sim_exec_thread_done();
}

static void *core_main(void *arg)
{
	struct sim_core *c = arg;
	struct npu_hw *hw = c->hw;

	pthread_mutex_lock(&hw->core_lock);
	for (;;) {
		struct sim_launch *l;

		/* A launch needs only min(cores, grid) cores: the others sleep through it. */
		while (!hw->core_stop && (hw->launch_gen == c->seen_gen || c->id >= hw->launch_cores))
			pthread_cond_wait(&c->wake, &hw->core_lock);
		if (hw->core_stop)
			break;
		c->seen_gen = hw->launch_gen;
		l = hw->launch;
		pthread_mutex_unlock(&hw->core_lock);

		core_run(c, l);

		pthread_mutex_lock(&hw->core_lock);
		if (--hw->cores_running == 0)
			pthread_cond_signal(&hw->done_cond);
	}
	pthread_mutex_unlock(&hw->core_lock);
	return NULL;
}

int sim_cores_start(struct npu_hw *hw)
{
	for (uint32_t i = 0; i < hw->cfg.cores; i++) {
		struct sim_core *c = &hw->cores[i];

		if (pthread_cond_init(&c->wake, NULL))
			return -EAGAIN;
		c->wake_ok = true;
		if (pthread_create(&c->thread, NULL, core_main, c))
			return -EAGAIN;
		c->started = true;
	}
	return 0;
}

/* Also undoes a partial sim_cores_start(). */
void sim_cores_stop(struct npu_hw *hw)
{
	pthread_mutex_lock(&hw->core_lock);
	hw->core_stop = true;
	for (uint32_t i = 0; i < hw->cfg.cores; i++)
		if (hw->cores[i].wake_ok)
			pthread_cond_broadcast(&hw->cores[i].wake);
	pthread_mutex_unlock(&hw->core_lock);
	for (uint32_t i = 0; i < hw->cfg.cores; i++) {
		struct sim_core *c = &hw->cores[i];

		if (c->started)
			pthread_join(c->thread, NULL);
		c->started = false;
		if (c->wake_ok)
			pthread_cond_destroy(&c->wake);
		c->wake_ok = false;
	}
}

static void bad_launch(struct sim_fault *f, uint64_t addr)
{
	memset(f, 0, sizeof(*f));
	f->code = NPU_TRAP_BAD_LAUNCH;
	f->core = NPU_FAULT_CORE_NONE;
	f->addr = addr;
}

static bool cancelled(struct npu_hw *hw)
{
	return __atomic_load_n(&hw->cp_cancel, __ATOMIC_ACQUIRE) != 0;
}

int sim_launch_run(struct npu_hw *hw, const struct npu_hw_pkt_launch *p, uint64_t pt_root,
		   struct sim_fault *f, uint64_t *cycles, uint64_t *core_cycles,
		   uint32_t ncore_out)
{
	struct sim_mmu *m = &hw->cores[0].mmu;
	struct sim_launch *l;
	uint64_t total, fault_va = 0, bytes, entries;
	uint64_t *raw = NULL;
	struct sim_dinsn *code = NULL, *tmp;
	int ret;

	/* One early return per invalid field; the address names the offending value. */
	if (!p->grid[0] || !p->grid[1] || !p->grid[2]) {
		bad_launch(f, 0);
		return 1;
	}
	total = (uint64_t)p->grid[0] * p->grid[1];
	if (total > UINT32_MAX || total * p->grid[2] > UINT32_MAX) {
		bad_launch(f, 0);
		return 1;
	}
	total *= p->grid[2];
	if (p->sram_bytes > hw->cfg.sram) {
		bad_launch(f, p->sram_bytes);
		return 1;
	}
	if (p->nargs > NPU_HW_MAX_ARGS) {
		bad_launch(f, p->nargs);
		return 1;
	}
	if (p->code_words == 0 || p->code_words > SIM_MAX_CODE_WORDS || (p->code_va & 7) ||
	    !sim_range_ok(p->code_va, (uint64_t)p->code_words * 8, SIM_VA_LIMIT)) {
		bad_launch(f, p->code_va);
		return 1;
	}
	if (p->entry >= p->code_words) {
		bad_launch(f, p->entry);
		return 1;
	}

	bytes = (uint64_t)p->code_words * 8;
	l = calloc(1, sizeof(*l));
	raw = malloc(bytes);
	code = malloc(((uint64_t)p->code_words + 1) * sizeof(*code));
	if (l)
		l->core_cycles = calloc(hw->cfg.cores, sizeof(uint64_t));
	if (!l || !raw || !code || !l->core_cycles) {
		ret = -ENOMEM;
		goto out;
	}

	/* Read the code once through the MMU of the queue's context, then decode it. */
	sim_mmu_init(m, hw->mem, hw->mem_size, pt_root);
	if (sim_mmu_check(m, p->code_va, bytes, false, &fault_va, &hw->cp_cancel)) {
		if (cancelled(hw)) {
			ret = -ECANCELED;
			goto out;
		}
		memset(f, 0, sizeof(*f));
		f->code = NPU_TRAP_PAGE_FAULT;
		f->core = NPU_FAULT_CORE_NONE;
		f->addr = fault_va;
		ret = 1;
		goto out;
	}
	sim_mmu_copy(m, p->code_va, raw, bytes, false);
	for (uint32_t i = 0; i < p->code_words; i++)
		decode(raw[i], &code[i]);
	entries = (uint64_t)p->code_words + 1 + count_bad_targets(code, p->code_words);
	tmp = realloc(code, entries * sizeof(*code));
	if (!tmp) {
		ret = -ENOMEM;
		goto out;
	}
	code = tmp;
	ret = link_blocks(code, p->code_words);
	if (ret)
		goto out; /* a DEVICE_ERROR fault: the device cannot run it */

	l->code = code;
	l->raw = raw;
	l->code_words = p->code_words;
	l->entry = p->entry;
	memcpy(l->grid, p->grid, sizeof(l->grid));
	l->total = total;
	l->sram_bytes = p->sram_bytes;
	l->nargs = p->nargs;
	l->const_va = p->const_va;
	l->max_insns = p->max_insns;
	l->pt_root = pt_root;
	memcpy(l->args, p->args, p->nargs * sizeof(uint64_t));
	l->deadline_ns = p->timeout_us ? sim_now_ns() + (uint64_t)p->timeout_us * 1000 : 0;
	/* Barriers and sem.wait need every instance running at once: one core each. */
	l->sync_ok = total <= hw->cfg.cores;
	if (l->sync_ok) {
		pthread_condattr_t ca;

		if (pthread_condattr_init(&ca)) {
			ret = -ENOMEM;
			goto out;
		}
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (pthread_mutex_init(&l->sync.lock, NULL)) {
			pthread_condattr_destroy(&ca);
			ret = -ENOMEM;
			goto out;
		}
		if (pthread_cond_init(&l->sync.cond, &ca)) {
			pthread_mutex_destroy(&l->sync.lock);
			pthread_condattr_destroy(&ca);
			ret = -ENOMEM;
			goto out;
		}
		pthread_condattr_destroy(&ca);
	}

	/* Make the launch abortable by reset / disable / destroy before any core runs it. */
	pthread_mutex_lock(&hw->lock);
	if (cancelled(hw)) {
		pthread_mutex_unlock(&hw->lock);
		ret = -ECANCELED;
		goto out_sync;
	}
	hw->cur_launch = l;
	pthread_mutex_unlock(&hw->lock);

	if (total == 1 || hw->cfg.cores == 1) {
		/* Nothing to share out: run inline on the command processor, as core 0. */
		core_run(&hw->cores[0], l);
	} else {
		uint32_t cores = total < hw->cfg.cores ? (uint32_t)total : hw->cfg.cores;

		pthread_mutex_lock(&hw->core_lock);
		hw->launch = l;
		hw->cores_running = cores;
		hw->launch_cores = cores;
		hw->launch_gen++;
		for (uint32_t i = 0; i < cores; i++)
			pthread_cond_signal(&hw->cores[i].wake);
		while (hw->cores_running)
			pthread_cond_wait(&hw->done_cond, &hw->core_lock);
		hw->launch = NULL;
		pthread_mutex_unlock(&hw->core_lock);
	}
	*cycles = 0;
	for (uint32_t i = 0; i < hw->cfg.cores; i++) {
		uint64_t v = __atomic_load_n(&l->core_cycles[i], __ATOMIC_RELAXED);

		if (v > *cycles)
			*cycles = v;
		if (i < ncore_out)
			core_cycles[i] = v;
	}

	pthread_mutex_lock(&hw->lock);
	hw->cur_launch = NULL;
	pthread_mutex_unlock(&hw->lock);

	if (__atomic_load_n(&l->trapped, __ATOMIC_ACQUIRE)) {
		*f = l->fault;
		ret = 1;
	} else if (__atomic_load_n(&l->abort, __ATOMIC_ACQUIRE)) {
		ret = -ECANCELED;
	} else {
		ret = 0;
	}
out_sync:
	if (l->sync_ok) {
		pthread_cond_destroy(&l->sync.cond);
		pthread_mutex_destroy(&l->sync.lock);
	}
out:
	free(code);
	free(raw);
	if (l)
		free(l->core_cycles);
	free(l);
	return ret;
}
