/* SPDX-License-Identifier: MIT */
/*
 * stress_hangs.c - back-to-back hangs, and the device is usable after each: alternately a
 * kernel that spins (killed by hang detection, no reset) and a stalled command processor
 * (injected: the watchdog resets the device). After every hang a fresh client checks a fill
 * and a kernel bit for bit, and a long-lived client keeps working too. Device memory in use,
 * open fds, threads and RSS are sampled and must stay flat.
 *
 *   drv_stress_hangs [--hangs 1000] [--hang-ms 10] [--kind mixed|spin|stall] [--quiet]
 */
#include <dirent.h>
#include <getopt.h>

#include "drv_test.h"

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static long status_field(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return v;
}

struct sample {
	uint64_t mem_used;
	long fds, threads, rss_kb;
};

static struct sample take(int fd)
{
	struct sample s = {
		.mem_used = t_param(fd, NPU_PARAM_MEM_USED),
		.fds = count_fds(),
		.threads = status_field("Threads:"),
		.rss_kb = status_field("VmRSS:"),
	};
	return s;
}

/* A new client: a fill and a kernel, checked; then it closes. */
static void check_device(unsigned round)
{
	int fd = t_open();
	struct npu_bo_create out = t_bo(fd, 1 << 16, NPU_BO_HOST_VISIBLE);
	uint64_t *o = t_map(fd, &out, 1 << 16);
	struct npu_bo_create code = t_writer_bo(fd);
	struct t_launch l;
	uint32_t bytes = t_writer(&l, &code, out.dev_addr + 4096, round, 10, 4);
	struct npu_cmd_fill fl = t_cmd_fill(out.dev_addr, 4096, round);

	T_EQ(t_job(fd, 0, t_submitq(fd, 0, &fl, sizeof(fl))), 0);
	T_EQ(t_job(fd, 0, t_submitq(fd, 0, &l, bytes)), 0);
	T_EQ(o[0], ((uint64_t)round << 32) | round);
	for (unsigned i = 0; i < 4; i++)
		T_EQ(o[512 + i], (uint64_t)round + i);
	T_OK(npu_drv_munmap(fd, o, 1 << 16));
	T_OK(npu_drv_close(fd));
}

int main(int argc, char **argv)
{
	unsigned hangs = 1000, kind = 0; /* 0 mixed, 1 spin, 2 stall */
	uint64_t hang_ms = 10;
	bool quiet = false;
	struct sample s0, s1 = { 0 }, s2;
	int opt, keeper, victim;
	unsigned kills = 0, resets = 0;
	int64_t t0, worst = 0, total = 0;

	static const struct option opts[] = {
		{ "hangs", required_argument, NULL, 'n' },
		{ "hang-ms", required_argument, NULL, 'h' },
		{ "kind", required_argument, NULL, 'k' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	while ((opt = getopt_long(argc, argv, "n:h:k:q", opts, NULL)) != -1) {
		if (opt == 'n')
			hangs = (unsigned)strtoul(optarg, NULL, 0);
		else if (opt == 'h')
			hang_ms = strtoull(optarg, NULL, 0);
		else if (opt == 'k')
			kind = !strcmp(optarg, "spin") ? 1 : !strcmp(optarg, "stall") ? 2 : 0;
		else if (opt == 'q')
			quiet = true;
		else
			return T_FAIL;
	}
	setenv("NPU_FAULT_INJECTION", "1", 1);
	keeper = t_open();
	t_set_param(keeper, NPU_PARAM_HANG_TIMEOUT_MS, NPU_SET_PARAM_DEVICE, hang_ms);
	t_set_param(keeper, NPU_PARAM_BAN_THRESHOLD, NPU_SET_PARAM_DEVICE, 0);
	victim = t_open();
	{
		struct npu_bo_create spin = t_spin_bo(victim);
		struct t_launch l;
		uint32_t bytes = t_launch_init(&l, spin.dev_addr, 1, 0, NULL);
		struct npu_bo_create kb = t_bo(keeper, 4096, NPU_BO_HOST_VISIBLE);
		uint32_t *kp = t_map(keeper, &kb, 4096);
		struct npu_cmd_fill kfl;

		check_device(0);
		s0 = take(keeper);
		for (unsigned i = 1; i <= hangs; i++) {
			bool stall = kind == 2 || (kind == 0 && (i & 1));
			uint64_t s;
			int32_t st;
			int64_t dt;

			t0 = t_now_ns();
			if (stall) {
				struct npu_cmd_fill fl = t_cmd_fill(kb.dev_addr, 4, i);

				T_OK(t_inject(keeper, NPU_INJECT_CP_STALL, 1));
				s = t_submitq(keeper, 0, &fl, sizeof(fl));
				T_EQ(t_job(keeper, 0, s), -EAGAIN);
				resets++;
			} else {
				s = t_submitq(victim, 0, &l, bytes);
				st = t_job(victim, 0, s);
				T_EQ(st, -ETIMEDOUT);
				kills++;
			}
			dt = t_now_ns() - t0;
			total += dt;
			if (dt > worst)
				worst = dt;
			while (t_fault(victim).flags)
				;
			while (t_fault(keeper).flags)
				;
			check_device(i);
			kfl = t_cmd_fill(kb.dev_addr, 4096, 0x10000 + i);
			T_EQ(t_job(keeper, 0, t_submitq(keeper, 0, &kfl, sizeof(kfl))), 0);
			T_EQ(kp[1023], 0x10000 + i);
			if (i == 10 || (hangs < 10 && i == hangs))
				s1 = take(keeper);
		}
		s2 = take(keeper);
		T_OK(npu_drv_munmap(keeper, kp, 4096));
	}
	if (!quiet) {
		printf("%u hangs (%u kills, %u device resets), hang timeout %llu ms: detect+recover "
		       "mean %.1f ms, worst %.1f ms; device usable after each\n", hangs, kills, resets,
		       (unsigned long long)hang_ms, total / 1e6 / (hangs ? hangs : 1), worst / 1e6);
		printf("device memory used: %llu / %llu / %llu bytes; fds %ld / %ld / %ld; threads "
		       "%ld / %ld / %ld; RSS %ld / %ld / %ld KiB (start / after 10 / end)\n",
		       (unsigned long long)s0.mem_used, (unsigned long long)s1.mem_used,
		       (unsigned long long)s2.mem_used, s0.fds, s1.fds, s2.fds, s0.threads,
		       s1.threads, s2.threads, s0.rss_kb, s1.rss_kb, s2.rss_kb);
	}
	T_EQ(s2.mem_used, s0.mem_used);
	T_EQ(s2.fds, s0.fds);
	T_EQ(s2.threads, s0.threads);
	/* RSS: the allocator may keep a little; a leak per hang would show over hundreds. */
	if (hangs >= 100 && s2.rss_kb > s1.rss_kb + 4096) {
		fprintf(stderr, "RSS grew from %ld to %ld KiB\n", s1.rss_kb, s2.rss_kb);
		return T_FAIL;
	}
	T_OK(npu_drv_close(victim));
	T_OK(npu_drv_close(keeper));
	return T_PASS;
}
