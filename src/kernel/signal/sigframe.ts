/**
 * The riscv64 signal frame (arch/riscv/kernel/signal.c): struct rt_sigframe { siginfo_t info;
 * struct ucontext uc; } built on the user stack by setup_rt_frame() and read back by
 * sys_rt_sigreturn(). Layout (checked against glibc's headers by tests/unit/signal/):
 *
 *   0    siginfo (128)
 *   128  ucontext: uc_flags 8, uc_link 8, uc_stack (stack_t, 24) @16, uc_sigmask 8 @40,
 *        padding to 1024 bits of sigset @48, uc_mcontext (struct sigcontext, 16-aligned) @176:
 *          sc_regs: pc, x1..x31 (32 × 8)
 *          sc_fpregs (union __riscv_fp_state, 528 bytes): d-state f[32] (u64) + fcsr (u32) @256;
 *          the union's tail is struct __riscv_extra_ext_header (Linux 6.x): reserved (u32, must be 0)
 *          @516 and an END __riscv_ctx_hdr { magic = 0, size = 0 } @520.
 *   1088 total (sizeof(struct rt_sigframe)), 16-byte aligned on the stack.
 *
 * These functions work on byte arrays and register arrays only, so the layout is unit-testable.
 */
import { SIGINFO_SIZE } from './siginfo.js';

export const UC_OFFSET = SIGINFO_SIZE; // 128
export const UC_FLAGS = 0;
export const UC_LINK = 8;
export const UC_STACK = 16;
export const UC_SIGMASK = 40;
export const UC_MCONTEXT = 176;
export const SC_REGS = 0;
export const SC_FPREGS = 256;
export const FP_FCSR = 256;
export const FP_EXT_RESERVED = 516;
export const FP_EXT_HDR = 520;
export const SIGCONTEXT_SIZE = 256 + 528;
export const UCONTEXT_SIZE = UC_MCONTEXT + SIGCONTEXT_SIZE; // 960
export const RT_SIGFRAME_SIZE = UC_OFFSET + UCONTEXT_SIZE; // 1088
/** Absolute offsets in the frame. */
export const FRAME_UC = UC_OFFSET;
export const FRAME_REGS = UC_OFFSET + UC_MCONTEXT + SC_REGS; // 304
export const FRAME_FP = UC_OFFSET + UC_MCONTEXT + SC_FPREGS; // 560
/** END_MAGIC / END_HDR_SIZE of the extension header list. */
const END_MAGIC = 0;
const END_HDR_SIZE = 0;

/** The user registers the frame saves: Hart.x / Hart.fRaw layouts (lo/hi int32 pairs). */
export interface FrameRegs {
  x: Int32Array; // at least 64 entries: x[2i], x[2i+1]
  fRaw: Int32Array; // 64 entries
  pc: number;
  fflags: number;
  frm: number;
}

export interface FrameStack {
  sp: number;
  flags: number;
  size: number;
}

function putNum(v: DataView, off: number, x: number): void {
  const hi = Math.floor(x / 0x1_0000_0000);
  v.setUint32(off, (x - hi * 0x1_0000_0000) >>> 0, true);
  v.setInt32(off + 4, hi | 0, true);
}

function getNum(v: DataView, off: number): number {
  return v.getInt32(off + 4, true) * 0x1_0000_0000 + v.getUint32(off, true);
}

/** setup_rt_frame() + setup_sigcontext(): the frame's bytes. */
export function buildRtSigframe(info: Uint8Array, regs: FrameRegs, mask: bigint, stack: FrameStack): Uint8Array {
  const b = new Uint8Array(RT_SIGFRAME_SIZE);
  b.set(info.subarray(0, SIGINFO_SIZE), 0);
  const v = new DataView(b.buffer);
  const uc = FRAME_UC;
  // uc_flags = 0, uc_link = NULL (zero already).
  putNum(v, uc + UC_STACK, stack.sp);
  v.setInt32(uc + UC_STACK + 8, stack.flags | 0, true);
  putNum(v, uc + UC_STACK + 16, stack.size);
  v.setUint32(uc + UC_SIGMASK, Number(mask & 0xffffffffn), true);
  v.setUint32(uc + UC_SIGMASK + 4, Number((mask >> 32n) & 0xffffffffn), true);
  const r = FRAME_REGS;
  putNum(v, r, regs.pc);
  for (let i = 1; i < 32; i++) {
    v.setInt32(r + 8 * i, regs.x[2 * i]!, true);
    v.setInt32(r + 8 * i + 4, regs.x[2 * i + 1]!, true);
  }
  const f = FRAME_FP;
  for (let i = 0; i < 32; i++) {
    v.setInt32(f + 8 * i, regs.fRaw[2 * i]!, true);
    v.setInt32(f + 8 * i + 4, regs.fRaw[2 * i + 1]!, true);
  }
  v.setUint32(f + FP_FCSR, ((regs.frm & 7) << 5) | (regs.fflags & 31), true);
  v.setUint32(f + FP_EXT_RESERVED, 0, true);
  v.setUint32(f + FP_EXT_HDR, END_MAGIC, true);
  v.setUint32(f + FP_EXT_HDR + 4, END_HDR_SIZE, true);
  return b;
}

export interface ParsedFrame {
  mask: bigint;
  stack: FrameStack;
  pc: number;
}

/**
 * restore_sigcontext(): load registers and FP state from a frame into `regs` (x1..x31, f, fcsr).
 * Returns null for a frame Linux rejects (a nonzero reserved word or an unknown extension
 * header: -EINVAL → badframe).
 */
export function parseRtSigframe(b: Uint8Array, regs: FrameRegs): ParsedFrame | null {
  const v = new DataView(b.buffer, b.byteOffset, RT_SIGFRAME_SIZE);
  const f = FRAME_FP;
  if (v.getUint32(f + FP_EXT_RESERVED, true) !== 0) return null;
  const magic = v.getUint32(f + FP_EXT_HDR, true);
  const size = v.getUint32(f + FP_EXT_HDR + 4, true);
  // Only the END header is valid here (no vector state is ever saved on this machine).
  if (magic !== END_MAGIC || size !== END_HDR_SIZE) return null;
  const r = FRAME_REGS;
  const pc = getNum(v, r);
  for (let i = 1; i < 32; i++) {
    regs.x[2 * i] = v.getInt32(r + 8 * i, true);
    regs.x[2 * i + 1] = v.getInt32(r + 8 * i + 4, true);
  }
  for (let i = 0; i < 32; i++) {
    regs.fRaw[2 * i] = v.getInt32(f + 8 * i, true);
    regs.fRaw[2 * i + 1] = v.getInt32(f + 8 * i + 4, true);
  }
  const fcsr = v.getUint32(f + FP_FCSR, true);
  regs.fflags = fcsr & 31;
  regs.frm = (fcsr >>> 5) & 7;
  regs.pc = pc;
  const uc = FRAME_UC;
  const mask = (BigInt(v.getUint32(uc + UC_SIGMASK + 4, true)) << 32n) | BigInt(v.getUint32(uc + UC_SIGMASK, true));
  return {
    mask,
    pc,
    stack: {
      sp: getNum(v, uc + UC_STACK),
      flags: v.getInt32(uc + UC_STACK + 8, true),
      size: getNum(v, uc + UC_STACK + 16),
    },
  };
}
