/**
 * The signal return trampoline. On riscv64 Linux there is no SA_RESTORER: setup_rt_frame() sets
 * ra to the vDSO's __vdso_rt_sigreturn (`li a7, 139; ecall`). We have no vDSO image, so every
 * process gets one read-only, executable "[vdso]" page holding that code (mapped at exec by
 * installSigreturnTrampoline, or lazily at the first signal delivery).
 *
 * The page is a private mapping of VDSO_FILE, a constant "file" whose contents are the code, so
 * fork's dup_mmap copies it like any mapping and the VMA identifies itself (vma.file === VDSO_FILE).
 *
 * Layout:
 *   +0  li a7, 139 ; ecall        __vdso_rt_sigreturn
 *   +8  ebreak                     the "resume trap" (see signal.ts: a task woken from a sleep by a
 *                                  signal resumes here so the kernel runs do_signal before any user
 *                                  instruction; the kernel recognises the address and never shows
 *                                  the guest a SIGTRAP for it)
 */
import type { MmStruct } from '../mm/mm_struct.js';
import type { MappedFile } from '../mm/vma.js';
import { MAP_PRIVATE, PROT_EXEC, PROT_READ } from '../mm/mman.js';

export const VDSO_SIGRETURN_OFFSET = 0;
export const VDSO_RESUME_TRAP_OFFSET = 8;
const PAGE_SIZE = 4096;

const CODE = new Uint32Array([
  0x08b00893, // addi a7, zero, 139   (__NR_rt_sigreturn)
  0x00000073, // ecall
  0x00100073, // ebreak
]);

/** The "[vdso]" page's backing: the trampoline code, zeros after it. */
export const VDSO_FILE: MappedFile & { readonly name: string } = {
  name: '[vdso]',
  readable: true,
  writable: false,
  pread(buf: Uint8Array, pos: number): number {
    if (pos >= PAGE_SIZE) return 0;
    const n = Math.min(buf.length, PAGE_SIZE - pos);
    const code = new Uint8Array(CODE.buffer);
    for (let i = 0; i < n; i++) buf[i] = pos + i < code.length ? code[pos + i]! : 0;
    return n;
  },
};

/** The base of the [vdso] page of `mm`, or -1 when it has none. */
export function findVdso(mm: MmStruct): number {
  for (const vma of mm.vmas) if (vma.file === VDSO_FILE) return vma.start;
  return -1;
}

/**
 * Map the [vdso] page into `mm` (if not there yet) and return the address of the rt_sigreturn
 * trampoline, or -errno if the mapping failed. For exec (arch_setup_additional_pages).
 */
export function installSigreturnTrampoline(mm: MmStruct): number {
  const have = findVdso(mm);
  if (have >= 0) return have + VDSO_SIGRETURN_OFFSET;
  const addr = mm.mmapRegion(0, PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_PRIVATE, VDSO_FILE, 0);
  if (addr < 0) return addr;
  return addr + VDSO_SIGRETURN_OFFSET;
}
