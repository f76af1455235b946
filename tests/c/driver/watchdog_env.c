/* SPDX-License-Identifier: MIT */
/*
 * watchdog_env.c - the driver's watchdog defaults for launches that leave max_insns or
 * timeout_us at 0: NPU_WATCHDOG_MS (default 2000) and NPU_WATCHDOG_INSNS (default 0 = none),
 * read when the device is created (first open after the last close).
 */
#include "drv_test.h"

static int64_t run_spinner(uint64_t *seqno_out, struct npu_get_fault *f)
{
	int fd = t_open();
	const uint64_t spin[] = { t_insn(NPU_INSN_JMP, 0, 0, 0, 0) };
	struct npu_bo_create sbo = t_code_bo(fd, spin, 1);
	struct t_launch l;
	uint32_t bytes = t_launch_init(&l, sbo.dev_addr, 1, 0, NULL); /* both limits 0 */
	int64_t t0 = t_now_ns();
	uint64_t seqno = t_submit(fd, &l, bytes);

	t_wait(fd, seqno);
	t0 = t_now_ns() - t0;
	*f = t_fault(fd);
	*seqno_out = seqno;
	T_OK(npu_drv_close(fd));
	return t0;
}

int main(void)
{
	struct npu_get_fault f;
	uint64_t seqno;
	int64_t dt;

	/* The built-in default: 2 s of wall clock. */
	unsetenv("NPU_WATCHDOG_MS");
	unsetenv("NPU_WATCHDOG_INSNS");
	dt = run_spinner(&seqno, &f);
	T_EQ(f.code, NPU_TRAP_WATCHDOG);
	T_EQ(f.seqno, seqno);
	T_ASSERT(dt >= 1900 * 1000000ll);
	T_ASSERT(dt < 15000 * 1000000ll);

	/* NPU_WATCHDOG_MS: 50 ms. */
	setenv("NPU_WATCHDOG_MS", "50", 1);
	dt = run_spinner(&seqno, &f);
	T_EQ(f.code, NPU_TRAP_WATCHDOG);
	T_ASSERT(dt >= 45 * 1000000ll);
	T_ASSERT(dt < 1500 * 1000000ll);

	/* NPU_WATCHDOG_INSNS: a budget of 1000 instructions stops it long before 10 s. */
	setenv("NPU_WATCHDOG_MS", "10000", 1);
	setenv("NPU_WATCHDOG_INSNS", "1000", 1);
	dt = run_spinner(&seqno, &f);
	T_EQ(f.code, NPU_TRAP_WATCHDOG);
	T_ASSERT(dt < 5000 * 1000000ll);

	/* A malformed value falls back to the default (with a warning). */
	setenv("NPU_WATCHDOG_MS", "50ms", 1);
	unsetenv("NPU_WATCHDOG_INSNS");
	dt = run_spinner(&seqno, &f);
	T_EQ(f.code, NPU_TRAP_WATCHDOG);
	T_ASSERT(dt >= 1900 * 1000000ll);
	return T_PASS;
}
