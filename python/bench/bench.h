/* SPDX-License-Identifier: MIT */
/*
 * bench.h - the C half of the benchmark suite (npu.bench), built into the cffi extension
 * npu._bench. Two kinds of functions:
 *   - baselines that need no NPU: memcpy, thread ping-pongs (futex, eventfd, spin), a
 *     minimal computed-goto interpreter, a trivial function for the cost of one cffi call;
 *   - tight loops over libnpu's public API (launches, copies), so that figures measured
 *     from C carry no Python overhead.
 * Timed loops write one duration per repetition (ns, CLOCK_MONOTONIC) into ns_out[]; the
 * Python side computes medians and percentiles. Every function returns 0 or a negative
 * errno / npu_result_t; timing functions never fail half-way without saying so.
 */
#ifndef NPU_BENCH_H
#define NPU_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "npu/npu.h"

/* Ping-pong kinds for bench_pingpong(). */
#define BENCH_PP_FUTEX   0
#define BENCH_PP_EVENTFD 1
#define BENCH_PP_SPIN    2

/* How bench_launch_rt() waits for each launch: npu_device_synchronize (sleeps until the
 * completion interrupt), or npu_stream_synchronize of a stream of its own with the device in
 * libnpu's polling wait mode, NPU_WAIT_SPIN (the polling wait). */
#define BENCH_WAIT_SYNC 0
#define BENCH_WAIT_POLL 1

/* Copy directions for bench_npu_copy(). */
#define BENCH_HTOD 0
#define BENCH_DTOH 1

int64_t bench_now_ns(void);

/* Does nothing: one call of it from Python is the cost of one cffi call. */
int bench_nop(int x);

/* Stands in for npu_launch_kernel (same arguments, untyped so that another extension's
 * pointers pass) and does nothing: the Python SDK's own cost of a launch. */
int bench_launch_stub(void *dev, void *kernel, void *config, void *args, void *arg_sizes,
		      uint32_t num_args);

/* Times `iters` memcpy(dst, src, n). */
int bench_memcpy(void *dst, const void *src, size_t n, uint32_t iters, int64_t *ns_out);

/* `warmup` untimed then `n` timed round trips between this thread and a second one: this
 * thread wakes the other, the other wakes it back. This thread runs on ping_cpu and the
 * other on pong_cpu (-1: wherever the scheduler puts it); the caller's CPU affinity is
 * restored on return. */
int bench_pingpong(int kind, int ping_cpu, int pong_cpu, uint32_t warmup, uint32_t n,
		   int64_t *ns_out);

/* Runs the ALU loop program (the same 5-instruction body as the NPU kernel of the scalar
 * figure) for `iters` iterations on a computed-goto interpreter; *insns_out = instructions
 * retired, *ns_out = time taken. */
int bench_interp(uint64_t iters, uint64_t *insns_out, int64_t *ns_out);

/* Launch `kernel` (all arguments 8 bytes: ptr / i64 / u64) on grid (grid_x, 1, 1):
 * bench_launch_rt: `n` times launch + wait (BENCH_WAIT_*), each timed;
 * bench_launch_vs_pingpong: `warmup` untimed then `n` timed pairs of one launch round trip
 * (npu_device_synchronize) and one ping-pong round trip (BENCH_PP_FUTEX or _EVENTFD, the
 * threads placed as in bench_pingpong), one of each in turn;
 * bench_launch_pipelined: `n` launches then one synchronize; *submit_ns = time of the n
 * launches, *total_ns = until the synchronize returned. */
int bench_launch_rt(npu_device_t *dev, npu_kernel_t *kernel, const uint64_t *args,
		    uint32_t nargs, uint32_t grid_x, int wait, uint32_t n, int64_t *ns_out);
int bench_launch_vs_pingpong(npu_device_t *dev, npu_kernel_t *kernel, const uint64_t *args,
			     uint32_t nargs, uint32_t grid_x, int kind, int ping_cpu,
			     int pong_cpu, uint32_t warmup, uint32_t n, int64_t *launch_ns,
			     int64_t *pp_ns);
int bench_launch_pipelined(npu_device_t *dev, npu_kernel_t *kernel, const uint64_t *args,
			   uint32_t nargs, uint32_t grid_x, uint32_t n, int64_t *submit_ns,
			   int64_t *total_ns);

/* Times `iters` npu_memcpy_htod / _dtoh of n bytes between host and dptr. */
int bench_npu_copy(npu_device_t *dev, int dir, npu_deviceptr_t dptr, void *host, size_t n,
		   uint32_t iters, int64_t *ns_out);

/* Captures `n` launches of `kernel` (as bench_launch_pipelined) into a graph on a stream of its
 * own, then `reps` times: npu_graph_launch on the default stream + npu_device_synchronize;
 * submit_ns[r] = time of the graph launch, total_ns[r] = until the synchronize returned. */
int bench_graph_replay(npu_device_t *dev, npu_kernel_t *kernel, const uint64_t *args,
		       uint32_t nargs, uint32_t grid_x, uint32_t n, uint32_t reps,
		       int64_t *submit_ns, int64_t *total_ns);

/* Times `iters` npu_memcpy_2d_htod / _dtoh of `height` rows of `width` bytes, rows `dpitch`
 * apart on the device and `hpitch` apart on the host. */
int bench_npu_copy_2d(npu_device_t *dev, int dir, npu_deviceptr_t dptr, uint64_t dpitch,
		      void *host, uint64_t hpitch, uint64_t width, uint64_t height,
		      uint32_t iters, int64_t *ns_out);

#endif /* NPU_BENCH_H */
