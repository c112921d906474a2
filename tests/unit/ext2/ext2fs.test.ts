import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemBlockDevice } from '../../../src/kernel/fs/ext2/block_device.js';
import { crc32c, crc32cUpdate } from '../../../src/kernel/fs/ext2/crc32c.js';
import {
  EXT2_ROOT_INO,
  FT_DIR,
  FT_REG_FILE,
  FT_SYMLINK,
  S_IFMT,
  S_IFREG,
} from '../../../src/kernel/fs/ext2/disk_layout.js';
import { Ext2Error } from '../../../src/kernel/fs/ext2/errors.js';
import { Ext2Fs } from '../../../src/kernel/fs/ext2/ext2fs.js';
import { superblockChecksum } from '../../../src/kernel/fs/ext2/super.js';

const MKE2FS = '/usr/sbin/mke2fs';
const DEBUGFS = '/usr/sbin/debugfs';
const E2FSCK = '/usr/sbin/e2fsck';

let tmp: string;
let src: string;
const files = new Map<string, Uint8Array>();

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const LONG_TARGET = 'a/very/long/symlink/target/that/is/definitely/longer/than/sixty/bytes/file.txt';

function buildImage(type: 'ext2' | 'ext4', bs: 1024 | 4096, extra: string[] = [], name = `${type}-${bs}`): Uint8Array {
  const img = path.join(tmp, `${name}.img`);
  execFileSync(MKE2FS, ['-q', '-F', '-t', type, ...extra, '-d', src, '-b', String(bs), img, '8M'], { stdio: 'pipe' });
  if (type === 'ext4') {
    // mke2fs -d writes directories unindexed; e2fsck -D rebuilds them, giving 'many' an htree index.
    const r = spawnSync(E2FSCK, ['-fyD', img], { stdio: 'pipe' });
    if (r.status !== 0 && r.status !== 1) throw new Error(`e2fsck -fyD failed: ${r.status} ${String(r.stdout)}`);
  }
  return new Uint8Array(fs.readFileSync(img));
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext2-test-'));
  src = path.join(tmp, 'src');
  fs.mkdirSync(src);
  const add = (rel: string, data: Uint8Array): void => {
    fs.writeFileSync(path.join(src, rel), data);
    files.set(rel, data);
  };
  add('empty', new Uint8Array(0));
  add('small.txt', new TextEncoder().encode('hello, ext2\n'));
  add('exact4k', pattern(4096, 1));
  add('medium', pattern(13 * 1024 + 17, 2)); // > 12 blocks of 1 KiB: indirect block
  add('large', pattern(300 * 1024 + 5, 3)); // > 256 KiB: double indirect with 1 KiB blocks
  fs.mkdirSync(path.join(src, 'sub'));
  add('sub/nested.bin', pattern(5000, 4));
  fs.chmodSync(path.join(src, 'sub/nested.bin'), 0o751);
  fs.mkdirSync(path.join(src, 'many'));
  for (let i = 0; i < 300; i++)
    add(`many/entry-${String(i).padStart(4, '0')}-with-a-longer-name`, new TextEncoder().encode(`#${i}`));
  fs.symlinkSync('small.txt', path.join(src, 'short-link'));
  fs.symlinkSync(LONG_TARGET, path.join(src, 'long-link'));
  // A sparse file: 8 KiB of data, a 200 KiB hole, 3 bytes at the end.
  const hole = path.join(src, 'holey');
  const fd = fs.openSync(hole, 'w');
  const head = pattern(8192, 5);
  fs.writeSync(fd, head, 0, head.length, 0);
  fs.writeSync(fd, Buffer.from('end'), 0, 3, 8192 + 200 * 1024);
  fs.closeSync(fd);
  files.set('holey', new Uint8Array(fs.readFileSync(hole)));
  // Eight 3000-byte islands 64 KiB apart: more than the 4 extents i_block holds, so depth > 0 on ext4.
  const islands = path.join(src, 'islands');
  const fd2 = fs.openSync(islands, 'w');
  for (let i = 0; i < 8; i++) fs.writeSync(fd2, pattern(3000, 10 + i), 0, 3000, i * 64 * 1024);
  fs.closeSync(fd2);
  files.set('islands', new Uint8Array(fs.readFileSync(islands)));
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('crc32c', () => {
  it('matches the standard check value and the raw-seed form', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(~crc32cUpdate(0xffffffff, new TextEncoder().encode('123456789')) >>> 0).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });
});

const CASES: Array<['ext2' | 'ext4', 1024 | 4096]> = [
  ['ext2', 1024],
  ['ext2', 4096],
  ['ext4', 1024],
  ['ext4', 4096],
];

describe.each(CASES)('%s with %i-byte blocks', (type, bs) => {
  let image: Uint8Array;
  let fsys: Ext2Fs;
  beforeAll(() => {
    image = buildImage(type, bs);
    fsys = Ext2Fs.mount(new MemBlockDevice(image), { readOnly: true });
  });

  it('mounts and reports statfs', () => {
    expect(fsys.blockSize).toBe(bs);
    const st = fsys.statfs();
    expect(st.bsize).toBe(bs);
    expect(st.blocks).toBe((8 * 1024 * 1024) / bs);
    expect(st.bfree).toBeGreaterThan(0);
    expect(st.bfree).toBeLessThan(st.blocks);
    expect(st.ffree).toBeLessThan(st.files);
    if (type === 'ext4') expect(fsys.info.metadataCsum).toBe(true);
    expect(fsys.info.warnings).toEqual([]);
  });

  it('reads every file byte for byte', () => {
    for (const [rel, data] of files) {
      const ino = fsys.resolve(rel);
      const inode = fsys.readInode(ino);
      expect(inode.mode & S_IFMT, rel).toBe(S_IFREG);
      expect(inode.size, rel).toBe(data.length);
      const got = fsys.readFile(ino, 0, data.length + 100);
      expect(got.length, rel).toBe(data.length);
      expect(Buffer.from(got).equals(Buffer.from(data)), rel).toBe(true);
    }
  });

  it('reads at unaligned offsets and across block boundaries', () => {
    const data = files.get('large')!;
    const ino = fsys.resolve('large');
    for (const [pos, len] of [
      [1, 10],
      [bs - 3, 7],
      [12 * bs - 1, 2 * bs + 5],
      [270 * 1024 + 11, 40000],
      [data.length - 2, 10],
    ]) {
      const got = fsys.readFile(ino, pos, len);
      expect(Buffer.from(got).equals(Buffer.from(data.subarray(pos, pos + len)))).toBe(true);
    }
    expect(fsys.readFile(ino, data.length, 10).length).toBe(0);
  });

  it('reads holes as zeros', () => {
    const ino = fsys.resolve('holey');
    const inode = fsys.readInode(ino);
    expect(inode.size).toBe(8192 + 200 * 1024 + 3);
    // Fewer blocks allocated than the size implies.
    expect(inode.blocks * 512).toBeLessThan(inode.size);
    expect(fsys.readFile(ino, 100 * 1024, 4096).every((b) => b === 0)).toBe(true);
    expect(new TextDecoder().decode(fsys.readFile(ino, 8192 + 200 * 1024, 3))).toBe('end');
  });

  it('reports modes, owners, links and times', () => {
    const nested = fsys.readInode(fsys.resolve('sub/nested.bin'));
    expect(nested.mode).toBe(S_IFREG | 0o751);
    expect(nested.nlink).toBe(1);
    const stat = fs.statSync(path.join(src, 'sub/nested.bin'));
    expect(nested.mtime.sec).toBe(Math.floor(stat.mtimeMs / 1000));
    expect(nested.uid).toBe(stat.uid);
    expect(nested.gid).toBe(stat.gid);
    const root = fsys.readInode(EXT2_ROOT_INO);
    expect(root.mode & S_IFMT).toBe(0o040000);
    // ., .., lost+found, sub, many
    expect(root.nlink).toBe(5);
  });

  it('lists the root directory like debugfs', () => {
    const entries = fsys.readdir(EXT2_ROOT_INO);
    const names = entries.map((e) => e.name).sort();
    expect(names).toEqual(
      [
        '.',
        '..',
        'empty',
        'exact4k',
        'holey',
        'islands',
        'large',
        'long-link',
        'lost+found',
        'many',
        'medium',
        'short-link',
        'small.txt',
        'sub',
      ].sort(),
    );
    expect(entries.find((e) => e.name === 'sub')!.type).toBe(FT_DIR);
    expect(entries.find((e) => e.name === 'small.txt')!.type).toBe(FT_REG_FILE);
    expect(entries.find((e) => e.name === 'long-link')!.type).toBe(FT_SYMLINK);
    const img = path.join(tmp, `${type}-${bs}.img`);
    const out = execFileSync(DEBUGFS, ['-R', 'ls -l /', img], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    // debugfs ls -l: "  ino  mode (uid) (gid) size date time name"
    for (const line of out.split('\n')) {
      const m = /^\s*(\d+)\s+(\d+)\s+\(\d+\)\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+\s+\S+\s+(.+?)\s*$/.exec(line);
      if (!m) continue;
      const [, ino, mode, , , size, name] = m;
      const e = entries.find((x) => x.name === name);
      expect(e, name).toBeDefined();
      expect(e!.ino).toBe(Number(ino));
      const inode = fsys.readInode(e!.ino);
      expect(inode.mode.toString(8)).toBe(mode);
      expect(inode.size).toBe(Number(size));
    }
  });

  it('reads a 300-entry directory (htree-indexed on ext4) completely', () => {
    const many = fsys.resolve('many');
    const inode = fsys.readInode(many);
    if (type === 'ext4') expect(inode.flags & 0x1000).toBe(0x1000); // EXT4_INDEX_FL
    const names = fsys
      .readdir(many)
      .map((e) => e.name)
      .filter((n) => n !== '.' && n !== '..');
    expect(names.length).toBe(300);
    expect(new Set(names).size).toBe(300);
    const ino = fsys.lookup(many, 'entry-0299-with-a-longer-name');
    expect(new TextDecoder().decode(fsys.readFile(ino, 0, 100))).toBe('#299');
  });

  it('maps a fragmented file (extent tree depth > 0 on ext4)', () => {
    const ino = fsys.resolve('islands');
    const inode = fsys.readInode(ino);
    if (type === 'ext4') {
      expect(inode.flags & 0x80000).toBe(0x80000); // EXT4_EXTENTS_FL
      expect(inode.raw.block[6] | (inode.raw.block[7] << 8)).toBeGreaterThan(0); // eh_depth
    }
    expect(fsys.bmap(inode, Math.floor((32 * 1024) / bs))).toBe(0); // in a hole
  });

  it('reads fast and slow symlinks', () => {
    expect(fsys.readlink(fsys.resolve('short-link'))).toBe('small.txt');
    expect(fsys.readlink(fsys.resolve('long-link'))).toBe(LONG_TARGET);
  });

  it('refuses missing names, non-directories and bad inode numbers with Ext2Error', () => {
    expect(fsys.lookup(EXT2_ROOT_INO, 'nope')).toBe(0);
    expect(() => fsys.resolve('nope')).toThrow(Ext2Error);
    expect(() => fsys.readdir(fsys.resolve('small.txt'))).toThrow(Ext2Error);
    expect(() => fsys.readInode(0)).toThrow(Ext2Error);
    expect(() => fsys.readInode(fsys.info.sb.inodesCount + 1)).toThrow(Ext2Error);
    expect(() => fsys.readlink(fsys.resolve('small.txt'))).toThrow(Ext2Error);
  });
});

describe('ext4 with meta_bg and 32 block groups', () => {
  it('finds group descriptors in meta block groups and reads every file', () => {
    const img = buildImage('ext4', 1024, ['-O', 'meta_bg,^resize_inode', '-g', '256'], 'metabg');
    const f = Ext2Fs.mount(new MemBlockDevice(img));
    expect(f.info.groupCount).toBe(32);
    expect(f.info.warnings).toEqual([]);
    for (const [rel, data] of files) {
      const got = f.readFile(f.resolve(rel), 0, data.length);
      expect(Buffer.from(got).equals(Buffer.from(data)), rel).toBe(true);
    }
  });
});

describe('ext2 block map', () => {
  it('follows direct, indirect, double and triple indirect pointers', async () => {
    const { blockMap } = await import('../../../src/kernel/fs/ext2/block_map.js');
    const bs = 1024;
    const per = bs / 4;
    // A fake device where indirect block B holds entries B*1000 + index, so the path is visible.
    const src = {
      info: { blockSize: bs } as never,
      readBlock(b: number): Uint8Array {
        const out = new Uint8Array(bs);
        const dv = new DataView(out.buffer);
        for (let i = 0; i < per; i++) dv.setUint32(i * 4, (b % 4096) * 1000 + i + 1, true);
        return out;
      },
    };
    const iblock = new Uint8Array(60);
    const dv = new DataView(iblock.buffer);
    for (let i = 0; i < 15; i++) dv.setUint32(i * 4, i + 1, true);
    expect(blockMap(src, iblock, 0, 1)).toBe(1);
    expect(blockMap(src, iblock, 11, 1)).toBe(12);
    expect(blockMap(src, iblock, 12, 1)).toBe(13 * 1000 + 1); // indirect block 13, entry 0
    expect(blockMap(src, iblock, 12 + per - 1, 1)).toBe(13 * 1000 + per);
    const dbl = 12 + per + 5 * per + 7;
    // double indirect 14 -> entry 5 -> block 14006 (mod 4096 = 1718) -> entry 7
    expect(blockMap(src, iblock, dbl, 1)).toBe((14006 % 4096) * 1000 + 8);
    const tri = 12 + per + per * per + 2 * per * per + 3 * per + 4;
    const l1 = 15 * 1000 + 3; // triple 15 -> entry 2
    const l2 = (l1 % 4096) * 1000 + 4; // -> entry 3
    expect(blockMap(src, iblock, tri, 1)).toBe((l2 % 4096) * 1000 + 5);
    expect(() => blockMap(src, iblock, 12 + per + per * per + per * per * per, 1)).toThrow(Ext2Error);
  });
});

describe('corrupt superblocks', () => {
  let ext4: Uint8Array;
  let ext2: Uint8Array;
  beforeAll(() => {
    ext4 = buildImage('ext4', 4096);
    ext2 = buildImage('ext2', 1024);
  });

  const mountErr = (img: Uint8Array): Ext2Error => {
    try {
      Ext2Fs.mount(new MemBlockDevice(img));
    } catch (e) {
      expect(e).toBeInstanceOf(Ext2Error);
      return e as Ext2Error;
    }
    throw new Error('mount unexpectedly succeeded');
  };
  const fixCsum = (img: Uint8Array): void => {
    const sb = img.subarray(1024, 2048);
    new DataView(img.buffer, img.byteOffset).setUint32(1024 + 0x3fc, superblockChecksum(sb), true);
  };

  it('refuses a bad magic', () => {
    const img = ext2.slice();
    img[1024 + 0x38] = 0x12;
    expect(mountErr(img).message).toMatch(/bad magic/);
  });

  it('refuses a bad superblock checksum on ext4', () => {
    const img = ext4.slice();
    img[1024 + 0x78] ^= 0xff; // volume name
    expect(mountErr(img).message).toMatch(/invalid superblock checksum/);
  });

  it('refuses unknown INCOMPAT features, naming them', () => {
    const img = ext4.slice();
    img[1024 + 0x61] |= 0x80; // INCOMPAT_INLINE_DATA (0x8000)
    fixCsum(img);
    expect(mountErr(img).message).toMatch(/unsupported optional features \(inline_data\)/);
  });

  it('refuses a truncated image and a tiny device', () => {
    expect(mountErr(ext4.slice(0, ext4.length / 2)).message).toMatch(/exceeds size of device/);
    expect(mountErr(new Uint8Array(1024)).message).toMatch(/too small/);
  });

  it('refuses bad geometry and bad group descriptors', () => {
    const img = ext2.slice();
    img[1024 + 0x18] = 9; // log block size
    expect(mountErr(img).message).toMatch(/log block size/);
    const img2 = ext2.slice();
    // Group descriptor 0 lives in block 2 (1 KiB blocks); point its inode table past the end.
    new DataView(img2.buffer).setUint32(2048 + 8, 0xfffffff0, true);
    expect(mountErr(img2).message).toMatch(/group descriptor 0/);
  });

  it('warns about a group descriptor checksum mismatch on a read-only mount, refuses it read-write', () => {
    const img = ext4.slice();
    img[4096 + 0x0c] ^= 1; // group 0 free blocks count (descriptors in block 1 with 4 KiB blocks)
    const f = Ext2Fs.mount(new MemBlockDevice(img), { readOnly: true });
    expect(f.info.warnings.join('\n')).toMatch(/Checksum for group 0 failed/);
    expect(mountErr(img).message).toMatch(/Checksum for group 0 failed/);
  });

  it('refuses an inode whose metadata_csum checksum is wrong', () => {
    const good = Ext2Fs.mount(new MemBlockDevice(ext4));
    const ino = good.resolve('small.txt');
    const { info } = good;
    const group = Math.floor((ino - 1) / info.sb.inodesPerGroup);
    const off = info.groups[group].inodeTable * info.blockSize + ((ino - 1) % info.sb.inodesPerGroup) * info.inodeSize;
    const img = ext4.slice();
    img[off + 0x10] ^= 1; // mtime
    const bad = Ext2Fs.mount(new MemBlockDevice(img));
    expect(() => bad.readInode(ino)).toThrow(/checksum invalid/);
    expect(() => bad.readFile(ino, 0, 10)).toThrow(Ext2Error);
    expect(bad.readInode(EXT2_ROOT_INO).nlink).toBe(5);
  });

  it('refuses a directory block whose checksum tail is wrong', () => {
    const good = Ext2Fs.mount(new MemBlockDevice(ext4));
    const sub = good.resolve('sub');
    const phys = good.bmap(good.readInode(sub), 0);
    const img = ext4.slice();
    img[phys * good.blockSize + good.blockSize - 4] ^= 0x55; // the stored crc
    const bad = Ext2Fs.mount(new MemBlockDevice(img));
    expect(() => bad.readdir(sub)).toThrow(/directory block 0 checksum invalid/);
  });

  it('only ever throws Ext2Error when metadata blocks are damaged', () => {
    let seed = 777;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const walk = (f: Ext2Fs, ino: number, depth: number, budget: { n: number }): void => {
      if (depth > 4 || budget.n-- <= 0) return;
      for (const e of f.readdir(ino)) {
        if (e.name === '.' || e.name === '..') continue;
        try {
          const inode = f.readInode(e.ino);
          const fmt = inode.mode & S_IFMT;
          if (fmt === 0o040000) walk(f, e.ino, depth + 1, budget);
          else if (fmt === 0o120000) f.readlink(e.ino);
          else f.readFile(e.ino, 0, 64 * 1024);
        } catch (err) {
          expect(err).toBeInstanceOf(Ext2Error);
        }
      }
    };
    for (let t = 0; t < 60; t++) {
      const img = (t % 2 ? ext2 : ext4).slice();
      // Damage bytes in the first 512 KiB (descriptors, bitmaps, inode tables, early directory blocks).
      for (let k = 0; k < 200; k++) img[2048 + rnd(512 * 1024)] = rnd(256);
      try {
        const f = Ext2Fs.mount(new MemBlockDevice(img));
        walk(f, EXT2_ROOT_INO, 0, { n: 50 });
      } catch (e) {
        expect(e).toBeInstanceOf(Ext2Error);
      }
    }
  });

  it('only ever throws Ext2Error for random superblock damage', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let t = 0; t < 300; t++) {
      const img = (t % 2 ? ext2 : ext4).slice();
      for (let k = 0; k < 4; k++) img[1024 + rnd(0x180)] = rnd(256);
      if (t % 3 === 0) fixCsum(img);
      try {
        const f = Ext2Fs.mount(new MemBlockDevice(img));
        f.statfs();
        f.readdir(EXT2_ROOT_INO);
      } catch (e) {
        expect(e).toBeInstanceOf(Ext2Error);
      }
    }
  });
});
