/**
 * Why `Hart.run()` returned. The numbers are the RISC-V `scause` exception codes
 * (privileged spec, table "Supervisor cause register"), so a reader can look them up;
 * BUDGET is ours: the instruction budget ran out (the timer tick).
 *
 * On every trap `hart.pc` is the address of the instruction that trapped (for ECALL too:
 * the kernel advances pc by 4 before returning to user mode, as Linux does in do_trap_ecall_u),
 * and `hart.trapValue` holds `stval`: the faulting virtual address for page/access/misaligned
 * faults, the instruction bits for illegal instructions, 0 otherwise.
 */
export const enum Trap {
  /** The budget given to run() was used up; pc is the next instruction to execute. */
  BUDGET = -1,
  INSN_MISALIGNED = 0,
  INSN_ACCESS = 1,
  ILLEGAL_INSN = 2,
  BREAKPOINT = 3,
  LOAD_MISALIGNED = 4,
  LOAD_ACCESS = 5,
  STORE_MISALIGNED = 6,
  STORE_ACCESS = 7,
  ECALL_U = 8,
  INSN_PAGE_FAULT = 12,
  LOAD_PAGE_FAULT = 13,
  STORE_PAGE_FAULT = 15,
}

/** Sv39 page-table entry bits (privileged spec, "Sv39: Page-Based 39-bit Virtual-Memory System"). */
export const PTE_V = 1 << 0;
export const PTE_R = 1 << 1;
export const PTE_W = 1 << 2;
export const PTE_X = 1 << 3;
export const PTE_U = 1 << 4;
export const PTE_G = 1 << 5;
export const PTE_A = 1 << 6;
export const PTE_D = 1 << 7;
