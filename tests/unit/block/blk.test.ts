import { describe, expect, it } from 'vitest';
import { MemDisk } from '../../../src/machine/dev/disk.js';
import { addDisk, diskstats } from '../../../src/kernel/block/genhd.js';
import { REQ_OP_READ, REQ_OP_WRITE, bioAlloc } from '../../../src/kernel/block/bio.js';
import { submitBio, blkFinishPlug, blkStartPlug } from '../../../src/kernel/block/blk-core.js';

function mkDisk(size = 1 << 20) {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = i & 0xff;
  const mem = new MemDisk(data);
  return { mem, disk: addDisk(mem, 0, { cacheBytes: 64 * 4096 }) };
}

describe('request queue', () => {
  it('merges adjacent plugged bios into one request (back and front merges)', () => {
    const { disk, mem } = mkDisk();
    const q = disk.queue;
    blkStartPlug(q);
    const bios = [8, 16, 24].map((s) => bioAlloc(REQ_OP_WRITE, s, new Uint8Array(4096).fill(s)));
    for (const b of bios) submitBio(q, b);
    const front = bioAlloc(REQ_OP_WRITE, 0, new Uint8Array(4096).fill(1));
    submitBio(q, front);
    expect(bios[0]!.done).toBe(false);
    blkFinishPlug(q);
    expect(bios.every((b) => b.done && b.status === 0)).toBe(true);
    expect(disk.stats.writes).toBe(1);
    expect(disk.stats.writeMerges).toBe(3);
    expect(disk.stats.writeSectors).toBe(32);
    expect(mem.data[8 * 512]).toBe(8);
    expect(mem.data[0]).toBe(1);
    // Non-adjacent bios and a direction change make separate requests.
    blkStartPlug(q);
    const r1 = bioAlloc(REQ_OP_READ, 100, new Uint8Array(512));
    const r2 = bioAlloc(REQ_OP_READ, 200, new Uint8Array(512));
    submitBio(q, r1);
    submitBio(q, r2);
    blkFinishPlug(q);
    expect(disk.stats.reads).toBe(2);
    expect(disk.stats.readMerges).toBe(0);
    expect(r2.data[0]).toBe((200 * 512) & 0xff);
  });

  it('unplugged bios run at once', () => {
    const { disk } = mkDisk();
    const b = bioAlloc(REQ_OP_READ, 1, new Uint8Array(512));
    submitBio(disk.queue, b);
    expect(b.done).toBe(true);
    expect(Array.from(b.data.subarray(0, 4))).toEqual([0, 1, 2, 3]);
  });
});

describe('buffer cache and diskstats', () => {
  it('reads through the cache, merges misses, writes back on flush', () => {
    const { disk, mem } = mkDisk();
    const bdev = disk.bdev;
    const a = bdev.readBlocks(0, 64); // 8 blocks, one merged request
    expect(a[513]).toBe(1);
    expect(disk.stats.reads).toBe(1);
    expect(disk.stats.readMerges).toBe(7);
    expect(disk.stats.readSectors).toBe(64);
    bdev.readBlocks(8, 8); // cached
    expect(disk.stats.reads).toBe(1);
    bdev.writeBlocks(9, new Uint8Array(512).fill(0xee)); // partial block: cached already
    bdev.writeBlocks(16, new Uint8Array(8192).fill(0xdd)); // two whole blocks: no read
    expect(disk.stats.reads).toBe(1);
    expect(mem.data[9 * 512]).toBe((9 * 512) & 0xff); // not written yet (write-back)
    expect(bdev.readBlocks(9, 1)[0]).toBe(0xee);
    expect(bdev.flush()).toBe(0);
    expect(mem.data[9 * 512]).toBe(0xee);
    expect(mem.data[16 * 512]).toBe(0xdd);
    expect(disk.stats.writes).toBe(1); // blocks 1, 2, 3 are adjacent: one request
    expect(disk.stats.writeMerges).toBe(2);
    expect(disk.stats.writeSectors).toBe(24);
    expect(disk.stats.flushes).toBe(1);
    expect(mem.flushes).toBe(1);
    const line = diskstats([disk]);
    expect(line).toMatch(/^ 254 {7}0 vda 1 7 64 \d+ 1 2 24 \d+ 0 \d+ \d+ 0 0 0 0 1 \d+\n$/);
  });

  it('stays within its bound, writing dirty blocks back when it must evict them', () => {
    const { disk, mem } = mkDisk();
    const bdev = disk.bdev; // 64 blocks max
    for (let b = 0; b < 100; b++) bdev.writeBlocks(b * 8, new Uint8Array(4096).fill(b & 0xff));
    expect(bdev.cachedBytes).toBeLessThanOrEqual(64 * 4096);
    for (let b = 0; b < 100; b++) expect(bdev.readBlocks(b * 8, 1)[0]).toBe(b & 0xff);
    bdev.flush();
    for (let b = 0; b < 100; b++) expect(mem.data[b * 4096]).toBe(b & 0xff);
  });

  it('turns device errors into BlockDeviceError and keeps the range checks', () => {
    const { disk } = mkDisk(8192);
    expect(() => disk.bdev.readBlocks(16, 1)).toThrow(/beyond end/);
  });
});
