/* SPDX-License-Identifier: MIT */
/*
 * vadd.c - a complete libnpu program: open a device, allocate memory, load a kernel binary,
 * launch a kernel on a stream, check the result, then launch a kernel that faults and report
 * the fault. Build it against the installed SDK:
 *
 *   export PKG_CONFIG_PATH=$(python -m npu --pkgconfigdir)
 *   npu-as vadd.s -o vadd.kbin
 *   cc -o vadd vadd.c $(pkg-config --cflags --libs npu)
 *   ./vadd vadd.kbin
 *
 * Exit status 0 when the sum is right and the fault was reported as expected.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <npu/npu.h>

/* Prints the failing call with libnpu's message and leaves. */
#define CHECK(call)                                                                       \
	do {                                                                              \
		npu_result_t r_ = (call);                                                 \
		if (r_ != NPU_SUCCESS) {                                                  \
			fprintf(stderr, "%s failed: %s (%s): %s\n", #call, npu_error_name(r_), \
				npu_error_string(r_), npu_last_error_message());          \
			exit(1);                                                          \
		}                                                                         \
	} while (0)

int main(int argc, char **argv)
{
	const uint64_t n = 100000;
	npu_device_t *dev;
	npu_module_t *mod;
	npu_kernel_t *vadd, *oob;
	npu_stream_t *stream;
	npu_deviceptr_t x, y, z;
	struct npu_device_props props = { .struct_size = sizeof(props) };
	float *hx, *hy, *hz;

	if (argc != 2) {
		fprintf(stderr, "usage: %s KERNEL_BINARY\n", argv[0]);
		return 2;
	}
	/* Same major, and a runtime at least as new as the headers we were compiled with. */
	if (npu_get_version() / 10000 != NPU_VERSION / 10000 || npu_get_version() < NPU_VERSION) {
		fprintf(stderr, "libnpu %d does not match the headers' %d\n", npu_get_version(),
			NPU_VERSION);
		return 1;
	}

	CHECK(npu_device_open(0, &dev));
	CHECK(npu_device_get_props(dev, &props));
	printf("device: %s, %u cores, %" PRIu64 " MiB\n", props.name, props.num_cores,
	       props.mem_total >> 20);

	/* Memory: integer device pointers, host copies. */
	hx = malloc(n * sizeof(float));
	hy = malloc(n * sizeof(float));
	hz = malloc(n * sizeof(float));
	if (!hx || !hy || !hz)
		return 1;
	for (uint64_t i = 0; i < n; i++) {
		hx[i] = (float)i;
		hy[i] = 0.5f;
	}
	CHECK(npu_mem_alloc(dev, n * sizeof(float), &x));
	CHECK(npu_mem_alloc(dev, n * sizeof(float), &y));
	CHECK(npu_mem_alloc(dev, n * sizeof(float), &z));
	CHECK(npu_memcpy_htod(dev, x, hx, n * sizeof(float)));
	CHECK(npu_memcpy_htod(dev, y, hy, n * sizeof(float)));

	/* The kernel binary and its kernels. */
	CHECK(npu_module_load_file(dev, argv[1], &mod));
	CHECK(npu_module_get_kernel(mod, "vadd", &vadd));
	CHECK(npu_module_get_kernel(mod, "oob", &oob));

	/* Launch on a stream: each argument with its size, checked against the signature. */
	CHECK(npu_stream_create(dev, NULL, &stream));
	const void *args[] = { &x, &y, &z, &n };
	const size_t sizes[] = { sizeof(x), sizeof(y), sizeof(z), sizeof(n) };
	struct npu_launch_config cfg = {
		.struct_size = sizeof(cfg),
		.grid = { 4, 1, 1 },
		.stream = stream,
	};
	CHECK(npu_launch_kernel(dev, vadd, &cfg, args, sizes, 4));
	CHECK(npu_stream_synchronize(stream));
	CHECK(npu_memcpy_dtoh(dev, hz, z, n * sizeof(float)));
	for (uint64_t i = 0; i < n; i++) {
		if (hz[i] != hx[i] + hy[i]) {
			fprintf(stderr, "z[%" PRIu64 "] = %g, expected %g\n", i, hz[i], hx[i] + hy[i]);
			return 1;
		}
	}
	printf("vadd: %" PRIu64 " elements correct\n", n);

	/* A kernel that reads an unmapped address: the fault comes back from the next wait. */
	uint64_t bad = 0x7f00000000ull;
	const void *bad_args[] = { &bad };
	const size_t bad_sizes[] = { sizeof(bad) };
	cfg.grid[0] = 1;
	CHECK(npu_launch_kernel(dev, oob, &cfg, bad_args, bad_sizes, 1));
	npu_result_t r = npu_stream_synchronize(stream);
	if (r != NPU_ERROR_KERNEL_FAULT) {
		fprintf(stderr, "expected a kernel fault, got %s\n", npu_error_name(r));
		return 1;
	}
	struct npu_fault_info fault = { .struct_size = sizeof(fault) };
	CHECK(npu_device_get_last_fault(dev, &fault));
	printf("fault: %s\n", fault.message);
	printf("fault: trap %s, kernel %s, core %u, pc %" PRIu64 " (%s), address 0x%" PRIx64 "\n",
	       fault.trap_name, fault.kernel, fault.core, fault.pc, fault.disasm, fault.addr);

	/* The device keeps working after a fault. */
	cfg.grid[0] = 4;
	CHECK(npu_launch_kernel(dev, vadd, &cfg, args, sizes, 4));
	CHECK(npu_stream_synchronize(stream));
	printf("after the fault: launch ok\n");

	CHECK(npu_stream_destroy(stream));
	CHECK(npu_module_unload(mod));
	CHECK(npu_mem_free(dev, x));
	CHECK(npu_mem_free(dev, y));
	CHECK(npu_mem_free(dev, z));
	CHECK(npu_device_close(dev));
	free(hx);
	free(hy);
	free(hz);
	return 0;
}
