// ELF header and program-header checks of execve (binfmt_elf.ts, elf.ts): a malformed image is
// refused with the errno Linux gives, and no input makes the parser throw.
import { describe, expect, it } from 'vitest';
import { ENOEXEC, EINVAL, EIO, ELIBBAD } from '../../../src/kernel/errno.js';
import { EM_RISCV, ET_DYN, ET_EXEC, PT_INTERP, PT_LOAD, parseElfHeader } from '../../../src/kernel/exec/elf.js';
import { checkElfImage, scanProgram } from '../../../src/kernel/exec/binfmt_elf.js';

/** A byte-array "file". */
function src(bytes: Uint8Array) {
  return {
    pread(buf: Uint8Array, pos: number): number {
      if (pos >= bytes.length) return 0;
      const n = Math.min(buf.length, bytes.length - pos);
      buf.set(bytes.subarray(pos, pos + n));
      return n;
    },
  };
}

interface Seg {
  type: number;
  flags?: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

/** Build a minimal ELF64 image: header, program headers, then `tail` bytes. */
function makeElf(
  opts: { type?: number; machine?: number; segs?: Seg[]; tail?: Uint8Array; size?: number } = {},
): Uint8Array {
  const segs = opts.segs ?? [{ type: PT_LOAD, flags: 5, offset: 0, vaddr: 0x10000, filesz: 0x200, memsz: 0x300 }];
  const size = opts.size ?? 0x1000;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, opts.type ?? ET_EXEC, true);
  v.setUint16(18, opts.machine ?? EM_RISCV, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(24, 0x10078n, true);
  v.setBigUint64(32, 64n, true);
  v.setUint16(52, 64, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, segs.length, true);
  segs.forEach((s, i) => {
    const o = 64 + i * 56;
    v.setUint32(o, s.type, true);
    v.setUint32(o + 4, s.flags ?? 4, true);
    v.setBigUint64(o + 8, BigInt(s.offset), true);
    v.setBigUint64(o + 16, BigInt(s.vaddr), true);
    v.setBigUint64(o + 24, BigInt(s.vaddr), true);
    v.setBigUint64(o + 32, BigInt(s.filesz), true);
    v.setBigUint64(o + 40, BigInt(s.memsz), true);
    v.setBigUint64(o + 48, 0x1000n, true);
  });
  if (opts.tail) b.set(opts.tail, size - opts.tail.length);
  return b;
}

describe('ELF header checks (load_elf_binary)', () => {
  it('accepts a well-formed ET_EXEC and ET_DYN image for EM_RISCV', () => {
    for (const type of [ET_EXEC, ET_DYN]) {
      const img = checkElfImage(src(makeElf({ type })), null);
      expect(typeof img).toBe('object');
    }
  });

  it('refuses a truncated header with -ENOEXEC', () => {
    const full = makeElf();
    for (const n of [0, 1, 4, 16, 63]) {
      expect(checkElfImage(src(full.subarray(0, n)), null)).toBe(-ENOEXEC);
      expect(parseElfHeader(full.subarray(0, n))).toBe(-ENOEXEC);
    }
  });

  it('refuses a wrong magic, class, byte order, type or machine with -ENOEXEC', () => {
    const cases: Array<(b: Uint8Array, v: DataView) => void> = [
      (b) => (b[0] = 0x7e),
      (b) => (b[4] = 1), // ELFCLASS32
      (b) => (b[5] = 2), // big endian
      (_b, v) => v.setUint16(16, 1, true), // ET_REL
      (_b, v) => v.setUint16(16, 4, true), // ET_CORE
      (_b, v) => v.setUint16(18, 62, true), // EM_X86_64
      (_b, v) => v.setUint16(18, 183, true), // EM_AARCH64
      (_b, v) => v.setUint16(54, 32, true), // e_phentsize of ELF32
      (_b, v) => v.setUint16(56, 0, true), // no program headers
      (_b, v) => v.setUint16(56, 0xffff, true), // > 64 KiB of program headers
    ];
    for (const mutate of cases) {
      const b = makeElf();
      mutate(b, new DataView(b.buffer));
      expect(checkElfImage(src(b), null)).toBe(-ENOEXEC);
    }
  });

  it('reports an interpreter with a bad header as -ELIBBAD', () => {
    const b = makeElf({ machine: 62 });
    expect(checkElfImage(src(b), null, true)).toBe(-ELIBBAD);
  });

  it('gives -EIO when the program headers lie past the end of the file (as elf_read does)', () => {
    const b = makeElf({ size: 0x100 });
    new DataView(b.buffer).setBigUint64(32, 0x1_0000n, true);
    expect(checkElfImage(src(b), null)).toBe(-EIO);
    const huge = makeElf({ size: 0x100 });
    new DataView(huge.buffer).setBigUint64(32, 0xffff_ffff_ffff_0000n, true);
    expect(checkElfImage(src(huge), null)).toBe(-ENOEXEC);
  });

  it('refuses impossible PT_LOAD segments before mapping anything', () => {
    const bad: Seg[][] = [
      [{ type: PT_LOAD, offset: 0, vaddr: 0x10000, filesz: 0x400, memsz: 0x200 }], // filesz > memsz
      [{ type: PT_LOAD, offset: 0x10, vaddr: 0x10000, filesz: 0x100, memsz: 0x100 }], // offset/vaddr misaligned
      [{ type: PT_LOAD, offset: 0, vaddr: 0x40_0000_0000, filesz: 0, memsz: 0x1000 }], // above TASK_SIZE
      [{ type: PT_LOAD, offset: 0, vaddr: 0x3f_ffff_f000, filesz: 0, memsz: 0x10000 }], // crosses TASK_SIZE
    ];
    for (const segs of bad) expect(checkElfImage(src(makeElf({ segs })), null)).toBe(-EINVAL);
    // No PT_LOAD at all is not an executable.
    expect(checkElfImage(src(makeElf({ segs: [{ type: 4, offset: 0, vaddr: 0, filesz: 0, memsz: 0 }] })), null)).toBe(
      -ENOEXEC,
    );
  });

  it('reads PT_INTERP only when it is a NUL-terminated path', () => {
    const path = new TextEncoder().encode('/lib/ld-linux-riscv64-lp64d.so.1\0');
    const at = 0x800;
    const good = makeElf({
      segs: [
        { type: PT_INTERP, offset: at, vaddr: at, filesz: path.length, memsz: path.length },
        { type: PT_LOAD, offset: 0, vaddr: 0, filesz: 0x1000, memsz: 0x1000 },
      ],
    });
    good.set(path, at);
    const img = checkElfImage(src(good), null);
    if (typeof img === 'number') throw new Error(`unexpected ${img}`);
    const info = scanProgram(img);
    expect(typeof info === 'object' && info.interpPath).toBe('/lib/ld-linux-riscv64-lp64d.so.1');

    const unterminated = good.slice();
    unterminated[at + path.length - 1] = 0x41;
    const img2 = checkElfImage(src(unterminated), null);
    if (typeof img2 === 'number') throw new Error(`unexpected ${img2}`);
    expect(scanProgram(img2)).toBe(-ENOEXEC);
  });

  it('never throws on random corruptions of a valid header', () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed;
    };
    const base = makeElf({
      segs: [
        { type: PT_INTERP, offset: 0x800, vaddr: 0x800, filesz: 8, memsz: 8 },
        { type: PT_LOAD, offset: 0, vaddr: 0x10000, filesz: 0x800, memsz: 0x900 },
      ],
    });
    for (let i = 0; i < 3000; i++) {
      const b = base.slice(0, rnd() % 2 ? base.length : rnd() % base.length);
      const flips = 1 + (rnd() % 8);
      for (let j = 0; j < flips && b.length > 0; j++) b[rnd() % Math.min(b.length, 64 + 2 * 56)] = rnd() & 0xff;
      expect(() => {
        const img = checkElfImage(src(b), null);
        if (typeof img === 'object') scanProgram(img);
      }).not.toThrow();
    }
  });
});
