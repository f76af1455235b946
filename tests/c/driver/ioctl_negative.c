/* SPDX-License-Identifier: MIT */
/*
 * ioctl_negative.c - every validation failure of every ioctl, one at a time, each on
 * otherwise valid input: the exact errno, and not one byte of the argument written.
 */
#include "drv_test.h"

union t_arg {
	struct npu_get_param gp;
	struct npu_bo_create bc;
	struct npu_bo_info bi;
	struct npu_bo_free bf;
	struct npu_submit sub;
	struct npu_wait w;
	struct npu_get_fault gf;
	uint8_t raw[64];
};

struct t_ctx {
	int fd, other_fd;
	struct npu_bo_create bo;      /* a live BO of fd */
	uint32_t freed_handle;        /* a BO of fd, freed */
	uint32_t foreign_handle;      /* a live BO of other_fd that fd does not have */
	uint64_t sram;
	uint64_t cmds[(sizeof(struct t_launch) + 64) / 8]; /* the command stream */
	uint32_t cmds_size;
};

/* A valid submit of one command; the case then breaks one field. */
static struct npu_cmd_copy *t_copy(struct t_ctx *c)
{
	struct npu_cmd_copy cmd = t_cmd_copy(c->bo.dev_addr, c->bo.dev_addr + 4096, 4096);

	memcpy(c->cmds, &cmd, sizeof(cmd));
	c->cmds_size = sizeof(cmd);
	return (struct npu_cmd_copy *)c->cmds;
}

static struct npu_cmd_fill *t_fill(struct t_ctx *c)
{
	struct npu_cmd_fill cmd = t_cmd_fill(c->bo.dev_addr, 4096, 0x12345678);

	memcpy(c->cmds, &cmd, sizeof(cmd));
	c->cmds_size = sizeof(cmd);
	return (struct npu_cmd_fill *)c->cmds;
}

static struct t_launch *t_launch(struct t_ctx *c)
{
	struct t_launch *l = (struct t_launch *)c->cmds;
	uint64_t args[2] = { 1, 2 };

	c->cmds_size = t_launch_init(l, c->bo.dev_addr, 16, 2, args);
	return l;
}

static void t_submit_arg(struct t_ctx *c, union t_arg *a)
{
	a->sub.cmds = (uint64_t)(uintptr_t)c->cmds;
	a->sub.cmds_size = c->cmds_size;
}

#define CASE(name) static void name(struct t_ctx *c, union t_arg *a)

/* GET_PARAM */
CASE(gp_param_count) { a->gp.param = NPU_PARAM_COUNT; }
CASE(gp_param_huge) { a->gp.param = UINT32_MAX; }
CASE(gp_pad) { a->gp.param = NPU_PARAM_MEM_SIZE; a->gp.pad = 1; }
/* BO_CREATE */
CASE(bc_size0) { a->bc.size = 0; }
CASE(bc_size_max) { a->bc.size = UINT64_MAX; }
CASE(bc_size_round_overflow) { a->bc.size = UINT64_MAX - 100; }
CASE(bc_size_nomem) { a->bc.size = 1ull << 50; }
CASE(bc_flags_bit2) { a->bc.size = 4096; a->bc.flags = 1u << 2; }
CASE(bc_flags_top) { a->bc.size = 4096; a->bc.flags = NPU_BO_HOST_VISIBLE | 1u << 31; }
/* BO_INFO */
CASE(bi_handle0) { a->bi.handle = 0; }
CASE(bi_handle_unknown) { a->bi.handle = 0x7fffffff; }
CASE(bi_handle_freed) { a->bi.handle = c->freed_handle; }
CASE(bi_handle_foreign) { a->bi.handle = c->foreign_handle; }
/* BO_FREE */
CASE(bf_pad) { a->bf.handle = c->bo.handle; a->bf.pad = 1; }
CASE(bf_handle0) { a->bf.handle = 0; }
CASE(bf_handle_freed) { a->bf.handle = c->freed_handle; }
CASE(bf_handle_foreign) { a->bf.handle = c->foreign_handle; }
/* SUBMIT: the submit struct */
CASE(sub_cmds_null) { t_copy(c); t_submit_arg(c, a); a->sub.cmds = 0; }
CASE(sub_size0) { t_copy(c); t_submit_arg(c, a); a->sub.cmds_size = 0; }
CASE(sub_size4) { t_copy(c); t_submit_arg(c, a); a->sub.cmds_size = 4; }
CASE(sub_size_unaligned) { t_copy(c); t_submit_arg(c, a); a->sub.cmds_size = 36; }
CASE(sub_size_huge) { t_copy(c); t_submit_arg(c, a); a->sub.cmds_size = NPU_MAX_CMD_BYTES + 8; }
CASE(sub_size_max32) { t_copy(c); t_submit_arg(c, a); a->sub.cmds_size = UINT32_MAX - 7; }
CASE(sub_queue) { t_copy(c); t_submit_arg(c, a); a->sub.queue = 1; }
CASE(sub_flags) { t_copy(c); t_submit_arg(c, a); a->sub.flags = 2; }
CASE(sub_pad) { t_copy(c); t_submit_arg(c, a); a->sub.pad = 1; }
/* SUBMIT: any command header */
CASE(cmd_type0) { t_copy(c)->hdr.type = 0; t_submit_arg(c, a); }
CASE(cmd_type_unknown) { t_copy(c)->hdr.type = 99; t_submit_arg(c, a); }
CASE(cmd_dwords0) { t_copy(c)->hdr.dwords = 0; t_submit_arg(c, a); }
CASE(cmd_dwords_past_end) { t_copy(c)->hdr.dwords = 5; t_submit_arg(c, a); }
CASE(cmd_hdr_flags) { t_copy(c)->hdr.flags = 1; t_submit_arg(c, a); }
CASE(cmd_truncated_second)
{
	struct npu_cmd_header h = { .type = NPU_CMD_COPY, .dwords = 4 };

	t_copy(c);
	memcpy((uint8_t *)c->cmds + c->cmds_size, &h, sizeof(h));
	c->cmds_size += 8;
	t_submit_arg(c, a);
}
/* SUBMIT: COPY */
CASE(copy_dwords3)
{
	t_copy(c)->hdr.dwords = 3;
	t_submit_arg(c, a);
	a->sub.cmds_size = 24;
}
CASE(copy_dwords5)
{
	t_copy(c)->hdr.dwords = 5;
	c->cmds[4] = 0;
	t_submit_arg(c, a);
	a->sub.cmds_size = 40;
}
CASE(copy_size0) { t_copy(c)->size = 0; t_submit_arg(c, a); }
CASE(copy_src_past_va) { t_copy(c)->src_addr = 1ull << 40; t_submit_arg(c, a); }
CASE(copy_dst_past_va) { t_copy(c)->dst_addr = (1ull << 40) - 2048; t_submit_arg(c, a); }
CASE(copy_size_wraps) { t_copy(c)->size = UINT64_MAX; t_submit_arg(c, a); }
/* SUBMIT: FILL */
CASE(fill_dwords3)
{
	t_fill(c)->hdr.dwords = 3;
	t_submit_arg(c, a);
	a->sub.cmds_size = 24;
}
CASE(fill_size0) { t_fill(c)->size = 0; t_submit_arg(c, a); }
CASE(fill_size_not4) { t_fill(c)->size = 6; t_submit_arg(c, a); }
CASE(fill_dst_unaligned) { t_fill(c)->dst_addr += 2; t_submit_arg(c, a); }
CASE(fill_pad) { t_fill(c)->pad = 1; t_submit_arg(c, a); }
CASE(fill_dst_past_va) { t_fill(c)->dst_addr = 1ull << 40; t_submit_arg(c, a); }
/* SUBMIT: LAUNCH */
CASE(launch_dwords_short)
{
	t_launch(c)->l.hdr.dwords = 4;
	t_submit_arg(c, a);
	a->sub.cmds_size = 32;
}
CASE(launch_dwords_vs_nargs) { t_launch(c)->l.nargs = 1; t_submit_arg(c, a); }
CASE(launch_nargs_over)
{
	struct t_launch *l = t_launch(c);

	l->l.nargs = NPU_MAX_ARGS + 1;
	t_submit_arg(c, a);
}
CASE(launch_code_words0) { t_launch(c)->l.code_words = 0; t_submit_arg(c, a); }
CASE(launch_entry_eq) { t_launch(c)->l.entry = 16; t_submit_arg(c, a); }
CASE(launch_entry_huge) { t_launch(c)->l.entry = UINT32_MAX; t_submit_arg(c, a); }
CASE(launch_grid_x0) { t_launch(c)->l.grid[0] = 0; t_submit_arg(c, a); }
CASE(launch_grid_y0) { t_launch(c)->l.grid[1] = 0; t_submit_arg(c, a); }
CASE(launch_grid_z0) { t_launch(c)->l.grid[2] = 0; t_submit_arg(c, a); }
CASE(launch_sram_over) { t_launch(c)->l.sram_bytes = (uint32_t)c->sram + 1; t_submit_arg(c, a); }
CASE(launch_code_unaligned) { t_launch(c)->l.code_addr += 4; t_submit_arg(c, a); }
CASE(launch_hdr_flags) { t_launch(c)->l.hdr.flags = 0x100; t_submit_arg(c, a); }
/* WAIT */
CASE(wait_future) { a->w.seqno = 1000000; }
CASE(wait_flags) { a->w.flags = 1; }
CASE(wait_queue) { a->w.queue = 1; }
CASE(wait_neg_timeout) { a->w.timeout_ns = -1; }
/* GET_FAULT */
CASE(gf_flags) { a->gf.flags = NPU_FAULT_F_VALID; }

struct t_case {
	const char *name;
	uint32_t request;
	void (*setup)(struct t_ctx *c, union t_arg *a);
	int expect;
};

#define C(req, fn, err) { #fn, req, fn, err }

static const struct t_case cases[] = {
	C(NPU_IOCTL_GET_PARAM, gp_param_count, -EINVAL),
	C(NPU_IOCTL_GET_PARAM, gp_param_huge, -EINVAL),
	C(NPU_IOCTL_GET_PARAM, gp_pad, -EINVAL),
	C(NPU_IOCTL_BO_CREATE, bc_size0, -EINVAL),
	C(NPU_IOCTL_BO_CREATE, bc_size_max, -EINVAL),
	C(NPU_IOCTL_BO_CREATE, bc_size_round_overflow, -EINVAL),
	C(NPU_IOCTL_BO_CREATE, bc_size_nomem, -ENOMEM),
	C(NPU_IOCTL_BO_CREATE, bc_flags_bit2, -EINVAL),
	C(NPU_IOCTL_BO_CREATE, bc_flags_top, -EINVAL),
	C(NPU_IOCTL_BO_INFO, bi_handle0, -ENOENT),
	C(NPU_IOCTL_BO_INFO, bi_handle_unknown, -ENOENT),
	C(NPU_IOCTL_BO_INFO, bi_handle_freed, -ENOENT),
	C(NPU_IOCTL_BO_INFO, bi_handle_foreign, -ENOENT),
	C(NPU_IOCTL_BO_FREE, bf_pad, -EINVAL),
	C(NPU_IOCTL_BO_FREE, bf_handle0, -ENOENT),
	C(NPU_IOCTL_BO_FREE, bf_handle_freed, -ENOENT),
	C(NPU_IOCTL_BO_FREE, bf_handle_foreign, -ENOENT),
	C(NPU_IOCTL_SUBMIT, sub_cmds_null, -EFAULT),
	C(NPU_IOCTL_SUBMIT, sub_size0, -EINVAL),
	C(NPU_IOCTL_SUBMIT, sub_size4, -EINVAL),
	C(NPU_IOCTL_SUBMIT, sub_size_unaligned, -EINVAL),
	C(NPU_IOCTL_SUBMIT, sub_size_huge, -EINVAL),
	C(NPU_IOCTL_SUBMIT, sub_size_max32, -EINVAL),
	C(NPU_IOCTL_SUBMIT, sub_queue, -ENOENT),
	C(NPU_IOCTL_SUBMIT, sub_flags, -EINVAL),
	C(NPU_IOCTL_SUBMIT, sub_pad, -EINVAL),
	C(NPU_IOCTL_SUBMIT, cmd_type0, -EINVAL),
	C(NPU_IOCTL_SUBMIT, cmd_type_unknown, -EINVAL),
	C(NPU_IOCTL_SUBMIT, cmd_dwords0, -EINVAL),
	C(NPU_IOCTL_SUBMIT, cmd_dwords_past_end, -EINVAL),
	C(NPU_IOCTL_SUBMIT, cmd_hdr_flags, -EINVAL),
	C(NPU_IOCTL_SUBMIT, cmd_truncated_second, -EINVAL),
	C(NPU_IOCTL_SUBMIT, copy_dwords3, -EINVAL),
	C(NPU_IOCTL_SUBMIT, copy_dwords5, -EINVAL),
	C(NPU_IOCTL_SUBMIT, copy_size0, -EINVAL),
	C(NPU_IOCTL_SUBMIT, copy_src_past_va, -EINVAL),
	C(NPU_IOCTL_SUBMIT, copy_dst_past_va, -EINVAL),
	C(NPU_IOCTL_SUBMIT, copy_size_wraps, -EINVAL),
	C(NPU_IOCTL_SUBMIT, fill_dwords3, -EINVAL),
	C(NPU_IOCTL_SUBMIT, fill_size0, -EINVAL),
	C(NPU_IOCTL_SUBMIT, fill_size_not4, -EINVAL),
	C(NPU_IOCTL_SUBMIT, fill_dst_unaligned, -EINVAL),
	C(NPU_IOCTL_SUBMIT, fill_pad, -EINVAL),
	C(NPU_IOCTL_SUBMIT, fill_dst_past_va, -EINVAL),
	C(NPU_IOCTL_SUBMIT, launch_dwords_short, -EINVAL),
	C(NPU_IOCTL_SUBMIT, launch_dwords_vs_nargs, -EINVAL),
	C(NPU_IOCTL_SUBMIT, launch_nargs_over, -EINVAL),
	C(NPU_IOCTL_SUBMIT, launch_code_words0, -EINVAL),
	C(NPU_IOCTL_SUBMIT, launch_entry_eq, -EINVAL),
	C(NPU_IOCTL_SUBMIT, launch_entry_huge, -EINVAL),
	C(NPU_IOCTL_SUBMIT, launch_grid_x0, -EINVAL),
	C(NPU_IOCTL_SUBMIT, launch_grid_y0, -EINVAL),
	C(NPU_IOCTL_SUBMIT, launch_grid_z0, -EINVAL),
	C(NPU_IOCTL_SUBMIT, launch_sram_over, -EINVAL),
	C(NPU_IOCTL_SUBMIT, launch_code_unaligned, -EINVAL),
	C(NPU_IOCTL_SUBMIT, launch_hdr_flags, -EINVAL),
	C(NPU_IOCTL_WAIT, wait_future, -EINVAL),
	C(NPU_IOCTL_WAIT, wait_flags, -EINVAL),
	C(NPU_IOCTL_WAIT, wait_queue, -ENOENT),
	C(NPU_IOCTL_WAIT, wait_neg_timeout, -EINVAL),
	C(NPU_IOCTL_GET_FAULT, gf_flags, -EINVAL),
};

/* Sentinel: every byte the case did not set is 0xa5, so a stray write shows. */
static void t_prefill(union t_arg *a, uint32_t request)
{
	memset(a, 0xa5, sizeof(*a));
	switch (request) {
	case NPU_IOCTL_GET_PARAM:
		a->gp.param = NPU_PARAM_MEM_SIZE;
		a->gp.pad = 0;
		break;
	case NPU_IOCTL_BO_CREATE:
		a->bc.size = 4096;
		a->bc.flags = 0;
		break;
	case NPU_IOCTL_BO_INFO:
		break;
	case NPU_IOCTL_BO_FREE:
		a->bf.pad = 0;
		break;
	case NPU_IOCTL_SUBMIT:
		a->sub.queue = 0;
		a->sub.flags = 0;
		a->sub.pad = 0;
		break;
	case NPU_IOCTL_WAIT:
		a->w.seqno = 0;
		a->w.timeout_ns = 0;
		a->w.queue = 0;
		a->w.flags = 0;
		break;
	case NPU_IOCTL_GET_FAULT:
		a->gf.flags = 0;
		break;
	}
}

static int run_case(struct t_ctx *c, const struct t_case *tc)
{
	union t_arg a, before;
	int ret;

	t_prefill(&a, tc->request);
	tc->setup(c, &a);
	before = a;
	ret = npu_drv_ioctl(c->fd, tc->request, &a);
	if (ret != tc->expect) {
		fprintf(stderr, "FAIL %s: returned %d (%s), expected %d (%s)\n", tc->name, ret,
			strerror(-ret), tc->expect, strerror(-tc->expect));
		return 1;
	}
	if (memcmp(&a, &before, sizeof(a))) {
		fprintf(stderr, "FAIL %s: the failed call wrote its argument\n", tc->name);
		return 1;
	}
	return 0;
}

/* The valid input each case starts from must succeed. */
static void check_baselines(struct t_ctx *c)
{
	union t_arg a;
	uint64_t seqno;

	t_prefill(&a, NPU_IOCTL_GET_PARAM);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_GET_PARAM, &a));
	t_prefill(&a, NPU_IOCTL_BO_INFO);
	a.bi.handle = c->bo.handle;
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_BO_INFO, &a));
	T_EQ(a.bi.dev_addr, c->bo.dev_addr);
	t_copy(c);
	seqno = t_submit(c->fd, c->cmds, c->cmds_size);
	t_fill(c);
	seqno = t_submit(c->fd, c->cmds, c->cmds_size);
	t_wait(c->fd, seqno);
	t_prefill(&a, NPU_IOCTL_GET_FAULT);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_GET_FAULT, &a));
	T_EQ(a.gf.flags, 0);
}

/* Request-level failures: bad fd, unknown request, wrong size or direction, NULL arg. */
static int check_requests(struct t_ctx *c)
{
	static const uint32_t reqs[] = {
		NPU_IOCTL_GET_PARAM, NPU_IOCTL_BO_CREATE, NPU_IOCTL_BO_INFO, NPU_IOCTL_BO_FREE,
		NPU_IOCTL_SUBMIT, NPU_IOCTL_WAIT, NPU_IOCTL_GET_FAULT,
	};
	union t_arg a, before;
	int fails = 0, closed;

	memset(&a, 0xa5, sizeof(a));
	before = a;
	for (unsigned i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		uint32_t r = reqs[i];
		uint32_t sz = NPU_IOC_SIZE(r);

		fails += npu_drv_ioctl(c->fd, r, NULL) != -EFAULT;
		fails += npu_drv_ioctl(-1, r, &a) != -EBADF;
		fails += npu_drv_ioctl(1023, r, &a) != -EBADF;
		fails += npu_drv_ioctl(1 << 20, r, &a) != -EBADF;
		/* Size one word short / long, wrong direction. */
		fails += npu_drv_ioctl(c->fd, NPU_IOC(NPU_IOC_DIR(r), NPU_IOC_NR(r), sz - 8), &a) !=
			 -EINVAL;
		fails += npu_drv_ioctl(c->fd, NPU_IOC(NPU_IOC_DIR(r), NPU_IOC_NR(r), sz + 8), &a) !=
			 -EINVAL;
		fails += npu_drv_ioctl(c->fd, NPU_IOC(NPU_IOC_NONE, NPU_IOC_NR(r), sz), &a) !=
			 -EINVAL;
		/* Another type letter. */
		fails += npu_drv_ioctl(c->fd, (r & ~0xff00u) | ('M' << 8), &a) != -ENOTTY;
		if (fails) {
			fprintf(stderr, "FAIL request checks for 0x%08x\n", r);
			return 1;
		}
	}
	fails += npu_drv_ioctl(c->fd, NPU_IOWR(0x16, struct npu_get_param), &a) != -ENOTTY;
	fails += npu_drv_ioctl(c->fd, NPU_IOWR(0xff, struct npu_get_param), &a) != -ENOTTY;
	fails += npu_drv_ioctl(c->fd, 0, &a) != -ENOTTY;
	/* A closed fd. */
	closed = t_open();
	T_OK(npu_drv_close(closed));
	fails += npu_drv_ioctl(closed, NPU_IOCTL_GET_PARAM, &a) != -EBADF;
	fails += npu_drv_close(closed) != -EBADF;
	if (memcmp(&a, &before, sizeof(a))) {
		fprintf(stderr, "FAIL a rejected request wrote its argument\n");
		return 1;
	}
	if (fails)
		fprintf(stderr, "FAIL request checks\n");
	return fails != 0;
}

int main(void)
{
	struct t_ctx c = { 0 };
	struct npu_bo_create b;
	uint64_t last, seqno;
	int fails = 0;

	c.fd = t_open();
	c.other_fd = t_open();
	c.sram = t_param(c.fd, NPU_PARAM_SRAM_SIZE);
	c.bo = t_bo(c.fd, 1 << 20, NPU_BO_HOST_VISIBLE);
	b = t_bo(c.fd, 4096, 0);
	c.freed_handle = b.handle;
	t_bo_free(c.fd, b.handle);
	/* Give the other client more BOs than this one, so its newest handle is foreign here. */
	for (int i = 0; i < 8; i++)
		c.foreign_handle = t_bo(c.other_fd, 4096, 0).handle;
	T_ASSERT(c.foreign_handle > b.handle);

	check_baselines(&c);
	T_OK(t_wait_ms(c.fd, 0, 0, &last));

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		fails += run_case(&c, &cases[i]);
	fails += check_requests(&c);

	/* Rejected submits consumed no fence value. */
	t_fill(&c);
	seqno = t_submit(c.fd, c.cmds, c.cmds_size);
	T_EQ(seqno, last + 1);
	t_wait(c.fd, seqno);

	T_OK(npu_drv_close(c.other_fd));
	T_OK(npu_drv_close(c.fd));
	if (fails) {
		fprintf(stderr, "%d case(s) failed\n", fails);
		return T_FAIL;
	}
	printf("ok: %zu table cases and the request checks\n", sizeof(cases) / sizeof(cases[0]));
	return T_PASS;
}
