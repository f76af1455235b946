/* SPDX-License-Identifier: MIT */
/* What every libnpu C test shares: CHECK counts a failed condition (with libnpu's last error
 * message) in `failures`, which main() turns into its exit status. */
#ifndef LIBNPU_TEST_H
#define LIBNPU_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu/npu.h"

static int failures;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", \
				__FILE__, __LINE__, #cond, npu_last_error_message()); \
			failures++;                                                  \
		}                                                                    \
	} while (0)

#endif /* LIBNPU_TEST_H */
