/* SPDX-License-Identifier: MIT */
/* drv_log.c - the driver's log: stderr, level from NPU_LOG_LEVEL=debug|info|warn|error. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "npu_drv_internal.h"

static pthread_once_t g_log_once = PTHREAD_ONCE_INIT;
static enum npu_log_level g_log_level = NPU_LOG_WARN;

static void npu_log_init(void)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	const char *env = getenv("NPU_LOG_LEVEL");

	if (!env || !*env)
		return;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(env, names[i])) {
			g_log_level = (enum npu_log_level)i;
			return;
		}
	}
	if (!strcasecmp(env, "warning"))
		g_log_level = NPU_LOG_WARN;
	else
		fprintf(stderr, "npu: NPU_LOG_LEVEL=%s is not debug|info|warn|error; using warn\n",
			env);
}

bool drv_log_enabled(enum npu_log_level level)
{
	pthread_once(&g_log_once, npu_log_init);
	return level >= g_log_level;
}

void drv_log(enum npu_log_level level, const char *fmt, ...)
{
	static const char *const tags[] = { "debug", "info", "warn", "error" };
	char buf[512];
	va_list ap;

	if (!drv_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One fprintf per line so that lines of concurrent threads do not interleave. */
	fprintf(stderr, "npu %s: %s\n", tags[level], buf);
}
