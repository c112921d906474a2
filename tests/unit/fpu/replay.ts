/**
 * Replays fp_ops output lines (`insn rs1 rs2 rs3 frm result fflags`, see tests/guest/fp_ops.c) through execFp on
 * a minimal hart (only the fields the FPU touches) and reports every line whose result or flags differ.
 */
import { execFp, type FpuHart } from '../../../src/machine/cpu/fpu.js';

export interface Mismatch {
  line: string;
  got: string;
}

function makeHart(): FpuHart {
  const buf = new ArrayBuffer(32 * 8);
  return { x: new Int32Array(66), f: new Float64Array(buf), fRaw: new Int32Array(buf), fflags: 0, frm: 0 };
}

/** Does the instruction write an integer register (FCVT.int.fp, FMV.X, FCLASS, compares)? */
export function writesX(insn: number): boolean {
  if ((insn & 0x7f) !== 0x53) return false;
  const f5 = insn >>> 27;
  return f5 === 0x14 || f5 === 0x18 || f5 === 0x1c;
}

const hex = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');

export function replay(text: string): { count: number; mismatches: Mismatch[] } {
  const h = makeHart();
  const mismatches: Mismatch[] = [];
  let count = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const p = line.split(' ');
    if (p.length !== 7) throw new Error(`bad fixture line: ${line}`);
    const insn = parseInt(p[0]!, 16) | 0;
    const hw = (s: string, i: number): number => parseInt(s.slice(i, i + 8), 16) | 0;
    const ops = [p[1]!, p[2]!, p[3]!];
    h.x.fill(0);
    h.f.fill(0);
    for (let k = 0; k < 3; k++) {
      h.fRaw[2 * (11 + k)] = hw(ops[k]!, 8);
      h.fRaw[2 * (11 + k) + 1] = hw(ops[k]!, 0);
    }
    h.x[22] = hw(ops[0]!, 8);
    h.x[23] = hw(ops[0]!, 0);
    h.frm = Number(p[4]);
    h.fflags = 0;
    // Sentinels: the register that is not the destination must stay untouched.
    h.fRaw[20] = 0x5a5a5a5a;
    h.fRaw[21] = 0x5a5a5a5a;
    h.x[20] = 0x5a5a5a5a;
    h.x[21] = 0x5a5a5a5a;
    let ok: boolean;
    try {
      ok = execFp(h, insn);
    } catch (e) {
      mismatches.push({ line, got: `threw ${String(e)}` });
      count++;
      continue;
    }
    const isX = writesX(insn);
    const lo = isX ? h.x[20]! : h.fRaw[20]!;
    const hi = isX ? h.x[21]! : h.fRaw[21]!;
    const other = isX ? h.fRaw : h.x;
    const got = `${hex(hi)}${hex(lo)} ${(h.fflags >>> 0).toString(16).padStart(2, '0')}`;
    const want = `${p[5]} ${p[6]}`;
    if (!ok || got !== want || other[20] !== 0x5a5a5a5a || other[21] !== 0x5a5a5a5a) {
      mismatches.push({ line, got: ok ? got : 'illegal' });
    }
    count++;
  }
  return { count, mismatches };
}
