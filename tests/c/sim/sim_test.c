/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "sim_test.h"

static const uint64_t th_match[NPU_INSN_COUNT] = {
#define X(ID, mnemonic, opcode, match, mask, timing) [NPU_INSN_##ID] = match,
	NPU_INSN_LIST(X)
#undef X
};

uint64_t th_enc(enum npu_insn id, unsigned rd, unsigned rs1, unsigned rs2, unsigned rs3,
		int64_t imm)
{
	CHECK(id > NPU_INSN_ILLEGAL && id < NPU_INSN_COUNT);
	return th_match[id] | (uint64_t)(rd & 31) << 8 | (uint64_t)(rs1 & 31) << 13 |
	       (uint64_t)(rs2 & 31) << 18 | (uint64_t)(rs3 & 31) << 23 |
	       (uint64_t)(uint32_t)imm << 32;
}

uint64_t th_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void th_isr(void *arg)
{
	struct th_dev *d = arg;
	uint32_t st = d->ops->rd32(d->hw, NPU_REG_IRQ_STATUS);

	d->ops->wr32(d->hw, NPU_REG_IRQ_ACK, st);
	pthread_mutex_lock(&d->lock);
	d->irq_bits |= st;
	d->irq_calls++;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

void th_open(struct th_dev *d, const char *config)
{
	int ret;

	memset(d, 0, sizeof(*d));
	d->ops = &npu_sim_hw_ops;
	ret = d->ops->create(config, &d->hw);
	if (ret == -ENOMEM) {
		fprintf(stderr, "cannot create a device with \"%s\": skipped\n", config);
		exit(T_SKIP);
	}
	CHECK_EQ(ret, 0);
	d->mem = d->ops->aperture(d->hw, &d->mem_size);
	CHECK(d->mem);
	d->next_phys = NPU_PAGE_SIZE; /* leave physical page 0 unused */
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->ops->set_isr(d->hw, th_isr, d);
	th_wr(d, NPU_REG_IRQ_MASK, ~0u);
	th_wr(d, NPU_REG_CONTROL, NPU_CONTROL_BOOT);
	CHECK(th_rd(d, NPU_REG_STATUS) & NPU_STATUS_READY);
}

void th_close(struct th_dev *d)
{
	d->ops->set_isr(d->hw, NULL, NULL);
	d->ops->destroy(d->hw);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
}

uint32_t th_rd(struct th_dev *d, uint32_t off)
{
	return d->ops->rd32(d->hw, off);
}

void th_wr(struct th_dev *d, uint32_t off, uint32_t v)
{
	d->ops->wr32(d->hw, off, v);
}

uint32_t th_qrd(struct th_queue *q, uint32_t reg)
{
	return th_rd(q->d, NPU_REG_QUEUE(q->id) + reg);
}

void th_qwr(struct th_queue *q, uint32_t reg, uint32_t v)
{
	th_wr(q->d, NPU_REG_QUEUE(q->id) + reg, v);
}

uint64_t th_alloc(struct th_dev *d, uint64_t bytes)
{
	uint64_t pa = d->next_phys;

	bytes = (bytes + NPU_PAGE_SIZE - 1) & ~(NPU_PAGE_SIZE - 1);
	CHECK(bytes <= d->mem_size - pa);
	d->next_phys += bytes;
	return pa;
}

void *th_ptr(struct th_dev *d, uint64_t phys)
{
	CHECK(phys < d->mem_size);
	return d->mem + phys;
}

void th_ctx_init(struct th_ctx *c, struct th_dev *d)
{
	c->d = d;
	c->l1 = th_alloc(d, NPU_PT_ENTRIES * 8);
}

static uint64_t *pte(struct th_ctx *c, uint64_t va, bool create)
{
	uint64_t *l1 = th_ptr(c->d, c->l1);
	uint64_t *e = &l1[NPU_VA_L1(va)];

	if (!(*e & NPU_PTE_VALID)) {
		if (!create)
			return NULL;
		*e = th_alloc(c->d, NPU_PT_ENTRIES * 8) | NPU_PTE_VALID;
	}
	return (uint64_t *)th_ptr(c->d, *e & NPU_PTE_ADDR_MASK) + NPU_VA_L2(va);
}

void th_map(struct th_ctx *c, uint64_t va, uint64_t pa, uint64_t bytes, bool writable)
{
	for (uint64_t off = 0; off < bytes; off += NPU_PAGE_SIZE)
		*pte(c, va + off, true) = (pa + off) | NPU_PTE_VALID |
					 (writable ? NPU_PTE_WRITE : 0);
}

void th_unmap(struct th_ctx *c, uint64_t va)
{
	uint64_t *e = pte(c, va, false);

	if (e)
		*e = 0;
}

uint64_t th_map_new(struct th_ctx *c, uint64_t va, uint64_t bytes, bool writable)
{
	uint64_t pa = th_alloc(c->d, bytes);

	th_map(c, va, pa, bytes, writable);
	return pa;
}

void th_queue_init(struct th_queue *q, struct th_dev *d, uint32_t id, struct th_ctx *c)
{
	memset(q, 0, sizeof(*q));
	q->d = d;
	q->id = id;
	q->size = 64 * 1024;
	q->ring = th_alloc(d, q->size);
	q->status_pa = th_alloc(d, sizeof(*q->st));
	q->st = th_ptr(d, q->status_pa);
	th_qwr(q, NPU_QREG_CONTROL, 0);
	th_qwr(q, NPU_QREG_RING_LO, (uint32_t)q->ring);
	th_qwr(q, NPU_QREG_RING_HI, (uint32_t)(q->ring >> 32));
	th_qwr(q, NPU_QREG_RING_SIZE, q->size);
	th_qwr(q, NPU_QREG_PT_LO, (uint32_t)c->l1);
	th_qwr(q, NPU_QREG_PT_HI, (uint32_t)(c->l1 >> 32));
	th_qwr(q, NPU_QREG_STATUS_LO, (uint32_t)q->status_pa);
	th_qwr(q, NPU_QREG_STATUS_HI, (uint32_t)(q->status_pa >> 32));
	th_qwr(q, NPU_QREG_CONTROL, NPU_QCTL_ENABLE);
	CHECK_EQ(th_qrd(q, NPU_QREG_STATE), NPU_QSTATE_IDLE);
}

static void put(struct th_queue *q, const void *pkt, uint32_t bytes)
{
	uint32_t off = q->tail & (q->size - 1);

	CHECK(off + bytes <= q->size);
	/* the ring must not overrun what the device has not consumed yet */
	CHECK(q->tail + bytes - th_qrd(q, NPU_QREG_HEAD) <= q->size);
	memcpy(th_ptr(q->d, q->ring + off), pkt, bytes);
	q->tail += bytes;
}

void th_emit(struct th_queue *q, const void *pkt, uint32_t bytes)
{
	uint32_t off = q->tail & (q->size - 1);

	CHECK(bytes % 8 == 0 && bytes >= 8);
	if (off + bytes > q->size) {
		struct npu_hw_pkt_header nop = {
			.type = NPU_PKT_NOP, .dwords = (uint16_t)((q->size - off) / 8),
		};
		uint8_t buf[64 * 1024] = { 0 };

		memcpy(buf, &nop, sizeof(nop));
		put(q, buf, q->size - off);
	}
	put(q, pkt, bytes);
}

uint64_t th_fence(struct th_queue *q)
{
	struct npu_hw_pkt_fence f = {
		.hdr = { .type = NPU_PKT_FENCE, .dwords = sizeof(f) / 8 },
		.seqno = ++q->seqno,
	};

	th_emit(q, &f, sizeof(f));
	return f.seqno;
}

void th_submit(struct th_queue *q)
{
	th_qwr(q, NPU_QREG_TAIL, q->tail);
}

static void deadline_ts(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int th_wait_fence(struct th_queue *q, uint64_t seqno, int timeout_ms)
{
	struct th_dev *d = q->d;
	uint64_t deadline = th_now_ms() + (uint64_t)timeout_ms;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		struct timespec ts;

		if (__atomic_load_n(&q->st->fence, __ATOMIC_ACQUIRE) >= seqno)
			break;
		if (th_qrd(q, NPU_QREG_STATE) == NPU_QSTATE_FAULTED) {
			ret = -EIO;
			break;
		}
		if (th_now_ms() >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		/* woken by the ISR; the short timeout only bounds a lost wake-up in a test */
		deadline_ts(&ts, 50);
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int th_run(struct th_queue *q)
{
	uint64_t s = th_fence(q);

	th_submit(q);
	return th_wait_fence(q, s, 20000);
}

bool th_wait_irq(struct th_dev *d, uint32_t bit, int timeout_ms)
{
	uint64_t deadline = th_now_ms() + (uint64_t)timeout_ms;
	bool seen;

	pthread_mutex_lock(&d->lock);
	while (!(d->irq_bits & (1u << bit)) && th_now_ms() < deadline) {
		struct timespec ts;

		deadline_ts(&ts, 50);
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
	}
	seen = (d->irq_bits & (1u << bit)) != 0;
	d->irq_bits &= ~(1u << bit);
	pthread_mutex_unlock(&d->lock);
	return seen;
}

void th_clear_irq(struct th_dev *d)
{
	pthread_mutex_lock(&d->lock);
	d->irq_bits = 0;
	pthread_mutex_unlock(&d->lock);
}

void th_resume(struct th_queue *q)
{
	th_qwr(q, NPU_QREG_CONTROL, NPU_QCTL_ENABLE | NPU_QCTL_RESUME);
}

void th_copy(struct th_queue *q, uint64_t src_va, uint64_t dst_va, uint64_t size)
{
	struct npu_hw_pkt_copy p = {
		.hdr = { .type = NPU_PKT_COPY, .dwords = sizeof(p) / 8 },
		.src_va = src_va, .dst_va = dst_va, .size = size,
	};

	th_emit(q, &p, sizeof(p));
}

void th_fill(struct th_queue *q, uint64_t dst_va, uint64_t size, uint32_t pattern)
{
	struct npu_hw_pkt_fill p = {
		.hdr = { .type = NPU_PKT_FILL, .dwords = sizeof(p) / 8 },
		.dst_va = dst_va, .size = size, .pattern = pattern,
	};

	th_emit(q, &p, sizeof(p));
}

void th_launch_init(struct th_launch *l, uint64_t code_va, uint32_t words)
{
	memset(l, 0, sizeof(*l));
	l->code_va = code_va;
	l->code_words = words;
	l->grid[0] = l->grid[1] = l->grid[2] = 1;
	l->sram_bytes = 64 * 1024;
}

void th_launch(struct th_queue *q, const struct th_launch *l)
{
	uint64_t buf[sizeof(struct npu_hw_pkt_launch) / 8 + NPU_HW_MAX_ARGS];
	struct npu_hw_pkt_launch *p = (struct npu_hw_pkt_launch *)buf;
	uint32_t bytes = (uint32_t)(sizeof(*p) + l->nargs * 8);

	CHECK(l->nargs <= NPU_HW_MAX_ARGS);
	memset(buf, 0, sizeof(buf));
	p->hdr.type = NPU_PKT_LAUNCH;
	p->hdr.dwords = (uint16_t)(bytes / 8);
	p->code_va = l->code_va;
	p->code_words = l->code_words;
	p->entry = l->entry;
	memcpy(p->grid, l->grid, sizeof(p->grid));
	p->sram_bytes = l->sram_bytes;
	p->const_va = l->const_va;
	p->max_insns = l->max_insns;
	p->timeout_us = l->timeout_us;
	p->nargs = l->nargs;
	memcpy(p->args, l->args, l->nargs * 8);
	th_emit(q, p, bytes);
}

void th_load_code(struct th_ctx *c, uint64_t va, const uint64_t *code, uint32_t words)
{
	uint64_t bytes = (uint64_t)words * 8;
	uint64_t pa = th_map_new(c, va & ~(NPU_PAGE_SIZE - 1),
				 (va & (NPU_PAGE_SIZE - 1)) + bytes, false);

	memcpy(th_ptr(c->d, pa + (va & (NPU_PAGE_SIZE - 1))), code, bytes);
}
