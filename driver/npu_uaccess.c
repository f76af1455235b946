/* SPDX-License-Identifier: MIT */
/*
 * npu_uaccess.c - reaching the caller's memory through the pointers that travel inside ioctl
 * structs (command streams, fence arrays, user-pointer BOs), as a kernel driver does with
 * copy_from_user() and get_user_pages(): a pointer that does not reach readable memory is
 * -EFAULT, never a crash of the host.
 *
 * The copy goes through process_vm_readv() on our own process, which returns EFAULT instead of
 * faulting (about a microsecond per call). Where the system forbids it (seccomp), we fall back
 * to memcpy(): the same trust a library gives any pointer it is passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "npu_drv_internal.h"

static pid_t g_pid;
static int g_no_vm_readv; /* atomic: the syscall is not allowed here */

static void npu_uaccess_child(void)
{
	g_pid = getpid();
}

static void npu_uaccess_init(void)
{
	g_pid = getpid();
	pthread_atfork(NULL, NULL, npu_uaccess_child);
}

int drv_copy_from_user(void *dst, uint64_t src, uint64_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct iovec local = { .iov_base = dst, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)src, .iov_len = len };
	ssize_t n;

	if (!len)
		return 0;
	if (!src || src > UINTPTR_MAX - len)
		return -EFAULT;
	pthread_once(&once, npu_uaccess_init);
	if (!__atomic_load_n(&g_no_vm_readv, __ATOMIC_RELAXED)) {
		n = process_vm_readv(g_pid, &local, 1, &remote, 1, 0);
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0 || errno == EFAULT)
			return -EFAULT;
		if (errno != ENOSYS && errno != EPERM)
			return -EFAULT;
		npu_warn("process_vm_readv is not allowed (%d): user pointers are trusted", errno);
		__atomic_store_n(&g_no_vm_readv, 1, __ATOMIC_RELAXED);
	}
	memcpy(dst, (const void *)(uintptr_t)src, len);
	return 0;
}

/* Whether [ptr, ptr + len) is mapped, readable and (if `write`) writable, from the kernel's
 * list of our mappings. Called once per registration, like get_user_pages() pinning. */
int drv_user_range_ok(uint64_t ptr, uint64_t len, bool write)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	uint64_t cur = ptr, end = ptr + len;
	char line[256], rest[256];

	if (!maps)
		return 0; /* cannot tell: trust the caller, as without an MMU */
	while (cur < end && fgets(line, sizeof(line), maps)) {
		uint64_t lo, hi;
		char perms[5];

		/* Only the start of a line matters; a long path name is skipped. */
		if (!strchr(line, '\n'))
			while (fgets(rest, sizeof(rest), maps) && !strchr(rest, '\n'))
				;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &lo, &hi, perms) != 3)
			continue;
		if (hi <= cur)
			continue;
		if (lo > cur)
			break; /* a hole: lines are sorted by address */
		if (perms[0] != 'r' || (write && perms[1] != 'w'))
			break;
		cur = hi;
	}
	fclose(maps);
	return cur >= end ? 0 : -EFAULT;
}
