/**
 * The "A" extension: LR/SC and the AMOs, word and doubleword.
 *
 * One hart per machine, so atomicity is free; what matters is the reservation rule: SC
 * succeeds only if the LR reservation (address and size) is still held. It is lost on SC
 * itself, on a store to the reservation granule (64 bytes; stores to the reserved page take the
 * slow path because the TLB gets no write entry for it, see Mmu.noWriteVpn), and on every trap
 * out of run() or context switch (Linux's return to user mode clears it the same way).
 * Misaligned LR → LOAD_MISALIGNED, misaligned SC/AMO → STORE_MISALIGNED (Linux: SIGBUS).
 * AMOs need write permission and fault as stores.
 */
import type { Hart } from './hart.js';
import { Trap } from './trap.js';
import { ACCESS_READ, ACCESS_WRITE } from './mmu.js';

const TWO32 = 4294967296;

export const AMO_ADD = 0x00;
export const AMO_SWAP = 0x01;
export const AMO_LR = 0x02;
export const AMO_SC = 0x03;
export const AMO_XOR = 0x04;
export const AMO_OR = 0x08;
export const AMO_AND = 0x0c;
export const AMO_MIN = 0x10;
export const AMO_MAX = 0x14;
export const AMO_MINU = 0x18;
export const AMO_MAXU = 0x1c;

/** Signed 64-bit a < b on halves. */
function lt64(al: number, ah: number, bl: number, bh: number): boolean {
  return ah < bh || (ah === bh && al >>> 0 < bl >>> 0);
}

/** Unsigned 64-bit a < b on halves. */
function ltu64(al: number, ah: number, bl: number, bh: number): boolean {
  return ah >>> 0 < bh >>> 0 || (ah === bh && al >>> 0 < bl >>> 0);
}

/** Execute a decoded OP_AMO (imm = funct5 | 32 for .D). Returns -1 or a Trap. */
export function execAmo(h: Hart, d: number, imm: number): number {
  const x = h.x;
  const rd = (d >>> 8) & 127;
  const rs1 = (d >>> 15) & 127;
  const rs2 = (d >>> 22) & 127;
  const f5 = imm & 31;
  const dw = (imm & 32) !== 0;
  const size = dw ? 8 : 4;
  const lo = x[rs1]!;
  const hi = x[rs1 + 1]!;
  const srcLo = x[rs2]!;
  const srcHi = x[rs2 + 1]!;
  if ((lo & (size - 1)) !== 0) {
    h.trapValue = (hi >>> 0) * TWO32 + (lo >>> 0);
    return f5 === AMO_LR ? Trap.LOAD_MISALIGNED : Trap.STORE_MISALIGNED;
  }
  const i32 = h.mem.i32;
  if (f5 === AMO_LR) {
    const pa = h.translateData(lo, hi, ACCESS_READ);
    if (pa < 0) return h.pendingTrap;
    const w = pa >>> 2;
    const v0 = i32[w]!;
    x[rd] = v0;
    x[rd + 1] = dw ? i32[w + 1]! : v0 >> 31;
    h.resValid = true;
    h.resLo = lo;
    h.resHi = hi;
    h.resSize = size;
    // Stores to the reserved page must take the slow path, which can break the reservation.
    const vpn = (hi << 20) | (lo >>> 12);
    h.mmu.noWriteVpn = vpn;
    h.tlb.dropWrite(vpn);
    return -1;
  }
  if (f5 === AMO_SC) {
    if (!h.resValid || h.resLo !== lo || h.resHi !== hi || h.resSize !== size) {
      h.clearReservation();
      x[rd] = 1;
      x[rd + 1] = 0;
      return -1;
    }
    const pa = h.translateData(lo, hi, ACCESS_WRITE);
    if (pa < 0) return h.pendingTrap;
    const w = pa >>> 2;
    i32[w] = srcLo;
    if (dw) i32[w + 1] = srcHi;
    h.clearReservation();
    h.afterStore(pa, lo, hi, size);
    x[rd] = 0;
    x[rd + 1] = 0;
    return -1;
  }
  const pa = h.translateData(lo, hi, ACCESS_WRITE);
  if (pa < 0) return h.pendingTrap;
  const w = pa >>> 2;
  const oldLo = i32[w]!;
  const oldHi = dw ? i32[w + 1]! : oldLo >> 31;
  // For .W the operands are the low words, compared and combined as 32-bit values; using
  // sign-extended halves makes the 64-bit code below give the 32-bit answers.
  const bLo = srcLo;
  const bHi = dw ? srcHi : srcLo >> 31;
  let nLo: number;
  let nHi: number;
  switch (f5) {
    case AMO_SWAP: nLo = bLo; nHi = bHi; break;
    case AMO_ADD: {
      nLo = (oldLo + bLo) | 0;
      nHi = (oldHi + bHi + (nLo >>> 0 < oldLo >>> 0 ? 1 : 0)) | 0;
      break;
    }
    case AMO_XOR: nLo = oldLo ^ bLo; nHi = oldHi ^ bHi; break;
    case AMO_AND: nLo = oldLo & bLo; nHi = oldHi & bHi; break;
    case AMO_OR: nLo = oldLo | bLo; nHi = oldHi | bHi; break;
    case AMO_MIN: {
      const keepOld = lt64(oldLo, oldHi, bLo, bHi);
      nLo = keepOld ? oldLo : bLo;
      nHi = keepOld ? oldHi : bHi;
      break;
    }
    case AMO_MAX: {
      const keepOld = !lt64(oldLo, oldHi, bLo, bHi);
      nLo = keepOld ? oldLo : bLo;
      nHi = keepOld ? oldHi : bHi;
      break;
    }
    case AMO_MINU: {
      const keepOld = ltu64(oldLo, oldHi, bLo, bHi);
      nLo = keepOld ? oldLo : bLo;
      nHi = keepOld ? oldHi : bHi;
      break;
    }
    default: {
      // AMO_MAXU
      const keepOld = !ltu64(oldLo, oldHi, bLo, bHi);
      nLo = keepOld ? oldLo : bLo;
      nHi = keepOld ? oldHi : bHi;
      break;
    }
  }
  i32[w] = nLo;
  if (dw) i32[w + 1] = nHi;
  h.afterStore(pa, lo, hi, size);
  x[rd] = oldLo;
  x[rd + 1] = oldHi;
  return -1;
}
