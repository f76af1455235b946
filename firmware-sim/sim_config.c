/* SPDX-License-Identifier: MIT */
/*
 * sim_config.c - the device configuration string: "cores=2,sram=128K,mem=4G".
 * Every key and value is validated; anything wrong is -EINVAL, never a crash.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "sim_internal.h"

void sim_config_defaults(struct sim_config *cfg)
{
	cfg->cores = 4;
	cfg->queues = 32;
	cfg->clock_khz = 1000000;
	cfg->sram = 256ull << 10;
	cfg->mem = 16ull << 30;
	cfg->copy_engine = true;
	cfg->cp_poll_us = 50;
}

/* Decimal number with an optional K/M/G/T suffix (powers of 1024) when `sizes`. */
static int parse_num(const char *s, size_t len, bool sizes, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	unsigned shift = 0;

	if (len == 0)
		return -EINVAL;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (i == 0)
		return -EINVAL;
	if (i < len) {
		if (!sizes || i + 1 != len)
			return -EINVAL;
		switch (s[i]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return -EINVAL;
		}
		if (v > (UINT64_MAX >> shift))
			return -EINVAL;
		v <<= shift;
	}
	*out = v;
	return 0;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
	return strlen(name) == klen && memcmp(k, name, klen) == 0;
}

static int apply_one(struct sim_config *cfg, const char *item, size_t len)
{
	const char *eq = memchr(item, '=', len);
	size_t klen, vlen;
	const char *val;
	uint64_t v;

	if (!eq)
		return -EINVAL;
	klen = (size_t)(eq - item);
	val = eq + 1;
	vlen = len - klen - 1;

	if (key_is(item, klen, "cores")) {
		if (parse_num(val, vlen, false, &v) || v < 1 || v > SIM_MAX_CORES)
			return -EINVAL;
		cfg->cores = (uint32_t)v;
	} else if (key_is(item, klen, "queues")) {
		if (parse_num(val, vlen, false, &v) || v < 1 || v > NPU_MAX_HW_QUEUES)
			return -EINVAL;
		cfg->queues = (uint32_t)v;
	} else if (key_is(item, klen, "clock_khz")) {
		if (parse_num(val, vlen, false, &v) || v < 1 || v > 100000000)
			return -EINVAL;
		cfg->clock_khz = (uint32_t)v;
	} else if (key_is(item, klen, "sram")) {
		/* SRAM_SIZE is a 32-bit register and sram_bytes a 32-bit packet field. */
		if (parse_num(val, vlen, true, &v) || v < 1024 || v > (1ull << 30) || v % 8)
			return -EINVAL;
		cfg->sram = v;
	} else if (key_is(item, klen, "copy_engine")) {
		if (parse_num(val, vlen, false, &v) || v > 1)
			return -EINVAL;
		cfg->copy_engine = v != 0;
	} else if (key_is(item, klen, "cp_poll_us")) {
		if (parse_num(val, vlen, false, &v) || v > 1000000)
			return -EINVAL;
		cfg->cp_poll_us = (uint32_t)v;
	} else if (key_is(item, klen, "mem")) {
		if (parse_num(val, vlen, true, &v) || v < NPU_PAGE_SIZE || v > (1ull << 40) ||
		    v % NPU_PAGE_SIZE)
			return -EINVAL;
		cfg->mem = v;
	} else {
		return -EINVAL;
	}
	return 0;
}

int sim_config_apply(struct sim_config *cfg, const char *str)
{
	const char *p = str;

	if (!str)
		return 0;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		/* tolerate blanks around an item and empty items ("a=1,,b=2,") */
		while (len && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len && apply_one(cfg, p, len))
			return -EINVAL;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

void sim_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
