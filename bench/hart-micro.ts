/**
 * Hart micro-benchmark: a compute loop (calls, 64-bit loads/stores, ALU, branches) assembled
 * into guest memory under an Sv39 page table, run by the hart alone (no kernel).
 * Prints MIPS (millions of guest instructions per second).
 *
 *   npx tsx bench/hart-micro.ts [seconds]
 *   HART_MICRO_INSNS=500000000 npx tsx bench/hart-micro.ts   (a fixed amount of work)
 */
import { TestMachine, RXU, RWU } from '../tests/unit/cpu/machine.js';
import * as A from '../tests/unit/cpu/asm.js';

type Item = number | ((pc: number, labels: Map<string, number>) => number) | string;

/** Two-pass assembly: strings are labels, functions get (their pc, label addresses). */
function assemble(base: number, items: Item[]): number[] {
  const labels = new Map<string, number>();
  let pc = base;
  for (const it of items) {
    if (typeof it === 'string') labels.set(it, pc);
    else pc += 4;
  }
  const out: number[] = [];
  pc = base;
  for (const it of items) {
    if (typeof it === 'string') continue;
    out.push(typeof it === 'number' ? it : it(pc, labels));
    pc += 4;
  }
  return out;
}

const to = (l: string) => (pc: number, labels: Map<string, number>) => labels.get(l)! - pc;
// register numbers
const ra = 1,
  sp = 2,
  t0 = 5,
  t1 = 6,
  s0 = 8,
  s1 = 9,
  a0 = 10,
  a1 = 11,
  a2 = 12,
  a3 = 13,
  a4 = 14;
const s2 = 18,
  s3 = 19;

const CODE = 0x10000,
  DATA = 0x20000,
  STACK_TOP = 0x30000;
const N = 512; // 64-bit elements: one page

const program = assemble(CODE, [
  A.lui(s0, DATA >> 12),
  A.addi(s1, 0, N),
  ...A.li32(s2, 0x7fffffff),
  A.addi(s3, 0, 0),
  A.lui(sp, STACK_TOP >> 12),
  'outer',
  A.addi(a0, s0, 0),
  A.addi(a1, s1, 0),
  (pc, l) => A.jal(ra, to('sumxor')(pc, l)),
  A.add(s3, s3, a0),
  A.addi(s2, s2, -1),
  (pc, l) => A.bne(s2, 0, to('outer')(pc, l)),
  A.ecall(),
  'sumxor',
  A.addi(sp, sp, -16),
  A.sd(ra, sp, 8),
  A.addi(t0, 0, 0),
  A.addi(t1, 0, 0),
  'loop',
  A.ld(a2, a0, 0),
  (pc, l) => A.jal(ra, to('mix')(pc, l)),
  A.add(t0, t0, a3),
  A.xor(t1, t1, a2),
  A.sd(t1, a0, 0),
  A.addi(a0, a0, 8),
  A.addi(a1, a1, -1),
  (pc, l) => A.bne(a1, 0, to('loop')(pc, l)),
  A.xor(a0, t0, t1),
  A.ld(ra, sp, 8),
  A.addi(sp, sp, 16),
  A.jalr(0, ra, 0),
  'mix',
  A.slli(a3, a2, 3),
  A.add(a3, a3, a2),
  A.srli(a4, a3, 7),
  A.xor(a3, a3, a4),
  A.jalr(0, ra, 0),
]);

const seconds = Number(process.argv[2] ?? 3);
const fixedInsns = Number(process.env.HART_MICRO_INSNS ?? 0); // for perf stat: run exactly this many
const m = new TestMachine(16 << 20);
m.mapNew(CODE, 1, RXU);
m.mapNew(DATA, 1, RWU);
m.mapNew(STACK_TOP - 4096, 1, RWU);
for (let i = 0; i < N; i++) m.write64(DATA + 8 * i, BigInt(i * 2654435761));
m.write32(CODE, program);
const hart = m.hart;
hart.pc = CODE;

const SLICE = 1_000_000; // a scheduler tick's worth
let total = 0;
const cpu0 = process.cpuUsage();
const t0ms = performance.now();
let lastReport = t0ms;
let windowInsns = 0;
let best = 0;
while (fixedInsns > 0 ? total < fixedInsns : performance.now() - t0ms < seconds * 1000) {
  const before = hart.instret;
  const trap = hart.run(SLICE);
  if (trap !== -1) throw new Error(`unexpected trap ${trap} at pc ${hart.pc.toString(16)}`);
  const done = hart.instret - before;
  total += done;
  windowInsns += done;
  const now = performance.now();
  if (now - lastReport >= 500) {
    best = Math.max(best, windowInsns / ((now - lastReport) * 1000));
    windowInsns = 0;
    lastReport = now;
  }
}
const elapsed = (performance.now() - t0ms) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
// On a shared machine wall time includes waiting for a core; the CPU-time figure does not.
console.log(
  `hart-micro: ${(total / 1e6).toFixed(1)} M instructions in ${elapsed.toFixed(2)} s wall / ` +
    `${cpuSeconds.toFixed(2)} s CPU = ${(total / elapsed / 1e6).toFixed(1)} MIPS wall, ` +
    `${(total / cpuSeconds / 1e6).toFixed(1)} MIPS per CPU-second, ${best.toFixed(1)} MIPS best 0.5 s window`,
);
