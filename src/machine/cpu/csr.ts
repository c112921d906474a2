/**
 * Zicsr: the control and status registers a user-mode program may touch. The floating-point
 * CSRs fflags (0x001), frm (0x002) and fcsr (0x003), and the read-only counters cycle (0xC00),
 * time (0xC01, the clock's 10 MHz timebase) and instret (0xC02). Everything else, and any write
 * to a counter, is an illegal instruction (Linux delivers SIGILL), as on hardware in U-mode.
 */
import type { Hart } from './hart.js';
import { Trap } from './trap.js';
import { X_SINK } from './ops.js';

export const CSR_FFLAGS = 0x001;
export const CSR_FRM = 0x002;
export const CSR_FCSR = 0x003;
export const CSR_CYCLE = 0xc00;
export const CSR_TIME = 0xc01;
export const CSR_INSTRET = 0xc02;

const TWO32 = 4294967296;

/** Rebuild the 32-bit encoding of a decoded CSR instruction (for stval). */
function csrInsnBits(d: number, imm: number): number {
  const rd = (d >>> 8) & 127;
  const rs1 = ((d >>> 15) & 127) >>> 1;
  const rdNum = rd === X_SINK ? 0 : rd >>> 1;
  return (((imm & 0xfff) << 20) | (rs1 << 15) | (((imm >>> 12) & 7) << 12) | (rdNum << 7) | 0x73) >>> 0;
}

/**
 * CSRRW/CSRRS/CSRRC and their immediate forms. `started` counts the instructions begun in this
 * run() including this one. Returns -1 or Trap.ILLEGAL_INSN.
 */
export function execCsr(h: Hart, d: number, imm: number, started: number): number {
  const csr = imm & 0xfff;
  const f3 = (imm >>> 12) & 7;
  const rd = (d >>> 8) & 127;
  const rs1 = (d >>> 15) & 127;
  const x = h.x;
  const src = f3 >= 5 ? rs1 >>> 1 : x[rs1]!;
  // CSRRS/CSRRC with x0 (or a zero immediate) only read; CSRRW always writes.
  const writes = (f3 & 3) === 1 || rs1 !== 0;
  let old: number;
  let readOnly = false;
  switch (csr) {
    case CSR_FFLAGS: old = h.fflags; break;
    case CSR_FRM: old = h.frm; break;
    case CSR_FCSR: old = (h.frm << 5) | h.fflags; break;
    case CSR_CYCLE:
    case CSR_INSTRET:
      old = h.instret + started - 1; // retired so far, not counting this one
      readOnly = true;
      break;
    case CSR_TIME: old = h.clock.ticks(); readOnly = true; break;
    default: old = -1; readOnly = true;
  }
  if (old < 0 || (writes && readOnly)) {
    h.trapValue = csrInsnBits(d, imm);
    return Trap.ILLEGAL_INSN;
  }
  if (writes) {
    const op = f3 & 3;
    const v = op === 1 ? src : op === 2 ? old | src : old & ~src;
    if (csr === CSR_FFLAGS) h.fflags = v & 31;
    else if (csr === CSR_FRM) h.frm = v & 7;
    else {
      h.fflags = v & 31;
      h.frm = (v >>> 5) & 7;
    }
  }
  const hi = Math.floor(old / TWO32);
  x[rd] = (old - hi * TWO32) | 0;
  x[rd + 1] = hi | 0;
  return -1;
}
