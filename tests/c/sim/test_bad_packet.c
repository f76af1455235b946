/* SPDX-License-Identifier: MIT */
/* Malformed packets are BAD_PACKET faults of their queue: the packet is stepped over when
 * its length is usable, otherwise RESUME drops what is queued. The queue keeps working. */
#include <errno.h>
#include <string.h>

#include "sim_test.h"

static struct th_dev d;
static struct th_ctx ctx;
static struct th_queue q;
static uint8_t *page;

#define VA 0x0000100000ull

static void bad(const char *name, const void *pkt, uint32_t bytes, bool steppable)
{
	uint64_t seq, pkt_pa = q.ring + (q.tail & (q.size - 1));

	fprintf(stderr, "case %s\n", name);
	page[0] = 0;
	th_emit(&q, pkt, bytes);
	th_fill(&q, VA, 4, 0x01010101);  /* same job: skipped */
	seq = th_fence(&q);
	th_submit(&q);
	CHECK_EQ(th_wait_fence(&q, seq, 10000), -EIO);
	CHECK_EQ(q.st->fault_code, NPU_TRAP_BAD_PACKET);
	CHECK_EQ(q.st->fault_addr, pkt_pa);
	CHECK_EQ(q.st->fault_core, NPU_FAULT_CORE_NONE);
	CHECK_EQ(q.st->fault_flags, 0);
	CHECK_EQ(q.st->fault_fence, seq - 1);
	th_resume(&q);
	if (steppable) {
		CHECK_EQ(th_wait_fence(&q, seq, 10000), 0);
	} else {
		/* nothing to resume from: everything queued was dropped */
		uint64_t t0 = th_now_ms();

		while (th_qrd(&q, NPU_QREG_HEAD) != q.tail)
			CHECK(th_now_ms() - t0 < 10000);
		CHECK(q.st->fence < seq);
	}
	CHECK_EQ(page[0], 0);
	th_fill(&q, VA, 4, 0x02020202);
	CHECK_EQ(th_run(&q), 0);
	CHECK_EQ(page[0], 2);
}

int main(void)
{
	uint64_t buf[64];
	struct npu_hw_pkt_header *h = (struct npu_hw_pkt_header *)buf;
	struct npu_hw_pkt_launch *l = (struct npu_hw_pkt_launch *)buf;
	struct npu_hw_pkt_fill *f = (struct npu_hw_pkt_fill *)buf;

	th_open(&d, "mem=128M,cores=2");
	th_ctx_init(&ctx, &d);
	th_queue_init(&q, &d, 3, &ctx);
	page = th_ptr(&d, th_map_new(&ctx, VA, NPU_PAGE_SIZE, true));

	memset(buf, 0, sizeof(buf));
	h->type = 99;
	h->dwords = 3;
	bad("unknown type", buf, 24, true);

	memset(buf, 0, sizeof(buf));
	h->type = NPU_PKT_NOP;
	h->dwords = 1;
	h->flags = 1;
	bad("flags", buf, 8, true);

	memset(buf, 0, sizeof(buf));
	h->type = NPU_PKT_FENCE;
	h->dwords = 3;
	bad("fence size", buf, 24, true);

	memset(buf, 0, sizeof(buf));
	h->type = NPU_PKT_COPY;
	h->dwords = 2;
	bad("copy size", buf, 16, true);

	memset(buf, 0, sizeof(buf));
	f->hdr.type = NPU_PKT_FILL;
	f->hdr.dwords = sizeof(*f) / 8;
	f->dst_va = VA;
	f->size = 6;
	bad("fill size not a multiple of 4", buf, sizeof(*f), true);
	f->size = 8;
	f->pad = 1;
	bad("fill pad", buf, sizeof(*f), true);

	memset(buf, 0, sizeof(buf));
	l->hdr.type = NPU_PKT_LAUNCH;
	l->hdr.dwords = 4;
	bad("launch too short", buf, 32, true);
	memset(buf, 0, sizeof(buf));
	l->hdr.type = NPU_PKT_LAUNCH;
	l->hdr.dwords = sizeof(*l) / 8 + 1; /* one arg more than nargs says */
	l->code_words = 1;
	l->grid[0] = l->grid[1] = l->grid[2] = 1;
	bad("launch nargs mismatch", buf, sizeof(*l) + 8, true);

	/* lengths that leave no packet boundary */
	memset(buf, 0, sizeof(buf));
	h->type = NPU_PKT_NOP;
	h->dwords = 0;
	bad("zero dwords", buf, 8, false);
	h->dwords = 2;  /* claims 16 bytes, TAIL is after 8 ... */
	{
		uint64_t seq, t0;

		fprintf(stderr, "case crosses TAIL\n");
		memcpy(th_ptr(&d, q.ring + (q.tail & (q.size - 1))), buf, 8);
		q.tail += 8;
		seq = q.seqno + 1;
		th_submit(&q);
		t0 = th_now_ms();
		while (th_qrd(&q, NPU_QREG_STATE) != NPU_QSTATE_FAULTED)
			CHECK(th_now_ms() - t0 < 10000);
		CHECK_EQ(q.st->fault_code, NPU_TRAP_BAD_PACKET);
		th_resume(&q);
		(void)seq;
		CHECK_EQ(th_run(&q), 0);
	}
	h->dwords = 0x2000; /* runs past the ring end (64 KiB ring) */
	bad("crosses ring end", buf, 8, false);

	/* A misprogrammed ring: size not a power of two. */
	{
		uint64_t t0;

		fprintf(stderr, "case bad ring size\n");
		th_qwr(&q, NPU_QREG_CONTROL, 0);
		th_qwr(&q, NPU_QREG_RING_SIZE, 5000);
		th_qwr(&q, NPU_QREG_CONTROL, NPU_QCTL_ENABLE);
		th_qwr(&q, NPU_QREG_TAIL, 16);
		t0 = th_now_ms();
		while (th_qrd(&q, NPU_QREG_STATE) != NPU_QSTATE_FAULTED)
			CHECK(th_now_ms() - t0 < 10000);
		CHECK_EQ(q.st->fault_code, NPU_TRAP_BAD_PACKET);
		CHECK_EQ(q.st->fault_addr, q.ring);
		/* reprogram the ring properly: the queue works again */
		th_qwr(&q, NPU_QREG_CONTROL, 0);
		th_qwr(&q, NPU_QREG_RING_SIZE, q.size);
		CHECK_EQ(th_qrd(&q, NPU_QREG_HEAD), 0);
		th_qwr(&q, NPU_QREG_CONTROL, NPU_QCTL_ENABLE);
		q.tail = 0;
		th_fill(&q, VA, 4, 0x03030303);
		CHECK_EQ(th_run(&q), 0);
		CHECK_EQ(page[0], 3);
	}
	th_close(&d);
	return T_PASS;
}
