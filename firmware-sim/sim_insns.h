/* SPDX-License-Identifier: MIT */
/*
 * sim_insns.h - the semantics of every NPU instruction, one small body each, exactly as
 * the `doc` strings of firmware-sim/isa/npu-isa.toml say. Included once, by sim_exec.c,
 * whose dispatch switch is generated from NPU_INSN_LIST: an instruction of the spec
 * without a body here, or a body for an instruction the spec no longer has, fails the
 * build. Adding an instruction = edit the spec, write its body here.
 *
 * A body returns 0 to continue at x->npc, SIM_X_HALT to end the program instance, or the
 * result of TRAP(...). Decoding already turned "csrr with an unknown sreg" and "DMA tag
 * outside 0..15" into NPU_INSN_ILLEGAL, so bodies do not check them.
 */

#define RS1      (x->r[d->rs1])
#define RS2      (x->r[d->rs2])
#define RS3      (x->r[d->rs3])
#define RDV      (x->r[d->rdr])                 /* rd read as a source */
#define IMM      (d->imm)                       /* sign-extended */
#define UIMM     ((uint64_t)d->imm)
#define PC       (x->pc)
#define WRD(v)   (x->r[d->rd] = (uint64_t)(v))  /* r0 writes land in the sink register */
#define JUMP(t)  (x->npc = (uint64_t)(t))
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
			JUMP(PC + UIMM); \
	} while (0)

/* Each body also names its enum value, so a body for a removed instruction fails too. */
#define INSN(ID) \
	enum { sim_insn_has_body_##ID = NPU_INSN_##ID }; \
	static inline __attribute__((always_inline)) int exec_##ID(struct sim_xstate *x, \
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
INSN(JMP)  { JUMP(PC + UIMM); return 0; }
INSN(JAL)  { WRD(PC + 1); JUMP(PC + UIMM); return 0; }
INSN(JR)   { JUMP(RS1); return 0; }
/* rd is re-read after the write: with rd = r0 it reads 0, so `loop r0` never branches. */
INSN(LOOP) { WRD(RDV - 1); BRANCH(RDV != 0); return 0; }

/* ---- control, special registers, arguments ---------------------------------------------- */
INSN(HALT) { return SIM_X_HALT; }
INSN(NOP)  { return 0; }
INSN(CSRR) { WRD(sim_sreg(x, (uint32_t)UIMM)); return 0; }
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

/* ---- vector unit: rs3 elements; operands checked in the order rs1, rs2, rd ------------- */
INSN(VADD_F32) { return vec_op(x, d, vadd_f32); }
INSN(VADD_I32) { return vec_op(x, d, vadd_i32); }
INSN(VMUL_F32) { return vec_op(x, d, vmul_f32); }
INSN(VMUL_I32) { return vec_op(x, d, vmul_i32); }
