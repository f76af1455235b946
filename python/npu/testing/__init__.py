"""npu.testing: verification tools for the NPU ISA (placeholder)."""
