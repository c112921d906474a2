/**
 * siginfo_t for riscv64 (asm-generic/siginfo.h): 128 bytes, kept in the kernel as the raw bytes
 * the handler will see (Linux keeps a kernel_siginfo and copies it out with copy_siginfo_to_user;
 * the layouts coincide on 64-bit). Offsets checked against glibc's siginfo_t by
 * tests/unit/signal/sigframe.test.ts.
 */
export const SIGINFO_SIZE = 128;

export const SI_SIGNO = 0;
export const SI_ERRNO = 4;
export const SI_CODE = 8;
/** _kill/_rt/_sigchld: si_pid, si_uid. _timer: si_tid (timer id), si_overrun. _sigfault: si_addr. */
export const SI_PID = 16;
export const SI_UID = 20;
export const SI_TIMERID = 16;
export const SI_OVERRUN = 20;
export const SI_ADDR = 16;
/** _rt/_timer: si_value (union sigval, 8 bytes). _sigchld: si_status (int). */
export const SI_VALUE = 24;
export const SI_STATUS = 24;
/** _sigchld: si_utime, si_stime (clock_t, long). */
export const SI_UTIME = 32;
export const SI_STIME = 40;

export type Siginfo = Uint8Array;

function view(info: Siginfo): DataView {
  return new DataView(info.buffer, info.byteOffset, SIGINFO_SIZE);
}

/** A zeroed siginfo with si_signo and si_code set (clear_siginfo + the two fields). */
export function makeSiginfo(signo: number, code: number): Siginfo {
  const b = new Uint8Array(SIGINFO_SIZE);
  const v = view(b);
  v.setInt32(SI_SIGNO, signo, true);
  v.setInt32(SI_CODE, code, true);
  return b;
}

export function setI32(info: Siginfo, off: number, x: number): void {
  view(info).setInt32(off, x | 0, true);
}

export function getI32(info: Siginfo, off: number): number {
  return view(info).getInt32(off, true);
}

/** Store a 64-bit value given as a double (an address, or a signed long). */
export function setU64(info: Siginfo, off: number, x: number): void {
  const v = view(info);
  const hi = Math.floor(x / 0x1_0000_0000);
  v.setUint32(off, (x - hi * 0x1_0000_0000) >>> 0, true);
  v.setInt32(off + 4, hi | 0, true);
}

export function siginfoSigno(info: Siginfo): number {
  return getI32(info, SI_SIGNO);
}

export function siginfoCode(info: Siginfo): number {
  return getI32(info, SI_CODE);
}

/** SI_USER / SI_TKILL info from a sender (prepare_kill_siginfo). */
export function killSiginfo(signo: number, code: number, pid: number, uid: number): Siginfo {
  const i = makeSiginfo(signo, code);
  setI32(i, SI_PID, pid);
  setI32(i, SI_UID, uid);
  return i;
}
