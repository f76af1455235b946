/* SPDX-License-Identifier: MIT */
/*
 * npu_publish.c - the published device status (npu_accel.h, uapi 1.2): the state a kernel
 * driver would export through sysfs and /proc/PID/fdinfo, so that a monitoring tool in another
 * process (npu-smi) sees the devices of every process.
 *
 * Each powered-on device maps a small file, RUN_DIR/PID.INDEX, and writes its status record
 * into it in place. Writers:
 *   - the submit and completion paths: a relaxed add to jobs_submitted / jobs_completed (each
 *     on a cache line of its own), and on the device's idle <-> busy edges (the count of
 *     hardware queues with unfinished jobs reaching 1 or 0) drv_pub_busy_edge();
 *   - slow paths (memory allocation, open/close, reset): the (seq) fields under pub->lock.
 * Reading (npu_drv_status_list) copies the file twice with pread() until both copies agree and
 * `seq` is even: a consistent snapshot without mapping another process's file (a file cut
 * short under a mapping would be SIGBUS; pread just returns fewer bytes).
 *
 * Publishing is best effort: a failure is logged once and the device works without it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npu_drv_internal.h"

#define PUB_MAP_SIZE 4096u
#define PUB_READ_TRIES 1000

_Static_assert(sizeof(struct npu_status_record) <= PUB_MAP_SIZE, "record fits its page");
_Static_assert(offsetof(struct npu_status_record, seq) == 448, "ABI");
_Static_assert(offsetof(struct npu_status_record, jobs_submitted) == 512, "ABI");
_Static_assert(offsetof(struct npu_status_record, jobs_completed) == 576, "ABI");

static int64_t pub_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The run directory: $NPU_RUN_DIR, else /dev/shm/npu-UID. -ENAMETOOLONG if it does not fit. */
static int pub_run_dir(char *buf, size_t len)
{
	const char *env = getenv(NPU_STATUS_RUN_DIR_ENV);
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else
		n = snprintf(buf, len, "/dev/shm/npu-%u", (unsigned)geteuid());
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Someone else's directory, or one others may write into, is not ours to publish in. */
static int pub_check_dir(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return -EACCES;
	return 0;
}

/* /proc/PID/stat field 22: the process's start time. 0 when unreadable. */
static uint64_t pub_proc_start(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: count from its last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &start) != 1)
		return 0;
	return start;
}

/* Reads a small /proc file of this process; NULs become spaces (cmdline). */
static void pub_read_self(const char *path, char *out, size_t len)
{
	ssize_t n;
	int fd;

	memset(out, 0, len);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, out, len - 1);
	close(fd);
	if (n <= 0) {
		out[0] = '\0';
		return;
	}
	while (n > 0 && (out[n - 1] == '\0' || out[n - 1] == '\n'))
		n--;
	out[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (out[i] == '\0' || out[i] == '\n')
			out[i] = ' ';
}

/* ---- Writer ---------------------------------------------------------------------------- */
/* Seqlock writer (pub->lock held): seq odd, fields, seq even. Field stores are releases, so
 * the odd seq is visible before any of them (a fence would do, but TSan does not take
 * fences); the even seq is a release after them. */
static uint64_t pub_write_begin(struct npu_status_record *r)
{
	uint64_t seq = __atomic_load_n(&r->seq, __ATOMIC_RELAXED);

	__atomic_store_n(&r->seq, seq + 1, __ATOMIC_RELAXED);
	return seq + 2;
}

static void pub_write_end(struct npu_status_record *r, uint64_t seq)
{
	__atomic_store_n(&r->seq, seq, __ATOMIC_RELEASE);
}

#define PUB_SET(r, field, v) __atomic_store_n(&(r)->field, (v), __ATOMIC_RELEASE)
#define PUB_GET(r, field)    __atomic_load_n(&(r)->field, __ATOMIC_RELAXED)

/* Records of devices still powered on when the process exits normally are removed then;
 * after a crash the next reader removes them (their pid is gone). */
static pthread_mutex_t g_pub_lock = PTHREAD_MUTEX_INITIALIZER;
static struct npu_pub *g_pubs;

static void pub_atexit(void)
{
	pthread_mutex_lock(&g_pub_lock);
	for (struct npu_pub *p = g_pubs; p; p = p->next)
		if (p->pid == (int)getpid())
			unlink(p->path);
	pthread_mutex_unlock(&g_pub_lock);
}

static void pub_atexit_init(void)
{
	if (atexit(pub_atexit))
		npu_dbg("atexit failed: records of open devices stay until a reader removes them");
}

static void pub_register(struct npu_pub *p)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, pub_atexit_init);
	pthread_mutex_lock(&g_pub_lock);
	p->next = g_pubs;
	g_pubs = p;
	pthread_mutex_unlock(&g_pub_lock);
}

static void pub_unregister(struct npu_pub *p)
{
	pthread_mutex_lock(&g_pub_lock);
	for (struct npu_pub **pp = &g_pubs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	pthread_mutex_unlock(&g_pub_lock);
}

static void pub_warn_once(unsigned index, const char *dir, const char *what, int err)
{
	static int warned;

	if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
		npu_warn("device %u: not publishing its status in %s (%s: %s); npu-smi in other "
			 "processes will not see it", index, dir, what, strerror(-err));
}

struct npu_pub *drv_pub_open(struct npu_device *dev)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 64];
	struct npu_status_record *r;
	struct npu_pub *p;
	const char *what;
	void *map;
	int fd, ret, n;

	ret = pub_run_dir(dir, sizeof(dir));
	if (ret) {
		pub_warn_once(dev->index, "$" NPU_STATUS_RUN_DIR_ENV, "path", ret);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		pub_warn_once(dev->index, dir, "allocation", -ENOMEM);
		return NULL;
	}
	p->pid = (int)getpid();
	n = snprintf(p->path, sizeof(p->path), "%s/%d.%u", dir, p->pid, dev->index);
	snprintf(tmp, sizeof(tmp), "%s/.%d.%u.tmp", dir, p->pid, dev->index);
	if (n < 0 || (size_t)n >= sizeof(p->path)) {
		what = "path";
		ret = -ENAMETOOLONG;
		goto err_free;
	}
	what = "mkdir";
	if (mkdir(dir, 0700) && errno != EEXIST) {
		ret = -errno;
		goto err_free;
	}
	what = "directory";
	ret = pub_check_dir(dir);
	if (ret)
		goto err_free;
	/* Written under a temporary name and renamed: a reader never sees half a record. */
	what = "create";
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto err_free;
	}
	what = "ftruncate";
	if (ftruncate(fd, PUB_MAP_SIZE)) {
		ret = -errno;
		goto err_close;
	}
	what = "mmap";
	map = mmap(NULL, PUB_MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		ret = -errno;
		goto err_close;
	}
	close(fd);
	r = map;
	r->version = NPU_STATUS_VERSION;
	r->size = sizeof(*r);
	r->pid = p->pid;
	r->index = dev->index;
	r->proc_start = pub_proc_start(p->pid);
	r->start_ns = (uint64_t)pub_realtime_ns();
	r->start_mono_ns = (uint64_t)drv_now_ns();
	snprintf(r->name, sizeof(r->name), "npu%u (%s)", dev->index, dev->ops->name);
	pub_read_self("/proc/self/comm", r->comm, sizeof(r->comm));
	pub_read_self("/proc/self/cmdline", r->cmdline, sizeof(r->cmdline));
	r->num_cores = dev->num_cores;
	r->sram_size = dev->sram_size;
	r->clock_khz = dev->clock_khz;
	r->fw_version = dev->fw_version;
	r->isa_version = dev->isa_version;
	r->mem_total = dev->aperture_size;
	r->mem_used = drv_mem_used(dev);
	r->resets = __atomic_load_n(&dev->resets, __ATOMIC_RELAXED);
	__atomic_store_n(&r->magic, NPU_STATUS_MAGIC, __ATOMIC_RELEASE);
	what = "rename";
	if (rename(tmp, p->path)) {
		ret = -errno;
		munmap(map, PUB_MAP_SIZE);
		unlink(tmp);
		goto err_free;
	}
	p->rec = r;
	pthread_mutex_init(&p->lock, NULL);
	pub_register(p);
	npu_dbg("device %u: status published in %s", dev->index, p->path);
	return p;

err_close:
	close(fd);
	unlink(tmp);
err_free:
	pub_warn_once(dev->index, dir, what, ret);
	free(p);
	return NULL;
}

void drv_pub_close(struct npu_pub *p)
{
	if (!p)
		return;
	pub_unregister(p);
	if (p->pid == (int)getpid())
		unlink(p->path);
	munmap(p->rec, PUB_MAP_SIZE);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* The count of busy queues crossed 0: bring the record's busy period in line with it.
 * Edges of two threads may arrive in either order; whoever comes last sees the final count,
 * so the record ends right (a period may stretch by the few instructions between a count
 * change and its edge). */
void drv_pub_busy_edge(struct npu_pub *p)
{
	struct npu_status_record *r = p->rec;
	uint64_t since, now, seq;
	bool busy;

	pthread_mutex_lock(&p->lock);
	busy = __atomic_load_n(&p->busy_queues, __ATOMIC_ACQUIRE) != 0;
	since = PUB_GET(r, busy_since_ns);
	if (busy != (since != 0)) {
		now = (uint64_t)drv_now_ns();
		seq = pub_write_begin(r);
		if (busy) {
			PUB_SET(r, busy_since_ns, now ? now : 1);
		} else {
			PUB_SET(r, busy_ns, PUB_GET(r, busy_ns) + (now > since ? now - since : 0));
			PUB_SET(r, busy_since_ns, 0);
		}
		pub_write_end(r, seq);
	}
	pthread_mutex_unlock(&p->lock);
}

void drv_pub_set_mem(struct npu_pub *p, uint64_t used)
{
	uint64_t seq;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	seq = pub_write_begin(p->rec);
	PUB_SET(p->rec, mem_used, used);
	pub_write_end(p->rec, seq);
	pthread_mutex_unlock(&p->lock);
}

void drv_pub_set_clients(struct npu_pub *p, uint32_t clients)
{
	uint64_t seq;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	seq = pub_write_begin(p->rec);
	PUB_SET(p->rec, clients, clients);
	pub_write_end(p->rec, seq);
	pthread_mutex_unlock(&p->lock);
}

void drv_pub_set_resets(struct npu_pub *p, uint32_t resets)
{
	uint64_t seq;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	seq = pub_write_begin(p->rec);
	PUB_SET(p->rec, resets, resets);
	pub_write_end(p->rec, seq);
	pthread_mutex_unlock(&p->lock);
}

void drv_pub_test_fill(struct npu_pub *p, uint64_t v)
{
	uint64_t seq;

	pthread_mutex_lock(&p->lock);
	seq = pub_write_begin(p->rec);
	PUB_SET(p->rec, mem_used, v);
	PUB_SET(p->rec, busy_ns, v);
	PUB_SET(p->rec, busy_since_ns, v);
	PUB_SET(p->rec, clients, (uint32_t)v);
	PUB_SET(p->rec, resets, (uint32_t)v);
	pub_write_end(p->rec, seq);
	pthread_mutex_unlock(&p->lock);
}

/* ---- Reader ---------------------------------------------------------------------------- */
/* "PID.INDEX" with both decimal and in range; anything else in the directory is not ours. */
static bool pub_parse_name(const char *name, int *pid, uint32_t *index)
{
	unsigned long long a, b;
	char *end;

	if (name[0] < '0' || name[0] > '9')
		return false;
	errno = 0;
	a = strtoull(name, &end, 10);
	if (errno || *end != '.' || a == 0 || a > INT_MAX || end[1] < '0' || end[1] > '9')
		return false;
	b = strtoull(end + 1, &end, 10);
	if (errno || *end || b >= NPU_DRV_MAX_DEVICES)
		return false;
	*pid = (int)a;
	*index = (uint32_t)b;
	return true;
}

static bool pub_pid_gone(int pid, uint64_t proc_start)
{
	uint64_t now_start;

	if (kill(pid, 0) && errno == ESRCH)
		return true;
	/* Alive, or not ours to signal: a reused pid shows a different start time. */
	now_start = proc_start ? pub_proc_start(pid) : 0;
	return now_start && now_start != proc_start;
}

/* A consistent snapshot of one record file; -errno or -EBADMSG (not a valid record). */
static int pub_read_one(int dfd, const char *name, int pid, uint32_t index,
			struct npu_status_record *out)
{
	struct npu_status_record a, b;
	struct stat st;
	int fd, ret = -EAGAIN;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_size < (off_t)sizeof(a)) {
		close(fd);
		return -EBADMSG;
	}
	for (int i = 0; i < PUB_READ_TRIES; i++) {
		if (pread(fd, &a, sizeof(a), 0) != (ssize_t)sizeof(a) ||
		    pread(fd, &b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
			ret = -EBADMSG;
			break;
		}
		/* The (count) fields move without `seq` on every submit and completion; each is
		 * one value, whole in any read. Compared, they would starve this reader while
		 * the device is busy: take the second read's and compare the rest. */
		a.faults = b.faults;
		a.jobs_submitted = b.jobs_submitted;
		a.jobs_completed = b.jobs_completed;
		if (!memcmp(&a, &b, sizeof(a)) && !(a.seq & 1)) {
			ret = 0;
			break;
		}
		if (i >= 10)
			sched_yield();
	}
	close(fd);
	if (ret)
		return ret;
	if (a.magic != NPU_STATUS_MAGIC || a.version != NPU_STATUS_VERSION ||
	    a.size < sizeof(a) || a.pid != pid || a.index != index)
		return -EBADMSG;
	a.name[sizeof(a.name) - 1] = '\0';
	a.comm[sizeof(a.comm) - 1] = '\0';
	a.cmdline[sizeof(a.cmdline) - 1] = '\0';
	a.size = sizeof(a);
	*out = a;
	return 0;
}

static int pub_cmp(const void *x, const void *y)
{
	const struct npu_status_record *a = x, *b = y;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

NPU_DRV_EXPORT int npu_drv_status_list(void *out, uint32_t rec_size, uint32_t max,
				       uint32_t *count)
{
	struct npu_status_record *recs = NULL, *grown;
	size_t n = 0, cap = 0;
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int dfd, ret;

	if (!count) {
		npu_dbg("status_list: NULL count");
		return -EINVAL;
	}
	if (rec_size < sizeof(struct npu_status_record)) {
		npu_dbg("status_list: rec_size %u < %zu", rec_size,
			sizeof(struct npu_status_record));
		return -EINVAL;
	}
	if (max && !out) {
		npu_dbg("status_list: NULL out with max %u", max);
		return -EINVAL;
	}
	ret = pub_run_dir(dir, sizeof(dir));
	if (ret)
		return ret;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR) {
			*count = 0;
			return 0;
		}
		return -errno;
	}
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		struct npu_status_record r;
		uint32_t index;
		int pid;

		if (!pub_parse_name(de->d_name, &pid, &index))
			continue;
		ret = pub_read_one(dfd, de->d_name, pid, index, &r);
		/* A file named for a process that is gone is removed whatever it holds. */
		if (pub_pid_gone(pid, ret ? 0 : r.proc_start)) {
			npu_dbg("status_list: removing %s/%s: process %d is gone", dir, de->d_name,
				pid);
			unlinkat(dfd, de->d_name, 0);
			continue;
		}
		if (ret) {
			npu_dbg("status_list: skipping %s/%s: %s", dir, de->d_name,
				ret == -EBADMSG ? "not a valid record" : strerror(-ret));
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(recs, cap * sizeof(*recs));
			if (!grown) {
				closedir(d);
				free(recs);
				return -ENOMEM;
			}
			recs = grown;
		}
		recs[n++] = r;
	}
	closedir(d);
	if (n > 1)
		qsort(recs, n, sizeof(*recs), pub_cmp);
	for (size_t i = 0; i < n && i < max; i++) {
		char *dst = (char *)out + i * rec_size;

		memcpy(dst, &recs[i], sizeof(recs[i]));
		memset(dst + sizeof(recs[i]), 0, rec_size - sizeof(recs[i]));
	}
	free(recs);
	*count = (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
	return 0;
}
