/**
 * The FPU against QEMU: every line of tests/guest/fp_ops.c's output under qemu-riscv64-static (an instruction,
 * its operands, frm, and the result bits and fflags QEMU produced) replayed through execFp.
 *
 * Regenerate the fixture after changing fp_ops.c:
 *   riscv64-linux-gnu-gcc -static -O2 -o /tmp/fp_ops tests/guest/fp_ops.c
 *   qemu-riscv64-static /tmp/fp_ops | gzip -9n > tests/unit/fpu/fixtures/fp_ops.qemu.txt.gz
 * More random vectors for a local soak run: `qemu-riscv64-static /tmp/fp_ops 30 <hex seed>` (not committed).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { replay } from './replay.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const fixture = join(import.meta.dirname, 'fixtures', 'fp_ops.qemu.txt.gz');

function qemuAvailable(): boolean {
  try {
    execFileSync('qemu-riscv64-static', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('execFp against qemu (fp_ops fixture)', () => {
  const text = gunzipSync(readFileSync(fixture)).toString('latin1');

  it('reproduces every vector bit for bit, flags included', () => {
    const { count, mismatches } = replay(text);
    expect(count).toBeGreaterThan(100_000);
    const shown = mismatches.slice(0, 20).map((m) => `${m.line}  got ${m.got}`);
    expect(shown, `${mismatches.length} of ${count} vectors differ from qemu`).toEqual([]);
  });

  it('covers every F and D instruction and rounding mode', () => {
    const seen = new Set<string>();
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      const insn = parseInt(line.slice(0, 8), 16);
      // opcode, funct7, rs2 field (selects the conversion), rm field
      seen.add(`${insn & 0x7f}/${insn >>> 25}/${(insn >>> 20) & 31}/${(insn >>> 12) & 7}`);
    }
    // 36 instructions with 6 rounding-mode encodings each, plus 22 without a rounding mode.
    expect(seen.size).toBe(36 * 6 + 22);
  });

  const bin = join(root, 'build/guest/bin/fp_ops');
  it.skipIf(!existsSync(bin) || !qemuAvailable())('fixture is what the current fp_ops.c prints under qemu', () => {
    const out = execFileSync('qemu-riscv64-static', [bin], { maxBuffer: 64 << 20 }).toString('latin1');
    expect(out === text, 'fixture is stale: regenerate it (see the comment at the top of this file)').toBe(true);
  });
});
