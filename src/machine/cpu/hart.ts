/**
 * The RV64IMAFDC user-mode hart: architectural state and the fetch/decode/execute loop.
 *
 * State layout (docs/CONTRACTS.md, "Hart API"): x-registers as int32 lo/hi halves in `x`
 * (x[2i] low, x[2i+1] high; x[64..65] is the sink that x0 writes go to, so x[0..1] stay 0);
 * pc as a double (user addresses are below 2^38); f-registers as doubles in `f` aliased by
 * `fRaw` (lo/hi int32 halves, for NaN-boxing and loads/stores).
 *
 * Speed (DESIGN.md, "Performance"): `execute` is one dense integer `switch` over decoded
 * operations (ops.ts) with literal case labels, holding the common instructions inline and
 * calling out for rare ones (CSR, AMO, M-extension division, misaligned or TLB-missing
 * accesses). Instructions are decoded once per physical frame (icache.ts); the current code
 * page is cached in locals so sequential fetches need no TLB lookup. Data accesses check the
 * software TLB (tlb.ts) inline and walk the Sv39 tables (mmu.ts) on a miss.
 *
 * Every way a guest can stop the loop is a returned Trap (trap.ts) with pc at the trapping
 * instruction and `trapValue` = stval. The kernel (kernel/sched) turns it into a system call,
 * a demand-paging fault or a signal, and calls run() again.
 */
import type { PhysicalMemory } from '../memory.js';
import type { Clock } from '../dev/clock.js';
import { Trap } from './trap.js';
import { Tlb, TLB_MASK } from './tlb.js';
import { ACCESS_EXEC, ACCESS_READ, ACCESS_WRITE, Mmu, XLATE_PAGE_FAULT } from './mmu.js';
import { DecodeCache } from './icache.js';
import { decode16, decode32 } from './decode.js';
import { mul64, mulh64, mulhsu64, mulhu64 } from './mul.js';
import { div64, divu64, divw } from './div.js';
import { execCsr } from './csr.js';
import { execAmo } from './amo.js';
import { execFp } from './fpu.js';
import {
  OP_FLW, OP_FSD, OP_FSW, OP_LB, OP_LBU, OP_LD, OP_LH, OP_LHU, OP_LW, OP_LWU, OP_SB, OP_SH, OP_SW,
} from './ops.js';

const TWO32 = 4294967296;
const TWO64 = 18446744073709551616;
/** User addresses are below 2^38 (Sv39 lower half, as Linux's TASK_SIZE for riscv64 Sv39). */
export const USER_VA_LIMIT = 274877906944;
/** An impossible code-page base: forces the next fetch to look up its page. */
const NO_PAGE = -1e15;
const EMPTY_CODE = new Int32Array(0);
/** Sentinel code-page offset: the pc is in `pc`, its page must be looked up. */
const FAR = 0x40000000;

/** Register state saved while a task is off the hart; the kernel's TaskContext has this shape. */
export interface HartContext {
  x: Int32Array;
  f: Float64Array;
  pc: number;
  fflags: number;
  frm: number;
}

/** Access size in bytes of the load/store ops. */
function accessSize(op: number): number {
  switch (op) {
    case OP_LB: case OP_LBU: case OP_SB: return 1;
    case OP_LH: case OP_LHU: case OP_SH: return 2;
    case OP_LW: case OP_LWU: case OP_SW: case OP_FLW: case OP_FSW: return 4;
    default: return 8;
  }
}

export class Hart {
  readonly x = new Int32Array(66);
  pc = 0;
  private readonly fBuffer = new ArrayBuffer(256);
  readonly f = new Float64Array(this.fBuffer);
  readonly fRaw = new Int32Array(this.fBuffer);
  fflags = 0;
  frm = 0;
  instret = 0;
  trapValue = 0;
  /** A JS exception that escaped the execute loop (a hart bug), reported as ILLEGAL_INSN. */
  lastInternalError: unknown = null;

  readonly tlb = new Tlb();
  readonly mmu: Mmu;
  readonly icache: DecodeCache;

  // LR/SC reservation: virtual address and size of the last LR (A extension).
  resValid = false;
  resLo = 0;
  resHi = 0;
  resSize = 0;

  /** Trap cause produced by an out-of-line helper that returned a failure. */
  pendingTrap = 0;
  // Current code page, set by enterCodePage.
  private codePageBase = NO_PAGE;
  private codePhys = 0;
  private decImm = 0;
  private readonly scratch = new Int32Array(2);
  /** Physical page of the second part of a page-crossing access (translateSpan), or -1. */
  private splitPa = -1;

  constructor(
    readonly mem: PhysicalMemory,
    readonly clock: Clock,
  ) {
    this.mmu = new Mmu(mem, this.tlb);
    this.icache = new DecodeCache(mem, this.tlb);
  }

  // ---- kernel-facing API -------------------------------------------------------------

  /** satp: switch address space (Sv39 root frame, -1 for none). Flushes the TLB. */
  setRoot(pfn: number): void {
    this.mmu.root = pfn;
    this.tlb.flushAll();
  }

  /** sfence.vma with no address. */
  flushTlb(): void {
    this.tlb.flushAll();
  }

  /** sfence.vma for one virtual address. */
  flushTlbPage(va: number): void {
    if (va >= 0 && va < USER_VA_LIMIT) this.tlb.flushPage(Math.floor(va / 4096));
  }

  getReg(i: number): number {
    return this.x[2 * i + 1]! * TWO32 + (this.x[2 * i]! >>> 0);
  }

  setReg(i: number, v: number): void {
    if (i === 0) return;
    const hi = Math.floor(v / TWO32);
    this.x[2 * i] = (v - hi * TWO32) | 0;
    this.x[2 * i + 1] = hi | 0;
  }

  setRegLoHi(i: number, lo: number, hi: number): void {
    if (i === 0) return;
    this.x[2 * i] = lo | 0;
    this.x[2 * i + 1] = hi | 0;
  }

  saveContext(ctx: HartContext): void {
    ctx.x.set(this.x.subarray(0, Math.min(64, ctx.x.length)));
    ctx.f.set(this.f);
    ctx.pc = this.pc;
    ctx.fflags = this.fflags;
    ctx.frm = this.frm;
  }

  loadContext(ctx: HartContext): void {
    this.x.set(ctx.x.subarray(0, 64));
    this.x[0] = 0;
    this.x[1] = 0;
    this.f.set(ctx.f);
    this.pc = ctx.pc;
    this.fflags = ctx.fflags & 31;
    this.frm = ctx.frm & 7;
    this.clearReservation();
  }

  /**
   * Execute up to `budget` instructions. Returns a Trap: BUDGET when the budget ran out,
   * otherwise the cause, with pc at the trapping instruction and trapValue = stval.
   * Like Linux's return to user mode, every exit drops the LR reservation.
   */
  run(budget: number): number {
    let t: number;
    try {
      t = this.execute(budget);
    } catch (e) {
      // Only a bug in the hart can get here; the guest sees SIGILL rather than the worker dying.
      this.lastInternalError = e;
      this.trapValue = 0;
      t = Trap.ILLEGAL_INSN;
    }
    this.clearReservation();
    return t;
  }

  clearReservation(): void {
    this.resValid = false;
    if (this.mmu.noWriteVpn >= 0) this.mmu.noWriteVpn = -1;
  }

  // ---- the loop ----------------------------------------------------------------------

  private execute(budget: number): number {
    const x = this.x;
    const fr = this.fRaw;
    const mem = this.mem;
    const u8 = mem.u8;
    const u16 = mem.u16;
    const i32 = mem.i32;
    const tlb = this.tlb;
    const rTag = tlb.rTag;
    const rPhys = tlb.rPhys;
    const wTag = tlb.wTag;
    const wPhys = tlb.wPhys;
    // The pc is kept as an offset `o` into the current code page (integer arithmetic on the
    // hot path); `pc` is only authoritative when o === FAR (after a far jump or before the
    // first fetch). Any o outside 0..4095 means "look up the page of pageBase + o".
    let pc = this.pc;
    let code: Int32Array = EMPTY_CODE;
    let pageBase = NO_PAGE;
    let o = FAR;
    let n = 0;
    let trap = -1;
    if (pc % 2 !== 0) {
      this.trapValue = pc;
      return Trap.INSN_MISALIGNED;
    }
    loop: while (n < budget) {
      if (o >>> 0 >= 4096) {
        if (o !== FAR) pc = pageBase + o;
        o = FAR;
        const c = this.enterCodePage(pc);
        if (c === null) {
          trap = fetchFaulted(this);
          break;
        }
        code = c;
        pageBase = this.codePageBase;
        o = (pc - pageBase) | 0;
      }
      let d = code[o]!;
      let imm = code[o + 1]!;
      if (d === 0) {
        d = this.decodeAt(pageBase + o, code, o);
        if (d === 0) {
          trap = fetchFaulted(this);
          break;
        }
        imm = this.decImm;
      }
      const no = o + 4 - ((d >>> 29) & 2);
      const rd = (d >>> 8) & 127;
      const rs1 = (d >>> 15) & 127;
      const rs2 = (d >>> 22) & 127;
      n++;
      switch (d & 255) {
        case 1: { // OP_ADDI
          const a = x[rs1]!;
          const ah = x[rs1 + 1]!;
          const lo = (a + imm) | 0;
          x[rd + 1] = (ah + (imm >> 31) + (lo >>> 0 < a >>> 0 ? 1 : 0)) | 0;
          x[rd] = lo;
          o = no;
          continue;
        }
        case 2: // OP_LI
          x[rd] = imm;
          x[rd + 1] = imm >> 31;
          o = no;
          continue;
        case 3: { // OP_MV
          const hi = x[rs1 + 1]!;
          x[rd] = x[rs1]!;
          x[rd + 1] = hi;
          o = no;
          continue;
        }
        case 4: { // OP_ADD
          const a = x[rs1]!, ah = x[rs1 + 1]!, b = x[rs2]!, bh = x[rs2 + 1]!;
          const lo = (a + b) | 0;
          x[rd + 1] = (ah + bh + (lo >>> 0 < a >>> 0 ? 1 : 0)) | 0;
          x[rd] = lo;
          o = no;
          continue;
        }
        case 5: { // OP_SUB
          const a = x[rs1]!, ah = x[rs1 + 1]!, b = x[rs2]!, bh = x[rs2 + 1]!;
          x[rd + 1] = (ah - bh - (a >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          x[rd] = (a - b) | 0;
          o = no;
          continue;
        }
        case 6: { // OP_AUIPC
          const v = pageBase + o + imm;
          x[rd] = v | 0;
          x[rd + 1] = Math.floor(v / TWO32) | 0;
          o = no;
          continue;
        }
        case 7: { // OP_JAL
          const ret = pageBase + no;
          x[rd] = ret | 0;
          x[rd + 1] = (ret / TWO32) | 0;
          o += imm;
          continue;
        }
        case 8: // OP_J
          o += imm;
          continue;
        case 9: { // OP_JALR
          const a = x[rs1]!;
          const s = (a + imm) | 0;
          const hi = (x[rs1 + 1]! + (imm >> 31) + (s >>> 0 < a >>> 0 ? 1 : 0)) | 0;
          const ret = pageBase + no;
          x[rd] = ret | 0;
          x[rd + 1] = (ret / TWO32) | 0;
          const target = hi * TWO32 + ((s & ~1) >>> 0);
          const to = target - pageBase;
          if (to >= 0 && to < 4096) {
            o = to | 0;
          } else {
            pc = target;
            o = FAR;
          }
          continue;
        }
        case 10: // OP_BEQ
          o = x[rs1] === x[rs2] && x[rs1 + 1] === x[rs2 + 1] ? o + imm : no;
          continue;
        case 11: // OP_BNE
          o = x[rs1] !== x[rs2] || x[rs1 + 1] !== x[rs2 + 1] ? o + imm : no;
          continue;
        case 12: { // OP_BLT
          const ah = x[rs1 + 1]!, bh = x[rs2 + 1]!;
          o = ah < bh || (ah === bh && x[rs1]! >>> 0 < x[rs2]! >>> 0) ? o + imm : no;
          continue;
        }
        case 13: { // OP_BGE
          const ah = x[rs1 + 1]!, bh = x[rs2 + 1]!;
          o = ah < bh || (ah === bh && x[rs1]! >>> 0 < x[rs2]! >>> 0) ? no : o + imm;
          continue;
        }
        case 14: { // OP_BLTU
          const ah = x[rs1 + 1]! >>> 0, bh = x[rs2 + 1]! >>> 0;
          o = ah < bh || (ah === bh && x[rs1]! >>> 0 < x[rs2]! >>> 0) ? o + imm : no;
          continue;
        }
        case 15: { // OP_BGEU
          const ah = x[rs1 + 1]! >>> 0, bh = x[rs2 + 1]! >>> 0;
          o = ah < bh || (ah === bh && x[rs1]! >>> 0 < x[rs2]! >>> 0) ? no : o + imm;
          continue;
        }
        case 16: // OP_LB
        case 20: { // OP_LBU
          const b = x[rs1]!;
          const lo = (b + imm) | 0;
          const hi = (x[rs1 + 1]! + (imm >> 31) + (lo >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          if (hi >>> 6 === 0) {
            const tag = (hi << 20) | (lo >>> 12);
            const i = tag & TLB_MASK;
            if (rTag[i] === tag) {
              const v = u8[(rPhys[i]! + (lo & 4095)) >>> 0]!;
              if ((d & 255) === 16) {
                x[rd] = (v << 24) >> 24;
                x[rd + 1] = (v << 24) >> 31;
              } else {
                x[rd] = v;
                x[rd + 1] = 0;
              }
              o = no;
              continue;
            }
          }
          const t = loadSlow(this, d & 255, rd, lo, hi);
          if (t < 0) {
            o = no;
            continue;
          }
          trap = t;
          break loop;
        }
        case 17: // OP_LH
        case 21: { // OP_LHU
          const b = x[rs1]!;
          const lo = (b + imm) | 0;
          const hi = (x[rs1 + 1]! + (imm >> 31) + (lo >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          if (hi >>> 6 === 0 && (lo & 1) === 0) {
            const tag = (hi << 20) | (lo >>> 12);
            const i = tag & TLB_MASK;
            if (rTag[i] === tag) {
              const v = u16[(rPhys[i]! + (lo & 4095)) >>> 1]!;
              if ((d & 255) === 17) {
                x[rd] = (v << 16) >> 16;
                x[rd + 1] = (v << 16) >> 31;
              } else {
                x[rd] = v;
                x[rd + 1] = 0;
              }
              o = no;
              continue;
            }
          }
          const t = loadSlow(this, d & 255, rd, lo, hi);
          if (t < 0) {
            o = no;
            continue;
          }
          trap = t;
          break loop;
        }
        case 18: // OP_LW
        case 22: { // OP_LWU
          const b = x[rs1]!;
          const lo = (b + imm) | 0;
          const hi = (x[rs1 + 1]! + (imm >> 31) + (lo >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          if (hi >>> 6 === 0 && (lo & 3) === 0) {
            const tag = (hi << 20) | (lo >>> 12);
            const i = tag & TLB_MASK;
            if (rTag[i] === tag) {
              const v = i32[(rPhys[i]! + (lo & 4095)) >>> 2]!;
              x[rd] = v;
              x[rd + 1] = (d & 255) === 18 ? v >> 31 : 0;
              o = no;
              continue;
            }
          }
          const t = loadSlow(this, d & 255, rd, lo, hi);
          if (t < 0) {
            o = no;
            continue;
          }
          trap = t;
          break loop;
        }
        case 19: { // OP_LD
          const b = x[rs1]!;
          const lo = (b + imm) | 0;
          const hi = (x[rs1 + 1]! + (imm >> 31) + (lo >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          if (hi >>> 6 === 0 && (lo & 7) === 0) {
            const tag = (hi << 20) | (lo >>> 12);
            const i = tag & TLB_MASK;
            if (rTag[i] === tag) {
              const p = (rPhys[i]! + (lo & 4095)) >>> 2;
              x[rd] = i32[p]!;
              x[rd + 1] = i32[p + 1]!;
              o = no;
              continue;
            }
          }
          const t = loadSlow(this, 19, rd, lo, hi);
          if (t < 0) {
            o = no;
            continue;
          }
          trap = t;
          break loop;
        }
        case 23: { // OP_SB
          const b = x[rs1]!;
          const lo = (b + imm) | 0;
          const hi = (x[rs1 + 1]! + (imm >> 31) + (lo >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          if (hi >>> 6 === 0) {
            const tag = (hi << 20) | (lo >>> 12);
            const i = tag & TLB_MASK;
            if (wTag[i] === tag) {
              u8[(wPhys[i]! + (lo & 4095)) >>> 0] = x[rs2]!;
              o = no;
              continue;
            }
          }
          const t = storeSlow(this, 23, rs2, lo, hi);
          if (t < 0) {
            // the store may have dropped decoded code: look the page up again
            pc = pageBase + no;
            o = FAR;
            continue;
          }
          trap = t;
          break loop;
        }
        case 24: { // OP_SH
          const b = x[rs1]!;
          const lo = (b + imm) | 0;
          const hi = (x[rs1 + 1]! + (imm >> 31) + (lo >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          if (hi >>> 6 === 0 && (lo & 1) === 0) {
            const tag = (hi << 20) | (lo >>> 12);
            const i = tag & TLB_MASK;
            if (wTag[i] === tag) {
              u16[(wPhys[i]! + (lo & 4095)) >>> 1] = x[rs2]!;
              o = no;
              continue;
            }
          }
          const t = storeSlow(this, 24, rs2, lo, hi);
          if (t < 0) {
            pc = pageBase + no;
            o = FAR;
            continue;
          }
          trap = t;
          break loop;
        }
        case 25: { // OP_SW
          const b = x[rs1]!;
          const lo = (b + imm) | 0;
          const hi = (x[rs1 + 1]! + (imm >> 31) + (lo >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          if (hi >>> 6 === 0 && (lo & 3) === 0) {
            const tag = (hi << 20) | (lo >>> 12);
            const i = tag & TLB_MASK;
            if (wTag[i] === tag) {
              i32[(wPhys[i]! + (lo & 4095)) >>> 2] = x[rs2]!;
              o = no;
              continue;
            }
          }
          const t = storeSlow(this, 25, rs2, lo, hi);
          if (t < 0) {
            pc = pageBase + no;
            o = FAR;
            continue;
          }
          trap = t;
          break loop;
        }
        case 26: { // OP_SD
          const b = x[rs1]!;
          const lo = (b + imm) | 0;
          const hi = (x[rs1 + 1]! + (imm >> 31) + (lo >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          if (hi >>> 6 === 0 && (lo & 7) === 0) {
            const tag = (hi << 20) | (lo >>> 12);
            const i = tag & TLB_MASK;
            if (wTag[i] === tag) {
              const p = (wPhys[i]! + (lo & 4095)) >>> 2;
              i32[p] = x[rs2]!;
              i32[p + 1] = x[rs2 + 1]!;
              o = no;
              continue;
            }
          }
          const t = storeSlow(this, 26, rs2, lo, hi);
          if (t < 0) {
            pc = pageBase + no;
            o = FAR;
            continue;
          }
          trap = t;
          break loop;
        }
        case 27: { // OP_SLTI
          const ah = x[rs1 + 1]!, bh = imm >> 31;
          x[rd] = ah < bh || (ah === bh && x[rs1]! >>> 0 < imm >>> 0) ? 1 : 0;
          x[rd + 1] = 0;
          o = no;
          continue;
        }
        case 28: { // OP_SLTIU
          const ah = x[rs1 + 1]! >>> 0, bh = (imm >> 31) >>> 0;
          x[rd] = ah < bh || (ah === bh && x[rs1]! >>> 0 < imm >>> 0) ? 1 : 0;
          x[rd + 1] = 0;
          o = no;
          continue;
        }
        case 29: // OP_XORI
          x[rd + 1] = x[rs1 + 1]! ^ (imm >> 31);
          x[rd] = x[rs1]! ^ imm;
          o = no;
          continue;
        case 30: // OP_ORI
          x[rd + 1] = x[rs1 + 1]! | (imm >> 31);
          x[rd] = x[rs1]! | imm;
          o = no;
          continue;
        case 31: // OP_ANDI
          x[rd + 1] = x[rs1 + 1]! & (imm >> 31);
          x[rd] = x[rs1]! & imm;
          o = no;
          continue;
        case 32: { // OP_SLLI
          const a = x[rs1]!, ah = x[rs1 + 1]!;
          if (imm === 0) {
            x[rd] = a;
            x[rd + 1] = ah;
          } else if (imm < 32) {
            x[rd + 1] = (ah << imm) | (a >>> (32 - imm));
            x[rd] = a << imm;
          } else {
            x[rd + 1] = a << (imm - 32);
            x[rd] = 0;
          }
          o = no;
          continue;
        }
        case 33: { // OP_SRLI
          const a = x[rs1]!, ah = x[rs1 + 1]!;
          if (imm === 0) {
            x[rd] = a;
            x[rd + 1] = ah;
          } else if (imm < 32) {
            x[rd] = (a >>> imm) | (ah << (32 - imm));
            x[rd + 1] = ah >>> imm;
          } else {
            x[rd] = ah >>> (imm - 32);
            x[rd + 1] = 0;
          }
          o = no;
          continue;
        }
        case 34: { // OP_SRAI
          const a = x[rs1]!, ah = x[rs1 + 1]!;
          if (imm === 0) {
            x[rd] = a;
            x[rd + 1] = ah;
          } else if (imm < 32) {
            x[rd] = (a >>> imm) | (ah << (32 - imm));
            x[rd + 1] = ah >> imm;
          } else {
            x[rd] = ah >> (imm - 32);
            x[rd + 1] = ah >> 31;
          }
          o = no;
          continue;
        }
        case 35: { // OP_ADDIW
          const r = (x[rs1]! + imm) | 0;
          x[rd] = r;
          x[rd + 1] = r >> 31;
          o = no;
          continue;
        }
        case 36: { // OP_SLLIW
          const r = x[rs1]! << imm;
          x[rd] = r;
          x[rd + 1] = r >> 31;
          o = no;
          continue;
        }
        case 37: { // OP_SRLIW
          const r = (x[rs1]! >>> imm) | 0;
          x[rd] = r;
          x[rd + 1] = r >> 31;
          o = no;
          continue;
        }
        case 38: { // OP_SRAIW
          const r = x[rs1]! >> imm;
          x[rd] = r;
          x[rd + 1] = r >> 31;
          o = no;
          continue;
        }
        case 39: { // OP_SLL
          const s = x[rs2]! & 63;
          const a = x[rs1]!, ah = x[rs1 + 1]!;
          if (s === 0) {
            x[rd] = a;
            x[rd + 1] = ah;
          } else if (s < 32) {
            x[rd + 1] = (ah << s) | (a >>> (32 - s));
            x[rd] = a << s;
          } else {
            x[rd + 1] = a << (s - 32);
            x[rd] = 0;
          }
          o = no;
          continue;
        }
        case 40: { // OP_SLT
          const ah = x[rs1 + 1]!, bh = x[rs2 + 1]!;
          x[rd] = ah < bh || (ah === bh && x[rs1]! >>> 0 < x[rs2]! >>> 0) ? 1 : 0;
          x[rd + 1] = 0;
          o = no;
          continue;
        }
        case 41: { // OP_SLTU
          const ah = x[rs1 + 1]! >>> 0, bh = x[rs2 + 1]! >>> 0;
          x[rd] = ah < bh || (ah === bh && x[rs1]! >>> 0 < x[rs2]! >>> 0) ? 1 : 0;
          x[rd + 1] = 0;
          o = no;
          continue;
        }
        case 42: { // OP_XOR
          const hi = x[rs1 + 1]! ^ x[rs2 + 1]!;
          x[rd] = x[rs1]! ^ x[rs2]!;
          x[rd + 1] = hi;
          o = no;
          continue;
        }
        case 43: { // OP_SRL
          const s = x[rs2]! & 63;
          const a = x[rs1]!, ah = x[rs1 + 1]!;
          if (s === 0) {
            x[rd] = a;
            x[rd + 1] = ah;
          } else if (s < 32) {
            x[rd] = (a >>> s) | (ah << (32 - s));
            x[rd + 1] = ah >>> s;
          } else {
            x[rd] = ah >>> (s - 32);
            x[rd + 1] = 0;
          }
          o = no;
          continue;
        }
        case 44: { // OP_SRA
          const s = x[rs2]! & 63;
          const a = x[rs1]!, ah = x[rs1 + 1]!;
          if (s === 0) {
            x[rd] = a;
            x[rd + 1] = ah;
          } else if (s < 32) {
            x[rd] = (a >>> s) | (ah << (32 - s));
            x[rd + 1] = ah >> s;
          } else {
            x[rd] = ah >> (s - 32);
            x[rd + 1] = ah >> 31;
          }
          o = no;
          continue;
        }
        case 45: { // OP_OR
          const hi = x[rs1 + 1]! | x[rs2 + 1]!;
          x[rd] = x[rs1]! | x[rs2]!;
          x[rd + 1] = hi;
          o = no;
          continue;
        }
        case 46: { // OP_AND
          const hi = x[rs1 + 1]! & x[rs2 + 1]!;
          x[rd] = x[rs1]! & x[rs2]!;
          x[rd + 1] = hi;
          o = no;
          continue;
        }
        case 47: { // OP_ADDW
          const r = (x[rs1]! + x[rs2]!) | 0;
          x[rd] = r;
          x[rd + 1] = r >> 31;
          o = no;
          continue;
        }
        case 48: { // OP_SUBW
          const r = (x[rs1]! - x[rs2]!) | 0;
          x[rd] = r;
          x[rd + 1] = r >> 31;
          o = no;
          continue;
        }
        case 49: { // OP_SLLW
          const r = x[rs1]! << (x[rs2]! & 31);
          x[rd] = r;
          x[rd + 1] = r >> 31;
          o = no;
          continue;
        }
        case 50: { // OP_SRLW
          const r = (x[rs1]! >>> (x[rs2]! & 31)) | 0;
          x[rd] = r;
          x[rd + 1] = r >> 31;
          o = no;
          continue;
        }
        case 51: { // OP_SRAW
          const r = x[rs1]! >> (x[rs2]! & 31);
          x[rd] = r;
          x[rd + 1] = r >> 31;
          o = no;
          continue;
        }
        case 52: // OP_MUL
          mul64(x, rd, rs1, rs2);
          o = no;
          continue;
        case 53: // OP_MULH
          mulh64(x, rd, rs1, rs2);
          o = no;
          continue;
        case 54: // OP_MULHSU
          mulhsu64(x, rd, rs1, rs2);
          o = no;
          continue;
        case 55: // OP_MULHU
          mulhu64(x, rd, rs1, rs2);
          o = no;
          continue;
        case 56: // OP_DIV
          div64(x, rd, rs1, rs2, false);
          o = no;
          continue;
        case 57: // OP_DIVU
          divu64(x, rd, rs1, rs2, false);
          o = no;
          continue;
        case 58: // OP_REM
          div64(x, rd, rs1, rs2, true);
          o = no;
          continue;
        case 59: // OP_REMU
          divu64(x, rd, rs1, rs2, true);
          o = no;
          continue;
        case 60: { // OP_MULW
          const r = Math.imul(x[rs1]!, x[rs2]!);
          x[rd] = r;
          x[rd + 1] = r >> 31;
          o = no;
          continue;
        }
        case 61: // OP_DIVW
          divw(x, rd, rs1, rs2, true, false);
          o = no;
          continue;
        case 62: // OP_DIVUW
          divw(x, rd, rs1, rs2, false, false);
          o = no;
          continue;
        case 63: // OP_REMW
          divw(x, rd, rs1, rs2, true, true);
          o = no;
          continue;
        case 64: // OP_REMUW
          divw(x, rd, rs1, rs2, false, true);
          o = no;
          continue;
        case 65: // OP_FLW
        case 66: { // OP_FLD
          const b = x[rs1]!;
          const lo = (b + imm) | 0;
          const hi = (x[rs1 + 1]! + (imm >> 31) + (lo >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          const t = loadSlow(this, d & 255, rd, lo, hi);
          if (t < 0) {
            o = no;
            continue;
          }
          trap = t;
          break loop;
        }
        case 67: // OP_FSW
        case 68: { // OP_FSD
          const b = x[rs1]!;
          const lo = (b + imm) | 0;
          const hi = (x[rs1 + 1]! + (imm >> 31) + (lo >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          if ((d & 255) === 68 && hi >>> 6 === 0 && (lo & 7) === 0) {
            const tag = (hi << 20) | (lo >>> 12);
            const i = tag & TLB_MASK;
            if (wTag[i] === tag) {
              const p = (wPhys[i]! + (lo & 4095)) >>> 2;
              i32[p] = fr[rs2]!;
              i32[p + 1] = fr[rs2 + 1]!;
              o = no;
              continue;
            }
          }
          const t = storeSlow(this, d & 255, rs2, lo, hi);
          if (t < 0) {
            pc = pageBase + no;
            o = FAR;
            continue;
          }
          trap = t;
          break loop;
        }
        case 69: // OP_FENCE
          o = no;
          continue;
        case 70: // OP_FENCE_I
          fenceI(this);
          pc = pageBase + no;
          o = FAR;
          continue;
        case 71: // OP_ECALL
          trap = raise(this, Trap.ECALL_U, 0);
          break loop;
        case 72: // OP_EBREAK
          trap = raise(this, Trap.BREAKPOINT, 0);
          break loop;
        case 73: { // OP_CSR
          const t = execCsr(this, d, imm, n);
          if (t < 0) {
            o = no;
            continue;
          }
          trap = t;
          break loop;
        }
        case 74: { // OP_AMO
          const t = execAmo(this, d, imm);
          if (t < 0) {
            pc = pageBase + no;
            o = FAR;
            continue;
          }
          trap = t;
          break loop;
        }
        case 75: // OP_FP
          if (execFp(this, imm)) {
            o = no;
            continue;
          }
          trap = raise(this, Trap.ILLEGAL_INSN, imm);
          break loop;
        default: // OP_ILLEGAL
          trap = raise(this, Trap.ILLEGAL_INSN, imm);
          break loop;
      }
    }
    return finish(this, pc, o, pageBase, n, trap);
  }

  // Everything on the way out of execute() lives in these small methods, called through the
  // module functions at the end of this file (see there).

  /** An instruction trapped: record stval and return the cause. */
  raise(cause: number, tval: number): number {
    this.trapValue = cause === Trap.ILLEGAL_INSN ? tval >>> 0 : tval;
    return cause;
  }

  fetchFault = false;

  /** Fetching the next instruction faulted (it was not counted as executing). */
  fetchFaulted(): number {
    this.fetchFault = true;
    return this.pendingTrap;
  }

  /**
   * Leave execute(): store the pc and count retired instructions. `n` counts every
   * instruction started, including one that trapped (which did not retire).
   */
  finish(pc: number, o: number, pageBase: number, n: number, trap: number): number {
    this.pc = o === FAR ? pc : pageBase + o;
    if (trap < 0) {
      this.instret += n;
      return Trap.BUDGET;
    }
    this.instret += this.fetchFault ? n : n - 1;
    this.fetchFault = false;
    return trap;
  }

  // ---- fetch -------------------------------------------------------------------------

  /** Translate the page of `pc` for execution and return its decoded-instruction page. */
  private enterCodePage(pc: number): Int32Array | null {
    if (!(pc >= 0 && pc < USER_VA_LIMIT)) {
      this.trapValue = pc < 0 ? pc + TWO64 : pc;
      this.pendingTrap = Trap.INSN_PAGE_FAULT;
      return null;
    }
    const vpn = (pc / 4096) | 0;
    const pa = this.translateExec(vpn);
    if (pa < 0) {
      this.trapValue = pc;
      return null;
    }
    this.codePageBase = vpn * 4096;
    this.codePhys = pa;
    return this.icache.page(pa >>> 12);
  }

  /** Physical page of an executable vpn, or -1 with pendingTrap set. */
  private translateExec(vpn: number): number {
    const i = vpn & TLB_MASK;
    if (this.tlb.xTag[i] === vpn) return this.tlb.xPhys[i]! >>> 0;
    const pa = this.mmu.translate(vpn, ACCESS_EXEC);
    if (pa < 0) {
      this.pendingTrap = pa === XLATE_PAGE_FAULT ? Trap.INSN_PAGE_FAULT : Trap.INSN_ACCESS;
      return -1;
    }
    return pa;
  }

  /**
   * Decode the instruction at offset `o` of the current code page into `code` and return its
   * word 0 (the immediate goes to decImm). An instruction whose second half lies on the next
   * page is decoded each time and not cached (that page may change independently); returns 0
   * with pendingTrap set when that next page cannot be fetched.
   */
  private decodeAt(pc: number, code: Int32Array, o: number): number {
    const u16 = this.mem.u16;
    const pa = this.codePhys + o;
    const low = u16[pa >>> 1]!;
    if ((low & 3) !== 3) {
      decode16(low, code, o);
      this.decImm = code[o + 1]!;
      return code[o]!;
    }
    if (o < 4094) {
      decode32(low | (u16[(pa >>> 1) + 1]! << 16), code, o);
      this.decImm = code[o + 1]!;
      return code[o]!;
    }
    const nextPage = pc + 2;
    if (nextPage >= USER_VA_LIMIT) {
      this.trapValue = nextPage;
      this.pendingTrap = Trap.INSN_PAGE_FAULT;
      return 0;
    }
    const pa2 = this.translateExec(Math.floor(nextPage / 4096));
    if (pa2 < 0) {
      this.trapValue = nextPage;
      return 0;
    }
    const s = this.scratch;
    decode32(low | (u16[pa2 >>> 1]! << 16), s, 0);
    this.decImm = s[1]!;
    return s[0]!;
  }

  // ---- data accesses (slow paths) ----------------------------------------------------

  /**
   * Physical address of the byte at virtual (hi:lo) for a data access, walking the page
   * table on a TLB miss. Returns -1 with pendingTrap and trapValue set on a fault.
   */
  translateData(lo: number, hi: number, access: number): number {
    if (hi >>> 6 !== 0) {
      this.trapValue = (hi >>> 0) * TWO32 + (lo >>> 0);
      this.pendingTrap = access === ACCESS_WRITE ? Trap.STORE_PAGE_FAULT : Trap.LOAD_PAGE_FAULT;
      return -1;
    }
    const vpn = (hi << 20) | (lo >>> 12);
    const i = vpn & TLB_MASK;
    const tlb = this.tlb;
    if (access === ACCESS_WRITE) {
      if (tlb.wTag[i] === vpn) return (tlb.wPhys[i]! + (lo & 4095)) >>> 0;
    } else if (tlb.rTag[i] === vpn) {
      return (tlb.rPhys[i]! + (lo & 4095)) >>> 0;
    }
    const pa = this.mmu.translate(vpn, access);
    if (pa < 0) {
      this.trapValue = hi * TWO32 + (lo >>> 0);
      if (access === ACCESS_WRITE) {
        this.pendingTrap = pa === XLATE_PAGE_FAULT ? Trap.STORE_PAGE_FAULT : Trap.STORE_ACCESS;
      } else {
        this.pendingTrap = pa === XLATE_PAGE_FAULT ? Trap.LOAD_PAGE_FAULT : Trap.LOAD_ACCESS;
      }
      return -1;
    }
    return pa + (lo & 4095);
  }

  /**
   * Physical addresses of an access of `size` bytes at (hi:lo) that may cross into the next
   * page: the first part's address is returned, the second part's page in `splitPa`
   * (-1 when the access stays in one page). The whole access is translated before any byte
   * moves, so a faulting store writes nothing; the fault reports the address of the part
   * that faulted (the next page's first byte for the second part), as stval does on hardware,
   * so the kernel's demand paging maps the right page.
   */
  private translateSpan(lo: number, hi: number, size: number, access: number): number {
    const pa = this.translateData(lo, hi, access);
    if (pa < 0) return -1;
    this.splitPa = -1;
    const first = 4096 - (lo & 4095);
    if (first < size) {
      const lo2 = (lo + first) | 0;
      const hi2 = (hi + (lo2 >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
      const pa2 = this.translateData(lo2, hi2, access);
      if (pa2 < 0) return -1;
      this.splitPa = pa2;
    }
    return pa;
  }

  /** Byte address of byte k of the span found by translateSpan. */
  private spanByte(pa: number, lo: number, k: number): number {
    const first = 4096 - (lo & 4095);
    return k < first || this.splitPa < 0 ? pa + k : this.splitPa + (k - first);
  }

  /**
   * Every load the inline path did not finish: TLB miss, misaligned (done transparently,
   * byte by byte, as Linux's misaligned-access emulation makes it look), page-crossing,
   * and FP loads. Returns -1 or a Trap.
   */
  loadSlow(op: number, rd: number, lo: number, hi: number): number {
    const size = accessSize(op);
    const pa = this.translateSpan(lo, hi, size, ACCESS_READ);
    if (pa < 0) return this.pendingTrap;
    const u8 = this.mem.u8;
    let v0 = 0;
    let v1 = 0;
    for (let k = 0; k < size; k++) {
      const b = u8[this.spanByte(pa, lo, k)]!;
      if (k < 4) v0 |= b << (8 * k);
      else v1 |= b << (8 * (k - 4));
    }
    const x = this.x;
    switch (op) {
      case OP_LB: x[rd] = (v0 << 24) >> 24; x[rd + 1] = (v0 << 24) >> 31; break;
      case OP_LBU: x[rd] = v0; x[rd + 1] = 0; break;
      case OP_LH: x[rd] = (v0 << 16) >> 16; x[rd + 1] = (v0 << 16) >> 31; break;
      case OP_LHU: x[rd] = v0; x[rd + 1] = 0; break;
      case OP_LW: x[rd] = v0; x[rd + 1] = v0 >> 31; break;
      case OP_LWU: x[rd] = v0; x[rd + 1] = 0; break;
      case OP_LD: x[rd] = v0; x[rd + 1] = v1; break;
      case OP_FLW: this.fRaw[rd] = v0; this.fRaw[rd + 1] = -1; break; // NaN-boxed single
      default: this.fRaw[rd] = v0; this.fRaw[rd + 1] = v1; break; // OP_FLD
    }
    return -1;
  }

  /** Every store the inline path did not finish (see loadSlow), keeping decoded code coherent. */
  storeSlow(op: number, rs2: number, lo: number, hi: number): number {
    const size = accessSize(op);
    const pa = this.translateSpan(lo, hi, size, ACCESS_WRITE);
    if (pa < 0) return this.pendingTrap;
    const src = op === OP_FSW || op === OP_FSD ? this.fRaw : this.x;
    const v0 = src[rs2]!;
    const v1 = src[rs2 + 1]!;
    const u8 = this.mem.u8;
    for (let k = 0; k < size; k++) {
      u8[this.spanByte(pa, lo, k)] = k < 4 ? v0 >>> (8 * k) : v1 >>> (8 * (k - 4));
    }
    this.afterStore(pa, lo, hi, size);
    if (this.splitPa >= 0) this.afterStore(this.splitPa, lo, hi, size);
    return -1;
  }

  /**
   * Bookkeeping after a slow-path store of `size` bytes at virtual (hi:lo) touching the frame
   * of `pa`: drop that frame's decoded code, and break an LR reservation on the same
   * 64-byte granule.
   */
  afterStore(pa: number, lo: number, hi: number, size: number): void {
    const pfn = pa >>> 12;
    if (this.mem.codeFrames[pfn] !== 0) this.icache.drop(pfn);
    if (this.resValid && this.resHi === hi) {
      const start = lo >>> 0;
      const g = (this.resLo >>> 0) - ((this.resLo >>> 0) % 64);
      if (start < g + 64 && start + size > g) this.clearReservation();
    }
  }
}

/*
 * The loop calls out through module-level functions rather than `this.method(...)`: V8 often
 * compiles execute() by on-stack replacement before rare paths (an exit, a trap, a TLB miss)
 * ever ran, and a property load without type feedback deoptimizes the whole loop each time it
 * is reached; a module binding needs no feedback.
 */
function finish(h: Hart, pc: number, o: number, pageBase: number, n: number, trap: number): number {
  return h.finish(pc, o, pageBase, n, trap);
}
function raise(h: Hart, cause: number, tval: number): number {
  return h.raise(cause, tval);
}
function fetchFaulted(h: Hart): number {
  return h.fetchFaulted();
}
function loadSlow(h: Hart, op: number, rd: number, lo: number, hi: number): number {
  return h.loadSlow(op, rd, lo, hi);
}
function storeSlow(h: Hart, op: number, rs2: number, lo: number, hi: number): number {
  return h.storeSlow(op, rs2, lo, hi);
}
function fenceI(h: Hart): void {
  h.icache.dropAll();
}

export { ACCESS_READ, ACCESS_WRITE, ACCESS_EXEC };
