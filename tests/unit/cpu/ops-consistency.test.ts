/**
 * hart.ts switches on literal op numbers (V8 builds a jump table only for literal labels);
 * every `case N: // OP_NAME` there must match ops.ts, and every op must be handled.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as ops from '../../../src/machine/cpu/ops.js';

describe('op numbers', () => {
  it('hart.ts case labels agree with ops.ts', () => {
    const src = readFileSync(fileURLToPath(new URL('../../../src/machine/cpu/hart.ts', import.meta.url)), 'utf8');
    const table = ops as unknown as Record<string, number>;
    const seen = new Set<string>();
    for (const m of src.matchAll(/case (\d+):(?: \{)? \/\/ (OP_\w+)/g)) {
      expect(table[m[2]!], m[0]).toBe(Number(m[1]));
      seen.add(m[2]!);
    }
    expect(src).toMatch(/default: \/\/ OP_ILLEGAL/);
    seen.add('OP_ILLEGAL');
    seen.add('OP_UNDECODED');
    const all = Object.keys(table).filter((k) => k.startsWith('OP_') && k !== 'OP_NAMES');
    expect(all.filter((k) => !seen.has(k))).toEqual([]);
    expect(ops.OP_NAMES.length).toBe(ops.OP_ILLEGAL + 1);
    for (const k of all) expect(ops.OP_NAMES[table[k]!]).toBe(k.slice(3));
  });
});
