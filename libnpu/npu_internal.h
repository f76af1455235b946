/* SPDX-License-Identifier: MIT */
/* libnpu internals: the structs behind the public opaque handles. Internal functions are
 * npui_*: everything links into one Python extension, and only NPU_API names are public. */
#ifndef NPU_INTERNAL_H
#define NPU_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "npu/npu.h"
#include "npu/npu_kbin.h"

/* One device allocation (a driver buffer object) and its host mapping. */
struct npu_alloc {
	npu_deviceptr_t va;
	uint64_t size;
	uint32_t handle;
	void *host;
};

/* What libnpu knows about each submitted job: names faults, feeds events and profilers. */
#define NPUI_JOB_HISTORY 4096
enum { NPUI_SIM_UNKNOWN = 0, NPUI_SIM_VALID = 1, NPUI_SIM_NONE = 2 };

struct npui_job {
	uint64_t id;               /* global job id, 0 = slot unused */
	uint64_t seqno;            /* fence value on its queue */
	uint64_t stream_id;
	uint32_t queue;
	uint32_t kind;             /* NPU_JOB_* */
	uint32_t grid[3];
	uint32_t faulted;
	uint64_t bytes;
	uint64_t submit_ns;
	uint64_t complete_ns;      /* 0 until seen complete */
	bool device_clock;         /* the device stamps it into dev->ts.host[id % N] */
	uint8_t sim_state;         /* NPUI_SIM_*: its simulated times (driver uapi >= 1.2) */
	uint32_t sim_launches;
	uint32_t sim_ncores;
	uint64_t sim_start, sim_end, sim_cycles;
	uint64_t sim_core[NPU_JOB_MAX_CORES];
	char name[64];
};

/*
 * The queue layer: the only code that submits to or waits on driver queues. Each stream maps
 * onto a queue here. With driver uapi >= 1.1 a stream gets a queue of its own (up to
 * NPUI_MAX_QUEUES; queues of destroyed streams are reused), each queue signals a timeline
 * fence with every job's seqno, and a stream waits for another queue's event with a
 * WAIT_FENCE job. Queue structs live until the device is closed.
 */
#define NPUI_MAX_QUEUES 8
struct npui_queue {
	struct npui_queue *next;   /* dev->queues */
	uint32_t id;               /* driver queue id (0 = the client's default queue) */
	uint32_t type;             /* NPU_QUEUE_COMPUTE / NPU_QUEUE_COPY */
	uint32_t priority;         /* NPU_QUEUE_PRIORITY_* */
	uint32_t streams;          /* streams using it */
	uint32_t fence;            /* fence handle signalled with each job's seqno, 0 = none */
	uint64_t fence_from;       /* first seqno whose job signals `fence` */
	uint64_t last_seqno;       /* last submitted on this queue */
	uint64_t completed;        /* highest fence seen signalled */
	const struct npu_queue_status *status; /* the driver's record (uapi >= 1.2), NULL if none */
	bool status_tried;         /* asked the driver for it already */
	uint64_t job_ids[NPUI_JOB_HISTORY]; /* seqno % N -> global job id */
};

#define NPUI_MAX_PENDING_FAULTS 64

struct npu_stream {
	struct npu_device *dev;
	struct npu_stream *next;   /* dev->streams */
	uint64_t id;               /* 0 = the default stream */
	uint32_t flags;
	int32_t priority;
	struct npui_queue *queue;
	uint64_t last_seqno;       /* this stream's last job (on its queue) */
	struct npu_graph *capture; /* graph being recorded (npu_stream_begin_capture), or NULL */
};

struct npu_event {
	struct npu_device *dev;
	uint32_t flags;
	bool recorded;
	struct npui_queue *queue;
	uint64_t seqno;            /* work before the event: done when this fence signals */
	uint64_t record_ns;        /* host time of the last record */
	uint64_t host_ns;          /* when it completed (timing events), 0 = not yet known */
};

struct npu_kernel {
	struct npu_module *mod;
	const char *name;
	uint32_t entry;
	uint32_t sram_bytes;
	uint32_t num_args;
	uint8_t arg_types[NPU_MAX_KERNEL_ARGS];
	const char *arg_names[NPU_MAX_KERNEL_ARGS];
};

struct npu_module {
	struct npu_device *dev;
	struct npu_module *next;
	npu_deviceptr_t code_va;
	uint32_t code_words;
	npu_deviceptr_t const_va;
	char *strings;           /* copy of the binary's string table */
	uint32_t num_kernels;
	struct npu_kernel *kernels;
};

struct npu_device {
	int fd;
	int ordinal;
	uint32_t uapi;           /* driver uapi version, major << 16 | minor */
	pthread_mutex_t lock;    /* everything below but `watch.thread` */
	pthread_cond_t submitted; /* a job was submitted (wakes the completion watcher) */
	struct npui_queue *queue0; /* the client's default queue: the default stream's */
	struct npui_queue *queues; /* every queue in use, queue0 first */
	uint32_t nqueues;
	struct npu_stream default_stream;
	struct npu_stream *streams;
	uint64_t next_stream_id;
	uint64_t last_job;       /* global id of the last submitted job */
	struct npu_alloc *allocs; /* sorted by va */
	size_t nallocs, cap_allocs;
	struct npu_module *modules;
	struct npui_job jobs[NPUI_JOB_HISTORY]; /* by global id % N */
	/* Faults read from the driver but not yet returned to the caller, oldest first. */
	struct npu_fault_info pending[NPUI_MAX_PENDING_FAULTS];
	uint64_t pending_seqno[NPUI_MAX_PENDING_FAULTS];
	uint32_t pending_queue[NPUI_MAX_PENDING_FAULTS];
	uint32_t npending;
	struct npu_fault_info last_fault;
	struct npu_device_props props;
	/* npu_device_set_wait_mode(): how waits wait. */
	uint32_t wait_mode;      /* NPU_WAIT_* */
	uint64_t wait_spin_ns;
	/* Statistics for npu_device_get_stats(). */
	uint64_t open_ns;
	uint64_t jobs_completed;
	uint64_t faults;
	uint64_t busy_ns;
	uint64_t busy_since;     /* != 0 while work is outstanding */
	uint64_t outstanding;    /* jobs submitted and not yet seen complete */
	/* Completion watcher (tracing / timing events): a thread that waits for each job. */
	struct {
		pthread_t thread;
		bool running;
		bool stop;
		bool tracing;    /* npu_device_set_tracing(1) holds one use */
		uint32_t users;  /* tracing + live timing events */
		int eventfd;     /* the driver's event fd (uapi >= 1.1), -1 if none */
	} watch;
	/* Device-clock stamps of each job's start and end while tracing (uapi >= 1.1): a
	 * buffer of NPUI_JOB_HISTORY pairs, by job id. */
	struct {
		npu_deviceptr_t va;
		uint64_t *host;
		uint64_t freq;   /* ticks per second */
	} ts;
	/* Command staging BO (driver uapi >= 1.2), made at the first submit: npui_submit
	 * writes each stream here and submits it by handle, so the driver copies it from its
	 * own memory instead of a checked user copy. Free again once SUBMIT returns. */
	struct {
		uint32_t handle;
		uint8_t *host;   /* mapping of NPU_MAX_CMD_BYTES, NULL if none */
		bool tried;      /* creation attempted */
		bool off;        /* the driver refuses the flag: pointer path */
	} cmdbo;
};

uint64_t npui_now_ns(void);

/* Records `fmt` as the calling thread's last error message and returns `code`. */
npu_result_t npui_set_error(npu_result_t code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void npui_clear_error(void);

/* Allocation table (dev->lock held). */
npu_result_t npui_alloc_bo(struct npu_device *dev, uint64_t size, uint32_t flags,
			   struct npu_alloc *out);
struct npu_alloc *npui_find_alloc(struct npu_device *dev, npu_deviceptr_t ptr, uint64_t size);
void npui_release_alloc(struct npu_device *dev, npu_deviceptr_t va);

/* Submits a command stream of one job on `stream`'s queue (dev->lock held). `job` gives the
 * record's kind, name, grid and bytes; its seqno is filled in. */
npu_result_t npui_submit(struct npu_device *dev, struct npu_stream *stream, const void *cmds,
			 uint32_t size, struct npui_job *job);
/* Waits until `seqno` of `q` has signalled (dev->lock held; dropped while sleeping), then
 * returns the oldest fault of a job <= seqno not yet reported, dropping the rest of those.
 * timeout_ns < 0 waits forever. */
npu_result_t npui_wait(struct npu_device *dev, struct npui_queue *q, uint64_t seqno,
		       int64_t timeout_ns);
/* Waits for every job of the device, on every queue (dev->lock held). */
npu_result_t npui_sync_all(struct npu_device *dev);
/* Resolves a public stream argument: NULL = the default stream. NULL result = bad handle. */
struct npu_stream *npui_stream(struct npu_device *dev, npu_stream_t *stream);
/* Device setup/teardown of the stream layer. */
npu_result_t npui_streams_init(struct npu_device *dev);
void npui_streams_fini(struct npu_device *dev);
/* Takes or drops a user of the completion watcher (dev->lock not held). */
npu_result_t npui_watch_get(struct npu_device *dev);
void npui_watch_put(struct npu_device *dev);

/* Whether `seqno` of `q` has completed, without sleeping (dev->lock held). */
npu_result_t npui_query(struct npu_device *dev, struct npui_queue *q, uint64_t seqno,
			bool *done);

/* Graph capture (graph.c; dev->lock held): npui_submit on a capturing stream records the
 * command stream instead of submitting it; event records and waits are recorded as nodes. */
npu_result_t npui_graph_add_cmds(struct npu_graph *g, const void *cmds, uint32_t size,
				 const struct npui_job *job);
npu_result_t npui_graph_add_event(struct npu_graph *g, struct npu_event *event, bool wait);

/* A host <-> device copy of `height` rows of `width` bytes (1-D: height 1), validated.
 * npui_host_copy runs it after the earlier work of `s` (NULL: of every stream), or records it
 * if `s` is capturing (dev->lock held). */
struct npui_host_copy {
	void *host;
	uint64_t hpitch;
	npu_deviceptr_t ptr;
	uint64_t dpitch;
	uint64_t width, height;
	bool to_device;
	const char *what;
};
npu_result_t npui_host_copy(struct npu_device *dev, struct npu_stream *s,
			    const struct npui_host_copy *c);
npu_result_t npui_graph_add_host_copy(struct npu_graph *g, const struct npui_host_copy *c);

uint32_t npui_crc32(uint32_t crc, const void *data, size_t len);

#endif /* NPU_INTERNAL_H */
