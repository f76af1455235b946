/* SPDX-License-Identifier: MIT */
/*
 * queue_status.c - uapi 1.2 queue status records: a client polls a queue's completion
 * without a call. The record follows submits and completions (faulting jobs counted in
 * `failed`, their fault already logged when `completed` passes them), is the same pointer on
 * every call, starts afresh for a new queue in a reused slot, and cannot be written.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drv_test.h"

static const struct npu_queue_status *t_status(int fd, uint32_t queue)
{
	struct npu_queue_status_map m = { .queue = queue };

	T_OK(npu_drv_ioctl(fd, NPU_IOCTL_QUEUE_STATUS, &m));
	T_ASSERT(m.status_ptr != 0);
	return (const struct npu_queue_status *)(uintptr_t)m.status_ptr;
}

static uint64_t completed(const struct npu_queue_status *st)
{
	return __atomic_load_n(&st->completed, __ATOMIC_ACQUIRE);
}

/* Spins on the record until `seqno` completes (no ioctl), for at most 10 s. */
static void spin_until(const struct npu_queue_status *st, uint64_t seqno)
{
	int64_t deadline = t_now_ns() + 10000000000ll;

	while (completed(st) < seqno)
		T_ASSERT(t_now_ns() < deadline);
}

int main(void)
{
	int fd = t_open();
	const uint64_t halt[] = { t_insn(NPU_INSN_HALT, 0, 0, 0, 0) };
	const uint64_t spin[] = { t_insn(NPU_INSN_JMP, 0, 0, 0, 0) };
	struct npu_bo_create hbo = t_code_bo(fd, halt, 1), sbo = t_code_bo(fd, spin, 1);
	const struct npu_queue_status *st0 = t_status(fd, 0), *st;
	struct t_launch ok, bad;
	uint32_t okb = t_launch_init(&ok, hbo.dev_addr, 1, 0, NULL);
	uint32_t badb = t_launch_init(&bad, sbo.dev_addr, 1, 0, NULL);
	struct npu_get_fault f;
	uint64_t seqno = 0, last0;
	uint32_t q;
	pid_t pid;
	int wst;

	bad.l.max_insns = 1000; /* a WATCHDOG fault */
	T_ASSERT(t_status(fd, 0) == st0);
	T_EQ(completed(st0), 0);
	T_EQ(st0->submitted, 0);

	/* Completions show up without a call. */
	for (int i = 0; i < 100; i++) {
		seqno = t_submit(fd, &ok, okb);
		T_EQ(st0->submitted, seqno);
		spin_until(st0, seqno);
	}
	T_EQ(completed(st0), 100);
	T_EQ(st0->failed, 0);
	T_EQ(t_job(fd, 0, seqno), 0);

	/* A faulting job: counted, and its fault is logged once `completed` passed it. */
	seqno = t_submit(fd, &bad, badb);
	spin_until(st0, seqno);
	T_EQ(st0->failed, 1);
	f = t_fault(fd);
	T_EQ(f.flags & NPU_FAULT_F_VALID, NPU_FAULT_F_VALID);
	T_EQ(f.seqno, seqno);
	T_EQ(f.code, NPU_TRAP_WATCHDOG);
	seqno = t_submit(fd, &ok, okb);
	spin_until(st0, seqno);
	T_EQ(st0->failed, 1);
	last0 = seqno;

	/* Another queue has its own record; a new queue in a reused slot starts afresh. */
	q = t_queue(fd, NPU_QUEUE_COMPUTE, NPU_QUEUE_PRIORITY_NORMAL);
	st = t_status(fd, q);
	T_ASSERT(st != st0);
	T_EQ(completed(st), 0);
	seqno = t_submitq(fd, q, &ok, okb);
	spin_until(st, seqno);
	T_EQ(completed(st), 1);
	t_queue_destroy(fd, q);
	q = t_queue(fd, NPU_QUEUE_COPY, NPU_QUEUE_PRIORITY_HIGH);
	st = t_status(fd, q);
	T_EQ(completed(st), 0);
	T_EQ(st->submitted, 0);
	T_EQ(completed(st0), last0); /* queue 0's record is its own */

	/* Read-only: a write kills the writer. */
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		*(volatile uint64_t *)(uintptr_t)&st0->completed = 0;
		_exit(0);
	}
	T_EQ(waitpid(pid, &wst, 0), pid);
	T_ASSERT(WIFSIGNALED(wst) && (WTERMSIG(wst) == SIGSEGV || WTERMSIG(wst) == SIGBUS));

	t_queue_destroy(fd, q);
	T_OK(npu_drv_close(fd));
	return T_PASS;
}
