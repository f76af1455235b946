/* SPDX-License-Identifier: MIT */
/*
 * test_hw11.c - interface 1.1 of the device, through npu_sim_hw_ops only: the copy engine
 * runs next to a busy compute engine; SIGNAL/WAIT fence packets (WAITING state, FENCE_NOTIFY,
 * values never go down, a faulted job's SIGNAL sets the error); NPU_QCTL_KILL of a spinning
 * kernel (WATCHDOG + KILLED, with the core and pc); ENGINE_QUEUE / ENGINE_PROGRESS;
 * TIMESTAMP; the IOMMU (host memory, exact bounds); fault injection (lost interrupt, stalled
 * command processor, failed reset, allocation failure).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "sim_test.h"

#define VA 0x100000000ull

static void fence_op(struct th_queue *q, uint16_t type, uint64_t pa, uint64_t value)
{
	struct npu_hw_pkt_fence_op p = {
		.hdr = { .type = type, .dwords = sizeof(p) / 8 }, .fence_pa = pa, .value = value,
	};

	th_emit(q, &p, sizeof(p));
}

static void set_engine(struct th_queue *q, uint32_t engine)
{
	th_qwr(q, NPU_QREG_CONTROL, 0);
	th_qwr(q, NPU_QREG_ENGINE, engine);
	th_qwr(q, NPU_QREG_CONTROL, NPU_QCTL_ENABLE);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000 };

	nanosleep(&ts, NULL);
}

/* Spins at pc 1 after a nop at pc 0. */
static void spin_launch(struct th_ctx *c, struct th_queue *q, uint64_t va)
{
	const uint64_t code[] = { E_I(NOP, 0, 0, 0), E_I(JMP, 0, 0, 0) };
	struct th_launch l;

	th_load_code(c, va, code, 2);
	th_launch_init(&l, va, 2);
	th_launch(q, &l);
}

int main(void)
{
	struct th_dev d;
	struct th_ctx c;
	struct th_queue qa, qb, qc;
	uint64_t fpa, s;
	struct npu_hw_fence *fr;
	uint8_t *m;

	/* Without a copy engine: one engine, ENGINE = 1 is ignored. */
	th_open(&d, "mem=64M,copy_engine=0");
	CHECK_EQ(th_rd(&d, NPU_REG_ENGINES), 1);
	th_ctx_init(&c, &d);
	th_queue_init(&qa, &d, 0, &c);
	set_engine(&qa, NPU_ENGINE_COPY);
	CHECK_EQ(th_qrd(&qa, NPU_QREG_ENGINE), NPU_ENGINE_COMPUTE);
	th_close(&d);

	th_open(&d, "mem=256M,cores=2");
	CHECK_EQ(th_rd(&d, NPU_REG_ENGINES), 3);
	CHECK_EQ(th_rd(&d, NPU_REG_ENGINE_QUEUE(0)), NPU_ENGINE_IDLE);
	th_ctx_init(&c, &d);
	m = th_ptr(&d, th_map_new(&c, VA, 4 * NPU_PAGE_SIZE, true));
	th_queue_init(&qa, &d, 0, &c);
	th_queue_init(&qb, &d, 1, &c);
	th_queue_init(&qc, &d, 2, &c);
	set_engine(&qc, NPU_ENGINE_COPY);
	CHECK_EQ(th_qrd(&qc, NPU_QREG_ENGINE), NPU_ENGINE_COPY);
	fpa = th_alloc(&d, NPU_PAGE_SIZE);
	fr = th_ptr(&d, fpa);

	/* WAIT holds queue A (WAITING, no engine) until B signals; A's FILL runs after. */
	fence_op(&qa, NPU_PKT_WAIT, fpa, 2);
	th_fill(&qa, VA, 4096, 0xabababab);
	s = th_fence(&qa);
	th_submit(&qa);
	sleep_ms(20);
	CHECK_EQ(th_qrd(&qa, NPU_QREG_STATE), NPU_QSTATE_WAITING);
	CHECK_EQ(m[0], 0);
	fence_op(&qb, NPU_PKT_SIGNAL, fpa, 1); /* not enough */
	CHECK_EQ(th_run(&qb), 0);
	CHECK_EQ(th_qrd(&qa, NPU_QREG_STATE), NPU_QSTATE_WAITING);
	fence_op(&qb, NPU_PKT_SIGNAL, fpa, 5);
	fence_op(&qb, NPU_PKT_SIGNAL, fpa, 3); /* never goes down */
	CHECK_EQ(th_run(&qb), 0);
	CHECK_EQ(th_wait_fence(&qa, s, 5000), 0);
	CHECK_EQ(m[4095], 0xab);
	CHECK_EQ(fr->value, 5);
	CHECK_EQ(fr->error, 0);

	/* The host raises a fence and writes FENCE_NOTIFY: the waiting queue goes on. */
	fence_op(&qa, NPU_PKT_WAIT, fpa, 6);
	s = th_fence(&qa);
	th_submit(&qa);
	sleep_ms(10);
	CHECK_EQ(th_qrd(&qa, NPU_QREG_STATE), NPU_QSTATE_WAITING);
	__atomic_store_n(&fr->value, 6, __ATOMIC_RELEASE);
	th_wr(&d, NPU_REG_FENCE_NOTIFY, 1);
	CHECK_EQ(th_wait_fence(&qa, s, 5000), 0);

	/* A job faults; after RESUME its SIGNAL still runs, with the error set. */
	th_fill(&qb, 0x7000000000ull, 8, 0);
	fence_op(&qb, NPU_PKT_SIGNAL, fpa, 9);
	s = th_fence(&qb);
	th_submit(&qb);
	CHECK_EQ(th_wait_fence(&qb, s, 5000), -EIO);
	CHECK_EQ(qb.st->fault_code, NPU_TRAP_PAGE_FAULT);
	th_resume(&qb);
	CHECK_EQ(th_wait_fence(&qb, s, 5000), 0);
	CHECK_EQ(fr->value, 9);
	CHECK_EQ(fr->error, NPU_HW_FENCE_ERR_JOB);

	/* A spinning kernel on the compute engine; the copy engine still serves queue C. */
	spin_launch(&c, &qa, VA + 8 * NPU_PAGE_SIZE);
	s = th_fence(&qa);
	th_submit(&qa);
	sleep_ms(20);
	CHECK_EQ(th_rd(&d, NPU_REG_ENGINE_QUEUE(0)), 0);
	{
		uint32_t p0 = th_rd(&d, NPU_REG_ENGINE_PROGRESS(1));
		uint64_t sc, t0, t1;
		struct npu_hw_pkt_timestamp ts = {
			.hdr = { .type = NPU_PKT_TIMESTAMP, .dwords = 2 }, .dst_va = VA + 8192,
		};

		th_emit(&qc, &ts, sizeof(ts));
		th_copy(&qc, VA, VA + NPU_PAGE_SIZE, 3 * NPU_PAGE_SIZE - 16);
		ts.dst_va += 8;
		th_emit(&qc, &ts, sizeof(ts));
		sc = th_fence(&qc);
		th_submit(&qc);
		CHECK_EQ(th_wait_fence(&qc, sc, 5000), 0);
		/* 3 packets, 3 x 64 KiB copied (at least 2 chunk events), the fence... */
		CHECK(th_rd(&d, NPU_REG_ENGINE_PROGRESS(1)) - p0 >= 5);
		memcpy(&t0, m + 8192, 8);
		memcpy(&t1, m + 8200, 8);
		CHECK(t0 != 0 && t1 >= t0);
		CHECK_EQ(m[NPU_PAGE_SIZE], 0xab);
	}
	/* The spinner makes no progress; KILL ends it as a WATCHDOG fault at pc 1. */
	{
		uint32_t p0 = th_rd(&d, NPU_REG_ENGINE_PROGRESS(0));

		sleep_ms(20);
		CHECK_EQ(th_rd(&d, NPU_REG_ENGINE_PROGRESS(0)), p0);
	}
	th_qwr(&qa, NPU_QREG_CONTROL, NPU_QCTL_ENABLE | NPU_QCTL_KILL);
	CHECK_EQ(th_wait_fence(&qa, s, 5000), -EIO);
	CHECK_EQ(qa.st->fault_code, NPU_TRAP_WATCHDOG);
	CHECK_EQ(qa.st->fault_flags & (NPU_FAULT_KILLED | NPU_FAULT_INSN_VALID),
		 NPU_FAULT_KILLED | NPU_FAULT_INSN_VALID);
	CHECK_EQ(qa.st->fault_pc, 1);
	CHECK(qa.st->fault_core < 2);
	th_resume(&qa);
	CHECK_EQ(th_wait_fence(&qa, s, 5000), 0);
	CHECK_EQ(th_rd(&d, NPU_REG_ENGINE_QUEUE(0)), NPU_ENGINE_IDLE);

	/* The IOMMU: host memory at a bus address, exactly the mapped bytes. */
	{
		uint8_t *host = mmap(NULL, 2 * NPU_PAGE_SIZE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint8_t *user = host + 4096 + 3;
		uint64_t iova, hva = VA + 32 * NPU_PAGE_SIZE, off;

		CHECK(host != MAP_FAILED);
		CHECK_EQ(d.ops->dma_map(d.hw, user, 1000, &iova), 0);
		off = iova & (NPU_PAGE_SIZE - 1);
		CHECK_EQ(off, (uintptr_t)user & (NPU_PAGE_SIZE - 1));
		th_map(&c, hva, iova - off, NPU_PAGE_SIZE, true);
		/* The page table entry must say "system": set the bit by hand. */
		th_unmap(&c, hva);
		th_map(&c, hva, (iova - off) | NPU_PTE_SYSTEM, NPU_PAGE_SIZE, true);
		th_fill(&qc, hva + off, 1000, 0x5c5c5c5c);
		CHECK_EQ(th_run(&qc), 0);
		CHECK_EQ(user[0], 0x5c);
		CHECK_EQ(user[999], 0x5c);
		CHECK_EQ(user[1000], 0);
		CHECK_EQ(user[-1], 0);
		th_fill(&qc, hva + off + 996, 8, 1);
		s = th_fence(&qc);
		th_submit(&qc);
		CHECK_EQ(th_wait_fence(&qc, s, 5000), -EIO);
		CHECK_EQ(qc.st->fault_addr, hva + off + 1000);
		CHECK_EQ(qc.st->fault_flags & (NPU_FAULT_WRITE | NPU_FAULT_COPY_ENGINE),
			 NPU_FAULT_WRITE | NPU_FAULT_COPY_ENGINE);
		th_resume(&qc);
		CHECK_EQ(th_wait_fence(&qc, s, 5000), 0);
		CHECK_EQ(user[1000], 0);
		d.ops->dma_unmap(d.hw, iova);
		th_copy(&qc, hva + off, VA, 8);
		s = th_fence(&qc);
		th_submit(&qc);
		CHECK_EQ(th_wait_fence(&qc, s, 5000), -EIO); /* unmapped: gone */
		th_resume(&qc);
		CHECK_EQ(th_wait_fence(&qc, s, 5000), 0);
		CHECK_EQ(d.ops->dma_map(d.hw, NULL, 8, &iova), -EINVAL);
		CHECK_EQ(d.ops->dma_map(d.hw, user, 0, &iova), -EINVAL);
		munmap(host, 2 * NPU_PAGE_SIZE);
	}

	/* Injection: a lost interrupt; the status record is still written. */
	th_clear_irq(&d);
	th_wr(&d, NPU_REG_INJECT, NPU_HW_INJECT_LOST_IRQ | 1u << 8);
	s = th_fence(&qb);
	th_submit(&qb);
	CHECK_EQ(th_wait_fence(&qb, s, 5000), 0);
	CHECK(!th_wait_irq(&d, 1, 100));
	CHECK_EQ(th_run(&qb), 0);
	CHECK(th_wait_irq(&d, 1, 5000)); /* the next one arrives */

	/* Allocation failure: a launch faults with DEVICE_ERROR. */
	th_wr(&d, NPU_REG_INJECT, NPU_HW_INJECT_ALLOC_FAIL | 1u << 8);
	spin_launch(&c, &qa, VA + 8 * NPU_PAGE_SIZE);
	s = th_fence(&qa);
	th_submit(&qa);
	CHECK_EQ(th_wait_fence(&qa, s, 5000), -EIO);
	CHECK_EQ(qa.st->fault_flags & NPU_FAULT_DEVICE_ERROR, NPU_FAULT_DEVICE_ERROR);
	th_resume(&qa);
	CHECK_EQ(th_wait_fence(&qa, s, 5000), 0);

	/* A stalled command processor runs nothing until a RESET; a RESET can fail. */
	th_wr(&d, NPU_REG_INJECT, NPU_HW_INJECT_CP_STALL | 1u << 8);
	th_fill(&qb, VA, 8, 7);
	s = th_fence(&qb);
	th_submit(&qb);
	CHECK_EQ(th_wait_fence(&qb, s, 100), -ETIMEDOUT);
	CHECK_EQ(th_rd(&d, NPU_REG_ENGINE_QUEUE(0)), NPU_ENGINE_IDLE);
	CHECK_EQ(th_qrd(&qb, NPU_QREG_STATE), NPU_QSTATE_BUSY);
	th_wr(&d, NPU_REG_INJECT, NPU_HW_INJECT_RESET_FAIL | 1u << 8);
	th_wr(&d, NPU_REG_CONTROL, NPU_CONTROL_RESET | NPU_CONTROL_BOOT);
	CHECK_EQ(th_rd(&d, NPU_REG_STATUS), NPU_STATUS_FAILED);
	th_wr(&d, NPU_REG_CONTROL, NPU_CONTROL_BOOT);
	CHECK_EQ(th_rd(&d, NPU_REG_STATUS), NPU_STATUS_FAILED);
	th_wr(&d, NPU_REG_CONTROL, NPU_CONTROL_RESET | NPU_CONTROL_BOOT);
	CHECK_EQ(th_rd(&d, NPU_REG_STATUS), NPU_STATUS_READY);
	/* Memory survived; the queues are empty and must be set up again. */
	CHECK_EQ(fr->value, 9);
	CHECK_EQ(th_qrd(&qb, NPU_QREG_STATE), NPU_QSTATE_DISABLED);
	th_wr(&d, NPU_REG_IRQ_MASK, ~0u);
	th_queue_init(&qb, &d, 1, &c);
	th_fill(&qb, VA, 8, 0x11);
	CHECK_EQ(th_run(&qb), 0);
	CHECK_EQ(m[0], 0x11);
	th_close(&d);
	return T_PASS;
}
