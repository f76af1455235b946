/* SPDX-License-Identifier: MIT */
/*
 * sim_insns.h - the semantics of every NPU instruction, one small body each, exactly as
 * the `doc` strings of firmware-sim/isa/npu-isa.toml say. Included once, by sim_exec.c,
 * whose dispatch (threaded handlers, and a switch) is generated from NPU_INSN_LIST: a spec
 * instruction without a body here, or a body for an instruction the spec no longer has,
 * fails the build. Adding an instruction = edit the spec, write its body here.
 *
 * A body returns 0 to continue with the next instruction, SIM_X_HALT to end the program
 * instance, the result of TRAP(...), or (branches only) TAKEN / JUMP(pc). Decoding already
 * turned "csrr with an unknown sreg", "csrw of a read-only one" and "DMA tag outside 0..15"
 * into NPU_INSN_ILLEGAL, so bodies do not check them. The vector, matrix, DMA and sync
 * helpers (vbin, mm, dma2, ...) live in sim_exec.c; their type and operation arguments are
 * constants, so each body compiles to its own loop.
 */

#define RS1      (x->r[d->rs1])
#define RS2      (x->r[d->rs2])
#define RS3      (x->r[d->rs3])
#define RDV      (x->r[d->rdr])                 /* rd read as a source */
#define IMM      (d->imm)                       /* sign-extended */
#define UIMM     ((uint64_t)d->imm)
#define PC       SIM_PC(x, d)
#define WRD(v)   (x->r[d->rd] = (uint64_t)(v))  /* r0 writes land in the sink register */
/* Branches (branch-class bodies only): TAKEN goes to the instruction's target, checked at
 * pre-decode; JUMP to a computed pc, checked by the interpreter. */
#define TAKEN    SIM_X_TAKEN
#define JUMP(t) \
	do { \
		x->npc = (uint64_t)(t); \
		return SIM_X_JUMP; \
	} while (0)
#define TRAP(code, addr, flags) return sim_x_trap(x, (code), (uint64_t)(addr), (flags))
/* SRAM access checks: alignment first, then bounds. */
#define SRAM_CHECK(addr, len, align, flags) \
	do { \
		int rc_ = sram_check(x, (addr), (len), (align), (flags)); \
		if (rc_) \
			return rc_; \
	} while (0)
#define LOAD(T) \
	do { \
		uint64_t a_ = RS1 + UIMM; \
		T v_; \
		SRAM_CHECK(a_, sizeof(T), sizeof(T), 0); \
		memcpy(&v_, x->sram + a_, sizeof(T)); \
		WRD(v_); \
	} while (0)
#define STORE(T) \
	do { \
		uint64_t a_ = RS1 + UIMM; \
		T v_ = (T)RS2; \
		SRAM_CHECK(a_, sizeof(T), sizeof(T), NPU_FAULT_WRITE); \
		memcpy(x->sram + a_, &v_, sizeof(T)); \
	} while (0)
#define BRANCH(cond) \
	do { \
		if (cond) \
			return TAKEN; \
	} while (0)

/* Each body also names its enum value, so a body for a removed instruction fails too.
 * INSN bodies are inlined into the dispatch loop; UNIT bodies (vector, matrix, 2-D DMA,
 * sync) are each their own function, so the loop stays small and the compiler specialises
 * every unit helper once per instruction instead of inlining them all into one function. */
#define INSN(ID) \
	enum { sim_insn_has_body_##ID = NPU_INSN_##ID }; \
	static inline __attribute__((always_inline)) int exec_##ID(struct sim_xstate *x, \
								    const struct sim_dinsn *d)
#define UNIT(ID) \
	enum { sim_insn_has_body_##ID = NPU_INSN_##ID }; \
	static __attribute__((noinline)) int exec_##ID(struct sim_xstate *x, \
						       const struct sim_dinsn *d)

/* ---- scalar ALU ---------------------------------------------------------------------- */
INSN(ADD)  { WRD(RS1 + RS2); return 0; }
INSN(SUB)  { WRD(RS1 - RS2); return 0; }
INSN(MUL)  { WRD(RS1 * RS2); return 0; }
INSN(DIV)
{
	int64_t a = (int64_t)RS1, b = (int64_t)RS2;

	WRD(b == 0 ? -1 : (a == INT64_MIN && b == -1) ? INT64_MIN : a / b);
	return 0;
}
INSN(DIVU) { WRD(RS2 == 0 ? UINT64_MAX : RS1 / RS2); return 0; }
INSN(REM)
{
	int64_t a = (int64_t)RS1, b = (int64_t)RS2;

	WRD(b == 0 ? a : (a == INT64_MIN && b == -1) ? 0 : a % b);
	return 0;
}
INSN(REMU) { WRD(RS2 == 0 ? RS1 : RS1 % RS2); return 0; }
INSN(AND)  { WRD(RS1 & RS2); return 0; }
INSN(OR)   { WRD(RS1 | RS2); return 0; }
INSN(XOR)  { WRD(RS1 ^ RS2); return 0; }
INSN(SHL)  { WRD(RS1 << (RS2 & 63)); return 0; }
INSN(SHR)  { WRD(RS1 >> (RS2 & 63)); return 0; }
INSN(SRA)  { WRD((int64_t)RS1 >> (RS2 & 63)); return 0; }
INSN(SLT)  { WRD((int64_t)RS1 < (int64_t)RS2); return 0; }
INSN(SLTU) { WRD(RS1 < RS2); return 0; }
INSN(MULH)  { WRD((uint64_t)(((__int128)(int64_t)RS1 * (int64_t)RS2) >> 64)); return 0; }
INSN(MULHU) { WRD((uint64_t)(((unsigned __int128)RS1 * RS2) >> 64)); return 0; }

INSN(ADDI)  { WRD(RS1 + UIMM); return 0; }
INSN(ANDI)  { WRD(RS1 & UIMM); return 0; }
INSN(ORI)   { WRD(RS1 | UIMM); return 0; }
INSN(XORI)  { WRD(RS1 ^ UIMM); return 0; }
INSN(SHLI)  { WRD(RS1 << (UIMM & 63)); return 0; }
INSN(SHRI)  { WRD(RS1 >> (UIMM & 63)); return 0; }
INSN(SRAI)  { WRD((int64_t)RS1 >> (UIMM & 63)); return 0; }
INSN(SLTI)  { WRD((int64_t)RS1 < IMM); return 0; }
INSN(SLTIU) { WRD(RS1 < UIMM); return 0; }
INSN(MULI)  { WRD(RS1 * UIMM); return 0; }
INSN(LI)    { WRD(IMM); return 0; }
INSN(LIH)   { WRD((UIMM << 32) | (RDV & 0xffffffffu)); return 0; }

/* ---- branches (targets are signed offsets in instructions) ---------------------------- */
INSN(BEQ)  { BRANCH(RS1 == RS2); return 0; }
INSN(BNE)  { BRANCH(RS1 != RS2); return 0; }
INSN(BLT)  { BRANCH((int64_t)RS1 < (int64_t)RS2); return 0; }
INSN(BGE)  { BRANCH((int64_t)RS1 >= (int64_t)RS2); return 0; }
INSN(BLTU) { BRANCH(RS1 < RS2); return 0; }
INSN(BGEU) { BRANCH(RS1 >= RS2); return 0; }
INSN(JMP)  { return TAKEN; }
INSN(JAL)  { WRD(PC + 1); return TAKEN; }
INSN(JR)   { JUMP(RS1); }
/* rd is re-read after the write: with rd = r0 it reads 0, so `loop r0` never branches. */
INSN(LOOP) { WRD(RDV - 1); BRANCH(RDV != 0); return 0; }

/* ---- control, special registers, arguments ---------------------------------------------- */
INSN(HALT) { return SIM_X_HALT; }
INSN(NOP)  { return 0; }
INSN(CSRR) { WRD(sim_sreg(x, d, (uint32_t)UIMM)); return 0; }
INSN(CSRW) { x->cfg[UIMM] = RS1; return 0; }
INSN(LDARG)
{
	if (UIMM >= x->l->nargs)
		TRAP(NPU_TRAP_BAD_ARG, UIMM, 0);
	WRD(x->l->args[UIMM]);
	return 0;
}

/* ---- SRAM loads and stores (addresses wrap at 2^64 like the registers) ----------------- */
INSN(LB)  { LOAD(int8_t); return 0; }
INSN(LBU) { LOAD(uint8_t); return 0; }
INSN(LH)  { LOAD(int16_t); return 0; }
INSN(LHU) { LOAD(uint16_t); return 0; }
INSN(LW)  { LOAD(int32_t); return 0; }
INSN(LWU) { LOAD(uint32_t); return 0; }
INSN(LD)  { LOAD(uint64_t); return 0; }
INSN(SB)  { STORE(uint8_t); return 0; }
INSN(SH)  { STORE(uint16_t); return 0; }
INSN(SW)  { STORE(uint32_t); return 0; }
INSN(SD)  { STORE(uint64_t); return 0; }

/* ---- DMA: synchronous in this model; the SRAM side is checked before the device side --- */
INSN(DMA_LD)
{
	uint64_t n = RS2;

	if (n) {
		SRAM_CHECK(RDV, n, 1, NPU_FAULT_WRITE);
		return dma(x, d, RS1, RDV, n, false);
	}
	return 0;
}
INSN(DMA_ST)
{
	uint64_t n = RS2;

	if (n) {
		SRAM_CHECK(RS1, n, 1, 0);
		return dma(x, d, RDV, RS1, n, true);
	}
	return 0;
}
INSN(DMA_WAIT) { return 0; }
UNIT(DMA_LD2)  { return dma2(x, d, false); }
UNIT(DMA_ST2)  { return dma2(x, d, true); }
/* ---- vector unit: binary ops over rs3 elements, operands checked rs1, rs2, rd --------- */
UNIT(VADD_F32) { return vbin(x, d, VT_F32, VOP_ADD); }
UNIT(VADD_I32) { return vbin(x, d, VT_I32, VOP_ADD); }
UNIT(VADD_I16) { return vbin(x, d, VT_I16, VOP_ADD); }
UNIT(VADD_I8) { return vbin(x, d, VT_I8, VOP_ADD); }
UNIT(VSUB_F32) { return vbin(x, d, VT_F32, VOP_SUB); }
UNIT(VSUB_I32) { return vbin(x, d, VT_I32, VOP_SUB); }
UNIT(VSUB_I16) { return vbin(x, d, VT_I16, VOP_SUB); }
UNIT(VSUB_I8) { return vbin(x, d, VT_I8, VOP_SUB); }
UNIT(VMUL_F32) { return vbin(x, d, VT_F32, VOP_MUL); }
UNIT(VMUL_I32) { return vbin(x, d, VT_I32, VOP_MUL); }
UNIT(VMUL_I16) { return vbin(x, d, VT_I16, VOP_MUL); }
UNIT(VMUL_I8) { return vbin(x, d, VT_I8, VOP_MUL); }
UNIT(VMIN_F32) { return vbin(x, d, VT_F32, VOP_MIN); }
UNIT(VMIN_I32) { return vbin(x, d, VT_I32, VOP_MIN); }
UNIT(VMIN_I16) { return vbin(x, d, VT_I16, VOP_MIN); }
UNIT(VMIN_I8) { return vbin(x, d, VT_I8, VOP_MIN); }
UNIT(VMAX_F32) { return vbin(x, d, VT_F32, VOP_MAX); }
UNIT(VMAX_I32) { return vbin(x, d, VT_I32, VOP_MAX); }
UNIT(VMAX_I16) { return vbin(x, d, VT_I16, VOP_MAX); }
UNIT(VMAX_I8) { return vbin(x, d, VT_I8, VOP_MAX); }
UNIT(VDIV_F32) { return vbin(x, d, VT_F32, VOP_DIV); }
UNIT(VAND_I32) { return vbin(x, d, VT_I32, VOP_AND); }
UNIT(VAND_I16) { return vbin(x, d, VT_I16, VOP_AND); }
UNIT(VAND_I8) { return vbin(x, d, VT_I8, VOP_AND); }
UNIT(VOR_I32) { return vbin(x, d, VT_I32, VOP_OR); }
UNIT(VOR_I16) { return vbin(x, d, VT_I16, VOP_OR); }
UNIT(VOR_I8) { return vbin(x, d, VT_I8, VOP_OR); }
UNIT(VXOR_I32) { return vbin(x, d, VT_I32, VOP_XOR); }
UNIT(VXOR_I16) { return vbin(x, d, VT_I16, VOP_XOR); }
UNIT(VXOR_I8) { return vbin(x, d, VT_I8, VOP_XOR); }
UNIT(VSHL_I32) { return vbin(x, d, VT_I32, VOP_SHL); }
UNIT(VSHL_I16) { return vbin(x, d, VT_I16, VOP_SHL); }
UNIT(VSHL_I8) { return vbin(x, d, VT_I8, VOP_SHL); }
UNIT(VSHR_I32) { return vbin(x, d, VT_I32, VOP_SHR); }
UNIT(VSHR_I16) { return vbin(x, d, VT_I16, VOP_SHR); }
UNIT(VSHR_I8) { return vbin(x, d, VT_I8, VOP_SHR); }
UNIT(VSRA_I32) { return vbin(x, d, VT_I32, VOP_SRA); }
UNIT(VSRA_I16) { return vbin(x, d, VT_I16, VOP_SRA); }
UNIT(VSRA_I8) { return vbin(x, d, VT_I8, VOP_SRA); }
UNIT(VCMPEQ_F32) { return vbin(x, d, VT_F32, VOP_CMPEQ); }
UNIT(VCMPEQ_I32) { return vbin(x, d, VT_I32, VOP_CMPEQ); }
UNIT(VCMPEQ_I16) { return vbin(x, d, VT_I16, VOP_CMPEQ); }
UNIT(VCMPEQ_I8) { return vbin(x, d, VT_I8, VOP_CMPEQ); }
UNIT(VCMPLT_F32) { return vbin(x, d, VT_F32, VOP_CMPLT); }
UNIT(VCMPLT_I32) { return vbin(x, d, VT_I32, VOP_CMPLT); }
UNIT(VCMPLT_I16) { return vbin(x, d, VT_I16, VOP_CMPLT); }
UNIT(VCMPLT_I8) { return vbin(x, d, VT_I8, VOP_CMPLT); }
UNIT(VCMPLE_F32) { return vbin(x, d, VT_F32, VOP_CMPLE); }
UNIT(VCMPLE_I32) { return vbin(x, d, VT_I32, VOP_CMPLE); }
UNIT(VCMPLE_I16) { return vbin(x, d, VT_I16, VOP_CMPLE); }
UNIT(VCMPLE_I8) { return vbin(x, d, VT_I8, VOP_CMPLE); }
UNIT(VSEL_I32) { return vbin(x, d, VT_I32, VOP_SEL); }
UNIT(VSEL_I16) { return vbin(x, d, VT_I16, VOP_SEL); }
UNIT(VSEL_I8) { return vbin(x, d, VT_I8, VOP_SEL); }

/* ---- vector unit: unary ops over rs2 elements, operands checked rs1, rd --------------- */
UNIT(VABS_F32) { return vun(x, d, VT_F32, VOP_ABS); }
UNIT(VABS_I32) { return vun(x, d, VT_I32, VOP_ABS); }
UNIT(VABS_I16) { return vun(x, d, VT_I16, VOP_ABS); }
UNIT(VABS_I8) { return vun(x, d, VT_I8, VOP_ABS); }
UNIT(VNEG_F32) { return vun(x, d, VT_F32, VOP_NEG); }
UNIT(VNEG_I32) { return vun(x, d, VT_I32, VOP_NEG); }
UNIT(VNEG_I16) { return vun(x, d, VT_I16, VOP_NEG); }
UNIT(VNEG_I8) { return vun(x, d, VT_I8, VOP_NEG); }
UNIT(VRELU_F32) { return vun(x, d, VT_F32, VOP_RELU); }
UNIT(VEXP_F32) { return vun(x, d, VT_F32, VOP_EXP); }
UNIT(VTANH_F32) { return vun(x, d, VT_F32, VOP_TANH); }
UNIT(VSIGMOID_F32) { return vun(x, d, VT_F32, VOP_SIGMOID); }
UNIT(VGELU_F32) { return vun(x, d, VT_F32, VOP_GELU); }
UNIT(VRSQRT_F32) { return vun(x, d, VT_F32, VOP_RSQRT); }
UNIT(VRECIP_F32) { return vun(x, d, VT_F32, VOP_RECIP); }
UNIT(VSQRT_F32) { return vun(x, d, VT_F32, VOP_SQRT); }

/* ---- vector unit: broadcast, row reductions, conversions, requantisation -------------- */
UNIT(VBCAST_I32) { return vbcast(x, d, VT_I32); }
UNIT(VBCAST_I16) { return vbcast(x, d, VT_I16); }
UNIT(VBCAST_I8) { return vbcast(x, d, VT_I8); }
UNIT(VREDSUM_F32) { return vred(x, d, VT_F32, false); }
UNIT(VREDMAX_F32) { return vred(x, d, VT_F32, true); }
UNIT(VREDSUM_I32) { return vred(x, d, VT_I32, false); }
UNIT(VREDMAX_I32) { return vred(x, d, VT_I32, true); }
UNIT(VCVT_F32_I32) { return vcvt(x, d, VT_F32, VT_I32); }
UNIT(VCVT_F32_I16) { return vcvt(x, d, VT_F32, VT_I16); }
UNIT(VCVT_F32_I8) { return vcvt(x, d, VT_F32, VT_I8); }
UNIT(VCVT_F32_F16) { return vcvt(x, d, VT_F32, VT_F16); }
UNIT(VCVT_F32_BF16) { return vcvt(x, d, VT_F32, VT_BF16); }
UNIT(VCVT_I32_F32) { return vcvt(x, d, VT_I32, VT_F32); }
UNIT(VCVT_I32_I16) { return vcvt(x, d, VT_I32, VT_I16); }
UNIT(VCVT_I32_I8) { return vcvt(x, d, VT_I32, VT_I8); }
UNIT(VCVT_I32_F16) { return vcvt(x, d, VT_I32, VT_F16); }
UNIT(VCVT_I32_BF16) { return vcvt(x, d, VT_I32, VT_BF16); }
UNIT(VCVT_I16_F32) { return vcvt(x, d, VT_I16, VT_F32); }
UNIT(VCVT_I16_I32) { return vcvt(x, d, VT_I16, VT_I32); }
UNIT(VCVT_I16_I8) { return vcvt(x, d, VT_I16, VT_I8); }
UNIT(VCVT_I16_F16) { return vcvt(x, d, VT_I16, VT_F16); }
UNIT(VCVT_I16_BF16) { return vcvt(x, d, VT_I16, VT_BF16); }
UNIT(VCVT_I8_F32) { return vcvt(x, d, VT_I8, VT_F32); }
UNIT(VCVT_I8_I32) { return vcvt(x, d, VT_I8, VT_I32); }
UNIT(VCVT_I8_I16) { return vcvt(x, d, VT_I8, VT_I16); }
UNIT(VCVT_I8_F16) { return vcvt(x, d, VT_I8, VT_F16); }
UNIT(VCVT_I8_BF16) { return vcvt(x, d, VT_I8, VT_BF16); }
UNIT(VCVT_F16_F32) { return vcvt(x, d, VT_F16, VT_F32); }
UNIT(VCVT_F16_I32) { return vcvt(x, d, VT_F16, VT_I32); }
UNIT(VCVT_F16_I16) { return vcvt(x, d, VT_F16, VT_I16); }
UNIT(VCVT_F16_I8) { return vcvt(x, d, VT_F16, VT_I8); }
UNIT(VCVT_F16_BF16) { return vcvt(x, d, VT_F16, VT_BF16); }
UNIT(VCVT_BF16_F32) { return vcvt(x, d, VT_BF16, VT_F32); }
UNIT(VCVT_BF16_I32) { return vcvt(x, d, VT_BF16, VT_I32); }
UNIT(VCVT_BF16_I16) { return vcvt(x, d, VT_BF16, VT_I16); }
UNIT(VCVT_BF16_I8) { return vcvt(x, d, VT_BF16, VT_I8); }
UNIT(VCVT_BF16_F16) { return vcvt(x, d, VT_BF16, VT_F16); }
UNIT(VREQUANT_I8)  { return vrequant(x, d, VT_I8); }
UNIT(VREQUANT_I16) { return vrequant(x, d, VT_I16); }

/* ---- matrix unit: C (rd) = / += A (rs1) x B (rs2), shapes in MM_* ---------------------- */
UNIT(MM_F32)  { return mm(x, d, VT_F32, false); }
UNIT(MMA_F32) { return mm(x, d, VT_F32, true); }
UNIT(MM_I8)  { return mm(x, d, VT_I8, false); }
UNIT(MMA_I8) { return mm(x, d, VT_I8, true); }
UNIT(MM_F16)  { return mm(x, d, VT_F16, false); }
UNIT(MMA_F16) { return mm(x, d, VT_F16, true); }
UNIT(MM_BF16)  { return mm(x, d, VT_BF16, false); }
UNIT(MMA_BF16) { return mm(x, d, VT_BF16, true); }

/* ---- synchronisation ----------------------------------------------------------------- */
UNIT(BARRIER)    { return sync_barrier(x); }
UNIT(SEM_SIGNAL) { return sync_sem_signal(x, RS1); }
UNIT(SEM_WAIT)   { return sync_sem_wait(x, RS1); }
/* DMAs complete at issue in this model, and other instances observe them only after a
 * barrier or semaphore, whose lock already orders memory: nothing is left to do. */
INSN(FENCE)      { return 0; }
