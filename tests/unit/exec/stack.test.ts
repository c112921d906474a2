// The initial stack as create_elf_tables lays it out (binfmt_elf.ts buildInitialStack).
import { describe, expect, it } from 'vitest';
import { AT_EXECFN, AT_NULL, AT_PAGESZ, AT_RANDOM, buildInitialStack } from '../../../src/kernel/exec/binfmt_elf.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const TOP = 0x40_0000_0000;

describe('initial stack (create_elf_tables)', () => {
  const argv = ['/bin/prog', '-c', 'héllo'];
  const envp = ['A=1', 'PATH=/bin:/usr/bin'];
  const random = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const { bytes, layout } = buildInitialStack(TOP, {
    argv: argv.map(enc),
    envp: envp.map(enc),
    execfn: enc('./prog'),
    random,
    auxv: [
      [AT_PAGESZ, 4096],
      [AT_RANDOM, 0],
      [AT_EXECFN, 0],
    ],
  });
  const v = new DataView(bytes.buffer);
  const u64 = (addr: number): number => Number(v.getBigUint64(addr - layout.sp, true));
  const cstr = (addr: number): string => {
    const o = addr - layout.sp;
    const end = bytes.indexOf(0, o);
    return new TextDecoder().decode(bytes.subarray(o, end));
  };

  it('puts sp 16-byte aligned with argc at sp', () => {
    expect(layout.sp % 16).toBe(0);
    expect(layout.sp + bytes.length).toBe(TOP);
    expect(u64(layout.sp)).toBe(argv.length);
  });

  it('has argv pointers, NULL, envp pointers, NULL, then the aux vector ending in AT_NULL', () => {
    let p = layout.sp + 8;
    for (const a of argv) {
      expect(cstr(u64(p))).toBe(a);
      p += 8;
    }
    expect(u64(p)).toBe(0);
    p += 8;
    for (const e of envp) {
      expect(cstr(u64(p))).toBe(e);
      p += 8;
    }
    expect(u64(p)).toBe(0);
    p += 8;
    const aux = new Map<number, number>();
    for (;;) {
      const k = u64(p);
      const val = u64(p + 8);
      p += 16;
      if (k === AT_NULL) break;
      aux.set(k, val);
    }
    expect(aux.get(AT_PAGESZ)).toBe(4096);
    expect(cstr(aux.get(AT_EXECFN)!)).toBe('./prog');
    const r = aux.get(AT_RANDOM)!;
    expect([...bytes.subarray(r - layout.sp, r - layout.sp + 16)]).toEqual([...random]);
  });

  it('keeps the strings at the top in Linux order: argv, envp, then the exec name, then a NULL word', () => {
    expect(cstr(layout.argStart)).toBe(argv[0]);
    expect(cstr(layout.envStart)).toBe(envp[0]);
    expect(layout.argEnd).toBe(layout.envStart);
    expect(cstr(layout.envEnd)).toBe('./prog');
    expect(layout.envEnd + enc('./prog').length + 1).toBe(TOP - 8);
    expect(u64(TOP - 8)).toBe(0);
  });
});
