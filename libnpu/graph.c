/* SPDX-License-Identifier: MIT */
/*
 * libnpu: graphs, recorded command buffers (stream capture and replay).
 *
 * While a stream captures, npui_submit() hands the command stream of every job to
 * npui_graph_add_cmds() instead of the driver, so launches, device copies and fills are
 * recorded exactly as they would have been submitted (already validated and encoded).
 * Consecutive device commands accumulate into one segment; a replay submits each segment as
 * one job, i.e. one SUBMIT ioctl of many commands. Event records, event waits and host copies
 * are nodes of their own, run at replay through the same code as outside a capture.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu_internal.h"

enum graph_node_kind {
	NODE_CMDS,       /* a segment: device commands submitted as one job */
	NODE_RECORD,     /* npu_event_record at this point */
	NODE_WAIT,       /* npu_stream_wait_event at this point */
	NODE_HOST_COPY,  /* a host <-> device copy, run once the stream gets here */
};

struct graph_node {
	enum graph_node_kind kind;
	/* NODE_CMDS: [off, off + size) of g->cmds, and its job record. */
	uint32_t off, size;
	struct npui_job job;
	/* NODE_RECORD / NODE_WAIT */
	struct npu_event *event;
	/* NODE_HOST_COPY */
	struct npui_host_copy copy;
};

/* Where a replay was last submitted, per queue: what npu_graph_destroy checks. */
struct graph_flight {
	struct npui_queue *queue;
	uint64_t seqno;
};

struct npu_graph {
	struct npu_device *dev;
	struct graph_node *nodes;
	uint32_t nnodes, cap_nodes;
	uint8_t *cmds;
	uint32_t cmd_bytes, cap_cmds;
	uint32_t launches, ops;    /* launches; operations recorded as commands */
	uint64_t replays;
	struct graph_flight flight[NPUI_MAX_QUEUES + 1];
};

static struct graph_node *graph_node_new(struct npu_graph *g, enum graph_node_kind kind)
{
	if (g->nnodes == g->cap_nodes) {
		uint32_t cap = g->cap_nodes ? g->cap_nodes * 2 : 16;
		struct graph_node *n = realloc(g->nodes, cap * sizeof(*n));
		if (!n)
			return NULL;
		g->nodes = n;
		g->cap_nodes = cap;
	}
	memset(&g->nodes[g->nnodes], 0, sizeof(g->nodes[0]));
	g->nodes[g->nnodes].kind = kind;
	return &g->nodes[g->nnodes++];
}

/* Names a segment after the kernels it launches ("vadd", "vadd+relu"), else its first
 * command's kind, so that a fault of a replay names what faulted. */
static void segment_name(struct graph_node *n, const struct npui_job *job)
{
	size_t len = strlen(n->job.name);

	if (n->job.kind != NPU_JOB_GRAPH) {
		/* The segment's first job. */
		n->job = *job;
		n->job.kind = NPU_JOB_GRAPH;
		n->job.bytes = job->bytes;
		return;
	}
	n->job.bytes += job->bytes;
	if (job->kind != NPU_JOB_LAUNCH)
		return;
	if (strcmp(n->job.name, "copy") == 0 || strcmp(n->job.name, "fill") == 0 ||
	    strcmp(n->job.name, "wait") == 0) {
		snprintf(n->job.name, sizeof(n->job.name), "%s", job->name);
		memcpy(n->job.grid, job->grid, sizeof(n->job.grid));
		return;
	}
	/* Append a kernel name the segment does not have yet (while it fits). */
	for (const char *p = n->job.name; (p = strstr(p, job->name)); p++)
		if ((p == n->job.name || p[-1] == '+') &&
		    (p[strlen(job->name)] == '\0' || p[strlen(job->name)] == '+'))
			return;
	size_t add = strlen(job->name);
	if (len + 1 + add < sizeof(n->job.name)) {
		n->job.name[len] = '+';
		memcpy(n->job.name + len + 1, job->name, add + 1);
	}
}

npu_result_t npui_graph_add_cmds(struct npu_graph *g, const void *cmds, uint32_t size,
				 const struct npui_job *job)
{
	struct graph_node *n = g->nnodes ? &g->nodes[g->nnodes - 1] : NULL;

	if (size > NPU_GRAPH_SEGMENT_BYTES)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "graph capture: command stream of %u bytes is too large", size);
	if (g->cmd_bytes > UINT32_MAX - size - NPU_GRAPH_SEGMENT_BYTES)
		return npui_set_error(NPU_ERROR_OUT_OF_MEMORY,
				      "graph capture: more than 4 GiB of commands");
	if (g->cmd_bytes + size > g->cap_cmds) {
		uint32_t cap = g->cap_cmds ? g->cap_cmds : 4096;
		while (cap < g->cmd_bytes + size)
			cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
		uint8_t *c = realloc(g->cmds, cap);
		if (!c)
			return npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
		g->cmds = c;
		g->cap_cmds = cap;
	}
	/* A new segment after any other node, or when this one would pass the driver's limit. */
	if (!n || n->kind != NODE_CMDS || n->size + size > NPU_GRAPH_SEGMENT_BYTES) {
		n = graph_node_new(g, NODE_CMDS);
		if (!n)
			return npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
		n->off = g->cmd_bytes;
	}
	memcpy(g->cmds + g->cmd_bytes, cmds, size);
	g->cmd_bytes += size;
	n->size += size;
	segment_name(n, job);
	if (job->kind == NPU_JOB_LAUNCH)
		g->launches++;
	g->ops++;
	return NPU_SUCCESS;
}

npu_result_t npui_graph_add_event(struct npu_graph *g, struct npu_event *event, bool wait)
{
	struct graph_node *n = graph_node_new(g, wait ? NODE_WAIT : NODE_RECORD);

	if (!n)
		return npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
	n->event = event;
	return NPU_SUCCESS;
}

npu_result_t npui_graph_add_host_copy(struct npu_graph *g, const struct npui_host_copy *c)
{
	struct graph_node *n = graph_node_new(g, NODE_HOST_COPY);

	if (!n)
		return npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
	n->copy = *c;
	return NPU_SUCCESS;
}

/* ---- Capture ----------------------------------------------------------------------------- */

npu_result_t npu_stream_begin_capture(npu_stream_t *stream)
{
	struct npu_device *dev;
	struct npu_graph *g;

	npui_clear_error();
	if (!stream)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_stream_begin_capture: stream is NULL (the default "
				      "stream cannot capture; use npu_stream_create)");
	g = calloc(1, sizeof(*g));
	if (!g)
		return npui_set_error(NPU_ERROR_OUT_OF_MEMORY, "out of host memory");
	dev = stream->dev;
	g->dev = dev;
	pthread_mutex_lock(&dev->lock);
	if (stream->capture) {
		pthread_mutex_unlock(&dev->lock);
		free(g);
		return npui_set_error(NPU_ERROR_BUSY,
				      "npu_stream_begin_capture: stream %" PRIu64
				      " is capturing already", stream->id);
	}
	stream->capture = g;
	pthread_mutex_unlock(&dev->lock);
	return NPU_SUCCESS;
}

npu_result_t npu_stream_end_capture(npu_stream_t *stream, npu_graph_t **graph)
{
	struct npu_device *dev;
	struct npu_graph *g;

	npui_clear_error();
	if (!stream || !graph)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_stream_end_capture: NULL argument");
	dev = stream->dev;
	pthread_mutex_lock(&dev->lock);
	g = stream->capture;
	stream->capture = NULL;
	pthread_mutex_unlock(&dev->lock);
	if (!g)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_stream_end_capture: stream %" PRIu64 " is not capturing",
				      stream->id);
	*graph = g;
	return NPU_SUCCESS;
}

npu_result_t npu_stream_is_capturing(npu_stream_t *stream, int *capturing)
{
	npui_clear_error();
	if (!stream || !capturing)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_stream_is_capturing: NULL argument");
	pthread_mutex_lock(&stream->dev->lock);
	*capturing = stream->capture != NULL;
	pthread_mutex_unlock(&stream->dev->lock);
	return NPU_SUCCESS;
}

/* ---- Replay -------------------------------------------------------------------------------- */

static void note_flight(struct npu_graph *g, struct npu_stream *s)
{
	struct graph_flight *free_slot = NULL;

	for (uint32_t i = 0; i < NPUI_MAX_QUEUES + 1; i++) {
		if (g->flight[i].queue == s->queue) {
			g->flight[i].seqno = s->last_seqno;
			return;
		}
		if (!g->flight[i].queue && !free_slot)
			free_slot = &g->flight[i];
	}
	/* Queue structs are per device and there are at most NPUI_MAX_QUEUES + 1. */
	if (free_slot) {
		free_slot->queue = s->queue;
		free_slot->seqno = s->last_seqno;
	}
}

npu_result_t npu_graph_launch(npu_graph_t *g, npu_stream_t *stream)
{
	struct npu_device *dev;
	struct npu_stream *s;
	npu_result_t ret = NPU_SUCCESS;

	npui_clear_error();
	if (!g)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_graph_launch: graph is NULL");
	dev = g->dev;
	s = npui_stream(dev, stream);
	if (!s)
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_graph_launch: the stream belongs to another device than "
				      "the graph");
	if (g->launches && (s->flags & NPU_STREAM_COPY))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_graph_launch: the graph has %u launches and stream %" PRIu64
				      " was created with NPU_STREAM_COPY", g->launches, s->id);
	pthread_mutex_lock(&dev->lock);
	if (s->capture) {
		pthread_mutex_unlock(&dev->lock);
		return npui_set_error(NPU_ERROR_NOT_PERMITTED,
				      "npu_graph_launch: stream %" PRIu64 " is capturing a graph",
				      s->id);
	}
	for (uint32_t i = 0; i < g->nnodes && !ret; i++) {
		struct graph_node *n = &g->nodes[i];
		struct npui_job job;

		switch (n->kind) {
		case NODE_CMDS:
			job = n->job;
			ret = npui_submit(dev, s, g->cmds + n->off, n->size, &job);
			break;
		case NODE_HOST_COPY:
			ret = npui_host_copy(dev, s, &n->copy);
			break;
		case NODE_RECORD:
		case NODE_WAIT:
			/* The public calls take the lock themselves. */
			note_flight(g, s);
			pthread_mutex_unlock(&dev->lock);
			ret = n->kind == NODE_RECORD ? npu_event_record(n->event, stream)
						     : npu_stream_wait_event(s, n->event);
			pthread_mutex_lock(&dev->lock);
			break;
		}
	}
	note_flight(g, s);
	if (!ret)
		g->replays++;
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

npu_result_t npu_graph_destroy(npu_graph_t *g)
{
	struct npu_device *dev;
	npu_result_t ret = NPU_SUCCESS;

	npui_clear_error();
	if (!g)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_graph_destroy: graph is NULL");
	dev = g->dev;
	pthread_mutex_lock(&dev->lock);
	for (uint32_t i = 0; i < NPUI_MAX_QUEUES + 1 && !ret; i++) {
		bool done = true;

		if (!g->flight[i].queue)
			continue;
		ret = npui_query(dev, g->flight[i].queue, g->flight[i].seqno, &done);
		if (!ret && !done)
			ret = npui_set_error(NPU_ERROR_BUSY,
					     "npu_graph_destroy: a replay of the graph on queue %u "
					     "(job %" PRIu64 ") has not completed; synchronize first",
					     g->flight[i].queue->id, g->flight[i].seqno);
	}
	pthread_mutex_unlock(&dev->lock);
	if (ret)
		return ret;
	free(g->nodes);
	free(g->cmds);
	free(g);
	return NPU_SUCCESS;
}

npu_result_t npu_graph_get_info(npu_graph_t *g, struct npu_graph_info *info)
{
	struct npu_graph_info full;
	uint32_t n;

	npui_clear_error();
	if (!g || !info)
		return npui_set_error(NPU_ERROR_INVALID_VALUE, "npu_graph_get_info: NULL argument");
	if (info->struct_size < offsetof(struct npu_graph_info, nodes))
		return npui_set_error(NPU_ERROR_INVALID_VALUE,
				      "npu_graph_info.struct_size %u too small", info->struct_size);
	memset(&full, 0, sizeof(full));
	pthread_mutex_lock(&g->dev->lock);
	for (uint32_t i = 0; i < g->nnodes; i++)
		if (g->nodes[i].kind == NODE_CMDS)
			full.segments++;
	full.launches = g->launches;
	full.cmd_bytes = g->cmd_bytes;
	full.replays = g->replays;
	full.nodes = g->nnodes - full.segments + g->ops;
	pthread_mutex_unlock(&g->dev->lock);
	n = info->struct_size < sizeof(full) ? info->struct_size : (uint32_t)sizeof(full);
	full.struct_size = n;
	memcpy(info, &full, n);
	return NPU_SUCCESS;
}
