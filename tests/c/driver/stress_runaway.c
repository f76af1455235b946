/* SPDX-License-Identifier: MIT */
/*
 * stress_runaway.c - one client launches a kernel that never ends while 15 others, each on
 * its own thread, keep the device busy with kernels and copies whose results are checked bit
 * for bit. Reports how long the runaway took to be detected and killed, and whether every
 * innocent job completed correctly.
 *
 *   drv_stress_runaway [--clients 16] [--jobs 40] [--hang-ms 2000] [--quiet]
 *
 * --hang-ms sets the device's hang timeout (NPU_PARAM_HANG_TIMEOUT_MS). Exit 0 when the
 * runaway was killed within its timeout plus 1 s and every innocent result is right.
 */
#include <getopt.h>
#include <pthread.h>

#include "drv_test.h"

struct innocent {
	int fd;
	unsigned idx;
	unsigned jobs;
	pthread_t th;
	uint64_t jobs_ok, words_checked;
	int errors;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static bool g_start;

static void *innocent_main(void *arg)
{
	struct innocent *w = arg;
	struct npu_bo_create code = t_writer_bo(w->fd);
	struct npu_bo_create out = t_bo(w->fd, 1 << 16, NPU_BO_HOST_VISIBLE);
	struct npu_bo_create cpy = t_bo(w->fd, 1 << 16, NPU_BO_HOST_VISIBLE);
	uint64_t *o = t_map(w->fd, &out, 1 << 16), *c = t_map(w->fd, &cpy, 1 << 16);
	uint32_t xq = t_queue(w->fd, NPU_QUEUE_COPY, NPU_QUEUE_PRIORITY_NORMAL);

	pthread_mutex_lock(&g_lock);
	while (!g_start)
		pthread_cond_wait(&g_cond, &g_lock);
	pthread_mutex_unlock(&g_lock);
	for (unsigned j = 0; j < w->jobs; j++) {
		uint64_t value = ((uint64_t)w->idx << 40) | ((uint64_t)j << 20);
		uint32_t grid = 1 + (j * 7 + w->idx) % 64;
		struct t_launch l;
		uint32_t bytes = t_writer(&l, &code, out.dev_addr, value, 2000, grid);
		struct npu_cmd_copy cp = t_cmd_copy(out.dev_addr, cpy.dev_addr, 8u * grid);
		uint64_t s;
		int32_t st;

		/* Kernel on queue 0, then the copy engine copies its output. */
		s = t_submitq(w->fd, 0, &l, bytes);
		st = t_job(w->fd, 0, s);
		if (st) {
			fprintf(stderr, "client %u job %u: kernel status %d\n", w->idx, j, st);
			w->errors++;
			continue;
		}
		s = t_submitq(w->fd, xq, &cp, sizeof(cp));
		st = t_job(w->fd, xq, s);
		if (st) {
			fprintf(stderr, "client %u job %u: copy status %d\n", w->idx, j, st);
			w->errors++;
			continue;
		}
		for (uint32_t i = 0; i < grid; i++) {
			if (o[i] != value + i || c[i] != value + i) {
				fprintf(stderr, "client %u job %u: word %u is 0x%llx/0x%llx, expected 0x%llx\n",
					w->idx, j, i, (unsigned long long)o[i],
					(unsigned long long)c[i], (unsigned long long)(value + i));
				w->errors++;
				break;
			}
			w->words_checked += 2;
		}
		w->jobs_ok++;
	}
	if (t_fault(w->fd).flags)
		w->errors++;
	T_OK(npu_drv_munmap(w->fd, o, 1 << 16));
	T_OK(npu_drv_munmap(w->fd, c, 1 << 16));
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned clients = 16, jobs = 40;
	uint64_t hang_ms = 2000;
	bool quiet = false;
	struct innocent *w;
	int opt, guilty, errors = 0;
	uint64_t jobs_ok = 0, words = 0, seqno;
	int64_t t0, dt;
	struct npu_get_fault f;

	static const struct option opts[] = {
		{ "clients", required_argument, NULL, 'c' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "hang-ms", required_argument, NULL, 'h' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	while ((opt = getopt_long(argc, argv, "c:j:h:q", opts, NULL)) != -1) {
		if (opt == 'c')
			clients = (unsigned)strtoul(optarg, NULL, 0);
		else if (opt == 'j')
			jobs = (unsigned)strtoul(optarg, NULL, 0);
		else if (opt == 'h')
			hang_ms = strtoull(optarg, NULL, 0);
		else if (opt == 'q')
			quiet = true;
		else
			return T_FAIL;
	}
	T_ASSERT(clients >= 2 && clients <= 16);
	guilty = t_open();
	t_set_param(guilty, NPU_PARAM_HANG_TIMEOUT_MS, NPU_SET_PARAM_DEVICE, hang_ms);
	w = calloc(clients, sizeof(*w));
	for (unsigned i = 1; i < clients; i++) {
		w[i].fd = t_open();
		w[i].idx = i;
		w[i].jobs = jobs;
		T_OK(pthread_create(&w[i].th, NULL, innocent_main, &w[i]));
	}
	{
		struct npu_bo_create spin = t_spin_bo(guilty);
		struct t_launch l;
		uint32_t bytes = t_launch_init(&l, spin.dev_addr, 1, 0, NULL);

		pthread_mutex_lock(&g_lock);
		g_start = true;
		pthread_cond_broadcast(&g_cond);
		pthread_mutex_unlock(&g_lock);
		t0 = t_now_ns();
		seqno = t_submitq(guilty, 0, &l, bytes);
		T_EQ(t_job(guilty, 0, seqno), -ETIMEDOUT);
		dt = t_now_ns() - t0;
	}
	for (unsigned i = 1; i < clients; i++) {
		T_OK(pthread_join(w[i].th, NULL));
		errors += w[i].errors;
		jobs_ok += w[i].jobs_ok;
		words += w[i].words_checked;
		T_EQ(t_reset_status(w[i].fd).status, NPU_RESET_NONE);
		T_OK(npu_drv_close(w[i].fd));
	}
	f = t_fault(guilty);
	T_EQ(f.code, NPU_TRAP_WATCHDOG);
	T_EQ(f.flags & NPU_FAULT_F_HANG, NPU_FAULT_F_HANG);
	T_EQ(t_reset_status(guilty).status, NPU_RESET_GUILTY);
	if (!quiet)
		printf("runaway kernel killed %.1f ms after submit (hang timeout %llu ms, %u busy "
		       "clients); innocent jobs: %llu of %llu correct, %llu words checked, %d errors; "
		       "device resets: %u\n", dt / 1e6, (unsigned long long)hang_ms, clients - 1,
		       (unsigned long long)jobs_ok, (unsigned long long)(clients - 1) * jobs,
		       (unsigned long long)words, errors, t_reset_status(guilty).device_resets);
	T_OK(npu_drv_close(guilty));
	free(w);
	if (errors || jobs_ok != (uint64_t)(clients - 1) * jobs)
		return T_FAIL;
	/* Detected within the timeout plus slack (ticks, and a busy 2-core machine). */
	if (dt < (int64_t)hang_ms * 1000000 || dt > (int64_t)(hang_ms + 1000) * 1000000) {
		fprintf(stderr, "detection took %.1f ms for a %llu ms timeout\n", dt / 1e6,
			(unsigned long long)hang_ms);
		return T_FAIL;
	}
	return T_PASS;
}
