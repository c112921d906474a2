/**
 * A tiny RISC-V assembler for hart tests and the micro-benchmark: one function per encoding
 * format, and named helpers for the instructions the tests use. Registers are numbers (x0..x31).
 */
export const R = (op: number, f3: number, f7: number, rd: number, rs1: number, rs2: number): number =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
export const I = (op: number, f3: number, rd: number, rs1: number, imm: number): number =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
export const S = (op: number, f3: number, rs1: number, rs2: number, imm: number): number =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | op) >>> 0;
export const B = (f3: number, rs1: number, rs2: number, imm: number): number =>
  ((((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
    (((imm >> 1) & 15) << 8) | (((imm >> 11) & 1) << 7) | 0x63) >>> 0;
export const U = (op: number, rd: number, imm20: number): number => (((imm20 & 0xfffff) << 12) | (rd << 7) | op) >>> 0;
export const J = (rd: number, imm: number): number =>
  ((((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20) | (((imm >> 12) & 0xff) << 12) |
    (rd << 7) | 0x6f) >>> 0;

// RV64I
export const lui = (rd: number, imm20: number) => U(0x37, rd, imm20);
export const auipc = (rd: number, imm20: number) => U(0x17, rd, imm20);
export const jal = (rd: number, off: number) => J(rd, off);
export const jalr = (rd: number, rs1: number, imm: number) => I(0x67, 0, rd, rs1, imm);
export const beq = (a: number, b: number, off: number) => B(0, a, b, off);
export const bne = (a: number, b: number, off: number) => B(1, a, b, off);
export const blt = (a: number, b: number, off: number) => B(4, a, b, off);
export const bge = (a: number, b: number, off: number) => B(5, a, b, off);
export const bltu = (a: number, b: number, off: number) => B(6, a, b, off);
export const bgeu = (a: number, b: number, off: number) => B(7, a, b, off);
export const lb = (rd: number, rs1: number, imm: number) => I(0x03, 0, rd, rs1, imm);
export const lh = (rd: number, rs1: number, imm: number) => I(0x03, 1, rd, rs1, imm);
export const lw = (rd: number, rs1: number, imm: number) => I(0x03, 2, rd, rs1, imm);
export const ld = (rd: number, rs1: number, imm: number) => I(0x03, 3, rd, rs1, imm);
export const lbu = (rd: number, rs1: number, imm: number) => I(0x03, 4, rd, rs1, imm);
export const lhu = (rd: number, rs1: number, imm: number) => I(0x03, 5, rd, rs1, imm);
export const lwu = (rd: number, rs1: number, imm: number) => I(0x03, 6, rd, rs1, imm);
export const sb = (rs2: number, rs1: number, imm: number) => S(0x23, 0, rs1, rs2, imm);
export const sh = (rs2: number, rs1: number, imm: number) => S(0x23, 1, rs1, rs2, imm);
export const sw = (rs2: number, rs1: number, imm: number) => S(0x23, 2, rs1, rs2, imm);
export const sd = (rs2: number, rs1: number, imm: number) => S(0x23, 3, rs1, rs2, imm);
export const flw = (rd: number, rs1: number, imm: number) => I(0x07, 2, rd, rs1, imm);
export const fld = (rd: number, rs1: number, imm: number) => I(0x07, 3, rd, rs1, imm);
export const fsw = (rs2: number, rs1: number, imm: number) => S(0x27, 2, rs1, rs2, imm);
export const fsd = (rs2: number, rs1: number, imm: number) => S(0x27, 3, rs1, rs2, imm);
export const addi = (rd: number, rs1: number, imm: number) => I(0x13, 0, rd, rs1, imm);
export const slti = (rd: number, rs1: number, imm: number) => I(0x13, 2, rd, rs1, imm);
export const sltiu = (rd: number, rs1: number, imm: number) => I(0x13, 3, rd, rs1, imm);
export const xori = (rd: number, rs1: number, imm: number) => I(0x13, 4, rd, rs1, imm);
export const ori = (rd: number, rs1: number, imm: number) => I(0x13, 6, rd, rs1, imm);
export const andi = (rd: number, rs1: number, imm: number) => I(0x13, 7, rd, rs1, imm);
export const slli = (rd: number, rs1: number, sh: number) => I(0x13, 1, rd, rs1, sh);
export const srli = (rd: number, rs1: number, sh: number) => I(0x13, 5, rd, rs1, sh);
export const srai = (rd: number, rs1: number, sh: number) => I(0x13, 5, rd, rs1, sh | 0x400);
export const addiw = (rd: number, rs1: number, imm: number) => I(0x1b, 0, rd, rs1, imm);
export const slliw = (rd: number, rs1: number, sh: number) => I(0x1b, 1, rd, rs1, sh);
export const srliw = (rd: number, rs1: number, sh: number) => I(0x1b, 5, rd, rs1, sh);
export const sraiw = (rd: number, rs1: number, sh: number) => I(0x1b, 5, rd, rs1, sh | 0x400);
const op = (f3: number, f7: number) => (rd: number, a: number, b: number) => R(0x33, f3, f7, rd, a, b);
const op32 = (f3: number, f7: number) => (rd: number, a: number, b: number) => R(0x3b, f3, f7, rd, a, b);
export const add = op(0, 0), sub = op(0, 0x20), sll = op(1, 0), slt = op(2, 0), sltu = op(3, 0);
export const xor = op(4, 0), srl = op(5, 0), sra = op(5, 0x20), or = op(6, 0), and = op(7, 0);
export const mul = op(0, 1), mulh = op(1, 1), mulhsu = op(2, 1), mulhu = op(3, 1);
export const div = op(4, 1), divu = op(5, 1), rem = op(6, 1), remu = op(7, 1);
export const addw = op32(0, 0), subw = op32(0, 0x20), sllw = op32(1, 0), srlw = op32(5, 0), sraw = op32(5, 0x20);
export const mulw = op32(0, 1), divw = op32(4, 1), divuw = op32(5, 1), remw = op32(6, 1), remuw = op32(7, 1);
export const ecall = () => 0x00000073;
export const ebreak = () => 0x00100073;
export const fence = () => 0x0ff0000f;
export const fenceI = () => 0x0000100f;
export const csrrw = (rd: number, csr: number, rs1: number) => I(0x73, 1, rd, rs1, csr);
export const csrrs = (rd: number, csr: number, rs1: number) => I(0x73, 2, rd, rs1, csr);
export const csrrc = (rd: number, csr: number, rs1: number) => I(0x73, 3, rd, rs1, csr);
export const csrrwi = (rd: number, csr: number, z: number) => I(0x73, 5, rd, z, csr);
export const csrrsi = (rd: number, csr: number, z: number) => I(0x73, 6, rd, z, csr);
export const csrrci = (rd: number, csr: number, z: number) => I(0x73, 7, rd, z, csr);
/** AMO: funct5, width 2 (W) or 3 (D). */
export const amo = (f5: number, w: number, rd: number, rs1: number, rs2: number) =>
  R(0x2f, w, f5 << 2, rd, rs1, rs2);
export const lrW = (rd: number, rs1: number) => amo(0x02, 2, rd, rs1, 0);
export const lrD = (rd: number, rs1: number) => amo(0x02, 3, rd, rs1, 0);
export const scW = (rd: number, rs1: number, rs2: number) => amo(0x03, 2, rd, rs1, rs2);
export const scD = (rd: number, rs1: number, rs2: number) => amo(0x03, 3, rd, rs1, rs2);

/** Load a 32-bit signed constant: lui + addiw (two words, or one addi when it fits). */
export function li32(rd: number, v: number): number[] {
  v |= 0;
  if (v >= -2048 && v < 2048) return [addi(rd, 0, v)];
  const lo = (v << 20) >> 20;
  const hi = ((v - lo) >>> 12) & 0xfffff;
  return [lui(rd, hi), addiw(rd, rd, lo)];
}

/** `jal x0, -4`: jump back one instruction. */
export const j_loop = () => J(0, -4);
