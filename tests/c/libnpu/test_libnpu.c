/* SPDX-License-Identifier: MIT */
/*
 * libnpu through the driver and firmware-sim, from C: device properties, memory, loading a
 * kernel binary built here by hand, a launch, a kernel fault with its report, the next launch
 * on the same device, and the loader's rejection of malformed binaries.
 * Exit 0 pass, 1 fail.
 */

#include "libnpu_test_kbin.h"

int main(void)
{
	npu_device_t *dev;
	npu_module_t *mod;
	npu_kernel_t *k;
	struct npu_device_props props = { .struct_size = sizeof(props) };
	struct npu_fault_info fault = { .struct_size = sizeof(fault) };
	struct npu_launch_config cfg = { .struct_size = sizeof(cfg), .grid = { 1, 1, 1 } };
	uint8_t image[1024];
	npu_deviceptr_t out;
	int64_t host = -1;
	int count = 0;

	CHECK(npu_get_version() == NPU_VERSION);
	CHECK(npu_device_count(&count) == 0 && count >= 1);
	CHECK(npu_device_open(0, &dev) == 0);
	CHECK(npu_device_get_props(dev, &props) == 0);
	CHECK(props.num_cores >= 1 && props.mem_total > 0);
	CHECK(props.isa_version == NPU_ISA_VERSION);

	CHECK(npu_mem_alloc(dev, 8, &out) == 0);
	CHECK(npu_memcpy_dtoh(dev, &host, out, 8) == 0 && host == 0);

	/* li r4, 42; sd r4, 0(r0); ldarg r3, 0; li r5, 8; dma.st r3, r0, r5, 0; dma.wait 0; halt */
	const uint64_t good[] = {
		M(LI) | F(RD, 4) | F(IMM, 42),
		M(SD) | F(RS2, 4) | F(RS1, 0) | F(IMM, 0),
		M(LDARG) | F(RD, 3) | F(IMM, 0),
		M(LI) | F(RD, 5) | F(IMM, 8),
		M(DMA_ST) | F(RD, 3) | F(RS1, 0) | F(RS2, 5) | F(IMM, 0),
		M(DMA_WAIT) | F(IMM, 0),
		M(HALT),
	};
	size_t n = build_kbin(image, sizeof(image), good, 7, 64);
	CHECK(npu_module_load_data(dev, image, n, &mod) == 0);
	CHECK(npu_module_get_kernel(mod, "k", &k) == 0);
	CHECK(npu_module_get_kernel(mod, "nope", &k) == NPU_ERROR_NOT_FOUND);
	CHECK(npu_module_get_kernel(mod, "k", &k) == 0);

	const void *args[] = { &out };
	size_t sizes[] = { sizeof(out) };
	CHECK(npu_launch_kernel(dev, k, &cfg, args, sizes, 1) == 0);
	CHECK(npu_device_synchronize(dev) == 0);
	CHECK(npu_memcpy_dtoh(dev, &host, out, 8) == 0 && host == 42);

	/* A wrong argument size is refused before anything reaches the device. */
	size_t bad_sizes[] = { 4 };
	CHECK(npu_launch_kernel(dev, k, &cfg, args, bad_sizes, 1) == NPU_ERROR_INVALID_VALUE);
	CHECK(strstr(npu_last_error_message(), "'out'") != NULL);

	/* SRAM out of bounds: li r1, 4096; lw r2, 8(r1); halt */
	const uint64_t oob[] = {
		M(LI) | F(RD, 1) | F(IMM, 4096),
		M(LW) | F(RD, 2) | F(RS1, 1) | F(IMM, 8),
		M(HALT),
	};
	npu_module_t *bad_mod;
	npu_kernel_t *bad_k;
	n = build_kbin(image, sizeof(image), oob, 3, 64);
	CHECK(npu_module_load_data(dev, image, n, &bad_mod) == 0);
	CHECK(npu_module_get_kernel(bad_mod, "k", &bad_k) == 0);
	CHECK(npu_launch_kernel(dev, bad_k, &cfg, args, sizes, 1) == 0);
	CHECK(npu_device_synchronize(dev) == NPU_ERROR_KERNEL_FAULT);
	CHECK(npu_device_get_last_fault(dev, &fault) == 0);
	CHECK(fault.code == NPU_TRAP_SRAM_OOB && fault.pc == 1 && fault.addr == 4104);
	CHECK(strcmp(fault.disasm, "lw r2, 8(r1)") == 0);
	CHECK(strcmp(fault.kernel, "k") == 0);
	CHECK(npu_device_synchronize(dev) == 0); /* reported once */

	/* The device still works. */
	host = 0;
	CHECK(npu_memcpy_htod(dev, out, &host, 8) == 0);
	CHECK(npu_launch_kernel(dev, k, &cfg, args, sizes, 1) == 0);
	CHECK(npu_memcpy_dtoh(dev, &host, out, 8) == 0 && host == 42);

	/* Malformed binaries: each rejected with a message naming what is wrong. */
	n = build_kbin(image, sizeof(image), good, 7, 64);
	image[100] ^= 1;
	CHECK(npu_module_load_data(dev, image, n, &bad_mod) == NPU_ERROR_INVALID_IMAGE);
	CHECK(strstr(npu_last_error_message(), "crc32") != NULL);
	CHECK(npu_module_load_data(dev, image, 10, &bad_mod) == NPU_ERROR_INVALID_IMAGE);
	n = build_kbin(image, sizeof(image), good, 7, props.sram_per_core + 8);
	CHECK(npu_module_load_data(dev, image, n, &bad_mod) == NPU_ERROR_INVALID_IMAGE);
	CHECK(strstr(npu_last_error_message(), "SRAM") != NULL);

	CHECK(npu_memcpy_dtoh(dev, &host, out + 4096 * 1024, 8) == NPU_ERROR_INVALID_ADDRESS);
	CHECK(strcmp(npu_error_name(NPU_ERROR_KERNEL_FAULT), "NPU_ERROR_KERNEL_FAULT") == 0);
	CHECK(strcmp(npu_error_name(-12345), "NPU_ERROR_UNKNOWN") == 0);

	CHECK(npu_module_unload(mod) == 0);
	CHECK(npu_mem_free(dev, out) == 0);
	CHECK(npu_mem_free(dev, out) == NPU_ERROR_INVALID_ADDRESS);
	CHECK(npu_device_close(dev) == 0);
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures ? 1 : 0;
}
