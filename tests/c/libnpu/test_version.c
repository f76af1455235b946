/* SPDX-License-Identifier: MIT */
/* The shared library: the version it reports is the one its headers were compiled with, and
 * only public names resolve. Linked against libnpu.so.0. Exit 0 pass, 1 fail. */
#include <stdio.h>
#include <string.h>

#include "npu/npu.h"

int main(void)
{
	char s[32];

	snprintf(s, sizeof(s), "%d.%d.%d", NPU_VERSION_MAJOR, NPU_VERSION_MINOR, NPU_VERSION_PATCH);
	if (npu_get_version() != NPU_VERSION || strcmp(s, NPU_VERSION_STRING) != 0) {
		fprintf(stderr, "runtime %d, compile time %d (%s)\n", npu_get_version(), NPU_VERSION,
			NPU_VERSION_STRING);
		return 1;
	}
	if (strcmp(npu_error_name(NPU_ERROR_NOT_READY), "NPU_ERROR_NOT_READY") != 0 ||
	    strcmp(npu_error_name(12345), "NPU_ERROR_UNKNOWN") != 0)
		return 1;
	return 0;
}
