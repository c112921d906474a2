/**
 * The ELF binary format (fs/binfmt_elf.c): load_elf_binary, load_elf_interp, elf_load and
 * create_elf_tables. Everything that can fail because of the file is checked before the
 * point of no return (the new address space is built aside and only then installed, see
 * exec.ts), so a malformed ELF returns -ENOEXEC to execve and the caller keeps running.
 */
import { EINVAL, ELIBBAD, ENOEXEC, ENOMEM, EIO, EFAULT } from '../errno.js';
import type { MmStruct } from '../mm/mm_struct.js';
import { clearUser, copyToUser } from '../mm/uaccess.js';
import { ELF_ET_DYN_BASE, PAGE_SIZE, TASK_SIZE, MMAP_MIN_ADDR, pageAlignDown, pageAlignUp } from '../mm/layout.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE } from '../mm/mman.js';
import {
  EHDR_SIZE,
  ET_DYN,
  PF_R,
  PF_W,
  PF_X,
  PHDR_SIZE,
  PT_GNU_STACK,
  PT_INTERP,
  PT_LOAD,
  PT_TLS,
  hasElfMagic,
  parseElfHeader,
  readPhdrs,
  type ElfHeader,
  type ElfPhdr,
  type ElfSource,
} from './elf.js';

/** PATH_MAX: the longest PT_INTERP string accepted. */
const PATH_MAX = 4096;

/** An ELF image that passed every check and may be mapped. */
export interface ElfImage {
  file: ElfSource;
  header: ElfHeader;
  phdrs: ElfPhdr[];
  /** PT_LOAD headers with p_memsz > 0, in file order. */
  loads: ElfPhdr[];
  /** Lowest page-aligned p_vaddr and highest p_vaddr + p_memsz over the loads. */
  minVaddr: number;
  maxVaddr: number;
}

/** What load_elf_binary found in the program headers before mapping. */
export interface ElfExecInfo {
  image: ElfImage;
  /** PT_INTERP path (without its NUL), or null for a static executable. */
  interpPath: string | null;
  /** PT_GNU_STACK with PF_X (or no PT_GNU_STACK: riscv's default is a non-executable stack). */
  executableStack: boolean;
  /** PT_TLS present: glibc sets up TLS itself; recorded for /proc and debugging only. */
  hasTls: boolean;
}

/**
 * Read and check an ELF image's headers. `forInterp` selects load_elf_interp's rule that the
 * interpreter's failures read as -ELIBBAD (it is a bad library, not a bad program).
 */
export function checkElfImage(file: ElfSource, buf: Uint8Array | null, forInterp = false): ElfImage | number {
  let head = buf;
  if (!head || head.length < EHDR_SIZE) {
    head = new Uint8Array(EHDR_SIZE);
    const n = file.pread(head, 0);
    if (n < 0) return n;
    head = head.subarray(0, n);
  }
  const bad = forInterp ? -ELIBBAD : -ENOEXEC;
  if (!hasElfMagic(head)) return bad;
  const header = parseElfHeader(head);
  if (typeof header === 'number') return bad;
  const phdrs = readPhdrs(file, header);
  if (typeof phdrs === 'number') return phdrs;
  const loads: ElfPhdr[] = [];
  let minVaddr = Infinity;
  let maxVaddr = 0;
  for (const p of phdrs) {
    if (p.type !== PT_LOAD || p.memsz === 0) continue;
    // elf_map/vm_mmap would refuse these later; refuse them now, before the point of no return.
    if (p.filesz > p.memsz) return -EINVAL;
    if (p.vaddr % PAGE_SIZE !== p.offset % PAGE_SIZE) return -EINVAL;
    if (p.vaddr >= TASK_SIZE || p.memsz >= TASK_SIZE || p.vaddr + p.memsz > TASK_SIZE) return -EINVAL;
    if (p.offset >= Number.MAX_SAFE_INTEGER || p.filesz >= TASK_SIZE) return -EINVAL;
    loads.push(p);
    minVaddr = Math.min(minVaddr, pageAlignDown(p.vaddr));
    maxVaddr = Math.max(maxVaddr, p.vaddr + p.memsz);
  }
  if (loads.length === 0) return bad;
  return { file, header, phdrs, loads, minVaddr, maxVaddr };
}

/** The program-header scan at the top of load_elf_binary (PT_INTERP, PT_GNU_STACK). */
export function scanProgram(image: ElfImage): ElfExecInfo | number {
  let interpPath: string | null = null;
  let executableStack = false;
  let hasTls = false;
  for (const p of image.phdrs) {
    if (p.type === PT_INTERP) {
      if (interpPath !== null) continue; // Linux uses the first PT_INTERP
      if (p.filesz > PATH_MAX || p.filesz < 2) return -ENOEXEC;
      const b = new Uint8Array(p.filesz);
      const n = image.file.pread(b, p.offset);
      if (n < 0) return n;
      if (n !== p.filesz) return -EIO;
      if (b[p.filesz - 1] !== 0) return -ENOEXEC; // must be NUL terminated
      let s = '';
      for (let i = 0; i < p.filesz - 1; i++) s += String.fromCharCode(b[i]!);
      interpPath = s;
    } else if (p.type === PT_GNU_STACK) {
      executableStack = (p.flags & PF_X) !== 0;
    } else if (p.type === PT_TLS) {
      hasTls = true;
    }
  }
  return { image, interpPath, executableStack, hasTls };
}

/** make_prot(): p_flags → PROT_*. */
export function makeProt(pFlags: number): number {
  let prot = 0;
  if (pFlags & PF_R) prot |= PROT_READ;
  if (pFlags & PF_W) prot |= PROT_WRITE;
  if (pFlags & PF_X) prot |= PROT_EXEC;
  return prot;
}

/** Result of mapping an image: where it went and the numbers mm and the aux vector need. */
export interface MappedImage {
  loadBias: number;
  entry: number;
  /** AT_PHDR: the address of the program headers in memory (0 when no PT_LOAD covers them). */
  phdrAddr: number;
  startCode: number;
  endCode: number;
  startData: number;
  endData: number;
  /** The end of the highest segment (elf_brk), already biased. */
  elfBrk: number;
}

/**
 * elf_load(): map one PT_LOAD segment at bias + p_vaddr. The file part is a private file
 * mapping; the rest of the last file page past p_filesz is zeroed (padzero), and whole pages
 * of bss beyond it are an anonymous mapping (vm_brk_flags).
 */
function elfLoad(mm: MmStruct, file: ElfSource, p: ElfPhdr, bias: number): number {
  const prot = makeProt(p.flags);
  const start = bias + p.vaddr;
  const pageStart = pageAlignDown(start);
  const pageOff = start - pageStart;
  if (p.filesz > 0) {
    const len = pageAlignUp(pageOff + p.filesz);
    const r = mm.mmapRegion(pageStart, len, prot, MAP_PRIVATE | MAP_FIXED, file, p.offset - pageOff);
    if (r < 0) return r;
  }
  if (p.memsz > p.filesz) {
    const zeroStart = start + p.filesz;
    const zeroEnd = start + p.memsz;
    if (p.filesz > 0) {
      // padzero(): clear to the END OF THE PAGE the file data ends in, not just to p_memsz:
      // ld.so's early malloc hands out the rest of that page after _end and relies on it
      // being zero. A read-only segment cannot be written; Linux ignores that failure too.
      const pageEnd = pageAlignUp(zeroStart);
      if (pageEnd > zeroStart) {
        const r = clearUser(mm, zeroStart, pageEnd - zeroStart);
        if (r !== 0 && prot & PROT_WRITE) return -EFAULT;
      }
    }
    const anonStart = p.filesz > 0 ? pageAlignUp(zeroStart) : pageStart;
    const anonEnd = pageAlignUp(zeroEnd);
    if (anonEnd > anonStart) {
      const r = mm.mmapRegion(anonStart, anonEnd - anonStart, prot, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, null, 0);
      if (r < 0) return r;
    }
  }
  return 0;
}

/**
 * Map every PT_LOAD of an image. `bias` is the load bias (0 for ET_EXEC), or null to let
 * mmap choose where (load_elf_interp: the interpreter goes wherever get_unmapped_area puts
 * a mapping of its total size).
 */
export function mapImage(mm: MmStruct, image: ElfImage, bias: number | null): MappedImage | number {
  const total = pageAlignUp(image.maxVaddr) - image.minVaddr;
  if (bias === null) {
    // total_mapping_size(): reserve the whole span so the segments keep their relative layout,
    // then release it and map the segments over the same range.
    const addr = mm.mmapRegion(0, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, null, 0);
    if (addr < 0) return addr;
    mm.unmapRegion(addr, total);
    bias = addr - image.minVaddr;
  }
  if (bias + image.minVaddr < MMAP_MIN_ADDR || bias + image.minVaddr + total > TASK_SIZE) return -ENOMEM;
  const h = image.header;
  let startCode = Infinity;
  let endCode = 0;
  let startData = 0;
  let endData = 0;
  let elfBrk = 0;
  let phdrAddr = 0;
  for (const p of image.loads) {
    const r = elfLoad(mm, image.file, p, bias);
    if (r < 0) return r;
    if (phdrAddr === 0 && p.offset <= h.phoff && h.phoff < p.offset + p.filesz) {
      phdrAddr = h.phoff - p.offset + p.vaddr + bias;
    }
    const k = p.vaddr + bias;
    if (p.flags & PF_X && k < startCode) startCode = k;
    if (startData < k) startData = k;
    const fileEnd = k + p.filesz;
    if (p.flags & PF_X && endCode < fileEnd) endCode = fileEnd;
    if (endData < fileEnd) endData = fileEnd;
    if (k + p.memsz > elfBrk) elfBrk = k + p.memsz;
  }
  if (startCode === Infinity) startCode = 0;
  return { loadBias: bias, entry: bias + h.entry, phdrAddr, startCode, endCode, startData, endData, elfBrk };
}

/** Where load_elf_binary puts the program: 0 for ET_EXEC, ELF_ET_DYN_BASE for ET_DYN. */
export function programBias(image: ElfImage): number {
  if (image.header.type !== ET_DYN) return 0;
  // No randomization: ELF_ET_DYN_BASE, moved down so the first segment lands page-aligned on it.
  return ELF_ET_DYN_BASE - image.minVaddr;
}

export const PHENT_SIZE = PHDR_SIZE;

/* Aux vector keys (include/uapi/linux/auxvec.h). */
export const AT_NULL = 0;
export const AT_PHDR = 3;
export const AT_PHENT = 4;
export const AT_PHNUM = 5;
export const AT_PAGESZ = 6;
export const AT_BASE = 7;
export const AT_FLAGS = 8;
export const AT_ENTRY = 9;
export const AT_UID = 11;
export const AT_EUID = 12;
export const AT_GID = 13;
export const AT_EGID = 14;
export const AT_PLATFORM = 15;
export const AT_HWCAP = 16;
export const AT_CLKTCK = 17;
export const AT_SECURE = 23;
export const AT_RANDOM = 25;
export const AT_EXECFN = 31;
export const AT_MINSIGSTKSZ = 51;

/** ELF_HWCAP for RV64IMAFDC: one bit per single-letter extension, 1 << (letter - 'A') (asm/hwcap.h). */
export const ELF_HWCAP = [...'IMAFDC'].reduce((m, c) => m | (1 << (c.charCodeAt(0) - 65)), 0);
/** USER_HZ: the unit of times() and /proc tick counts. */
export const USER_HZ = 100;

/** Everything create_elf_tables writes into the new stack. */
export interface ElfTables {
  argv: Uint8Array[];
  envp: Uint8Array[];
  /** AT_EXECFN: the file name as execve was given it. */
  execfn: Uint8Array;
  auxv: Array<[number, number]>;
  random: Uint8Array;
}

/** The addresses create_elf_tables leaves behind, for mm_struct (arg_start … env_end) and the registers. */
export interface StackLayout {
  sp: number;
  argStart: number;
  argEnd: number;
  envStart: number;
  envEnd: number;
  /** The lowest address written (everything above is part of the initial stack). */
  bottom: number;
}

function writeU64(v: DataView, off: number, x: number): void {
  v.setUint32(off, x % 0x1_0000_0000, true);
  v.setUint32(off + 4, Math.floor(x / 0x1_0000_0000), true);
}

/**
 * copy_strings() + create_elf_tables(): lay out, from `top` down, a NULL word, the exec file
 * name, the environment strings, the argument strings (argv[0] lowest), 16 random bytes
 * (AT_RANDOM), then, 16-byte aligned, argc, argv[], NULL, envp[], NULL and the aux vector.
 * AT_EXECFN and AT_RANDOM are filled in here since only now their addresses are known.
 * Returns the image of the stack as bytes to copy at `layout.bottom`.
 */
export function buildInitialStack(top: number, t: ElfTables): { bytes: Uint8Array; layout: StackLayout } {
  let p = top - 8;
  const execfnAddr = (p -= t.execfn.length + 1);
  const envAddrs: number[] = new Array(t.envp.length);
  for (let i = t.envp.length - 1; i >= 0; i--) envAddrs[i] = p -= t.envp[i]!.length + 1;
  const argAddrs: number[] = new Array(t.argv.length);
  for (let i = t.argv.length - 1; i >= 0; i--) argAddrs[i] = p -= t.argv[i]!.length + 1;
  const argStart = p;
  const envStart = t.envp.length > 0 ? envAddrs[0]! : execfnAddr;
  p = Math.floor(p / 16) * 16; // arch_align_stack (no randomization)
  const randomAddr = (p -= 16);
  const auxv = t.auxv.map(([k, v]): [number, number] =>
    k === AT_EXECFN ? [k, execfnAddr] : k === AT_RANDOM ? [k, randomAddr] : [k, v],
  );
  const items = 1 + (t.argv.length + 1) + (t.envp.length + 1) + (auxv.length + 1) * 2;
  const sp = Math.floor((p - items * 8) / 16) * 16; // STACK_ROUND
  const bytes = new Uint8Array(top - sp);
  const v = new DataView(bytes.buffer);
  const at = (addr: number): number => addr - sp;
  bytes.set(t.execfn, at(execfnAddr));
  for (let i = 0; i < t.envp.length; i++) bytes.set(t.envp[i]!, at(envAddrs[i]!));
  for (let i = 0; i < t.argv.length; i++) bytes.set(t.argv[i]!, at(argAddrs[i]!));
  bytes.set(t.random.subarray(0, 16), at(randomAddr));
  let o = 0;
  writeU64(v, o, t.argv.length);
  o += 8;
  for (const a of argAddrs) {
    writeU64(v, o, a);
    o += 8;
  }
  o += 8; // NULL
  for (const a of envAddrs) {
    writeU64(v, o, a);
    o += 8;
  }
  o += 8; // NULL
  for (const [k, val] of auxv) {
    writeU64(v, o, k);
    writeU64(v, o + 8, val);
    o += 16;
  }
  // AT_NULL pair is already zero.
  return {
    bytes,
    layout: { sp, argStart, argEnd: envStart, envStart, envEnd: execfnAddr, bottom: sp },
  };
}

/** Copy the prepared stack image into the new address space. */
export function installStack(mm: MmStruct, bytes: Uint8Array, sp: number): number {
  return copyToUser(mm, sp, bytes) < 0 ? -EFAULT : 0;
}
