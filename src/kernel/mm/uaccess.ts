/**
 * Kernel access to user memory (arch/riscv/include/asm/uaccess.h, lib/strncpy_from_user.c).
 *
 * Linux's copy_{from,to}_user run on the CPU with the user's page tables live and fix up faults
 * through the exception table. Our kernel is not on the hart, so these walk the mm's Sv39 tables
 * in software, page by page, and on a missing or insufficient PTE call handle_mm_fault exactly as
 * a hardware fault would (demand paging, stack growth, copy-on-write). A fault that cannot be
 * resolved — no VMA, or the VMA forbids the access (a write into a read-only mapping) — gives
 * -EFAULT. Writes set the PTE's A/D bits as the hardware walker would, and tell the hart through
 * `mem.wrote()` so no stale decoded instruction survives (a kernel write into code pages).
 *
 * Copies move page-sized chunks with `Uint8Array.set`/`subarray`, never byte loops.
 */
import type { MmStruct } from './mm_struct.js';
import { PAGE_SIZE, TASK_SIZE } from './layout.js';
import { PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W } from './pgtable.js';
import { EFAULT, ENAMETOOLONG } from '../errno.js';
import { FAULT_READ, FAULT_WRITE } from './fault.js';

/** access_ok(): the range lies inside the user address space. */
export function accessOk(va: number, len: number): boolean {
  return va >= 0 && len >= 0 && Number.isInteger(va) && Number.isInteger(len) && va + len <= TASK_SIZE;
}

/**
 * The physical address for user va, for reading (write=false) or writing (write=true), faulting
 * the page in when needed; -1 when the access would be -EFAULT.
 */
export function userPhys(mm: MmStruct, va: number, write: boolean): number {
  if (!(va >= 0 && va < TASK_SIZE) || mm.destroyed) return -1;
  const need = write ? PTE_V | PTE_U | PTE_W : PTE_V | PTE_U | PTE_R;
  const pt = mm.pt;
  for (let attempt = 0; attempt < 2; attempt++) {
    const pte = pt.lookupPte(va);
    if (pte >= 0) {
      const lo = pt.readLo(pte);
      if ((lo & need) === need) {
        const ad = write ? PTE_A | PTE_D : PTE_A;
        if ((lo & ad) !== ad) pt.setFlags(pte, lo | ad);
        return pt.pfnAt(pte) * PAGE_SIZE + (va % PAGE_SIZE);
      }
    }
    if (attempt === 0 && mm.handleFault(va, write ? FAULT_WRITE : FAULT_READ) !== 0) return -1;
  }
  return -1;
}

/** copy_from_user into `dst`: 0 or -EFAULT (bytes before the faulting page are copied). */
export function copyFromUserInto(mm: MmStruct, va: number, dst: Uint8Array): number {
  const len = dst.length;
  if (!accessOk(va, len)) return -EFAULT;
  const u8 = mm.mem.u8;
  let done = 0;
  while (done < len) {
    const cur = va + done;
    const pa = userPhys(mm, cur, false);
    if (pa < 0) return -EFAULT;
    const n = Math.min(len - done, PAGE_SIZE - (cur % PAGE_SIZE));
    dst.set(u8.subarray(pa, pa + n), done);
    done += n;
  }
  return 0;
}

/**
 * copy_from_user: a fresh copy of [va, va+len), or -EFAULT. A length beyond guest RAM can never
 * be backed by distinct frames, so it is -EFAULT up front (and never a huge host allocation);
 * callers that want partial results copy in chunks.
 */
export function copyFromUser(mm: MmStruct, va: number, len: number): Uint8Array | number {
  if (!accessOk(va, len) || len > mm.mem.size) return -EFAULT;
  const out = new Uint8Array(len);
  const r = copyFromUserInto(mm, va, out);
  return r < 0 ? r : out;
}

/** copy_to_user: 0 or -EFAULT (bytes before the faulting page are written, as in Linux). */
export function copyToUser(mm: MmStruct, va: number, data: Uint8Array): number {
  const len = data.length;
  if (!accessOk(va, len)) return -EFAULT;
  const mem = mm.mem;
  let done = 0;
  while (done < len) {
    const cur = va + done;
    const pa = userPhys(mm, cur, true);
    if (pa < 0) return -EFAULT;
    const n = Math.min(len - done, PAGE_SIZE - (cur % PAGE_SIZE));
    mem.u8.set(data.subarray(done, done + n), pa);
    mem.wrote(pa, n);
    done += n;
  }
  return 0;
}

/** clear_user: zero [va, va+len); 0 or -EFAULT. */
export function clearUser(mm: MmStruct, va: number, len: number): number {
  if (!accessOk(va, len)) return -EFAULT;
  const mem = mm.mem;
  let done = 0;
  while (done < len) {
    const cur = va + done;
    const pa = userPhys(mm, cur, true);
    if (pa < 0) return -EFAULT;
    const n = Math.min(len - done, PAGE_SIZE - (cur % PAGE_SIZE));
    mem.u8.fill(0, pa, pa + n);
    mem.wrote(pa, n);
    done += n;
  }
  return 0;
}

/**
 * strncpy_from_user + getname's length rule: read a NUL-terminated string of at most `max` bytes
 * INCLUDING the NUL (pass PATH_MAX = 4096 for paths). Returns the bytes before the NUL as a latin1
 * "byte string" (one char per byte, code 0..255); -ENAMETOOLONG when no NUL appears within `max`
 * bytes; -EFAULT when the string runs into unmapped/unreadable memory before its NUL.
 */
export function strncpyFromUser(mm: MmStruct, va: number, max: number): string | number {
  if (!(va >= 0 && va < TASK_SIZE) || !Number.isInteger(va)) return -EFAULT;
  if (!(max > 0)) return -ENAMETOOLONG;
  const u8 = mm.mem.u8;
  let s = '';
  let done = 0;
  while (done < max) {
    const cur = va + done;
    if (cur >= TASK_SIZE) return -EFAULT;
    const pa = userPhys(mm, cur, false);
    if (pa < 0) return -EFAULT;
    const n = Math.min(max - done, PAGE_SIZE - (cur % PAGE_SIZE));
    const chunk = u8.subarray(pa, pa + n);
    const nul = chunk.indexOf(0);
    s += latin1(nul >= 0 ? chunk.subarray(0, nul) : chunk);
    if (nul >= 0) return s;
    done += n;
  }
  return -ENAMETOOLONG;
}

/** Bytes → one char per byte (latin1). TextDecoder('latin1') is windows-1252, so not used. */
function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode.apply(null, b.subarray(i, Math.min(b.length, i + 8192)) as unknown as number[]);
  }
  return s;
}

/** Read 4 bytes little endian; the fast path reads within one page. */
function read32(mm: MmStruct, va: number): number | null {
  if (!accessOk(va, 4)) return null;
  if (va % PAGE_SIZE <= PAGE_SIZE - 4) {
    const pa = userPhys(mm, va, false);
    return pa < 0 ? null : mm.mem.view.getInt32(pa, true);
  }
  const b = copyFromUser(mm, va, 4);
  if (typeof b === 'number') return null;
  return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24);
}

/** get_user of a 32-bit value: the signed int32 (C `int`; use `>>> 0` for unsigned), or null on fault. */
export function getUser32(mm: MmStruct, va: number): number | null {
  return read32(mm, va);
}

/** get_user of a 64-bit value as [lo, hi] int32 halves (exact), or null on fault. */
export function getUser64LoHi(mm: MmStruct, va: number): [number, number] | null {
  if (!accessOk(va, 8)) return null;
  if (va % PAGE_SIZE <= PAGE_SIZE - 8) {
    const pa = userPhys(mm, va, false);
    if (pa < 0) return null;
    return [mm.mem.view.getInt32(pa, true), mm.mem.view.getInt32(pa + 4, true)];
  }
  const lo = read32(mm, va);
  if (lo === null) return null;
  const hi = read32(mm, va + 4);
  if (hi === null) return null;
  return [lo, hi];
}

/**
 * get_user of a 64-bit value as a signed double (exact within ±2^53, like syscall arguments;
 * pointers and sizes are), or null on fault.
 */
export function getUser64(mm: MmStruct, va: number): number | null {
  const v = getUser64LoHi(mm, va);
  if (v === null) return null;
  return v[1] * 4294967296 + (v[0] >>> 0);
}

/** put_user of a 32-bit value (signed or unsigned number; the low 32 bits are stored): 0 or -EFAULT. */
export function putUser32(mm: MmStruct, va: number, v: number): number {
  if (!accessOk(va, 4)) return -EFAULT;
  if (va % PAGE_SIZE <= PAGE_SIZE - 4) {
    const pa = userPhys(mm, va, true);
    if (pa < 0) return -EFAULT;
    mm.mem.view.setInt32(pa, v | 0, true);
    mm.mem.wrote(pa, 4);
    return 0;
  }
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v | 0, true);
  return copyToUser(mm, va, b);
}

/** put_user of a 64-bit value given as lo/hi 32-bit halves: 0 or -EFAULT. */
export function putUser64LoHi(mm: MmStruct, va: number, lo: number, hi: number): number {
  if (!accessOk(va, 8)) return -EFAULT;
  if (va % PAGE_SIZE <= PAGE_SIZE - 8) {
    const pa = userPhys(mm, va, true);
    if (pa < 0) return -EFAULT;
    mm.mem.view.setInt32(pa, lo | 0, true);
    mm.mem.view.setInt32(pa + 4, hi | 0, true);
    mm.mem.wrote(pa, 8);
    return 0;
  }
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, lo | 0, true);
  dv.setInt32(4, hi | 0, true);
  return copyToUser(mm, va, b);
}

/**
 * put_user of a 64-bit value from a double (signed or unsigned integer, exact up to 2^53; -1
 * stores all ones): 0 or -EFAULT.
 */
export function putUser64(mm: MmStruct, va: number, v: number): number {
  const hi = Math.floor(v / 4294967296);
  const lo = v - hi * 4294967296;
  return putUser64LoHi(mm, va, lo >>> 0, hi | 0);
}
