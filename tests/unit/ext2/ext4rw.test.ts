/**
 * Read-write tests of the ext2/ext4 engine: build real images with mke2fs, change them through
 * the Ext2Fs API, unmount, and let e2fsck -fn judge the result; read results back by remounting
 * and through debugfs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemBlockDevice } from '../../../src/kernel/fs/ext2/block_device.js';
import { EXT2_ROOT_INO, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '../../../src/kernel/fs/ext2/disk_layout.js';
import { Ext2Error } from '../../../src/kernel/fs/ext2/errors.js';
import { Ext2Fs, RENAME_EXCHANGE, RENAME_NOREPLACE } from '../../../src/kernel/fs/ext2/ext2fs.js';
import { dirHash } from '../../../src/kernel/fs/ext2/htree.js';
import { inodeCsumSeed, setInodeChecksum } from '../../../src/kernel/fs/ext2/inode.js';
import { setDirTailCsum } from '../../../src/kernel/fs/ext2/dir.js';
import { superblockChecksum } from '../../../src/kernel/fs/ext2/super.js';

const MKE2FS = '/usr/sbin/mke2fs';
const DEBUGFS = '/usr/sbin/debugfs';
const E2FSCK = '/usr/sbin/e2fsck';
const EEXIST = 17;
const ENOENT = 2;
const ENOTEMPTY = 39;
const EISDIR = 21;
const ENOTDIR = 20;
const EINVAL = 22;

let tmp: string;
let srcDir: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4rw-'));
  srcDir = path.join(tmp, 'src');
  fs.mkdirSync(path.join(srcDir, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(srcDir, 'etc/hostname'), 'labvisor\n');
  fs.writeFileSync(path.join(srcDir, 'big.bin'), pattern(300 * 1024, 3));
  for (let i = 0; i < 150; i++) fs.writeFileSync(path.join(srcDir, 'etc', `conf-${i}.txt`), `value ${i}\n`);
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

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

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function makeImage(name: string, args: string[], size = '64M', tweaks: string[] = []): string {
  const img = path.join(tmp, `${name}.img`);
  execFileSync(MKE2FS, ['-q', '-F', ...args, img, size], { stdio: 'pipe' });
  for (const t of tweaks) execFileSync(DEBUGFS, ['-w', '-R', t, img], { stdio: 'pipe' });
  return img;
}

function fsck(img: string): { status: number; out: string } {
  const r = spawnSync(E2FSCK, ['-fn', img], { stdio: 'pipe' });
  return { status: r.status ?? -1, out: String(r.stdout) + String(r.stderr) };
}

/** e2fsck -fn must exit 0 and print nothing but its pass headers and the summary. */
function expectClean(img: string): void {
  const { status, out } = fsck(img);
  const odd = out.split('\n').filter((l) => l.trim() && !/^Pass \d|^e2fsck \d|files \(.*blocks$/.test(l));
  expect({ status, odd }, out).toEqual({ status: 0, odd: [] });
}

function debugfs(img: string, cmd: string): string {
  return execFileSync(DEBUGFS, ['-R', cmd, img], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Mount the image file read-write, run `fn`, unmount and write the bytes back. */
function withFs<T>(img: string, fn: (f: Ext2Fs) => T): T {
  const bytes = new Uint8Array(fs.readFileSync(img));
  const f = Ext2Fs.mount(new MemBlockDevice(bytes));
  expect(f.readOnly).toBe(false);
  const r = fn(f);
  f.unmount();
  fs.writeFileSync(img, bytes);
  return r;
}

function createFile(f: Ext2Fs, dir: number, name: string, data?: Uint8Array, mode = 0o644): number {
  const ino = f.createInode(dir, S_IFREG | mode, 0, 0);
  expect(ino).toBeGreaterThan(0);
  expect(f.link(dir, name, ino)).toBe(0);
  if (data) expect(f.write(ino, 0, data)).toBe(data.length);
  return ino;
}

function readAll(f: Ext2Fs, ino: number): Uint8Array {
  const size = f.readInode(ino).size;
  const buf = new Uint8Array(size);
  expect(f.read(ino, 0, buf)).toBe(size);
  return buf;
}

const CASES: Array<[string, string[], string[]]> = [
  ['ext4', ['-t', 'ext4'], []],
  ['ext4-1k', ['-t', 'ext4', '-b', '1024'], []],
  ['ext4-nocsum', ['-t', 'ext4', '-O', '^metadata_csum,uninit_bg', '-b', '1024'], []],
  // TEA hash with unsigned chars (s_flags = EXT2_FLAGS_UNSIGNED_HASH), no journal.
  ['ext4-tea', ['-t', 'ext4', '-O', '^has_journal'], ['ssv def_hash_version tea', 'ssv flags 2']],
  ['ext2', ['-t', 'ext2'], []],
  // The legacy hash on a 1 KiB ext2 with dir_index.
  ['ext2-1k', ['-t', 'ext2', '-b', '1024'], ['ssv def_hash_version legacy']],
];

describe.each(CASES)('%s read-write', (name, args, tweaks) => {
  let img: string;
  beforeAll(() => {
    img = makeImage(name, args, '64M', tweaks);
  });

  it('mounts read-write and unmounts clean', () => {
    withFs(img, (f) => {
      expect(f.statfs().bfree).toBeGreaterThan(0);
    });
    expectClean(img);
  });

  it('creates 1000 files in one directory (htree) and reads them back', () => {
    withFs(img, (f) => {
      const d = f.mkdir(EXT2_ROOT_INO, 'many', 0o755, 0, 0);
      expect(d).toBeGreaterThan(0);
      for (let i = 0; i < 1000; i++) createFile(f, d, `file-number-${i}.txt`, enc(`hello ${i}\n`));
      expect(f.lookup(d, 'file-number-999.txt')).toBeGreaterThan(0);
      expect(f.lookup(d, '..')).toBe(EXT2_ROOT_INO);
      expect(f.lookup(d, '.')).toBe(d);
      expect(f.lookup(d, 'nope')).toBe(0);
      expect(f.link(d, 'file-number-5.txt', f.lookup(d, 'file-number-6.txt'))).toBe(-EEXIST);
    });
    expectClean(img);
    withFs(img, (f) => {
      const d = f.resolve('many');
      const names = f.readdir(d).map((e) => e.name);
      expect(names.length).toBe(1002);
      for (let i = 0; i < 1000; i += 37)
        expect(dec(readAll(f, f.lookup(d, `file-number-${i}.txt`)))).toBe(`hello ${i}\n`);
      if (name.startsWith('ext4')) expect(f.readInode(d).flags & 0x1000).toBe(0x1000);
    });
    expect(debugfs(img, 'cat /many/file-number-777.txt')).toBe('hello 777\n');
  });

  it('grows a directory past 600 long entries, deletes half, renames inside it', () => {
    withFs(img, (f) => {
      const d = f.mkdir(EXT2_ROOT_INO, 'wide', 0o755, 0, 0);
      const long = 'x'.repeat(180);
      for (let i = 0; i < 650; i++) createFile(f, d, `${long}-${i}`);
      for (let i = 0; i < 650; i += 2) {
        const ino = f.lookup(d, `${long}-${i}`);
        expect(f.unlink(d, `${long}-${i}`)).toBe(0);
        f.evictInode(ino);
      }
      for (let i = 1; i < 650; i += 10) expect(f.rename(d, `${long}-${i}`, d, `renamed-${i}`, 0)).toBe(0);
      expect(f.lookup(d, `${long}-11`)).toBe(0);
      expect(f.lookup(d, `renamed-11`)).toBeGreaterThan(0);
      expect(f.lookup(d, `${long}-13`)).toBeGreaterThan(0);
    });
    expectClean(img);
    const ls = debugfs(img, 'ls -l /wide');
    expect(ls).toContain('renamed-21');
    // Deleted names may linger in a block with inode 0 (debugfs shows them with inode 0).
    const live = ls.split('\n').filter((l) => !/^\s*0\s/.test(l));
    expect(live.some((l) => l.endsWith(`${'x'.repeat(180)}-22`))).toBe(false);
    expect(live.some((l) => l.endsWith(`${'x'.repeat(180)}-23`))).toBe(true);
  });

  it('renames files and directories across directories, with NOREPLACE and EXCHANGE', () => {
    withFs(img, (f) => {
      const a = f.mkdir(EXT2_ROOT_INO, 'a', 0o755, 0, 0);
      const b = f.mkdir(EXT2_ROOT_INO, 'b', 0o755, 0, 0);
      const sub = f.mkdir(a, 'sub', 0o700, 0, 0);
      createFile(f, sub, 'inner', enc('inner data'));
      const x = createFile(f, a, 'x', enc('X'));
      const y = createFile(f, b, 'y', enc('Y'));
      expect(f.rename(a, 'x', b, 'y', RENAME_NOREPLACE)).toBe(-EEXIST);
      expect(f.rename(a, 'x', b, 'y', RENAME_EXCHANGE)).toBe(0);
      expect(f.lookup(a, 'x')).toBe(y);
      expect(f.lookup(b, 'y')).toBe(x);
      // Directory rename across parents: ".." and link counts move.
      const rootLinks = f.readInode(EXT2_ROOT_INO).nlink;
      expect(f.rename(a, 'sub', b, 'moved', 0)).toBe(0);
      expect(f.readInode(a).nlink).toBe(2);
      expect(f.readInode(b).nlink).toBe(3);
      expect(f.lookup(sub, '..')).toBe(b);
      expect(f.readInode(EXT2_ROOT_INO).nlink).toBe(rootLinks);
      // A directory cannot move below itself.
      expect(f.rename(b, 'moved', sub, 'loop', 0)).toBe(-EINVAL);
      // Exchange a directory with a file across parents.
      expect(f.rename(b, 'moved', a, 'x', RENAME_EXCHANGE)).toBe(0);
      expect(f.lookup(sub, '..')).toBe(a);
      expect(f.readInode(a).nlink).toBe(3);
      expect(f.readInode(b).nlink).toBe(2);
      // Replace a file: the old target loses its link.
      const z = createFile(f, a, 'z', enc('Z'));
      expect(f.rename(b, 'y', a, 'z', 0)).toBe(0);
      expect(f.readInode(z).nlink).toBe(0);
      f.evictInode(z);
      // Replace an empty directory with a directory; a non-empty one is refused.
      const e1 = f.mkdir(a, 'empty1', 0o755, 0, 0);
      const e2 = f.mkdir(a, 'empty2', 0o755, 0, 0);
      expect(f.rename(a, 'empty2', a, 'x', 0)).toBe(-ENOTEMPTY);
      expect(f.rename(a, 'z', a, 'empty2', 0)).toBe(-EISDIR);
      expect(f.rename(a, 'empty2', a, 'z', 0)).toBe(-ENOTDIR);
      const aLinks = f.readInode(a).nlink;
      expect(f.rename(a, 'empty1', a, 'empty2', 0)).toBe(0);
      expect(f.readInode(e2).nlink).toBe(0);
      expect(f.readInode(a).nlink).toBe(aLinks - 1);
      f.evictInode(e2);
      expect(f.lookup(a, 'empty1')).toBe(0);
      expect(f.lookup(a, 'empty2')).toBe(e1);
      expect(f.rename(a, 'nothing', b, 'q', 0)).toBe(-ENOENT);
      // Move an htree directory: its ".." lives in the dx_root block (checksummed as a dx block).
      const wide = f.resolve('wide');
      expect(f.rename(EXT2_ROOT_INO, 'wide', b, 'wide-moved', 0)).toBe(0);
      expect(f.lookup(wide, '..')).toBe(b);
      expect(f.rename(b, 'wide-moved', EXT2_ROOT_INO, 'wide', 0)).toBe(0);
      expect(f.lookup(wide, '..')).toBe(EXT2_ROOT_INO);
    });
    expectClean(img);
    expect(debugfs(img, 'cat /a/x/inner')).toBe('inner data');
  });

  it('appends, writes a 50 MiB sparse-then-filled file and truncates', () => {
    const MiB = 1024 * 1024;
    withFs(img, (f) => {
      const log = createFile(f, EXT2_ROOT_INO, 'log.txt');
      let expectText = '';
      for (let i = 0; i < 300; i++) {
        const line = `line ${i} ${'-'.repeat(i % 50)}\n`;
        expect(f.write(log, f.readInode(log).size, enc(line))).toBe(line.length);
        expectText += line;
      }
      expect(dec(readAll(f, log))).toBe(expectText);
      const big = createFile(f, EXT2_ROOT_INO, 'big');
      const tail = enc('the end');
      expect(f.write(big, 50 * MiB - tail.length, tail)).toBe(tail.length);
      expect(f.readInode(big).size).toBe(50 * MiB);
      expect(f.readInode(big).blocks).toBeLessThanOrEqual(64);
      const mid = new Uint8Array(4096);
      expect(f.read(big, 20 * MiB, mid)).toBe(4096);
      expect(mid.every((x) => x === 0)).toBe(true);
      for (let off = 0; off < 50 * MiB - MiB; off += MiB)
        expect(f.write(big, off, pattern(MiB, off / MiB + 1))).toBe(MiB);
      const chk = new Uint8Array(MiB);
      f.read(big, 17 * MiB, chk);
      expect(Buffer.from(chk).equals(Buffer.from(pattern(MiB, 18)))).toBe(true);
      // Truncate to an unaligned size, then extend: the old tail must read as zeros.
      expect(f.truncate(big, 10 * MiB + 123)).toBe(0);
      expect(f.truncate(big, 10 * MiB + 8192)).toBe(0);
      const t = new Uint8Array(8192);
      f.read(big, 10 * MiB, t);
      expect(Buffer.from(t.subarray(0, 123)).equals(Buffer.from(pattern(MiB, 11).subarray(0, 123)))).toBe(true);
      expect(t.subarray(123).every((x) => x === 0)).toBe(true);
      // A fragmented file: every other block written, so many extents (a depth-1 tree on ext4).
      const frag = createFile(f, EXT2_ROOT_INO, 'frag');
      const bs = f.blockSize;
      for (let i = 0; i < 400; i++) expect(f.write(frag, 2 * i * bs, pattern(100, i))).toBe(100);
      for (let i = 0; i < 400; i += 57) {
        const got = new Uint8Array(100);
        f.read(frag, 2 * i * bs, got);
        expect(Buffer.from(got).equals(Buffer.from(pattern(100, i)))).toBe(true);
      }
      expect(f.truncate(frag, 301 * bs + 7)).toBe(0);
      expect(f.truncate(log, 0)).toBe(0);
      expect(f.write(log, 0, enc('fresh\n'))).toBe(6);
    });
    expectClean(img);
    withFs(img, (f) => {
      const big = f.resolve('big');
      expect(f.readInode(big).size).toBe(10 * MiB + 8192);
      const chk = new Uint8Array(MiB);
      f.read(big, 3 * MiB, chk);
      expect(Buffer.from(chk).equals(Buffer.from(pattern(MiB, 4)))).toBe(true);
      expect(dec(readAll(f, f.resolve('log.txt')))).toBe('fresh\n');
      const frag = f.resolve('frag');
      expect(f.unlink(EXT2_ROOT_INO, 'frag')).toBe(0);
      f.evictInode(frag);
      expect(f.unlink(EXT2_ROOT_INO, 'big')).toBe(0);
      f.evictInode(big);
    });
    expectClean(img);
  });

  it('makes fast and slow symlinks, device nodes, and removes directories', () => {
    const longTarget = 'some/where/' + 'deep/'.repeat(30) + 'file';
    withFs(img, (f) => {
      const s1 = f.symlink(EXT2_ROOT_INO, 'fast', 'etc/hostname', 0, 0);
      const s2 = f.symlink(EXT2_ROOT_INO, 'slow', longTarget, 0, 0);
      expect(f.readlink(s1)).toBe('etc/hostname');
      expect(f.readlink(s2)).toBe(longTarget);
      expect(f.readInode(s2).mode & S_IFMT).toBe(S_IFLNK);
      const dev = f.createInode(EXT2_ROOT_INO, 0o020000 | 0o600, 0, 0, (4 << 8) | 64);
      expect(f.link(EXT2_ROOT_INO, 'ttyS0', dev)).toBe(0);
      expect(f.readInode(dev).rdev).toBe((4 << 8) | 64);
      const d = f.mkdir(EXT2_ROOT_INO, 'gone', 0o755, 0, 0);
      createFile(f, d, 'f', enc('x'));
      expect(f.rmdir(EXT2_ROOT_INO, 'gone')).toBe(-ENOTEMPTY);
      const fi = f.lookup(d, 'f');
      expect(f.unlink(d, 'f')).toBe(0);
      f.evictInode(fi);
      expect(f.unlink(EXT2_ROOT_INO, 'gone')).toBe(-EISDIR);
      const links = f.readInode(EXT2_ROOT_INO).nlink;
      expect(f.rmdir(EXT2_ROOT_INO, 'gone')).toBe(0);
      expect(f.readInode(EXT2_ROOT_INO).nlink).toBe(links - 1);
      f.evictInode(d);
      expect(f.rmdir(EXT2_ROOT_INO, 'fast')).toBe(-ENOTDIR);
      // An evicted inode cannot be linked again; an unlinked-but-open one (O_TMPFILE-like) can.
      expect(f.link(EXT2_ROOT_INO, 'zombie', fi)).toBe(-ENOENT);
      const tmpfile = f.createInode(EXT2_ROOT_INO, S_IFREG | 0o600, 0, 0);
      expect(f.write(tmpfile, 0, enc('anon'))).toBe(4);
      expect(f.link(EXT2_ROOT_INO, 'was-tmpfile', tmpfile)).toBe(0);
      expect(f.readInode(tmpfile).nlink).toBe(1);
    });
    expectClean(img);
    expect(debugfs(img, 'stat /slow')).toContain('Type: symlink');
    expect(debugfs(img, 'ls -l /')).toContain('ttyS0');
  });

  it('removes all 1000 files and the directory again', () => {
    withFs(img, (f) => {
      const d = f.resolve('many');
      for (const e of f.readdir(d)) {
        if (e.name === '.' || e.name === '..') continue;
        expect(f.unlink(d, e.name)).toBe(0);
        f.evictInode(e.ino);
      }
      expect(f.rmdir(EXT2_ROOT_INO, 'many')).toBe(0);
      f.evictInode(d);
    });
    expectClean(img);
  });
});

describe('images populated with mke2fs -d', () => {
  it('modifies a populated ext4 image and keeps it clean', () => {
    const img = path.join(tmp, 'populated.img');
    execFileSync(MKE2FS, ['-q', '-F', '-t', 'ext4', '-d', srcDir, img, '64M'], { stdio: 'pipe' });
    withFs(img, (f) => {
      const etc = f.resolve('etc');
      expect(dec(readAll(f, f.lookup(etc, 'hostname')))).toBe('labvisor\n');
      // A multi-block linear directory from mke2fs -d: keep adding linearly.
      for (let i = 0; i < 200; i++) createFile(f, etc, `new-${i}`, enc(`n${i}`));
      const big = f.resolve('big.bin');
      expect(f.write(big, 300 * 1024, pattern(5000, 9))).toBe(5000);
      expect(f.truncate(big, 1000)).toBe(0);
    });
    expectClean(img);
    expect(debugfs(img, 'cat /etc/new-150')).toBe('n150');
    // An inode with an extended-attribute block: evicting it frees the block.
    withFs(img, (f) => {
      createFile(f, EXT2_ROOT_INO, 'with-xattr', enc('x'));
    });
    execFileSync(DEBUGFS, ['-w', '-R', `ea_set /with-xattr user.big ${'v'.repeat(600)}`, img], { stdio: 'pipe' });
    expect(debugfs(img, 'stat /with-xattr')).toMatch(/File ACL: [1-9]/);
    withFs(img, (f) => {
      const ino = f.resolve('with-xattr');
      expect(f.unlink(EXT2_ROOT_INO, 'with-xattr')).toBe(0);
      f.evictInode(ino);
    });
    expectClean(img);
    // Unwritten extents (debugfs fallocate), then writes into the middle of them.
    withFs(img, (f) => {
      createFile(f, EXT2_ROOT_INO, 'prealloc', enc('head'));
    });
    execFileSync(DEBUGFS, ['-w', '-R', 'fallocate /prealloc 1 99', img], { stdio: 'pipe' });
    withFs(img, (f) => {
      const ino = f.resolve('prealloc');
      const bs = f.blockSize;
      expect(f.write(ino, 50 * bs + 10, enc('middle'))).toBe(6);
      const got = new Uint8Array(51 * bs);
      expect(f.read(ino, 0, got)).toBe(50 * bs + 16);
      expect(dec(got.subarray(0, 4))).toBe('head');
      expect(got.subarray(4, 50 * bs + 10).every((x) => x === 0)).toBe(true);
      expect(dec(got.subarray(50 * bs + 10, 50 * bs + 16))).toBe('middle');
    });
    expectClean(img);
  });
});

describe.each([
  ['ext4 128-byte inodes', ['-t', 'ext4', '-I', '128']],
  ['ext4 no flex_bg, 2 KiB blocks', ['-t', 'ext4', '-O', '^flex_bg', '-b', '2048']],
  ['ext4 32-bit descriptors', ['-t', 'ext4', '-O', '^64bit', '-b', '1024']],
  ['ext3', ['-t', 'ext3']],
  ['ext4 meta_bg', ['-t', 'ext4', '-O', 'meta_bg,^resize_inode', '-b', '1024']],
  ['ext4 without dir_index', ['-t', 'ext4', '-O', '^dir_index']],
  ['ext2 without dir_index and filetype', ['-t', 'ext2', '-O', '^dir_index,^filetype', '-I', '128']],
])('feature variant: %s', (name, args) => {
  it('survives a mixed workload with e2fsck clean', () => {
    const img = makeImage(name.replace(/\W+/g, '_'), args, '32M');
    withFs(img, (f) => {
      const d = f.mkdir(EXT2_ROOT_INO, 'd', 0o755, 0, 0);
      const e = f.mkdir(EXT2_ROOT_INO, 'e', 0o755, 0, 0);
      const nameOf = (i: number): string => `file-${i}-${'z'.repeat(i % 40)}`;
      for (let i = 0; i < 400; i++) expect(f.write(createFile(f, d, nameOf(i)), i * 1000, pattern(3000, i))).toBe(3000);
      for (let i = 0; i < 400; i += 3) {
        if (i % 2) expect(f.rename(d, nameOf(i), e, `moved-${i}`, 0)).toBe(0);
        else {
          const ino = f.lookup(d, nameOf(i));
          expect(f.unlink(d, nameOf(i))).toBe(0);
          f.evictInode(ino);
        }
      }
      expect(f.symlink(e, 'sl', 'q'.repeat(100), 0, 0)).toBeGreaterThan(0);
      f.mkdir(d, 'sub', 0o755, 0, 0);
      expect(f.rename(d, 'sub', e, 'sub2', 0)).toBe(0);
      expect(f.truncate(f.lookup(d, nameOf(1)), 10)).toBe(0);
    });
    expectClean(img);
    withFs(img, (f) => {
      const got = new Uint8Array(3000);
      expect(f.read(f.resolve('e/moved-3'), 3000, got)).toBe(3000);
      expect(Buffer.from(got).equals(Buffer.from(pattern(3000, 3)))).toBe(true);
    });
  });
});

describe('running out of space', () => {
  it('returns short writes and -ENOSPC when blocks or inodes run out, and stays clean', () => {
    const img = makeImage('full', ['-t', 'ext4', '-b', '1024', '-N', '64'], '4M');
    withFs(img, (f) => {
      const ino = createFile(f, EXT2_ROOT_INO, 'fill');
      const chunk = pattern(256 * 1024, 5);
      let total = 0;
      for (let i = 0; i < 40; i++) {
        const r = f.write(ino, total, chunk);
        if (r < 0) {
          expect(r).toBe(-28);
          break;
        }
        total += r;
        if (r < chunk.length) continue;
      }
      expect(total).toBeGreaterThan(1024 * 1024);
      expect(total).toBeLessThan(4 * 1024 * 1024);
      expect(f.statfs().bfree).toBe(0);
      expect(f.mkdir(EXT2_ROOT_INO, 'nospace', 0o755, 0, 0)).toBe(-28);
      // Free some space again and use up the inodes instead.
      expect(f.truncate(ino, 512 * 1024)).toBe(0);
      let made = 0;
      for (let i = 0; i < 100; i++) {
        const n = f.createInode(EXT2_ROOT_INO, S_IFREG | 0o644, 0, 0);
        if (n < 0) {
          expect(n).toBe(-28);
          break;
        }
        expect(f.link(EXT2_ROOT_INO, `i${i}`, n)).toBe(0);
        made++;
      }
      expect(made).toBeGreaterThan(40);
      expect(made).toBeLessThan(64);
      expect(f.statfs().ffree).toBe(0);
    });
    expectClean(img);
  });
});

describe('metadata_csum_seed', () => {
  it('keeps checksums right with INCOMPAT_CSUM_SEED after a UUID change', () => {
    const img = makeImage('seed', ['-t', 'ext4', '-O', 'metadata_csum_seed', '-b', '1024'], '32M');
    execFileSync('/usr/sbin/tune2fs', ['-U', 'random', img], { stdio: 'pipe' });
    withFs(img, (f) => {
      const d = f.mkdir(EXT2_ROOT_INO, 'd', 0o755, 0, 0);
      for (let i = 0; i < 300; i++) createFile(f, d, `entry-${i}`, pattern(1500, i));
      const s = f.symlink(d, 'link', 'y'.repeat(200), 0, 0);
      expect(f.readlink(s)).toBe('y'.repeat(200));
    });
    expectClean(img);
    expect(debugfs(img, 'stat /d/entry-7')).toMatch(/Size: 1500\b/);
  });
});

describe('htree hashes', () => {
  it('computes the kernel half-MD4 and TEA hashes (checked by e2fsck on real directories)', () => {
    const seed = new Uint32Array(4);
    // Different names give different hashes; the low bit is always clear.
    const h1 = dirHash(enc('hello'), 1, seed);
    const h2 = dirHash(enc('hellp'), 1, seed);
    expect(h1).not.toBe(h2);
    expect(h1 & 1).toBe(0);
    expect(dirHash(enc('a'.repeat(100)), 2, seed) & 1).toBe(0);
    expect(dirHash(enc('abc'), 0, seed) & 1).toBe(0);
  });

  it('matches debugfs dx_hash', () => {
    let checked = 0;
    for (const [alg, v] of [
      ['half_md4', 1],
      ['tea', 2],
      ['legacy', 0],
    ] as const) {
      for (const n of ['hello', 'file-number-999.txt', 'x'.repeat(70), '\u00e9t\u00e9']) {
        const out = execFileSync(DEBUGFS, ['-R', `dx_hash -h ${alg} ${n}`, '/dev/null'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        }).toString();
        const m = /Hash of .* is (0x[0-9a-f]+)/.exec(out);
        if (!m) continue;
        const bytes = Uint8Array.from(Buffer.from(n, 'utf8'));
        expect(dirHash(bytes, v, new Uint32Array(4)), `${alg} ${n}`).toBe(Number(m[1]));
        checked++;
      }
    }
    expect(checked).toBe(12);
  });
});

describe('hostile images', () => {
  let base: Uint8Array;
  beforeAll(() => {
    const img = makeImage('hostile', ['-t', 'ext4', '-b', '1024'], '8M');
    withFs(img, (f) => {
      const a = f.mkdir(EXT2_ROOT_INO, 'a', 0o755, 0, 0);
      const b = f.mkdir(a, 'b', 0o755, 0, 0);
      f.mkdir(EXT2_ROOT_INO, 'c', 0o755, 0, 0);
      createFile(f, b, 'file', pattern(20000, 1));
    });
    base = new Uint8Array(fs.readFileSync(img));
  });

  const expectExt2Error = (fn: () => unknown): void => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(Ext2Error);
      return;
    }
    throw new Error('no Ext2Error');
  };

  it('refuses a truncated image and a bad magic', () => {
    expectExt2Error(() => Ext2Fs.mount(new MemBlockDevice(base.slice(0, base.length / 3))));
    const img = base.slice();
    img[1024 + 0x38] = 0;
    expectExt2Error(() => Ext2Fs.mount(new MemBlockDevice(img)));
  });

  it('detects a directory loop made of ".." entries on rename', () => {
    const img = base.slice();
    const f0 = Ext2Fs.mount(new MemBlockDevice(img), { readOnly: true });
    const a = f0.resolve('a');
    const b = f0.resolve('a/b');
    // Make a's ".." point at b: a loop a -> b -> a that only a ".." walk can see.
    const pblk = f0.bmap(f0.readInode(a), 0);
    const off = pblk * 1024 + 12;
    new DataView(img.buffer).setUint32(off, b, true);
    // Fix the directory block tail checksum so only the loop is wrong.
    const blk = img.subarray(pblk * 1024, pblk * 1024 + 1024);
    setDirTailCsum(blk, 1024, inodeCsumSeed(f0.info, a, f0.readInode(a).generation));
    const f = Ext2Fs.mount(new MemBlockDevice(img));
    expectExt2Error(() => f.rename(EXT2_ROOT_INO, 'c', b, 'c2', 0));
  });

  it('only throws Ext2Error when writing to randomly damaged images', () => {
    let seed = 4242;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let t = 0; t < 40; t++) {
      const img = base.slice();
      for (let k = 0; k < 100; k++) img[2048 + rnd(400 * 1024)] = rnd(256);
      try {
        const f = Ext2Fs.mount(new MemBlockDevice(img));
        const ops: Array<() => unknown> = [
          () => f.mkdir(EXT2_ROOT_INO, `d${t}`, 0o755, 0, 0),
          () => f.write(f.resolve('a/b/file'), 100, pattern(5000, t)),
          () => f.truncate(f.resolve('a/b/file'), 10),
          () => f.rename(f.resolve('a'), 'b', EXT2_ROOT_INO, 'bb', 0),
          () => f.unlink(f.resolve('a/b'), 'file'),
          () => f.rmdir(EXT2_ROOT_INO, 'c'),
          () => f.symlink(EXT2_ROOT_INO, 'l', 'x'.repeat(100), 0, 0),
        ];
        for (const op of ops) {
          try {
            op();
          } catch (e) {
            expect(e).toBeInstanceOf(Ext2Error);
          }
        }
        f.unmount();
      } catch (e) {
        expect(e).toBeInstanceOf(Ext2Error);
      }
    }
  });

  /** Patch inode `ino`'s raw bytes with `fn` and fix its checksum, so only the patched field is wrong. */
  const patchInode = (img: Uint8Array, ino: number, fn: (raw: Uint8Array) => void): void => {
    const f0 = Ext2Fs.mount(new MemBlockDevice(img), { readOnly: true });
    const { info } = f0;
    const g = Math.floor((ino - 1) / info.sb.inodesPerGroup);
    const off = info.groups[g].inodeTable * info.blockSize + ((ino - 1) % info.sb.inodesPerGroup) * info.inodeSize;
    const raw = img.subarray(off, off + info.inodeSize);
    fn(raw);
    setInodeChecksum(info, ino, raw);
  };

  it('refuses to write through a bad extent header and marks the filesystem with errors', () => {
    const img = base.slice();
    const f0 = Ext2Fs.mount(new MemBlockDevice(img), { readOnly: true });
    const ino = f0.resolve('a/b/file');
    patchInode(img, ino, (raw) => {
      raw[0x28] = 0x0b; // eh_magic
    });
    const logs: string[] = [];
    const f = Ext2Fs.mount(new MemBlockDevice(img), { log: (m) => logs.push(m) });
    expectExt2Error(() => f.write(ino, 0, enc('x')));
    expect(f.readOnly).toBe(true);
    expect(logs.join('\n')).toMatch(/remounting filesystem read-only/);
    expect(img[1024 + 0x3a] & 2).toBe(2); // EXT4_ERROR_FS on disk
    const again = Ext2Fs.mount(new MemBlockDevice(img), { log: () => {} });
    expect(again.readOnly).toBe(true);
  });

  it('refuses extents with bad depth, entry counts and out-of-range blocks', () => {
    for (const [off, val] of [
      [0x28 + 6, 7], // eh_depth too deep
      [0x28 + 2, 9], // eh_entries > eh_max
      [0x28 + 12 + 8, 0xff], // ee_start_lo high byte: far beyond the device
    ] as const) {
      const img = base.slice();
      const f0 = Ext2Fs.mount(new MemBlockDevice(img), { readOnly: true });
      const ino = f0.resolve('a/b/file');
      patchInode(img, ino, (raw) => {
        raw[off + (off === 0x28 + 12 + 8 ? 3 : 0)] = val;
      });
      const f = Ext2Fs.mount(new MemBlockDevice(img));
      expectExt2Error(() => {
        const r = f.read(ino, 0, new Uint8Array(20000));
        f.write(ino, 30000, enc('y'));
        f.truncate(ino, 1);
        return r;
      });
    }
  });

  it('refuses a directory block whose rec_len overruns the block', () => {
    const img = base.slice();
    const f0 = Ext2Fs.mount(new MemBlockDevice(img), { readOnly: true });
    const c = f0.resolve('c');
    const pblk = f0.bmap(f0.readInode(c), 0);
    const blk = img.subarray(pblk * 1024, pblk * 1024 + 1024);
    blk[12 + 4] = 0xf0; // ".." rec_len low byte -> 0x3f0 + 12 > 1012
    blk[12 + 5] = 0x03;
    setDirTailCsum(blk, 1024, inodeCsumSeed(f0.info, c, f0.readInode(c).generation));
    const f = Ext2Fs.mount(new MemBlockDevice(img));
    expectExt2Error(() => f.mkdir(c, 'sub', 0o755, 0, 0));
  });

  it('applies the dir_nlink rules past 65000 subdirectories', () => {
    const img = base.slice();
    const f = Ext2Fs.mount(new MemBlockDevice(img));
    const d = f.mkdir(EXT2_ROOT_INO, 'lots', 0o755, 0, 0);
    for (let i = 0; i < 40; i++) createFile(f, d, `${'n'.repeat(60)}${i}`); // > 1 block: indexed
    expect(f.readInode(d).flags & 0x1000).toBe(0x1000);
    const inode = f.readInode(d);
    f.writeInode(d, { ...inode, nlink: 64998 });
    expect(f.mkdir(d, 's1', 0o755, 0, 0)).toBeGreaterThan(0);
    expect(f.readInode(d).nlink).toBe(64999);
    expect(f.mkdir(d, 's2', 0o755, 0, 0)).toBeGreaterThan(0);
    expect(f.readInode(d).nlink).toBe(1);
    expect(f.mkdir(d, 's3', 0o755, 0, 0)).toBeGreaterThan(0);
    expect(f.readInode(d).nlink).toBe(1);
    expect(f.rmdir(d, 's3')).toBe(0);
    expect(f.readInode(d).nlink).toBe(1);
  });

  it('mounts read-only when the journal needs recovery', () => {
    const img = base.slice();
    img[1024 + 0x60] |= 0x4; // INCOMPAT_RECOVER
    new DataView(img.buffer).setUint32(1024 + 0x3fc, superblockChecksum(img.subarray(1024, 2048)), true);
    const logs: string[] = [];
    const f = Ext2Fs.mount(new MemBlockDevice(img), { log: (m) => logs.push(m) });
    expect(f.readOnly).toBe(true);
    expect(logs.join('\n')).toMatch(/recovery required/);
    expect(f.mkdir(EXT2_ROOT_INO, 'x', 0o755, 0, 0)).toBe(-30);
  });
});

void S_IFDIR;
