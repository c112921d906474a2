/**
 * The formats agree: the CPU owner's Hart runs user code through page tables built by kernel/mm,
 * with the kernel resolving its page faults (demand paging of a file-backed text page, demand-zero
 * data, stack growth) and protection faults reported as SEGV_ACCERR.
 */
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../../src/machine/memory.js';
import { Clock } from '../../../src/machine/dev/clock.js';
import { Hart } from '../../../src/machine/cpu/hart.js';
import { Trap } from '../../../src/machine/cpu/trap.js';
import { BuddyAllocator } from '../../../src/kernel/mm/page_alloc.js';
import { MmStruct } from '../../../src/kernel/mm/mm_struct.js';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from '../../../src/kernel/mm/mman.js';
import { STACK_TOP } from '../../../src/kernel/mm/layout.js';
import { copyFromUser } from '../../../src/kernel/mm/uaccess.js';
import { PTE_A, PTE_D } from '../../../src/kernel/mm/pgtable.js';
import { MemFile } from './helpers.js';

const CODE = 0x10000;
const DATA = 0x4000_0000;

function program(): Uint8Array {
  const words = [
    0x40000537, // lui  a0, 0x40000        a0 = 0x4000_0000
    0x02a00593, // addi a1, zero, 42
    0x00b52023, // sw   a1, 0(a0)          → store page fault: demand-zero page
    0x00052603, // lw   a2, 0(a0)
    0x00b53423, // sd   a1, 8(a0)
    0xfeb13c23, // sd   a1, -8(sp)         → below the stack VMA: expand_stack
    0x00000073, // ecall
  ];
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w, true));
  return b;
}

function accessOf(trap: number): 0 | 1 | 2 {
  return trap === Trap.STORE_PAGE_FAULT ? 1 : trap === Trap.INSN_PAGE_FAULT ? 2 : 0;
}

describe('mm page tables on the hart', () => {
  it('runs user code with demand paging, stack growth and protection faults', () => {
    const mem = new PhysicalMemory(8 * 1024 * 1024);
    const hart = new Hart(mem, new Clock());
    const alloc = new BuddyAllocator(mem, 1);
    const mm = new MmStruct({
      mem,
      pageAlloc: alloc,
      flushTlb: (va?: number) => (va === undefined ? hart.flushTlb() : hart.flushTlbPage(va)),
    });
    expect(mm.mmapRegion(CODE, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, new MemFile(program()), 0)).toBe(
      CODE,
    );
    expect(mm.mmapRegion(DATA, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, null, 0)).toBe(
      DATA,
    );
    expect(mm.setupStack(STACK_TOP, 4096)).toBe(0);
    hart.setRoot(mm.pgdPfn);
    hart.pc = CODE;
    hart.setReg(2, STACK_TOP - 4096); // sp at the bottom of the stack VMA

    const faults: number[] = [];
    let trap: number;
    for (let guard = 0; ; guard++) {
      expect(guard).toBeLessThan(20);
      trap = hart.run(1000);
      if (trap === Trap.INSN_PAGE_FAULT || trap === Trap.LOAD_PAGE_FAULT || trap === Trap.STORE_PAGE_FAULT) {
        faults.push(trap);
        expect(mm.handleFault(hart.trapValue, accessOf(trap))).toBe(0);
        continue;
      }
      break;
    }
    expect(trap).toBe(Trap.ECALL_U);
    expect(hart.pc).toBe(CODE + 24);
    expect(faults).toEqual([Trap.INSN_PAGE_FAULT, Trap.STORE_PAGE_FAULT, Trap.STORE_PAGE_FAULT]);
    expect(hart.getReg(12)).toBe(42);
    const d = copyFromUser(mm, DATA, 16) as Uint8Array;
    expect(Array.from(d)).toEqual([42, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0]);
    expect(mm.vmas.find((v) => v.end === STACK_TOP)!.start).toBe(STACK_TOP - 8192);
    expect((copyFromUser(mm, STACK_TOP - 4096 - 8, 1) as Uint8Array)[0]).toBe(42);
    expect(mm.pt.lookupFlags(DATA) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);

    // mprotect the data read-only: the hart's cached write translation is flushed, the store faults,
    // and the kernel classifies it as SEGV_ACCERR.
    expect(mm.mprotect(DATA, 4096, PROT_READ)).toBe(0);
    hart.pc = CODE + 8; // sw a1, 0(a0)
    trap = hart.run(1000);
    expect(trap).toBe(Trap.STORE_PAGE_FAULT);
    expect(hart.trapValue).toBe(DATA);
    expect(mm.handleFault(hart.trapValue, 1)).toBe(2);
    // loads still work (and the next store, sd a1, 8(a0), faults again)
    hart.pc = CODE + 12; // lw a2, 0(a0)
    hart.setReg(12, 0);
    trap = hart.run(1000);
    expect(trap).toBe(Trap.STORE_PAGE_FAULT);
    expect(hart.trapValue).toBe(DATA + 8);
    expect(hart.getReg(12)).toBe(42);

    // munmap the data: the next access is SEGV_MAPERR.
    expect(mm.unmapRegion(DATA, 8192)).toBe(0);
    hart.pc = CODE + 12;
    trap = hart.run(1000);
    expect(trap).toBe(Trap.LOAD_PAGE_FAULT);
    expect(mm.handleFault(hart.trapValue, 0)).toBe(1);
    mm.destroy();
    expect(alloc.nrFree()).toBe(alloc.managedPages);
  });
});
