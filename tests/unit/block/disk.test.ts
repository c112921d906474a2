import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskImage, DiskError } from '../../../src/machine/dev/disk.js';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'disk-test-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function makeBase(name: string, size: number): { file: string; bytes: Uint8Array } {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + (i >> 9)) & 0xff;
  const file = path.join(tmp, name);
  fs.writeFileSync(file, bytes);
  return { file, bytes };
}

describe('DiskImage (base + copy-on-write overlay)', () => {
  it('reads the base when nothing was written', () => {
    const { file, bytes } = makeBase('a.img', 64 * 1024);
    const d = DiskImage.open({ base: file, overlay: path.join(tmp, 'a.ovl') });
    expect(d.sectors).toBe(128);
    expect(d.readSectors(3, 10)).toEqual(bytes.subarray(3 * 512, 13 * 512));
    d.close();
  });

  it('keeps the base byte-for-byte unchanged; reopen sees writes; partial chunk copies up', () => {
    const { file, bytes } = makeBase('b.img', 64 * 1024);
    const ovl = path.join(tmp, 'b.ovl');
    let d = DiskImage.open({ base: file, overlay: ovl });
    // One sector in the middle of chunk 1 (sectors 8..15): the rest of the chunk must come from the base.
    const w = new Uint8Array(512).fill(0xaa);
    d.writeSectors(10, w);
    // A write spanning the end of chunk 3 and the start of chunk 4, and a whole chunk 6.
    const w2 = new Uint8Array(1024).fill(0x55);
    d.writeSectors(31, w2);
    const w3 = new Uint8Array(4096).fill(0x11);
    d.writeSectors(48, w3);
    const expectAll = bytes.slice();
    expectAll.set(w, 10 * 512);
    expectAll.set(w2, 31 * 512);
    expectAll.set(w3, 48 * 512);
    expect(d.readSectors(0, 128)).toEqual(expectAll);
    expect(d.overlayChunks()).toBe(4); // chunks 1, 3, 4, 6
    d.close();
    expect(new Uint8Array(fs.readFileSync(file))).toEqual(bytes);
    expect(fs.statSync(ovl).size).toBe(bytes.length);
    expect(fs.existsSync(ovl + '.map')).toBe(true);
    d = DiskImage.open({ base: file, overlay: ovl });
    expect(d.readSectors(0, 128)).toEqual(expectAll);
    // Partial chunk: sectors of chunk 1 that were not written are still the base's.
    expect(d.readSectors(8, 2)).toEqual(bytes.subarray(8 * 512, 10 * 512));
    d.close();
    expect(new Uint8Array(fs.readFileSync(file))).toEqual(bytes);
  });

  it('refuses an overlay of another size with a clear error', () => {
    const { file } = makeBase('c.img', 32 * 1024);
    const ovl = path.join(tmp, 'c.ovl');
    fs.writeFileSync(ovl, new Uint8Array(16 * 1024));
    expect(() => DiskImage.open({ base: file, overlay: ovl })).toThrow(DiskError);
    expect(() => DiskImage.open({ base: file, overlay: ovl })).toThrow(/belongs to another image/);
  });

  it('rejects access beyond the end', () => {
    const { file } = makeBase('d.img', 8 * 1024);
    const d = DiskImage.open({ base: file, overlay: path.join(tmp, 'd.ovl') });
    expect(() => d.readSectors(15, 2)).toThrow(/beyond end/);
    expect(() => d.writeSectors(16, new Uint8Array(512))).toThrow(/beyond end/);
    d.close();
  });
});
