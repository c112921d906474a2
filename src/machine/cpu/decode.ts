/**
 * Instruction decoder: 32-bit RV64IMAFD + Zicsr + Zifencei encodings and the RVC (compressed)
 * expansion, into the two-word decoded form described in ops.ts.
 *
 * Decoding happens once per instruction slot (the hart caches the result per physical frame,
 * icache.ts), so clarity beats speed here. Compressed instructions expand to the same
 * operations as their 32-bit equivalents (as the RVC spec defines each one), marked with
 * RVC_BIT so the hart advances pc by 2. Reserved and illegal encodings decode to OP_ILLEGAL
 * carrying the instruction bits, which the hart reports as stval.
 */
import {
  OP_ADD, OP_ADDI, OP_ADDIW, OP_ADDW, OP_AMO, OP_AND, OP_ANDI, OP_AUIPC, OP_BEQ, OP_BGE, OP_BGEU,
  OP_BLT, OP_BLTU, OP_BNE, OP_CSR, OP_DIV, OP_DIVU, OP_DIVUW, OP_DIVW, OP_EBREAK, OP_ECALL,
  OP_FENCE, OP_FENCE_I, OP_FLD, OP_FLW, OP_FP, OP_FSD, OP_FSW, OP_ILLEGAL, OP_J, OP_JAL, OP_JALR,
  OP_LB, OP_LBU, OP_LD, OP_LH, OP_LHU, OP_LI, OP_LW, OP_LWU, OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU,
  OP_MULW, OP_MV, OP_OR, OP_ORI, OP_REM, OP_REMU, OP_REMUW, OP_REMW, OP_SB, OP_SD, OP_SH, OP_SLL,
  OP_SLLI, OP_SLLIW, OP_SLLW, OP_SLT, OP_SLTI, OP_SLTIU, OP_SLTU, OP_SRA, OP_SRAI, OP_SRAIW,
  OP_SRAW, OP_SRL, OP_SRLI, OP_SRLIW, OP_SRLW, OP_SUB, OP_SUBW, OP_SW, OP_XOR, OP_XORI, RVC_BIT,
  X_SINK,
} from './ops.js';

/** Integer destination register field: x0 goes to the write sink. */
function rdField(r: number): number {
  return r === 0 ? X_SINK : r << 1;
}

function pack(op: number, rd: number, rs1: number, rs2: number): number {
  return op | (rd << 8) | (rs1 << 15) | (rs2 << 22);
}

function put(out: Int32Array, o: number, word0: number, imm: number): void {
  out[o] = word0;
  out[o + 1] = imm;
}

function illegal(out: Int32Array, o: number, bits: number): void {
  put(out, o, OP_ILLEGAL, bits | 0);
}

const LOAD_OPS = [OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, -1];
const STORE_OPS = [OP_SB, OP_SH, OP_SW, OP_SD, -1, -1, -1, -1];
const BRANCH_OPS = [OP_BEQ, OP_BNE, -1, -1, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU];
const OP_OPS = [OP_ADD, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_OR, OP_AND];
const MULDIV_OPS = [OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU, OP_DIV, OP_DIVU, OP_REM, OP_REMU];
const MULDIVW_OPS = [OP_MULW, -1, -1, -1, OP_DIVW, OP_DIVUW, OP_REMW, OP_REMUW];
const IMM_OPS = [OP_ADDI, OP_SLLI, OP_SLTI, OP_SLTIU, OP_XORI, OP_SRLI, OP_ORI, OP_ANDI];
/** AMO funct5 values this hart implements (A extension, table "RV32A/RV64A"). */
const AMO_FUNCT5 = new Set([0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c]);

/** Decode one 32-bit instruction into out[o], out[o+1]. */
export function decode32(insn: number, out: Int32Array, o: number): void {
  insn |= 0;
  const opcode = insn & 0x7f;
  const rd = (insn >>> 7) & 31;
  const f3 = (insn >>> 12) & 7;
  const rs1 = (insn >>> 15) & 31;
  const rs2 = (insn >>> 20) & 31;
  const f7 = insn >>> 25;
  const immI = insn >> 20;
  switch (opcode) {
    case 0x03: {
      const op = LOAD_OPS[f3]!;
      if (op < 0) return illegal(out, o, insn);
      return put(out, o, pack(op, rdField(rd), rs1 << 1, 0), immI);
    }
    case 0x07:
      if (f3 === 2) return put(out, o, pack(OP_FLW, rd << 1, rs1 << 1, 0), immI);
      if (f3 === 3) return put(out, o, pack(OP_FLD, rd << 1, rs1 << 1, 0), immI);
      return illegal(out, o, insn);
    case 0x0f:
      // FENCE (and FENCE.TSO, PAUSE): one hart, memory is sequentially consistent already.
      if (f3 === 0) return put(out, o, pack(OP_FENCE, X_SINK, 0, 0), 0);
      if (f3 === 1) return put(out, o, pack(OP_FENCE_I, X_SINK, 0, 0), 0);
      return illegal(out, o, insn);
    case 0x13: {
      if (f3 === 1) {
        if (insn >>> 26 !== 0) return illegal(out, o, insn);
        return put(out, o, pack(OP_SLLI, rdField(rd), rs1 << 1, 0), (insn >>> 20) & 63);
      }
      if (f3 === 5) {
        const top = insn >>> 26;
        if (top !== 0 && top !== 0x10) return illegal(out, o, insn);
        return put(out, o, pack(top ? OP_SRAI : OP_SRLI, rdField(rd), rs1 << 1, 0), (insn >>> 20) & 63);
      }
      if (f3 === 0) {
        if (rs1 === 0) return put(out, o, pack(OP_LI, rdField(rd), 0, 0), immI);
        if (immI === 0) return put(out, o, pack(OP_MV, rdField(rd), rs1 << 1, 0), 0);
      }
      return put(out, o, pack(IMM_OPS[f3]!, rdField(rd), rs1 << 1, 0), immI);
    }
    case 0x17:
      return put(out, o, pack(OP_AUIPC, rdField(rd), 0, 0), insn & 0xfffff000);
    case 0x1b:
      if (f3 === 0) return put(out, o, pack(OP_ADDIW, rdField(rd), rs1 << 1, 0), immI);
      if (f3 === 1) {
        if (f7 !== 0) return illegal(out, o, insn);
        return put(out, o, pack(OP_SLLIW, rdField(rd), rs1 << 1, 0), rs2);
      }
      if (f3 === 5) {
        if (f7 !== 0 && f7 !== 0x20) return illegal(out, o, insn);
        return put(out, o, pack(f7 ? OP_SRAIW : OP_SRLIW, rdField(rd), rs1 << 1, 0), rs2);
      }
      return illegal(out, o, insn);
    case 0x23: {
      const op = STORE_OPS[f3]!;
      if (op < 0) return illegal(out, o, insn);
      return put(out, o, pack(op, X_SINK, rs1 << 1, rs2 << 1), ((insn >> 25) << 5) | rd);
    }
    case 0x27: {
      const imm = ((insn >> 25) << 5) | rd;
      if (f3 === 2) return put(out, o, pack(OP_FSW, X_SINK, rs1 << 1, rs2 << 1), imm);
      if (f3 === 3) return put(out, o, pack(OP_FSD, X_SINK, rs1 << 1, rs2 << 1), imm);
      return illegal(out, o, insn);
    }
    case 0x2f: {
      const f5 = insn >>> 27;
      if ((f3 !== 2 && f3 !== 3) || !AMO_FUNCT5.has(f5)) return illegal(out, o, insn);
      if (f5 === 0x02 && rs2 !== 0) return illegal(out, o, insn); // LR with rs2 != 0 is reserved
      return put(out, o, pack(OP_AMO, rdField(rd), rs1 << 1, rs2 << 1), f5 | (f3 === 3 ? 32 : 0));
    }
    case 0x33: {
      let op = -1;
      if (f7 === 0) op = OP_OPS[f3]!;
      else if (f7 === 1) op = MULDIV_OPS[f3]!;
      else if (f7 === 0x20 && f3 === 0) op = OP_SUB;
      else if (f7 === 0x20 && f3 === 5) op = OP_SRA;
      if (op < 0) return illegal(out, o, insn);
      return put(out, o, pack(op, rdField(rd), rs1 << 1, rs2 << 1), 0);
    }
    case 0x37:
      return put(out, o, pack(OP_LI, rdField(rd), 0, 0), insn & 0xfffff000);
    case 0x3b: {
      let op = -1;
      if (f7 === 0) op = f3 === 0 ? OP_ADDW : f3 === 1 ? OP_SLLW : f3 === 5 ? OP_SRLW : -1;
      else if (f7 === 0x20) op = f3 === 0 ? OP_SUBW : f3 === 5 ? OP_SRAW : -1;
      else if (f7 === 1) op = MULDIVW_OPS[f3]!;
      if (op < 0) return illegal(out, o, insn);
      return put(out, o, pack(op, rdField(rd), rs1 << 1, rs2 << 1), 0);
    }
    case 0x43:
    case 0x47:
    case 0x4b:
    case 0x4f:
    case 0x53:
      return put(out, o, pack(OP_FP, X_SINK, 0, 0), insn);
    case 0x63: {
      const op = BRANCH_OPS[f3]!;
      if (op < 0) return illegal(out, o, insn);
      const imm =
        ((insn >> 31) << 12) | (((insn >>> 7) & 1) << 11) | (((insn >>> 25) & 63) << 5) | (((insn >>> 8) & 15) << 1);
      return put(out, o, pack(op, X_SINK, rs1 << 1, rs2 << 1), imm);
    }
    case 0x67:
      if (f3 !== 0) return illegal(out, o, insn);
      return put(out, o, pack(OP_JALR, rdField(rd), rs1 << 1, 0), immI);
    case 0x6f: {
      const imm =
        ((insn >> 31) << 20) | (insn & 0xff000) | (((insn >>> 20) & 1) << 11) | (((insn >>> 21) & 0x3ff) << 1);
      return put(out, o, pack(rd === 0 ? OP_J : OP_JAL, rdField(rd), 0, 0), imm);
    }
    case 0x73:
      if (f3 === 0) {
        if (insn === 0x00000073) return put(out, o, pack(OP_ECALL, X_SINK, 0, 0), 0);
        if (insn === 0x00100073) return put(out, o, pack(OP_EBREAK, X_SINK, 0, 0), 0);
        return illegal(out, o, insn); // wfi, sret, mret, sfence.vma: privileged
      }
      if (f3 === 4) return illegal(out, o, insn);
      return put(out, o, pack(OP_CSR, rdField(rd), rs1 << 1, 0), (insn >>> 20) | (f3 << 12));
    default:
      return illegal(out, o, insn);
  }
}

/** rd'/rs1'/rs2' of the compressed formats: x8..x15 (or f8..f15). */
function creg(v: number): number {
  return ((v & 7) + 8) << 1;
}

function cput(out: Int32Array, o: number, word0: number, imm: number): void {
  out[o] = word0 | RVC_BIT;
  out[o + 1] = imm;
}

/**
 * Decode one 16-bit RVC instruction (RISC-V unprivileged spec, "RVC Instruction Set Listings",
 * RV64C column) into out[o], out[o+1].
 */
export function decode16(h: number, out: Int32Array, o: number): void {
  h &= 0xffff;
  const q = h & 3;
  const f3 = h >>> 13;
  const b12 = (h >>> 12) & 1;
  const r1 = (h >>> 7) & 31; // rd/rs1 full field
  const r2 = (h >>> 2) & 31; // rs2 full field
  const rdp = creg(h >>> 2); // rd'/rs2' at bits 4:2
  const rs1p = creg(h >>> 7); // rs1' at bits 9:7
  // CI-format 6-bit signed immediate imm[5] = bit 12, imm[4:0] = bits 6:2
  const ci = (((h >>> 2) & 31) | (b12 << 5)) << 26 >> 26;
  if (q === 0) {
    // uimm for C.LD/C.SD/C.FLD/C.FSD: [5:3] = 12:10, [7:6] = 6:5
    const uimmD = (((h >>> 10) & 7) << 3) | (((h >>> 5) & 3) << 6);
    // uimm for C.LW/C.SW: [5:3] = 12:10, [2] = 6, [6] = 5
    const uimmW = (((h >>> 10) & 7) << 3) | (((h >>> 6) & 1) << 2) | (((h >>> 5) & 1) << 6);
    switch (f3) {
      case 0: {
        // C.ADDI4SPN: nzuimm[5:4|9:6|2|3] = bits 12:5; zero is reserved (also the all-zero halfword)
        const nz =
          (((h >>> 11) & 3) << 4) | (((h >>> 7) & 15) << 6) | (((h >>> 6) & 1) << 2) | (((h >>> 5) & 1) << 3);
        if (nz === 0) return illegal(out, o, h);
        return cput(out, o, pack(OP_ADDI, rdp, 2 << 1, 0), nz);
      }
      case 1: return cput(out, o, pack(OP_FLD, rdp, rs1p, 0), uimmD);
      case 2: return cput(out, o, pack(OP_LW, rdp, rs1p, 0), uimmW);
      case 3: return cput(out, o, pack(OP_LD, rdp, rs1p, 0), uimmD);
      case 4: return illegal(out, o, h);
      case 5: return cput(out, o, pack(OP_FSD, X_SINK, rs1p, rdp), uimmD);
      case 6: return cput(out, o, pack(OP_SW, X_SINK, rs1p, rdp), uimmW);
      default: return cput(out, o, pack(OP_SD, X_SINK, rs1p, rdp), uimmD);
    }
  }
  if (q === 1) {
    switch (f3) {
      case 0: // C.ADDI (rd = 0: C.NOP / hint)
        if (r1 === 0) return cput(out, o, pack(OP_LI, X_SINK, 0, 0), 0);
        return cput(out, o, pack(OP_ADDI, r1 << 1, r1 << 1, 0), ci);
      case 1: // C.ADDIW (RV64); rd = 0 reserved
        if (r1 === 0) return illegal(out, o, h);
        return cput(out, o, pack(OP_ADDIW, r1 << 1, r1 << 1, 0), ci);
      case 2: // C.LI (rd = 0: hint)
        return cput(out, o, pack(OP_LI, rdField(r1), 0, 0), ci);
      case 3: {
        if (r1 === 2) {
          // C.ADDI16SP: nzimm[9] = 12, nzimm[4|6|8:7|5] = 6:2
          const imm =
            ((b12 << 9) | (((h >>> 6) & 1) << 4) | (((h >>> 5) & 1) << 6) | (((h >>> 3) & 3) << 7) |
              (((h >>> 2) & 1) << 5)) << 22 >> 22;
          if (imm === 0) return illegal(out, o, h);
          return cput(out, o, pack(OP_ADDI, 2 << 1, 2 << 1, 0), imm);
        }
        // C.LUI: nzimm[17] = 12, nzimm[16:12] = 6:2; zero reserved; rd = 0 hint
        if (ci === 0) return illegal(out, o, h);
        return cput(out, o, pack(OP_LI, rdField(r1), 0, 0), ci << 12);
      }
      case 4: {
        const f2 = (h >>> 10) & 3;
        const shamt = ((h >>> 2) & 31) | (b12 << 5);
        if (f2 === 0) return cput(out, o, pack(OP_SRLI, rs1p, rs1p, 0), shamt);
        if (f2 === 1) return cput(out, o, pack(OP_SRAI, rs1p, rs1p, 0), shamt);
        if (f2 === 2) return cput(out, o, pack(OP_ANDI, rs1p, rs1p, 0), ci);
        const sub = (h >>> 5) & 3;
        if (b12 === 0) {
          const op = [OP_SUB, OP_XOR, OP_OR, OP_AND][sub]!;
          return cput(out, o, pack(op, rs1p, rs1p, rdp), 0);
        }
        if (sub === 0) return cput(out, o, pack(OP_SUBW, rs1p, rs1p, rdp), 0);
        if (sub === 1) return cput(out, o, pack(OP_ADDW, rs1p, rs1p, rdp), 0);
        return illegal(out, o, h);
      }
      case 5: {
        // C.J: imm[11|4|9:8|10|6|7|3:1|5] = bits 12:2
        const imm =
          ((b12 << 11) | (((h >>> 11) & 1) << 4) | (((h >>> 9) & 3) << 8) | (((h >>> 8) & 1) << 10) |
            (((h >>> 7) & 1) << 6) | (((h >>> 6) & 1) << 7) | (((h >>> 3) & 7) << 1) | (((h >>> 2) & 1) << 5)) <<
          20 >> 20;
        return cput(out, o, pack(OP_J, X_SINK, 0, 0), imm);
      }
      default: {
        // C.BEQZ / C.BNEZ: imm[8|4:3] = 12:10, imm[7:6|2:1|5] = 6:2
        const imm =
          ((b12 << 8) | (((h >>> 10) & 3) << 3) | (((h >>> 5) & 3) << 6) | (((h >>> 3) & 3) << 1) |
            (((h >>> 2) & 1) << 5)) << 23 >> 23;
        return cput(out, o, pack(f3 === 6 ? OP_BEQ : OP_BNE, X_SINK, rs1p, 0), imm);
      }
    }
  }
  if (q === 2) {
    switch (f3) {
      case 0: // C.SLLI (rd = 0: hint)
        return cput(out, o, pack(OP_SLLI, rdField(r1), r1 << 1, 0), ((h >>> 2) & 31) | (b12 << 5));
      case 1: {
        // C.FLDSP: uimm[5] = 12, uimm[4:3|8:6] = 6:2
        const imm = (b12 << 5) | (((h >>> 5) & 3) << 3) | (((h >>> 2) & 7) << 6);
        return cput(out, o, pack(OP_FLD, r1 << 1, 2 << 1, 0), imm);
      }
      case 2: {
        // C.LWSP: uimm[5] = 12, uimm[4:2|7:6] = 6:2; rd = 0 reserved
        if (r1 === 0) return illegal(out, o, h);
        const imm = (b12 << 5) | (((h >>> 4) & 7) << 2) | (((h >>> 2) & 3) << 6);
        return cput(out, o, pack(OP_LW, r1 << 1, 2 << 1, 0), imm);
      }
      case 3: {
        // C.LDSP: rd = 0 reserved
        if (r1 === 0) return illegal(out, o, h);
        const imm = (b12 << 5) | (((h >>> 5) & 3) << 3) | (((h >>> 2) & 7) << 6);
        return cput(out, o, pack(OP_LD, r1 << 1, 2 << 1, 0), imm);
      }
      case 4:
        if (b12 === 0) {
          if (r2 === 0) {
            // C.JR; rs1 = 0 reserved
            if (r1 === 0) return illegal(out, o, h);
            return cput(out, o, pack(OP_JALR, X_SINK, r1 << 1, 0), 0);
          }
          return cput(out, o, pack(OP_MV, rdField(r1), r2 << 1, 0), 0); // C.MV (rd = 0: hint)
        }
        if (r2 === 0) {
          if (r1 === 0) return cput(out, o, pack(OP_EBREAK, X_SINK, 0, 0), 0); // C.EBREAK
          return cput(out, o, pack(OP_JALR, 1 << 1, r1 << 1, 0), 0); // C.JALR
        }
        return cput(out, o, pack(OP_ADD, rdField(r1), r1 << 1, r2 << 1), 0); // C.ADD (rd = 0: hint)
      case 5: {
        // C.FSDSP: uimm[5:3|8:6] = 12:7
        const imm = (((h >>> 10) & 7) << 3) | (((h >>> 7) & 7) << 6);
        return cput(out, o, pack(OP_FSD, X_SINK, 2 << 1, r2 << 1), imm);
      }
      case 6: {
        // C.SWSP: uimm[5:2|7:6] = 12:7
        const imm = (((h >>> 9) & 15) << 2) | (((h >>> 7) & 3) << 6);
        return cput(out, o, pack(OP_SW, X_SINK, 2 << 1, r2 << 1), imm);
      }
      default: {
        const imm = (((h >>> 10) & 7) << 3) | (((h >>> 7) & 7) << 6);
        return cput(out, o, pack(OP_SD, X_SINK, 2 << 1, r2 << 1), imm);
      }
    }
  }
  // q === 3 is a 32-bit instruction, never passed here
  return illegal(out, o, h);
}
