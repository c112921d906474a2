/**
 * Operation numbers of the decoded-instruction form (see decode.ts).
 *
 * The hart's run loop switches on these numbers with literal `case N:` labels, because V8 only
 * builds a jump table for a `switch` whose labels are small integer literals (an imported
 * constant or enum member is a property load and would make the switch a chain of compares).
 * tests/unit/cpu/ops-consistency.test.ts checks that every `case N: // OP_NAME` in hart.ts
 * agrees with this table.
 *
 * A decoded instruction is two int32 words:
 *   word 0: op (bits 0..7) | rd*2 (bits 8..14) | rs1*2 (bits 15..21) | rs2*2 (bits 22..28) | RVC (bit 30)
 *   word 1: the immediate (sign-extended), or other op-specific data.
 * Register fields are pre-multiplied by two (the index of the low half in Hart.x); an integer
 * destination x0 is mapped to 64, the write sink, so the loop never tests rd === 0.
 * Word 0 is never 0 for a decoded instruction: 0 marks a slot not yet decoded.
 */
export const OP_UNDECODED = 0;
export const OP_ADDI = 1;
export const OP_LI = 2; // addi rd, x0, imm and lui: rd = sign-extended imm
export const OP_MV = 3; // addi rd, rs, 0
export const OP_ADD = 4;
export const OP_SUB = 5;
export const OP_AUIPC = 6;
export const OP_JAL = 7;
export const OP_J = 8; // jal x0: no link
export const OP_JALR = 9;
export const OP_BEQ = 10;
export const OP_BNE = 11;
export const OP_BLT = 12;
export const OP_BGE = 13;
export const OP_BLTU = 14;
export const OP_BGEU = 15;
export const OP_LB = 16;
export const OP_LH = 17;
export const OP_LW = 18;
export const OP_LD = 19;
export const OP_LBU = 20;
export const OP_LHU = 21;
export const OP_LWU = 22;
export const OP_SB = 23;
export const OP_SH = 24;
export const OP_SW = 25;
export const OP_SD = 26;
export const OP_SLTI = 27;
export const OP_SLTIU = 28;
export const OP_XORI = 29;
export const OP_ORI = 30;
export const OP_ANDI = 31;
export const OP_SLLI = 32;
export const OP_SRLI = 33;
export const OP_SRAI = 34;
export const OP_ADDIW = 35;
export const OP_SLLIW = 36;
export const OP_SRLIW = 37;
export const OP_SRAIW = 38;
export const OP_SLL = 39;
export const OP_SLT = 40;
export const OP_SLTU = 41;
export const OP_XOR = 42;
export const OP_SRL = 43;
export const OP_SRA = 44;
export const OP_OR = 45;
export const OP_AND = 46;
export const OP_ADDW = 47;
export const OP_SUBW = 48;
export const OP_SLLW = 49;
export const OP_SRLW = 50;
export const OP_SRAW = 51;
export const OP_MUL = 52;
export const OP_MULH = 53;
export const OP_MULHSU = 54;
export const OP_MULHU = 55;
export const OP_DIV = 56;
export const OP_DIVU = 57;
export const OP_REM = 58;
export const OP_REMU = 59;
export const OP_MULW = 60;
export const OP_DIVW = 61;
export const OP_DIVUW = 62;
export const OP_REMW = 63;
export const OP_REMUW = 64;
export const OP_FLW = 65; // rd = f index * 2 (no sink mapping)
export const OP_FLD = 66;
export const OP_FSW = 67; // rs2 = f index * 2
export const OP_FSD = 68;
export const OP_FENCE = 69;
export const OP_FENCE_I = 70;
export const OP_ECALL = 71;
export const OP_EBREAK = 72;
export const OP_CSR = 73; // imm = csr | funct3 << 12; rs1 field is the register or the 5-bit zimm (times two)
export const OP_AMO = 74; // imm = funct5 | (doubleword ? 32 : 0)
export const OP_FP = 75; // imm = the instruction bits, executed by fpu.ts execFp
export const OP_ILLEGAL = 76; // imm = the instruction bits (stval)

/** Bit 30 of word 0: the instruction is 2 bytes long (RVC). */
export const RVC_BIT = 1 << 30;
/** Register-field value of an integer destination x0. */
export const X_SINK = 64;

export const OP_NAMES: readonly string[] = [
  'UNDECODED', 'ADDI', 'LI', 'MV', 'ADD', 'SUB', 'AUIPC', 'JAL', 'J', 'JALR',
  'BEQ', 'BNE', 'BLT', 'BGE', 'BLTU', 'BGEU', 'LB', 'LH', 'LW', 'LD',
  'LBU', 'LHU', 'LWU', 'SB', 'SH', 'SW', 'SD', 'SLTI', 'SLTIU', 'XORI',
  'ORI', 'ANDI', 'SLLI', 'SRLI', 'SRAI', 'ADDIW', 'SLLIW', 'SRLIW', 'SRAIW', 'SLL',
  'SLT', 'SLTU', 'XOR', 'SRL', 'SRA', 'OR', 'AND', 'ADDW', 'SUBW', 'SLLW',
  'SRLW', 'SRAW', 'MUL', 'MULH', 'MULHSU', 'MULHU', 'DIV', 'DIVU', 'REM', 'REMU',
  'MULW', 'DIVW', 'DIVUW', 'REMW', 'REMUW', 'FLW', 'FLD', 'FSW', 'FSD', 'FENCE',
  'FENCE_I', 'ECALL', 'EBREAK', 'CSR', 'AMO', 'FP', 'ILLEGAL',
];
