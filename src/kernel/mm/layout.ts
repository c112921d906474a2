/**
 * The user address-space layout of riscv64 with Sv39 paging (arch/riscv/include/asm/pgtable.h,
 * processor.h, elf.h; mm/util.c mmap_base()).
 *
 * Sv39 gives 39-bit virtual addresses; user space is the lower half, so TASK_SIZE = 2^38
 * (256 GiB). Every user address therefore fits a double exactly and fits the page-table walk
 * without BigInt.
 *
 *   0x40_0000_0000  TASK_SIZE = STACK_TOP      (no stack randomization: ASLR is not modelled yet)
 *                   [stack]  grows down, up to RLIMIT_STACK (8 MiB)
 *                   stack gap (MIN_GAP = 128 MiB, as mmap_base() clamps an 8 MiB rlimit + guard gap)
 *   0x3F_F800_0000  mmap_base: get_unmapped_area() searches top-down from here
 *                   …shared libraries, anonymous mmaps…
 *   0x2A_AAAA_A000  ELF_ET_DYN_BASE: where exec loads a static-PIE binary or the ELF interpreter
 *                   …heap (brk) follows the executable's bss…
 *   0x0001_0000     where non-PIE riscv64 executables are linked (and MMAP_MIN_ADDR)
 */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

/** User address-space size: 2^38 (riscv64 Sv39: TASK_SIZE_64 = PGDIR_SIZE * PTRS_PER_PGD / 2). */
export const TASK_SIZE = 0x40_0000_0000;
/** The initial stack's top (STACK_TOP = TASK_SIZE on riscv; no randomization). */
export const STACK_TOP = TASK_SIZE;
/** Default RLIMIT_STACK (_STK_LIM, 8 MiB): how far the stack VMA may grow (expand_stack). */
export const STACK_RLIMIT_DEFAULT = 8 * 1024 * 1024;
/** stack_guard_gap: 256 pages kept free below a grows-down VMA (mm/mmap.c). */
export const STACK_GUARD_GAP = 256 * PAGE_SIZE;
/** setup_arg_pages() grows the fresh stack VMA by this much below the arguments (stack_expand). */
export const STACK_EXPAND = 128 * 1024;
/** mmap_base() clamps the stack gap to at least 128 MiB (MIN_GAP, without randomization). */
export const MIN_GAP = 128 * 1024 * 1024;
/** mmap_base() clamps the stack gap to at most 5/6 of TASK_SIZE (MAX_GAP). */
export const MAX_GAP = (TASK_SIZE / 6) * 5;

/**
 * mmap_base(): TASK_SIZE minus the stack gap (rlimit + guard gap, clamped to [MIN_GAP, MAX_GAP]),
 * page aligned. With the default 8 MiB rlimit this is TASK_SIZE - 128 MiB = 0x3F_F800_0000.
 */
export function mmapBase(stackRlimit: number = STACK_RLIMIT_DEFAULT): number {
  let gap = stackRlimit + STACK_GUARD_GAP;
  if (gap < MIN_GAP) gap = MIN_GAP;
  if (gap > MAX_GAP) gap = MAX_GAP;
  return Math.floor((TASK_SIZE - gap) / PAGE_SIZE) * PAGE_SIZE;
}

/** The default mmap_base (8 MiB stack rlimit): 0x3F_F800_0000. */
export const MMAP_BASE = mmapBase();

/**
 * ELF_ET_DYN_BASE = (DEFAULT_MAP_WINDOW / 3) * 2 (arch/riscv/include/asm/elf.h), rounded down to a
 * page as load_elf_binary() does (ELF_PAGESTART): 0x2A_AAAA_A000. An ET_DYN executable (static PIE)
 * or the ELF interpreter is loaded here.
 */
export const ELF_ET_DYN_BASE = Math.floor((Math.floor(TASK_SIZE / 3) * 2) / PAGE_SIZE) * PAGE_SIZE;

/**
 * vm.mmap_min_addr: the lowest address mmap hands out or accepts with MAP_FIXED (-EPERM below it).
 * 65536 is what distribution kernels (Debian) configure; it keeps page 0 (NULL) unmappable.
 */
export const MMAP_MIN_ADDR = 0x10000;

/** sysctl vm.max_map_count (DEFAULT_MAX_MAP_COUNT): more VMAs than this → -ENOMEM. */
export const MAX_MAP_COUNT = 65530;

export function pageAlignUp(v: number): number {
  return Math.ceil(v / PAGE_SIZE) * PAGE_SIZE;
}
export function pageAlignDown(v: number): number {
  return Math.floor(v / PAGE_SIZE) * PAGE_SIZE;
}
/** offset_in_page() for a non-negative integer double (exact below 2^53). */
export function offsetInPage(v: number): number {
  return v % PAGE_SIZE;
}
