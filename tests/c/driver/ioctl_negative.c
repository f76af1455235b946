/* SPDX-License-Identifier: MIT */
/*
 * ioctl_negative.c - every validation failure of every ioctl, one at a time, each on
 * otherwise valid input: the exact errno, and not one byte of the argument written. Covers
 * uapi 1.0 and 1.1 (queues, fences, event fd, limits, reset status, user memory, injection)
 * and 1.2 (job times, client info, queue status records).
 */
#include <sys/mman.h>

#include "drv_test.h"

union t_arg {
	struct npu_get_param gp;
	struct npu_bo_create bc;
	struct npu_bo_info bi;
	struct npu_bo_free bf;
	struct npu_submit sub;
	struct npu_wait w;
	struct npu_get_fault gf;
	struct npu_set_param sp;
	struct npu_queue_create qc;
	struct npu_queue_destroy qd;
	struct npu_job_wait jw;
	struct npu_fence_create fc;
	struct npu_fence_destroy fd;
	struct npu_fence_signal fs;
	struct npu_fence_query fq;
	struct npu_fence_wait fw;
	struct npu_fence_export fe;
	struct npu_fence_import fi;
	struct npu_get_eventfd ge;
	struct npu_reset_status rs;
	struct npu_bo_userptr up;
	struct npu_inject in;
	struct npu_job_time jt;
	struct npu_client_info ci;
	struct npu_queue_status_map qs;
	uint8_t raw[64];
};

struct t_ctx {
	int fd, other_fd;
	struct npu_bo_create bo;      /* a live BO of fd */
	uint32_t freed_handle;        /* a BO of fd, freed */
	uint32_t foreign_handle;      /* a live BO of other_fd that fd does not have */
	uint32_t dev_handle;          /* a live BO of fd, not HOST_VISIBLE */
	uint64_t sram;
	uint64_t cmds[(sizeof(struct t_launch) + 64) / 8]; /* the command stream */
	uint32_t cmds_size;
	uint32_t xq;                  /* a live copy queue of fd */
	uint32_t dead_queue;          /* a queue of fd, destroyed */
	uint32_t foreign_queue;       /* a queue id of other_fd that fd does not have */
	uint32_t fence;               /* a live fence of fd, value 5 */
	uint32_t dead_fence;          /* a fence handle of fd, destroyed */
	uint32_t foreign_fence;       /* a fence handle of other_fd that fd does not have */
	uint64_t token;               /* the export token of `fence` */
	uint32_t wh[2];               /* FENCE_WAIT arrays */
	uint64_t wv[2];
	uint8_t host[8192];           /* user memory */
	void *ro_page;                /* a read-only mapping */
	uint64_t done_seqno;          /* a completed job of queue 0 */
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

static struct npu_cmd_fence *t_fcmd(struct t_ctx *c, uint16_t type)
{
	struct npu_cmd_fence cmd = t_cmd_fence(type, c->fence, 7);

	memcpy(c->cmds, &cmd, sizeof(cmd));
	c->cmds_size = sizeof(cmd);
	return (struct npu_cmd_fence *)c->cmds;
}

static struct npu_cmd_timestamp *t_tscmd(struct t_ctx *c)
{
	struct npu_cmd_timestamp cmd = t_cmd_ts(c->bo.dev_addr + 64);

	memcpy(c->cmds, &cmd, sizeof(cmd));
	c->cmds_size = sizeof(cmd);
	return (struct npu_cmd_timestamp *)c->cmds;
}

static struct npu_cmd_header *t_barrier(struct t_ctx *c)
{
	struct npu_cmd_header h = { .type = NPU_CMD_BARRIER, .dwords = 1 };

	memcpy(c->cmds, &h, sizeof(h));
	c->cmds_size = sizeof(h);
	return (struct npu_cmd_header *)c->cmds;
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
CASE(sub_queue) { t_copy(c); t_submit_arg(c, a); a->sub.queue = 0x7fffffff; }
CASE(sub_flags) { t_copy(c); t_submit_arg(c, a); a->sub.flags = 1u << 2; }
CASE(sub_pad) { t_copy(c); t_submit_arg(c, a); a->sub.pad = 1; }
/* SUBMIT with NPU_SUBMIT_CMDS_BO: cmds is a BO handle, pad the offset in it */
static void t_submit_bo(struct t_ctx *c, union t_arg *a, uint64_t handle, uint32_t off)
{
	t_copy(c);
	a->sub.cmds = handle;
	a->sub.cmds_size = c->cmds_size;
	a->sub.flags = NPU_SUBMIT_CMDS_BO;
	a->sub.pad = off;
}
CASE(sub_bo_handle0) { t_submit_bo(c, a, 0, 0); }
CASE(sub_bo_handle_freed) { t_submit_bo(c, a, c->freed_handle, 0); }
CASE(sub_bo_handle_foreign) { t_submit_bo(c, a, c->foreign_handle, 0); }
CASE(sub_bo_handle_high) { t_submit_bo(c, a, 1ull << 32 | c->bo.handle, 0); }
CASE(sub_bo_off_unaligned) { t_submit_bo(c, a, c->bo.handle, 4); }
CASE(sub_bo_off_past_end) { t_submit_bo(c, a, c->bo.handle, (1u << 20) - 8); }
CASE(sub_bo_off_huge) { t_submit_bo(c, a, c->bo.handle, UINT32_MAX - 7); }
CASE(sub_bo_not_visible) { t_submit_bo(c, a, c->dev_handle, 0); }
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
CASE(wait_queue) { a->w.queue = 0x7fffffff; }
CASE(wait_neg_timeout) { a->w.timeout_ns = -1; }
/* GET_FAULT */
CASE(gf_flags) { a->gf.flags = NPU_FAULT_F_VALID; }
/* SUBMIT: 1.1 commands and queues */
CASE(sig_dwords2) { t_fcmd(c, NPU_CMD_SIGNAL_FENCE)->hdr.dwords = 2; t_submit_arg(c, a); a->sub.cmds_size = 16; }
CASE(sig_pad) { t_fcmd(c, NPU_CMD_SIGNAL_FENCE)->pad = 1; t_submit_arg(c, a); }
CASE(sig_value0) { t_fcmd(c, NPU_CMD_SIGNAL_FENCE)->value = 0; t_submit_arg(c, a); }
CASE(sig_handle0) { t_fcmd(c, NPU_CMD_SIGNAL_FENCE)->fence = 0; t_submit_arg(c, a); }
CASE(sig_handle_dead) { t_fcmd(c, NPU_CMD_SIGNAL_FENCE)->fence = c->dead_fence; t_submit_arg(c, a); }
CASE(sig_handle_foreign) { t_fcmd(c, NPU_CMD_SIGNAL_FENCE)->fence = c->foreign_fence; t_submit_arg(c, a); }
CASE(wait_dwords4)
{
	t_fcmd(c, NPU_CMD_WAIT_FENCE)->hdr.dwords = 4;
	c->cmds[3] = 0;
	t_submit_arg(c, a);
	a->sub.cmds_size = 32;
}
CASE(wait_value0) { t_fcmd(c, NPU_CMD_WAIT_FENCE)->value = 0; t_submit_arg(c, a); }
CASE(wait_handle_unknown) { t_fcmd(c, NPU_CMD_WAIT_FENCE)->fence = 0x7fffffff; t_submit_arg(c, a); }
CASE(ts_dwords1) { t_tscmd(c)->hdr.dwords = 1; t_submit_arg(c, a); a->sub.cmds_size = 8; }
CASE(ts_unaligned) { t_tscmd(c)->dst_addr += 4; t_submit_arg(c, a); }
CASE(ts_past_va) { t_tscmd(c)->dst_addr = (1ull << 40) - 4; t_submit_arg(c, a); }
CASE(bar_dwords2) { t_barrier(c)->dwords = 2; c->cmds[1] = 0; t_submit_arg(c, a); a->sub.cmds_size = 16; }
CASE(bar_flags) { t_barrier(c)->flags = 4; t_submit_arg(c, a); }
CASE(sub_launch_on_copy) { t_launch(c); t_submit_arg(c, a); a->sub.queue = c->xq; }
CASE(sub_queue_dead) { t_copy(c); t_submit_arg(c, a); a->sub.queue = c->dead_queue; }
CASE(sub_queue_foreign) { t_copy(c); t_submit_arg(c, a); a->sub.queue = c->foreign_queue; }
CASE(sub_flags_top) { t_copy(c); t_submit_arg(c, a); a->sub.flags = 1u << 31; }
/* WAIT on other queues */
CASE(wait_queue_dead) { a->w.queue = c->dead_queue; }
CASE(wait_future_xq) { a->w.queue = c->xq; a->w.seqno = 1; }
/* SET_PARAM */
CASE(sp_param_count) { a->sp.param = NPU_PARAM_COUNT; }
CASE(sp_param_ro) { a->sp.param = NPU_PARAM_MEM_SIZE; }
CASE(sp_flags) { a->sp.flags = 2; }
CASE(sp_hang_low) { a->sp.value = 9; }
CASE(sp_hang_high) { a->sp.value = 3600001; }
CASE(sp_hang_dev_high) { a->sp.flags = NPU_SET_PARAM_DEVICE; a->sp.value = UINT64_MAX; }
CASE(sp_launch_high) { a->sp.param = NPU_PARAM_LAUNCH_TIMEOUT_US; a->sp.value = 1ull << 32; }
CASE(sp_ban_client) { a->sp.param = NPU_PARAM_BAN_THRESHOLD; a->sp.value = 2; }
CASE(sp_ban_high)
{
	a->sp.param = NPU_PARAM_BAN_THRESHOLD;
	a->sp.flags = NPU_SET_PARAM_DEVICE;
	a->sp.value = 1001;
}
/* QUEUE_CREATE */
CASE(qc_type) { a->qc.type = 2; }
CASE(qc_type_max) { a->qc.type = UINT32_MAX; }
CASE(qc_prio) { a->qc.priority = 3; }
CASE(qc_flags) { a->qc.flags = 1; }
/* QUEUE_DESTROY */
CASE(qd_queue0) { a->qd.queue = 0; }
CASE(qd_flags) { a->qd.flags = 1; }
CASE(qd_dead) { a->qd.queue = c->dead_queue; }
CASE(qd_foreign) { a->qd.queue = c->foreign_queue; }
CASE(qd_unknown) { a->qd.queue = 0x7fffffff; }
/* JOB_WAIT */
CASE(jw_flags) { a->jw.flags = 1; }
CASE(jw_neg_timeout) { a->jw.timeout_ns = INT64_MIN; }
CASE(jw_future) { a->jw.seqno = UINT64_MAX; }
CASE(jw_queue_dead) { a->jw.queue = c->dead_queue; }
CASE(jw_queue_foreign) { a->jw.queue = c->foreign_queue; }
/* FENCE_CREATE / DESTROY */
CASE(fc_flags) { a->fc.flags = 1; }
CASE(fd_flags) { a->fd.flags = 1; }
CASE(fd_handle0) { a->fd.handle = 0; }
CASE(fd_handle_dead) { a->fd.handle = c->dead_fence; }
CASE(fd_handle_foreign) { a->fd.handle = c->foreign_fence; }
/* FENCE_SIGNAL */
CASE(fs_flags) { a->fs.flags = 1; }
CASE(fs_handle0) { a->fs.handle = 0; }
CASE(fs_handle_foreign) { a->fs.handle = c->foreign_fence; }
CASE(fs_value_equal) { a->fs.value = 5; }
CASE(fs_value_lower) { a->fs.value = 1; }
CASE(fs_value_zero) { a->fs.value = 0; }
/* FENCE_QUERY */
CASE(fq_flags) { a->fq.flags = 1; }
CASE(fq_handle_dead) { a->fq.handle = c->dead_fence; }
CASE(fq_handle_foreign) { a->fq.handle = c->foreign_fence; }
/* FENCE_WAIT */
CASE(fw_handles_null) { a->fw.handles = 0; }
CASE(fw_values_null) { a->fw.values = 0; }
CASE(fw_count0) { a->fw.count = 0; }
CASE(fw_count_over) { a->fw.count = NPU_MAX_WAIT_FENCES + 1; }
CASE(fw_flags) { a->fw.flags = 2; }
CASE(fw_neg_timeout) { a->fw.timeout_ns = -5; }
CASE(fw_handle_dead) { c->wh[1] = c->dead_fence; a->fw.count = 2; }
CASE(fw_handle_foreign) { c->wh[1] = c->foreign_fence; a->fw.count = 2; }
/* FENCE_EXPORT / IMPORT */
CASE(fe_flags) { a->fe.flags = 1; }
CASE(fe_handle_dead) { a->fe.handle = c->dead_fence; }
CASE(fi_flags) { a->fi.flags = 1; }
CASE(fi_token0) { a->fi.token = 0; }
CASE(fi_token_bad) { a->fi.token = c->token ^ 1; }
/* GET_EVENTFD, RESET_STATUS */
CASE(ge_flags) { a->ge.flags = 1; }
CASE(rs_flags) { a->rs.flags = 1; }
/* BO_USERPTR */
CASE(up_ptr0) { a->up.user_ptr = 0; }
CASE(up_size0) { a->up.size = 0; }
CASE(up_size_max) { a->up.size = UINT64_MAX; }
CASE(up_size_over) { a->up.size = (1ull << 36) + 1; }
CASE(up_wraps) { a->up.user_ptr = UINT64_MAX - 100; a->up.size = 4096; }
CASE(up_flags_hv) { a->up.flags = NPU_BO_HOST_VISIBLE; }
CASE(up_flags_userptr) { a->up.flags = NPU_BO_USERPTR; }
CASE(up_unmapped) { a->up.user_ptr = 4096; }
CASE(up_ro_as_rw) { a->up.user_ptr = (uint64_t)(uintptr_t)c->ro_page; a->up.size = 4096; }
CASE(up_past_end) { a->up.size = 1ull << 35; }
CASE(sub_cmds_bad) { t_copy(c); t_submit_arg(c, a); a->sub.cmds = 64; }
CASE(fw_handles_bad) { a->fw.handles = 8; }
CASE(fw_values_bad) { a->fw.values = (uint64_t)(uintptr_t)c->ro_page + 4096 * 16; }
/* INJECT (validation comes before the "enabled" check) */
CASE(in_what0) { a->in.what = 0; }
CASE(in_what_over) { a->in.what = NPU_INJECT_DEVICE_RESET + 1; }
CASE(in_count0) { a->in.count = 0; }
CASE(in_count_over) { a->in.count = 1000001; }
CASE(in_reset_count) { a->in.what = NPU_INJECT_DEVICE_RESET; a->in.count = 2; }
CASE(in_flags) { a->in.flags = 1; }
CASE(in_pad) { a->in.pad = 1; }
CASE(in_disabled) { (void)a; }
/* JOB_TIME, CLIENT_INFO */
CASE(jt_flags) { a->jt.flags = 1; }
CASE(jt_seqno0) { a->jt.seqno = 0; }
CASE(jt_future) { a->jt.seqno = UINT64_MAX; }
CASE(jt_queue_dead) { a->jt.queue = c->dead_queue; }
CASE(jt_queue_foreign) { a->jt.queue = c->foreign_queue; }
CASE(jt_queue_unknown) { a->jt.queue = 12345; }
CASE(jt_never_reported) { a->jt.queue = c->xq; a->jt.seqno = 1; }
CASE(ci_flags) { a->ci.flags = 1; }
CASE(ci_flags_self) { a->ci.flags = NPU_CLIENT_INFO_SELF; }
CASE(ci_index_past) { a->ci.index = 2; }
CASE(ci_index_max) { a->ci.index = UINT32_MAX; }
/* QUEUE_STATUS (1.2) */
CASE(qs_flags) { a->qs.flags = 1; }
CASE(qs_queue_bad) { a->qs.queue = 12345; }
CASE(qs_dead_queue) { a->qs.queue = c->dead_queue; }
CASE(qs_foreign_queue) { a->qs.queue = c->foreign_queue; }

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
	C(NPU_IOCTL_SUBMIT, sub_bo_handle0, -ENOENT),
	C(NPU_IOCTL_SUBMIT, sub_bo_handle_freed, -ENOENT),
	C(NPU_IOCTL_SUBMIT, sub_bo_handle_foreign, -ENOENT),
	C(NPU_IOCTL_SUBMIT, sub_bo_handle_high, -EINVAL),
	C(NPU_IOCTL_SUBMIT, sub_bo_off_unaligned, -EINVAL),
	C(NPU_IOCTL_SUBMIT, sub_bo_off_past_end, -EFAULT),
	C(NPU_IOCTL_SUBMIT, sub_bo_off_huge, -EFAULT),
	C(NPU_IOCTL_SUBMIT, sub_bo_not_visible, -EINVAL),
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
	C(NPU_IOCTL_SUBMIT, sig_dwords2, -EINVAL),
	C(NPU_IOCTL_SUBMIT, sig_pad, -EINVAL),
	C(NPU_IOCTL_SUBMIT, sig_value0, -EINVAL),
	C(NPU_IOCTL_SUBMIT, sig_handle0, -ENOENT),
	C(NPU_IOCTL_SUBMIT, sig_handle_dead, -ENOENT),
	C(NPU_IOCTL_SUBMIT, sig_handle_foreign, -ENOENT),
	C(NPU_IOCTL_SUBMIT, wait_dwords4, -EINVAL),
	C(NPU_IOCTL_SUBMIT, wait_value0, -EINVAL),
	C(NPU_IOCTL_SUBMIT, wait_handle_unknown, -ENOENT),
	C(NPU_IOCTL_SUBMIT, ts_dwords1, -EINVAL),
	C(NPU_IOCTL_SUBMIT, ts_unaligned, -EINVAL),
	C(NPU_IOCTL_SUBMIT, ts_past_va, -EINVAL),
	C(NPU_IOCTL_SUBMIT, bar_dwords2, -EINVAL),
	C(NPU_IOCTL_SUBMIT, bar_flags, -EINVAL),
	C(NPU_IOCTL_SUBMIT, sub_launch_on_copy, -EINVAL),
	C(NPU_IOCTL_SUBMIT, sub_queue_dead, -ENOENT),
	C(NPU_IOCTL_SUBMIT, sub_queue_foreign, -ENOENT),
	C(NPU_IOCTL_SUBMIT, sub_flags_top, -EINVAL),
	C(NPU_IOCTL_WAIT, wait_queue_dead, -ENOENT),
	C(NPU_IOCTL_WAIT, wait_future_xq, -EINVAL),
	C(NPU_IOCTL_SET_PARAM, sp_param_count, -EINVAL),
	C(NPU_IOCTL_SET_PARAM, sp_param_ro, -EINVAL),
	C(NPU_IOCTL_SET_PARAM, sp_flags, -EINVAL),
	C(NPU_IOCTL_SET_PARAM, sp_hang_low, -EINVAL),
	C(NPU_IOCTL_SET_PARAM, sp_hang_high, -EINVAL),
	C(NPU_IOCTL_SET_PARAM, sp_hang_dev_high, -EINVAL),
	C(NPU_IOCTL_SET_PARAM, sp_launch_high, -EINVAL),
	C(NPU_IOCTL_SET_PARAM, sp_ban_client, -EINVAL),
	C(NPU_IOCTL_SET_PARAM, sp_ban_high, -EINVAL),
	C(NPU_IOCTL_QUEUE_CREATE, qc_type, -EINVAL),
	C(NPU_IOCTL_QUEUE_CREATE, qc_type_max, -EINVAL),
	C(NPU_IOCTL_QUEUE_CREATE, qc_prio, -EINVAL),
	C(NPU_IOCTL_QUEUE_CREATE, qc_flags, -EINVAL),
	C(NPU_IOCTL_QUEUE_DESTROY, qd_queue0, -EINVAL),
	C(NPU_IOCTL_QUEUE_DESTROY, qd_flags, -EINVAL),
	C(NPU_IOCTL_QUEUE_DESTROY, qd_dead, -ENOENT),
	C(NPU_IOCTL_QUEUE_DESTROY, qd_foreign, -ENOENT),
	C(NPU_IOCTL_QUEUE_DESTROY, qd_unknown, -ENOENT),
	C(NPU_IOCTL_JOB_WAIT, jw_flags, -EINVAL),
	C(NPU_IOCTL_JOB_WAIT, jw_neg_timeout, -EINVAL),
	C(NPU_IOCTL_JOB_WAIT, jw_future, -EINVAL),
	C(NPU_IOCTL_JOB_WAIT, jw_queue_dead, -ENOENT),
	C(NPU_IOCTL_JOB_WAIT, jw_queue_foreign, -ENOENT),
	C(NPU_IOCTL_FENCE_CREATE, fc_flags, -EINVAL),
	C(NPU_IOCTL_FENCE_DESTROY, fd_flags, -EINVAL),
	C(NPU_IOCTL_FENCE_DESTROY, fd_handle0, -ENOENT),
	C(NPU_IOCTL_FENCE_DESTROY, fd_handle_dead, -ENOENT),
	C(NPU_IOCTL_FENCE_DESTROY, fd_handle_foreign, -ENOENT),
	C(NPU_IOCTL_FENCE_SIGNAL, fs_flags, -EINVAL),
	C(NPU_IOCTL_FENCE_SIGNAL, fs_handle0, -ENOENT),
	C(NPU_IOCTL_FENCE_SIGNAL, fs_handle_foreign, -ENOENT),
	C(NPU_IOCTL_FENCE_SIGNAL, fs_value_equal, -EINVAL),
	C(NPU_IOCTL_FENCE_SIGNAL, fs_value_lower, -EINVAL),
	C(NPU_IOCTL_FENCE_SIGNAL, fs_value_zero, -EINVAL),
	C(NPU_IOCTL_FENCE_QUERY, fq_flags, -EINVAL),
	C(NPU_IOCTL_FENCE_QUERY, fq_handle_dead, -ENOENT),
	C(NPU_IOCTL_FENCE_QUERY, fq_handle_foreign, -ENOENT),
	C(NPU_IOCTL_FENCE_WAIT, fw_handles_null, -EFAULT),
	C(NPU_IOCTL_FENCE_WAIT, fw_values_null, -EFAULT),
	C(NPU_IOCTL_FENCE_WAIT, fw_count0, -EINVAL),
	C(NPU_IOCTL_FENCE_WAIT, fw_count_over, -EINVAL),
	C(NPU_IOCTL_FENCE_WAIT, fw_flags, -EINVAL),
	C(NPU_IOCTL_FENCE_WAIT, fw_neg_timeout, -EINVAL),
	C(NPU_IOCTL_FENCE_WAIT, fw_handle_dead, -ENOENT),
	C(NPU_IOCTL_FENCE_WAIT, fw_handle_foreign, -ENOENT),
	C(NPU_IOCTL_FENCE_EXPORT, fe_flags, -EINVAL),
	C(NPU_IOCTL_FENCE_EXPORT, fe_handle_dead, -ENOENT),
	C(NPU_IOCTL_FENCE_IMPORT, fi_flags, -EINVAL),
	C(NPU_IOCTL_FENCE_IMPORT, fi_token0, -ENOENT),
	C(NPU_IOCTL_FENCE_IMPORT, fi_token_bad, -ENOENT),
	C(NPU_IOCTL_GET_EVENTFD, ge_flags, -EINVAL),
	C(NPU_IOCTL_RESET_STATUS, rs_flags, -EINVAL),
	C(NPU_IOCTL_BO_USERPTR, up_ptr0, -EFAULT),
	C(NPU_IOCTL_BO_USERPTR, up_size0, -EINVAL),
	C(NPU_IOCTL_BO_USERPTR, up_size_max, -EINVAL),
	C(NPU_IOCTL_BO_USERPTR, up_size_over, -EINVAL),
	C(NPU_IOCTL_BO_USERPTR, up_wraps, -EINVAL),
	C(NPU_IOCTL_BO_USERPTR, up_flags_hv, -EINVAL),
	C(NPU_IOCTL_BO_USERPTR, up_flags_userptr, -EINVAL),
	C(NPU_IOCTL_BO_USERPTR, up_unmapped, -EFAULT),
	C(NPU_IOCTL_BO_USERPTR, up_ro_as_rw, -EFAULT),
	C(NPU_IOCTL_BO_USERPTR, up_past_end, -EFAULT),
	C(NPU_IOCTL_SUBMIT, sub_cmds_bad, -EFAULT),
	C(NPU_IOCTL_FENCE_WAIT, fw_handles_bad, -EFAULT),
	C(NPU_IOCTL_FENCE_WAIT, fw_values_bad, -EFAULT),
	C(NPU_IOCTL_INJECT, in_what0, -EINVAL),
	C(NPU_IOCTL_INJECT, in_what_over, -EINVAL),
	C(NPU_IOCTL_INJECT, in_count0, -EINVAL),
	C(NPU_IOCTL_INJECT, in_count_over, -EINVAL),
	C(NPU_IOCTL_INJECT, in_reset_count, -EINVAL),
	C(NPU_IOCTL_INJECT, in_flags, -EINVAL),
	C(NPU_IOCTL_INJECT, in_pad, -EINVAL),
	C(NPU_IOCTL_INJECT, in_disabled, -EPERM),
	C(NPU_IOCTL_JOB_TIME, jt_flags, -EINVAL),
	C(NPU_IOCTL_JOB_TIME, jt_seqno0, -EINVAL),
	C(NPU_IOCTL_JOB_TIME, jt_future, -EINVAL),
	C(NPU_IOCTL_JOB_TIME, jt_queue_dead, -ENOENT),
	C(NPU_IOCTL_JOB_TIME, jt_queue_foreign, -ENOENT),
	C(NPU_IOCTL_JOB_TIME, jt_queue_unknown, -ENOENT),
	C(NPU_IOCTL_JOB_TIME, jt_never_reported, -EINVAL),
	C(NPU_IOCTL_CLIENT_INFO, ci_flags, -EINVAL),
	C(NPU_IOCTL_CLIENT_INFO, ci_flags_self, -EINVAL),
	C(NPU_IOCTL_CLIENT_INFO, ci_index_past, -ENOENT),
	C(NPU_IOCTL_CLIENT_INFO, ci_index_max, -ENOENT),
	C(NPU_IOCTL_QUEUE_STATUS, qs_flags, -EINVAL),
	C(NPU_IOCTL_QUEUE_STATUS, qs_queue_bad, -ENOENT),
	C(NPU_IOCTL_QUEUE_STATUS, qs_dead_queue, -ENOENT),
	C(NPU_IOCTL_QUEUE_STATUS, qs_foreign_queue, -ENOENT),
};

/* Sentinel: every byte the case did not set is 0xa5, so a stray write shows. */
static void t_prefill(struct t_ctx *c, union t_arg *a, uint32_t request)
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
	case NPU_IOCTL_SET_PARAM:
		a->sp = (struct npu_set_param){ .param = NPU_PARAM_HANG_TIMEOUT_MS, .value = 100 };
		break;
	case NPU_IOCTL_QUEUE_CREATE:
		a->qc.type = NPU_QUEUE_COPY;
		a->qc.priority = NPU_QUEUE_PRIORITY_HIGH;
		a->qc.flags = 0;
		break;
	case NPU_IOCTL_QUEUE_DESTROY:
		a->qd = (struct npu_queue_destroy){ .queue = c->xq };
		break;
	case NPU_IOCTL_JOB_WAIT:
		a->jw.queue = 0;
		a->jw.flags = 0;
		a->jw.seqno = 0;
		a->jw.timeout_ns = 0;
		break;
	case NPU_IOCTL_FENCE_CREATE:
		a->fc.value = 1;
		a->fc.flags = 0;
		break;
	case NPU_IOCTL_FENCE_DESTROY:
		a->fd = (struct npu_fence_destroy){ .handle = c->fence };
		break;
	case NPU_IOCTL_FENCE_SIGNAL:
		a->fs = (struct npu_fence_signal){ .handle = c->fence, .value = 1000 };
		break;
	case NPU_IOCTL_FENCE_QUERY:
		a->fq.handle = c->fence;
		a->fq.flags = 0;
		break;
	case NPU_IOCTL_FENCE_WAIT:
		c->wh[0] = c->wh[1] = c->fence;
		c->wv[0] = c->wv[1] = 1;
		a->fw.handles = (uint64_t)(uintptr_t)c->wh;
		a->fw.values = (uint64_t)(uintptr_t)c->wv;
		a->fw.count = 1;
		a->fw.flags = 0;
		a->fw.timeout_ns = 0;
		break;
	case NPU_IOCTL_FENCE_EXPORT:
		a->fe.handle = c->fence;
		a->fe.flags = 0;
		break;
	case NPU_IOCTL_FENCE_IMPORT:
		a->fi.token = c->token;
		a->fi.flags = 0;
		break;
	case NPU_IOCTL_GET_EVENTFD:
		a->ge.flags = 0;
		break;
	case NPU_IOCTL_RESET_STATUS:
		a->rs.flags = 0;
		break;
	case NPU_IOCTL_BO_USERPTR:
		a->up.user_ptr = (uint64_t)(uintptr_t)c->host;
		a->up.size = sizeof(c->host);
		a->up.flags = 0;
		break;
	case NPU_IOCTL_INJECT:
		a->in = (struct npu_inject){ .what = NPU_INJECT_LOST_IRQ, .count = 1 };
		break;
	case NPU_IOCTL_JOB_TIME:
		a->jt.queue = 0;
		a->jt.flags = 0;
		a->jt.seqno = c->done_seqno;
		break;
	case NPU_IOCTL_CLIENT_INFO:
		a->ci.index = 1;
		a->ci.flags = 0;
		break;
	case NPU_IOCTL_QUEUE_STATUS:
		a->qs.queue = c->xq;
		a->qs.flags = 0;
		break;
	}
}

static int run_case(struct t_ctx *c, const struct t_case *tc)
{
	union t_arg a, before;
	int ret;

	t_prefill(c, &a, tc->request);
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

	t_prefill(c, &a, NPU_IOCTL_GET_PARAM);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_GET_PARAM, &a));
	t_prefill(c, &a, NPU_IOCTL_BO_INFO);
	a.bi.handle = c->bo.handle;
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_BO_INFO, &a));
	T_EQ(a.bi.dev_addr, c->bo.dev_addr);
	t_copy(c);
	seqno = t_submit(c->fd, c->cmds, c->cmds_size);
	t_fill(c);
	seqno = t_submit(c->fd, c->cmds, c->cmds_size);
	t_wait(c->fd, seqno);
	t_prefill(c, &a, NPU_IOCTL_GET_FAULT);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_GET_FAULT, &a));
	T_EQ(a.gf.flags, 0);
	/* 1.1: the valid starting points (those that change state are undone). */
	for (unsigned i = 0; i < 3; i++) {
		static const uint16_t types[] = { NPU_CMD_SIGNAL_FENCE, NPU_CMD_WAIT_FENCE,
						  NPU_CMD_TIMESTAMP };

		if (types[i] == NPU_CMD_TIMESTAMP)
			t_tscmd(c);
		else
			t_fcmd(c, types[i])->value = 5; /* the fence is at 5: nothing changes */
		t_wait(c->fd, t_submit(c->fd, c->cmds, c->cmds_size));
	}
	t_barrier(c);
	t_wait(c->fd, t_submit(c->fd, c->cmds, c->cmds_size));
	t_prefill(c, &a, NPU_IOCTL_SET_PARAM);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_SET_PARAM, &a));
	t_prefill(c, &a, NPU_IOCTL_JOB_WAIT);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_JOB_WAIT, &a));
	t_prefill(c, &a, NPU_IOCTL_FENCE_QUERY);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_FENCE_QUERY, &a));
	T_EQ(a.fq.value, 5);
	t_prefill(c, &a, NPU_IOCTL_FENCE_WAIT);
	a.fw.count = 2;
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_FENCE_WAIT, &a));
	t_prefill(c, &a, NPU_IOCTL_FENCE_EXPORT);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_FENCE_EXPORT, &a));
	T_EQ(a.fe.token, c->token);
	t_prefill(c, &a, NPU_IOCTL_FENCE_IMPORT);
	T_OK(npu_drv_ioctl(c->other_fd, NPU_IOCTL_FENCE_IMPORT, &a));
	t_prefill(c, &a, NPU_IOCTL_GET_EVENTFD);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_GET_EVENTFD, &a));
	t_prefill(c, &a, NPU_IOCTL_RESET_STATUS);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_RESET_STATUS, &a));
	t_prefill(c, &a, NPU_IOCTL_BO_USERPTR);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_BO_USERPTR, &a));
	t_bo_free(c->fd, a.up.handle);
	t_prefill(c, &a, NPU_IOCTL_QUEUE_STATUS);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_QUEUE_STATUS, &a));
	T_ASSERT(a.qs.status_ptr != 0);
	t_prefill(c, &a, NPU_IOCTL_QUEUE_CREATE);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_QUEUE_CREATE, &a));
	t_queue_destroy(c->fd, a.qc.queue);
	t_prefill(c, &a, NPU_IOCTL_FENCE_CREATE);
	T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_FENCE_CREATE, &a));
	{
		struct npu_fence_destroy d = { .handle = a.fc.handle };

		T_OK(npu_drv_ioctl(c->fd, NPU_IOCTL_FENCE_DESTROY, &d));
	}
}

/* Request-level failures: bad fd, unknown request, wrong size or direction, NULL arg. */
static int check_requests(struct t_ctx *c)
{
	static const uint32_t reqs[] = {
		NPU_IOCTL_GET_PARAM, NPU_IOCTL_BO_CREATE, NPU_IOCTL_BO_INFO, NPU_IOCTL_BO_FREE,
		NPU_IOCTL_SUBMIT, NPU_IOCTL_WAIT, NPU_IOCTL_GET_FAULT,
		NPU_IOCTL_SET_PARAM, NPU_IOCTL_QUEUE_CREATE, NPU_IOCTL_QUEUE_DESTROY,
		NPU_IOCTL_JOB_WAIT, NPU_IOCTL_FENCE_CREATE, NPU_IOCTL_FENCE_DESTROY,
		NPU_IOCTL_FENCE_SIGNAL, NPU_IOCTL_FENCE_QUERY, NPU_IOCTL_FENCE_WAIT,
		NPU_IOCTL_FENCE_EXPORT, NPU_IOCTL_FENCE_IMPORT, NPU_IOCTL_GET_EVENTFD,
		NPU_IOCTL_RESET_STATUS, NPU_IOCTL_BO_USERPTR, NPU_IOCTL_INJECT,
		NPU_IOCTL_JOB_TIME, NPU_IOCTL_CLIENT_INFO,
		NPU_IOCTL_QUEUE_STATUS,
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
	fails += npu_drv_ioctl(c->fd, NPU_IOWR(0x19, struct npu_get_param), &a) != -ENOTTY;
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
	uint64_t last = 0, seqno;
	int fails = 0;

	c.fd = t_open();
	c.other_fd = t_open();
	/* One readable page, then an unmapped hole of 16 pages. */
	c.ro_page = mmap(NULL, 4096 * 17, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(c.ro_page != MAP_FAILED);
	T_OK(munmap((uint8_t *)c.ro_page + 4096, 4096 * 16));
	c.sram = t_param(c.fd, NPU_PARAM_SRAM_SIZE);
	c.bo = t_bo(c.fd, 1 << 20, NPU_BO_HOST_VISIBLE);
	b = t_bo(c.fd, 4096, 0);
	c.freed_handle = b.handle;
	t_bo_free(c.fd, b.handle);
	c.dev_handle = t_bo(c.fd, 4096, 0).handle;
	/* Give the other client more BOs than this one, so its newest handle is foreign here. */
	for (int i = 0; i < 8; i++)
		c.foreign_handle = t_bo(c.other_fd, 4096, 0).handle;
	T_ASSERT(c.foreign_handle > b.handle);
	/* Queues and fences the same way: ids of the other client that this one lacks. */
	c.xq = t_queue(c.fd, NPU_QUEUE_COPY, NPU_QUEUE_PRIORITY_NORMAL);
	c.dead_queue = t_queue(c.fd, NPU_QUEUE_COMPUTE, NPU_QUEUE_PRIORITY_NORMAL);
	t_queue_destroy(c.fd, c.dead_queue);
	for (int i = 0; i < 3; i++)
		c.foreign_queue = t_queue(c.other_fd, NPU_QUEUE_COMPUTE, NPU_QUEUE_PRIORITY_LOW);
	T_ASSERT(c.foreign_queue > c.dead_queue);
	c.fence = t_fence(c.fd, 5);
	c.dead_fence = t_fence(c.fd, 0);
	{
		struct npu_fence_destroy d = { .handle = c.dead_fence };
		struct npu_fence_export e = { .handle = c.fence };

		T_OK(npu_drv_ioctl(c.fd, NPU_IOCTL_FENCE_DESTROY, &d));
		T_OK(npu_drv_ioctl(c.fd, NPU_IOCTL_FENCE_EXPORT, &e));
		c.token = e.token;
	}
	for (int i = 0; i < 4; i++)
		c.foreign_fence = t_fence(c.other_fd, 0);
	T_ASSERT(c.foreign_fence > c.dead_fence);

	check_baselines(&c);
	T_OK(t_wait_ms(c.fd, 0, 0, &last));
	c.done_seqno = last;
	T_ASSERT(last > 0);
	{
		union t_arg a;

		/* The valid JOB_TIME and CLIENT_INFO the cases start from. */
		t_prefill(&c, &a, NPU_IOCTL_JOB_TIME);
		T_OK(npu_drv_ioctl(c.fd, NPU_IOCTL_JOB_TIME, &a));
		T_ASSERT(a.jt.end_cycles >= a.jt.start_cycles);
		t_prefill(&c, &a, NPU_IOCTL_CLIENT_INFO);
		T_OK(npu_drv_ioctl(c.fd, NPU_IOCTL_CLIENT_INFO, &a));
	}

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
