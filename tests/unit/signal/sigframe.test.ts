// The riscv64 rt_sigframe and siginfo layouts (sigframe.ts, siginfo.ts) against the numbers glibc's
// headers give (riscv64-linux-gnu-gcc offsetof: siginfo_t 128, ucontext_t 960 with uc_mcontext at
// 176 and __fpregs at +256; si_addr/si_pid 16, si_uid/si_overrun 20, si_value/si_status 24,
// si_utime 32, si_stime 40; stack_t 24 with ss_flags 8 and ss_size 16), a build/parse round trip,
// the frame validation of rt_sigreturn, the vDSO trampoline code, and the signal-set helpers.
import { describe, expect, it } from 'vitest';
import {
  FRAME_FP,
  FRAME_REGS,
  FRAME_UC,
  RT_SIGFRAME_SIZE,
  UCONTEXT_SIZE,
  UC_MCONTEXT,
  UC_SIGMASK,
  UC_STACK,
  buildRtSigframe,
  parseRtSigframe,
  type FrameRegs,
} from '../../../src/kernel/signal/sigframe.js';
import {
  SIGINFO_SIZE,
  SI_ADDR,
  SI_OVERRUN,
  SI_PID,
  SI_STATUS,
  SI_STIME,
  SI_UID,
  SI_UTIME,
  SI_VALUE,
  killSiginfo,
  makeSiginfo,
  setU64,
  siginfoCode,
  siginfoSigno,
} from '../../../src/kernel/signal/siginfo.js';
import {
  SIGKILL,
  SIGSEGV,
  SIGSTOP,
  SIGUSR1,
  SI_TKILL,
  UNBLOCKABLE,
  sigKernelCoredump,
  sigKernelIgnore,
  sigKernelStop,
  sigSynchronous,
  sigmask,
} from '../../../src/kernel/signal/signum.js';
import { VDSO_FILE } from '../../../src/kernel/signal/vdso.js';

function regs(seed: number): FrameRegs {
  const x = new Int32Array(66);
  const fRaw = new Int32Array(64);
  for (let i = 2; i < 64; i++) x[i] = (seed * 7919 + i * 104729) | 0;
  for (let i = 0; i < 64; i++) fRaw[i] = (seed * 31337 + i * 65537) | 0;
  return { x, fRaw, pc: 0x10_0000_1234 + seed, fflags: 0x13, frm: 3 };
}

describe('riscv64 signal frame layout', () => {
  it('matches the glibc/Linux structure offsets', () => {
    expect(SIGINFO_SIZE).toBe(128);
    expect(UCONTEXT_SIZE).toBe(960);
    expect(RT_SIGFRAME_SIZE).toBe(1088);
    expect(RT_SIGFRAME_SIZE % 16).toBe(0);
    expect(UC_STACK).toBe(16);
    expect(UC_SIGMASK).toBe(40);
    expect(UC_MCONTEXT).toBe(176);
    expect(FRAME_UC).toBe(128);
    expect(FRAME_REGS).toBe(128 + 176);
    expect(FRAME_FP).toBe(128 + 176 + 256);
    expect([SI_ADDR, SI_PID, SI_UID, SI_OVERRUN, SI_VALUE, SI_STATUS, SI_UTIME, SI_STIME]).toEqual([
      16, 16, 20, 20, 24, 24, 32, 40,
    ]);
  });

  it('stores pc, x1..x31, f0..f31, fcsr, the mask, the stack and the END header where Linux does', () => {
    const r = regs(1);
    const info = makeSiginfo(SIGSEGV, 1);
    setU64(info, SI_ADDR, 0x1238);
    const mask = sigmask(SIGUSR1) | (1n << 63n);
    const b = buildRtSigframe(info, r, mask, { sp: 0x7000_0000, flags: 2, size: 8192 });
    const v = new DataView(b.buffer);
    expect(v.getInt32(0, true)).toBe(SIGSEGV);
    expect(v.getUint32(16, true)).toBe(0x1238);
    expect(v.getUint32(FRAME_UC + UC_STACK, true)).toBe(0x7000_0000);
    expect(v.getInt32(FRAME_UC + UC_STACK + 8, true)).toBe(2);
    expect(v.getUint32(FRAME_UC + UC_STACK + 16, true)).toBe(8192);
    expect(v.getUint32(FRAME_UC + UC_SIGMASK, true)).toBe(1 << 9);
    expect(v.getUint32(FRAME_UC + UC_SIGMASK + 4, true)).toBe(0x8000_0000);
    expect(v.getUint32(FRAME_REGS, true)).toBe(0x1235);
    expect(v.getUint32(FRAME_REGS + 4, true)).toBe(0x10);
    for (let i = 1; i < 32; i++) {
      expect(v.getInt32(FRAME_REGS + 8 * i, true)).toBe(r.x[2 * i]);
      expect(v.getInt32(FRAME_REGS + 8 * i + 4, true)).toBe(r.x[2 * i + 1]);
    }
    for (let i = 0; i < 32; i++) expect(v.getInt32(FRAME_FP + 8 * i, true)).toBe(r.fRaw[2 * i]);
    expect(v.getUint32(FRAME_FP + 256, true)).toBe((3 << 5) | 0x13);
    // __riscv_extra_ext_header: reserved 0, then an END header { magic 0, size 0 }.
    for (let o = FRAME_FP + 516; o < FRAME_FP + 528; o++) expect(b[o]).toBe(0);
  });

  it('round-trips through rt_sigreturn and rejects a corrupted extension header', () => {
    const r = regs(2);
    const b = buildRtSigframe(makeSiginfo(SIGUSR1, 0), r, 0x1234n, { sp: 0, flags: 2, size: 0 });
    const out = regs(9);
    const p = parseRtSigframe(b, out);
    expect(p).not.toBeNull();
    expect(p!.mask).toBe(0x1234n);
    expect(out.pc).toBe(r.pc);
    expect([...out.x.subarray(2, 64)]).toEqual([...r.x.subarray(2, 64)]);
    expect([...out.fRaw]).toEqual([...r.fRaw]);
    expect(out.frm).toBe(3);
    expect(out.fflags).toBe(0x13);
    const bad = new Uint8Array(b);
    bad[FRAME_FP + 516] = 1; // reserved word nonzero
    expect(parseRtSigframe(bad, regs(3))).toBeNull();
    const bad2 = new Uint8Array(b);
    bad2[FRAME_FP + 520] = 0x55; // unknown context header magic
    expect(parseRtSigframe(bad2, regs(3))).toBeNull();
  });
});

describe('siginfo and signal sets', () => {
  it('builds kill/tkill siginfo', () => {
    const i = killSiginfo(SIGUSR1, SI_TKILL, 42, 1000);
    expect(siginfoSigno(i)).toBe(SIGUSR1);
    expect(siginfoCode(i)).toBe(SI_TKILL);
    const v = new DataView(i.buffer);
    expect(v.getInt32(SI_PID, true)).toBe(42);
    expect(v.getInt32(SI_UID, true)).toBe(1000);
  });

  it('classifies signals as include/linux/signal.h does', () => {
    expect(sigmask(1)).toBe(1n);
    expect(sigmask(64)).toBe(1n << 63n);
    expect(UNBLOCKABLE).toBe(sigmask(SIGKILL) | sigmask(SIGSTOP));
    expect([17, 18, 23, 28].every(sigKernelIgnore)).toBe(true);
    expect([19, 20, 21, 22].every(sigKernelStop)).toBe(true);
    expect([3, 4, 5, 6, 7, 8, 11, 24, 25, 31].every(sigKernelCoredump)).toBe(true);
    expect(sigKernelCoredump(15)).toBe(false);
    expect([4, 5, 7, 8, 11, 31].every(sigSynchronous)).toBe(true);
    expect(sigSynchronous(10)).toBe(false);
  });
});

describe('[vdso] trampoline', () => {
  it('holds li a7,139; ecall; ebreak', () => {
    const b = new Uint8Array(4096);
    expect(VDSO_FILE.pread(b, 0)).toBe(4096);
    const v = new DataView(b.buffer);
    expect(v.getUint32(0, true)).toBe(0x08b00893);
    expect(v.getUint32(4, true)).toBe(0x00000073);
    expect(v.getUint32(8, true)).toBe(0x00100073);
    expect(v.getUint32(12, true)).toBe(0);
  });
});
