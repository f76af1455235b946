/* SPDX-License-Identifier: MIT */
/*
 * publish.c - the published device status (uapi 1.2): a booted device appears in
 * NPU_RUN_DIR as PID.INDEX (0600 in a 0700 directory) and in npu_drv_status_list() with its
 * facts, memory, clients, jobs, faults and busy time; the record goes with the device or
 * the process (exit); a record of a dead process is removed, garbage and truncated files
 * are skipped; a reader never sees a half-written (seq) section while a writer thread
 * hammers it; a run directory that cannot be used leaves the device working. Uses the
 * internal seams drv_pub_open() and drv_pub_test_fill().
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drv_test.h"
#include "npu_drv_internal.h"

#define REC_SIZE ((uint32_t)sizeof(struct npu_status_record))

static char g_dir[256];

static void set_run_dir(const char *dir)
{
	T_OK(setenv(NPU_STATUS_RUN_DIR_ENV, dir, 1));
}

static uint32_t list(struct npu_status_record *out, uint32_t max)
{
	uint32_t count = 12345;

	T_OK(npu_drv_status_list(out, REC_SIZE, max, &count));
	return count;
}

static bool exists(const char *dir, int pid, unsigned index)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%d.%u", dir, pid, index);
	return access(path, F_OK) == 0;
}

static void write_file(const char *dir, const char *name, const void *data, size_t size)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	T_ASSERT(fd >= 0);
	T_EQ(write(fd, data, size), (long long)size);
	close(fd);
}

static void test_args(void)
{
	struct npu_status_record r;
	uint32_t count;

	T_EQ(npu_drv_status_list(&r, REC_SIZE, 1, NULL), -EINVAL);
	T_EQ(npu_drv_status_list(&r, REC_SIZE - 8, 1, &count), -EINVAL);
	T_EQ(npu_drv_status_list(NULL, REC_SIZE, 1, &count), -EINVAL);
	/* A directory that does not exist yet: nothing published, not an error. */
	set_run_dir("/nonexistent-npu-run-dir/x");
	T_EQ(list(NULL, 0), 0);
	set_run_dir(g_dir);
}

/* A real device: what it publishes while it runs, and that the record goes with it. */
static void test_device(void)
{
	struct npu_status_record r[4];
	struct npu_bo_create bo;
	struct npu_cmd_fill fill;
	struct npu_cmd_copy bad;
	struct stat st;
	char path[512];
	int64_t t0 = t_now_ns();
	uint64_t seqno = 0;
	int fd, fd2;

	fd = t_open();
	snprintf(path, sizeof(path), "%s/%d.0", g_dir, (int)getpid());
	T_OK(stat(g_dir, &st));
	T_EQ(st.st_mode & 0777, 0700);
	T_OK(stat(path, &st));
	T_EQ(st.st_mode & 0777, 0600);

	T_EQ(list(r, 4), 1);
	T_EQ(r[0].magic, NPU_STATUS_MAGIC);
	T_EQ(r[0].version, NPU_STATUS_VERSION);
	T_EQ(r[0].size, REC_SIZE);
	T_EQ(r[0].pid, getpid());
	T_EQ(r[0].index, 0);
	T_EQ(r[0].seq % 2, 0);
	T_ASSERT(!strncmp(r[0].name, "npu0 (", 6));
	T_ASSERT(strstr(r[0].cmdline, "publish") != NULL);
	T_ASSERT(r[0].comm[0] != '\0');
	T_ASSERT(r[0].proc_start != 0);
	T_EQ(r[0].num_cores, t_param(fd, NPU_PARAM_NUM_CORES));
	T_EQ(r[0].sram_size, t_param(fd, NPU_PARAM_SRAM_SIZE));
	T_EQ(r[0].clock_khz, t_param(fd, NPU_PARAM_CLOCK_KHZ));
	T_EQ(r[0].mem_total, t_param(fd, NPU_PARAM_MEM_SIZE));
	T_EQ(r[0].mem_used, t_param(fd, NPU_PARAM_MEM_USED));
	T_EQ(r[0].clients, 1);
	T_EQ(r[0].jobs_submitted, 0);
	T_EQ(r[0].busy_ns, 0);
	T_EQ(r[0].busy_since_ns, 0);
	T_ASSERT(r[0].start_mono_ns >= (uint64_t)t0 && r[0].start_mono_ns <= (uint64_t)t_now_ns());

	/* Memory and clients follow allocations and opens. */
	bo = t_bo(fd, 8u << 20, 0);
	T_EQ(list(r, 4), 1);
	T_EQ(r[0].mem_used, t_param(fd, NPU_PARAM_MEM_USED));
	T_ASSERT(r[0].mem_used >= (8u << 20));
	fd2 = t_open();
	T_EQ(list(r, 4), 1);
	T_EQ(r[0].clients, 2);

	/* Jobs, busy time and faults. */
	fill = t_cmd_fill(bo.dev_addr, 8u << 20, 0x01020304);
	for (int i = 0; i < 20; i++)
		seqno = t_submit(fd, &fill, sizeof(fill));
	t_wait(fd, seqno);
	bad = t_cmd_copy(0x10000, bo.dev_addr, 4096); /* unmapped source: a fault */
	t_wait(fd2, t_submit(fd2, &bad, sizeof(bad)));
	T_EQ(t_fault(fd2).flags & NPU_FAULT_F_VALID, NPU_FAULT_F_VALID);
	T_EQ(list(r, 4), 1);
	T_EQ(r[0].jobs_submitted, 21);
	T_EQ(r[0].jobs_completed, 21);
	T_EQ(r[0].faults, 1);
	T_EQ(r[0].busy_since_ns, 0); /* every job has signalled: idle */
	T_ASSERT(r[0].busy_ns > 0);
	T_ASSERT(r[0].busy_ns <= (uint64_t)(t_now_ns() - t0));

	T_OK(npu_drv_close(fd2));
	T_EQ(list(r, 4), 1);
	T_EQ(r[0].clients, 1);
	t_bo_free(fd, bo.handle);
	T_OK(npu_drv_close(fd));
	T_ASSERT(!exists(g_dir, getpid(), 0));
	T_EQ(list(r, 4), 0);
}

/* Files that are not live records. */
static void test_stale_and_garbage(void)
{
	struct npu_status_record r[4], rec;
	char name[64], junk[700];
	pid_t dead;
	int fd;

	/* A valid record to copy from. */
	fd = t_open();
	T_EQ(list(&rec, 1), 1);
	T_OK(npu_drv_close(fd));

	dead = fork();
	T_ASSERT(dead >= 0);
	if (!dead)
		_exit(0);
	T_EQ(waitpid(dead, NULL, 0), dead);

	/* A process that exits with its device open removes the record on the way out. */
	dead = fork();
	T_ASSERT(dead >= 0);
	if (!dead) {
		t_open();
		exit(exists(g_dir, getpid(), 0) ? 0 : 1);
	}
	{
		int status = -1;

		T_EQ(waitpid(dead, &status, 0), dead);
		T_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		T_ASSERT(!exists(g_dir, dead, 0));
	}

	/* A process that is gone: its record is removed, and so is its garbage. */
	rec.pid = dead;
	rec.proc_start = 0;
	snprintf(name, sizeof(name), "%d.0", (int)dead);
	write_file(g_dir, name, &rec, sizeof(rec));
	snprintf(name, sizeof(name), "%d.1", (int)dead);
	write_file(g_dir, name, "junk", 4);
	/* Live pid (ours), but no valid record: skipped, left alone. */
	memset(junk, 0x5a, sizeof(junk));
	snprintf(name, sizeof(name), "%d.3", (int)getpid());
	write_file(g_dir, name, junk, sizeof(junk));           /* garbage */
	rec.pid = getpid();
	rec.index = 4;
	snprintf(name, sizeof(name), "%d.4", (int)getpid());
	write_file(g_dir, name, &rec, 100);                    /* truncated */
	rec.index = 5;
	rec.version = 99;
	snprintf(name, sizeof(name), "%d.5", (int)getpid());
	write_file(g_dir, name, &rec, sizeof(rec));            /* unknown version */
	rec.version = NPU_STATUS_VERSION;
	rec.index = 7;
	snprintf(name, sizeof(name), "%d.6", (int)getpid());
	write_file(g_dir, name, &rec, sizeof(rec));            /* index not its name's */
	write_file(g_dir, "notes.txt", "x", 1);                /* not a record name */
	/* A reused pid: alive, but started at another time than the record says. */
	rec.index = 8;
	rec.proc_start = 1;
	snprintf(name, sizeof(name), "%d.8", (int)getpid());
	write_file(g_dir, name, &rec, sizeof(rec));

	T_EQ(list(r, 4), 0);
	T_ASSERT(!exists(g_dir, dead, 0));
	T_ASSERT(!exists(g_dir, dead, 1));
	T_ASSERT(!exists(g_dir, getpid(), 8));
	T_ASSERT(exists(g_dir, getpid(), 3));
	T_ASSERT(exists(g_dir, getpid(), 4));

	/* A valid record of this live process with the right name is listed, next to junk;
	 * a larger rec_size gets zeros past the record, and count exceeds a small max. */
	rec.index = 9;
	rec.proc_start = 0;
	snprintf(name, sizeof(name), "%d.9", (int)getpid());
	write_file(g_dir, name, &rec, sizeof(rec));
	rec.index = 10;
	snprintf(name, sizeof(name), "%d.10", (int)getpid());
	write_file(g_dir, name, &rec, sizeof(rec));
	{
		uint8_t big[2][REC_SIZE + 64];
		uint32_t count = 0;

		memset(big, 0xff, sizeof(big));
		T_OK(npu_drv_status_list(big, sizeof(big[0]), 1, &count));
		T_EQ(count, 2);
		T_EQ(((struct npu_status_record *)(void *)big[0])->index, 9);
		for (unsigned i = REC_SIZE; i < sizeof(big[0]); i++)
			T_EQ(big[0][i], 0);
		T_EQ(big[1][0], 0xff); /* beyond max: untouched */
	}
	for (unsigned i = 3; i <= 10; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%d.%u", g_dir, (int)getpid(), i);
		unlink(path);
	}
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/notes.txt", g_dir);
		unlink(path);
	}
}

/* ---- seqlock: a writer thread against readers ------------------------------------------ */
static struct npu_pub *g_pub;
static int g_stop;

static void *writer(void *arg)
{
	(void)arg;
	for (uint64_t v = 1; !__atomic_load_n(&g_stop, __ATOMIC_RELAXED); v++) {
		/* 100k (seq) writes/s, far more than a device makes (a write per allocation, open
		 * or idle/busy edge), and a count bump each; a writer that never pauses would
		 * starve any seqlock reader, and at 1M/s a TSan-slowed one (two preads) was. */
		int64_t next = t_now_ns() + 10000;

		drv_pub_test_fill(g_pub, v);
		drv_pub_submitted(g_pub, false);
		while (t_now_ns() < next)
			;
	}
	return NULL;
}

static void test_seqlock(void)
{
	struct npu_device *dev = calloc(1, sizeof(*dev));
	struct npu_status_record r[2];
	uint64_t last = 0, last_jobs = 0, changes = 0;
	pthread_t th;
	int64_t end;

	T_ASSERT(dev);
	dev->index = 11;
	dev->ops = &npu_sim_hw_ops;
	dev->num_cores = 3;
	pthread_mutex_init(&dev->lock, NULL);
	g_pub = drv_pub_open(dev);
	T_ASSERT(g_pub != NULL);
	T_OK(pthread_create(&th, NULL, writer, NULL));
	end = t_now_ns() + 300 * 1000000ll;
	for (int i = 0; i < 20000 && t_now_ns() < end; i++) {
		T_EQ(list(r, 2), 1);
		T_EQ(r[0].index, 11);
		T_EQ(r[0].num_cores, 3);
		/* One (seq) write sets them all to v: a torn snapshot would mix two values. */
		T_EQ(r[0].busy_ns, r[0].mem_used);
		T_EQ(r[0].busy_since_ns, r[0].mem_used);
		T_EQ(r[0].clients, (uint32_t)r[0].mem_used);
		T_EQ(r[0].resets, (uint32_t)r[0].mem_used);
		T_ASSERT(r[0].mem_used >= last);
		T_ASSERT(r[0].jobs_submitted >= last_jobs);
		changes += r[0].mem_used != last;
		last = r[0].mem_used;
		last_jobs = r[0].jobs_submitted;
	}
	__atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
	T_OK(pthread_join(th, NULL));
	T_ASSERT(changes > 1); /* the reader did see the writer at work */
	T_ASSERT(exists(g_dir, getpid(), 11));
	drv_pub_close(g_pub);
	T_ASSERT(!exists(g_dir, getpid(), 11));
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

/* A run directory that cannot be used: the device works, unpublished. */
static void test_unusable_dir(void)
{
	char bad[512];
	struct npu_bo_create bo;
	int fd;

	snprintf(bad, sizeof(bad), "%s/open", g_dir);
	T_OK(mkdir(bad, 0700));
	T_OK(chmod(bad, 0777)); /* others may write: not used */
	set_run_dir(bad);
	fd = t_open();
	bo = t_bo(fd, 1u << 20, 0);
	t_bo_free(fd, bo.handle);
	T_EQ(list(NULL, 0), 0);
	T_OK(npu_drv_close(fd));
	T_OK(rmdir(bad));

	snprintf(bad, sizeof(bad), "%s/file", g_dir);
	write_file(g_dir, "file", "x", 1);
	snprintf(bad, sizeof(bad), "%s/file/sub", g_dir);
	set_run_dir(bad);               /* a path through a regular file */
	fd = t_open();
	T_OK(npu_drv_close(fd));
	snprintf(bad, sizeof(bad), "%s/file", g_dir);
	unlink(bad);
	set_run_dir(g_dir);
}

int main(void)
{
	char base[] = "/tmp/npu-publish-XXXXXX";

	T_ASSERT(mkdtemp(base) != NULL);
	/* Created by the driver: not there yet. */
	snprintf(g_dir, sizeof(g_dir), "%s/run", base);
	set_run_dir(g_dir);
	test_args();
	test_device();
	test_stale_and_garbage();
	test_seqlock();
	test_unusable_dir();
	T_OK(rmdir(g_dir));
	T_OK(rmdir(base));
	return T_PASS;
}
