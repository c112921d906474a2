/**
 * ext4 through the VFS: an image made by mke2fs, on a DiskImage overlay, mounted by ext4FsType
 * and used with the real system calls (openat, write, read, mkdirat, renameat2, unlinkat ...) of
 * a test task; after unmount the flattened disk must pass `e2fsck -fn` and `debugfs` must show
 * the data, and the base image must be unchanged.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as E from '../../../src/kernel/errno.js';
import { Clock } from '../../../src/machine/dev/clock.js';
import { DiskImage, MemDisk, type DiskBackend } from '../../../src/machine/dev/disk.js';
import { addDisk, type GenDisk } from '../../../src/kernel/block/genhd.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { Mount } from '../../../src/kernel/fs/mount.js';
import { kernPath } from '../../../src/kernel/fs/namei.js';
import type { Path } from '../../../src/kernel/fs/path.js';
import { SB_RDONLY, type SuperBlock } from '../../../src/kernel/fs/super.js';
import {
  AT_FDCWD,
  AT_REMOVEDIR,
  O_APPEND,
  O_CREAT,
  O_DIRECTORY,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
} from '../../../src/kernel/fs/uapi.js';
import { ext4FsType, mountRootDisk } from '../../../src/kernel/fs/ext4/super.js';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../../../src/kernel/mm/mman.js';
import { copyToUser } from '../../../src/kernel/mm/uaccess.js';
import * as N from '../../../src/kernel/syscall/numbers.js';
import { UBUF, makeEnv, type TestEnv } from './helpers.js';

const MKE2FS = '/usr/sbin/mke2fs';
const DEBUGFS = '/usr/sbin/debugfs';
const E2FSCK = '/usr/sbin/e2fsck';

let tmp: string;
const logs: string[] = [];
const kernel = { clock: new Clock(), log: (m: string) => logs.push(m) } as unknown as Kernel;

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

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** mke2fs -t ext4 an image of `size`, optionally filled from a host directory. */
function mkImage(name: string, size: string, srcDir?: string): string {
  const img = path.join(tmp, name);
  const args = ['-q', '-F', '-t', 'ext4', '-b', '4096'];
  if (srcDir) args.push('-d', srcDir);
  execFileSync(MKE2FS, [...args, img, size], { stdio: 'pipe' });
  return img;
}

/** Copy what the guest sees (base + overlay) to a flat image for e2fsck/debugfs. */
function flatten(disk: DiskBackend, out: string): string {
  const fd = fs.openSync(out, 'w');
  const step = 2048;
  for (let s = 0; s < disk.sectors; s += step) {
    const n = Math.min(step, disk.sectors - s);
    fs.writeSync(fd, disk.readSectors(s, n), 0, n * 512, s * 512);
  }
  fs.closeSync(fd);
  return out;
}

function fsck(img: string): { status: number | null; out: string } {
  const r = spawnSync(E2FSCK, ['-fn', img], { encoding: 'latin1' });
  return { status: r.status, out: r.stdout + r.stderr };
}

function debugfsCat(img: string, p: string): Buffer {
  return execFileSync(DEBUGFS, ['-R', `cat ${p}`, img], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
}

/** Mount `disk` at /mnt of a fresh test environment (what mount(2) does after get_tree). */
function mountAt(env: TestEnv, disk: GenDisk, ro = false): SuperBlock {
  // makeEnv's task has an empty Kernel; /proc's load sampler (a 5 s timer) reads its clock.
  Object.assign(env.task.kernel, { clock: kernel.clock, tasks: new Map() });
  const sb = mountRootDisk(kernel, disk, ro);
  if (typeof sb === 'number') throw new Error(`mount failed: ${sb}\n${logs.join('\n')}`);
  env.rootFs.mkdirp('/mnt');
  const mp = kernPath(env.rootFs.root, '/mnt') as Path;
  new Mount(sb, sb.root, '/dev/vda', mp.mnt, mp.dentry);
  sb.activeMounts = 1;
  return sb;
}

/** Helpers over the test task's system calls. */
function io(env: TestEnv) {
  const open = (p: string, flags: number, mode = 0o644): number =>
    env.call(N.SYS_openat, AT_FDCWD, env.str(p), flags, mode);
  const write = (fd: number, data: Uint8Array): number => {
    let done = 0;
    while (done < data.length) {
      const n = Math.min(256 * 1024, data.length - done);
      const a = env.put(data.subarray(done, done + n), 0x1000);
      const r = env.call(N.SYS_write, fd, a, n);
      if (r < 0) return done > 0 ? done : r;
      done += r;
      if (r < n) break;
    }
    return done;
  };
  const read = (fd: number, len: number): Uint8Array | number => {
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < len) {
      const n = Math.min(256 * 1024, len - total);
      const r = env.call(N.SYS_read, fd, UBUF + 0x1000, n);
      if (r < 0) return r;
      if (r === 0) break;
      parts.push(env.get(UBUF + 0x1000, r));
      total += r;
    }
    return new Uint8Array(Buffer.concat(parts));
  };
  const readFile = (p: string): Uint8Array | number => {
    const fd = open(p, O_RDONLY);
    if (fd < 0) return fd;
    const r = read(fd, 64 << 20);
    env.call(N.SYS_close, fd);
    return r;
  };
  const writeFile = (p: string, data: Uint8Array): number => {
    const fd = open(p, O_CREAT | O_WRONLY | O_TRUNC);
    if (fd < 0) return fd;
    const r = write(fd, data);
    env.call(N.SYS_close, fd);
    return r;
  };
  const listDir = (p: string): string[] | number => {
    const fd = open(p, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return fd;
    const names: string[] = [];
    for (;;) {
      const n = env.call(N.SYS_getdents64, fd, UBUF + 0x1000, 65536);
      if (n < 0) return n;
      if (n === 0) break;
      const b = Buffer.from(env.get(UBUF + 0x1000, n));
      for (let off = 0; off < n;) {
        const reclen = b.readUInt16LE(off + 16);
        const end = b.indexOf(0, off + 19);
        names.push(b.toString('latin1', off + 19, end));
        off += reclen;
      }
    }
    env.call(N.SYS_close, fd);
    return names.sort();
  };
  const str2 = (s: string): number => env.str(s, 0x800);
  return { open, write, read, readFile, writeFile, listDir, str2 };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext4-vfs-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('ext4 VFS glue', () => {
  it('refuses a disk without an ext4 filesystem', () => {
    const disk = addDisk(new MemDisk(new Uint8Array(1 << 20)));
    const r = ext4FsType.mount({ kernel, source: '/dev/vda', flags: 0, data: '', disk });
    expect(r).toBe(-E.EINVAL);
    expect(ext4FsType.mount({ kernel, source: '/dev/vda', flags: 0, data: '', disk: null })).toBe(-E.ENOTBLK);
    const img = mkImage('opts.img', '8M');
    const d2 = addDisk(DiskImage.open({ base: img, overlay: img + '.ovl' }));
    expect(ext4FsType.mount({ kernel, source: '/dev/vda', flags: 0, data: 'bogus', disk: d2 })).toBe(-E.EINVAL);
    expect(logs.some((l) => l.includes('Unrecognized mount option "bogus"'))).toBe(true);
  });

  it('reads what mke2fs -d put on the image', () => {
    const src = path.join(tmp, 'src');
    fs.mkdirSync(path.join(src, 'dir'), { recursive: true });
    const big = pattern(200_000, 7);
    fs.writeFileSync(path.join(src, 'hello.txt'), 'hello, ext4\n');
    fs.writeFileSync(path.join(src, 'dir', 'big.bin'), big);
    fs.symlinkSync('dir/big.bin', path.join(src, 'link'));
    const img = mkImage('ro.img', '16M', src);
    const before = sha(img);
    const disk = addDisk(DiskImage.open({ base: img, overlay: path.join(tmp, 'ro.ovl') }));
    const env = makeEnv();
    const sb = mountAt(env, disk, true);
    const { readFile, listDir, open } = io(env);
    expect(Buffer.from(readFile('/mnt/hello.txt') as Uint8Array).toString()).toBe('hello, ext4\n');
    expect(readFile('/mnt/link')).toEqual(big);
    expect(listDir('/mnt')).toEqual(['.', '..', 'dir', 'hello.txt', 'link', 'lost+found']);
    expect(open('/mnt/new', O_CREAT | O_WRONLY)).toBe(-E.EROFS);
    sb.ops.putSuper!(sb);
    disk.driver.disk.close();
    expect(sha(img)).toBe(before);
  });

  it('creates, writes, renames, links, unlinks, truncates and maps; e2fsck is clean and debugfs shows the data', () => {
    const img = mkImage('rw.img', '32M');
    const before = sha(img);
    const ovl = path.join(tmp, 'rw.ovl');
    const disk = addDisk(DiskImage.open({ base: img, overlay: ovl }));
    const env = makeEnv();
    const sb = mountAt(env, disk);
    const { open, write, read, readFile, writeFile, listDir, str2 } = io(env);

    const f = pattern(10_000, 1);
    expect(writeFile('/mnt/f', f)).toBe(10_000);
    expect(readFile('/mnt/f')).toEqual(f);

    expect(env.call(N.SYS_mkdirat, AT_FDCWD, env.str('/mnt/d'), 0o755)).toBe(0);
    expect(writeFile('/mnt/d/g', new TextEncoder().encode('abc'))).toBe(3);
    expect(env.call(N.SYS_renameat2, AT_FDCWD, env.str('/mnt/d/g'), AT_FDCWD, str2('/mnt/g2'), 0)).toBe(0);
    expect(readFile('/mnt/d/g')).toBe(-E.ENOENT);
    expect(env.call(N.SYS_symlinkat, env.str('f'), AT_FDCWD, str2('/mnt/s'))).toBe(0);
    expect(readFile('/mnt/s')).toEqual(f);
    expect(env.call(N.SYS_linkat, AT_FDCWD, env.str('/mnt/f'), AT_FDCWD, str2('/mnt/f.hard'), 0)).toBe(0);
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, env.str('/mnt/f.hard'), 0)).toBe(0);

    // Append, and a 3 MiB file cut to 1 MiB + 5.
    const fa = open('/mnt/f', O_WRONLY | O_APPEND);
    expect(write(fa, new TextEncoder().encode('tail'))).toBe(4);
    env.call(N.SYS_close, fa);
    const big = pattern(3 << 20, 2);
    expect(writeFile('/mnt/big', big)).toBe(3 << 20);
    const fb = open('/mnt/big', O_RDWR);
    expect(env.call(N.SYS_ftruncate, fb, (1 << 20) + 5)).toBe(0);
    env.call(N.SYS_close, fb);

    // Unlinked while open: still readable through the fd, gone after close.
    const fu = open('/mnt/gone', O_CREAT | O_RDWR);
    expect(write(fu, pattern(50_000, 3))).toBe(50_000);
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, env.str('/mnt/gone'), 0)).toBe(0);
    expect(env.call(N.SYS_lseek, fu, 0, 0)).toBe(0);
    expect(read(fu, 50_000)).toEqual(pattern(50_000, 3));
    env.call(N.SYS_close, fu);

    // A shared writable mapping: stores reach the file through the page cache.
    const fm = open('/mnt/m', O_CREAT | O_RDWR);
    expect(write(fm, new Uint8Array(8192))).toBe(8192);
    const file = env.task.files.get(fm)!;
    const va = env.task.mm.mmapRegion(0x20000000, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
    expect(va).toBe(0x20000000);
    expect(copyToUser(env.task.mm, va + 4096, new TextEncoder().encode('mapped!'))).toBe(0);
    env.call(N.SYS_close, fm);

    // A directory with enough entries to need more than one block (htree in the engine).
    expect(env.call(N.SYS_mkdirat, AT_FDCWD, env.str('/mnt/many'), 0o755)).toBe(0);
    for (let i = 0; i < 300; i++)
      expect(writeFile(`/mnt/many/file-with-a-long-name-${i}`, new Uint8Array([i & 0xff]))).toBe(1);
    expect((listDir('/mnt/many') as string[]).length).toBe(302);
    for (let i = 0; i < 300; i += 2)
      expect(env.call(N.SYS_unlinkat, AT_FDCWD, env.str(`/mnt/many/file-with-a-long-name-${i}`), 0)).toBe(0);
    expect(env.call(N.SYS_mkdirat, AT_FDCWD, env.str('/mnt/empty'), 0o700)).toBe(0);
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, env.str('/mnt/empty'), AT_REMOVEDIR)).toBe(0);
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, env.str('/mnt/d'), AT_REMOVEDIR)).toBe(0);

    // A sparse file: SEEK_DATA / SEEK_HOLE walk the block map.
    const fs1 = open('/mnt/sparse', O_CREAT | O_RDWR);
    expect(write(fs1, new Uint8Array(4096).fill(1))).toBe(4096);
    expect(env.call(N.SYS_lseek, fs1, 1 << 20, 0)).toBe(1 << 20);
    expect(write(fs1, new Uint8Array(4096).fill(2))).toBe(4096);
    expect(env.call(N.SYS_lseek, fs1, 0, 4 /* SEEK_HOLE */)).toBe(4096);
    expect(env.call(N.SYS_lseek, fs1, 4096, 3 /* SEEK_DATA */)).toBe(1 << 20);
    expect(env.call(N.SYS_lseek, fs1, (1 << 20) + 4096, 3)).toBe(-E.ENXIO);
    env.call(N.SYS_close, fs1);

    // chmod reaches the disk at write-back; statfs reports the engine's counts.
    expect(env.call(N.SYS_fchmodat, AT_FDCWD, env.str('/mnt/g2'), 0o600)).toBe(0);
    expect(env.call(N.SYS_statfs, env.str('/mnt'), UBUF + 0x2000)).toBe(0);
    const st = Buffer.from(env.get(UBUF + 0x2000, 120));
    expect(st.readUInt32LE(0)).toBe(0xef53);
    expect(Number(st.readBigUInt64LE(8))).toBe(4096);
    expect(Number(st.readBigUInt64LE(16))).toBe(8192);
    expect(Number(st.readBigUInt64LE(24))).toBeLessThan(8192 - 256);

    expect(listDir('/mnt')).toEqual(['.', '..', 'big', 'f', 'g2', 'lost+found', 'm', 'many', 's', 'sparse']);
    expect(sb.ops.syncFs!(sb)).toBe(0);
    sb.ops.putSuper!(sb);
    env.task.mm.destroy();
    const errs = logs.filter((l) => l.includes('EXT4-fs error'));
    expect(errs).toEqual([]);

    const flat = flatten(disk.driver.disk, path.join(tmp, 'rw-flat.img'));
    disk.driver.disk.close();
    expect(sha(img)).toBe(before);
    const ck = fsck(flat);
    expect(ck.out).not.toMatch(/Fix\?|error|Error|corrupt/);
    expect(ck.status).toBe(0);
    const want = Buffer.concat([Buffer.from(f), Buffer.from('tail')]);
    expect(debugfsCat(flat, '/f').equals(want)).toBe(true);
    expect(debugfsCat(flat, '/g2').toString()).toBe('abc');
    expect(debugfsCat(flat, '/big').equals(Buffer.from(big.subarray(0, (1 << 20) + 5)))).toBe(true);
    expect(debugfsCat(flat, '/m').subarray(4096, 4103).toString()).toBe('mapped!');
    expect(debugfsCat(flat, '/many/file-with-a-long-name-7')[0]).toBe(7);
    const stat = execFileSync(DEBUGFS, ['-R', 'stat /g2', flat], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    expect(stat).toMatch(/Mode: +0600/);
    const sp = debugfsCat(flat, '/sparse');
    expect(sp.length).toBe((1 << 20) + 4096);
    expect(sp[0]).toBe(1);
    expect(sp[1 << 19]).toBe(0);
    expect(sp[1 << 20]).toBe(2);

    // The overlay survives a restart: mount again and read it back.
    const disk2 = addDisk(DiskImage.open({ base: img, overlay: ovl }));
    const env2 = makeEnv();
    const sb2 = mountAt(env2, disk2);
    const io2 = io(env2);
    expect(Buffer.from(io2.readFile('/mnt/f') as Uint8Array).equals(want)).toBe(true);
    expect((io2.listDir('/mnt/many') as string[]).length).toBe(152);
    // mount -o remount,ro then rw (the VFS sets sb.flags after a successful remountFs).
    expect(sb2.ops.remountFs!(sb2, SB_RDONLY, '')).toBe(0);
    sb2.flags |= SB_RDONLY;
    expect(io2.open('/mnt/new', O_CREAT | O_WRONLY)).toBe(-E.EROFS);
    expect(sb2.ops.remountFs!(sb2, 0, 'errors=continue')).toBe(0);
    sb2.flags &= ~SB_RDONLY;
    expect(sb2.ops.showOptions!(sb2)).toBe(',errors=continue');
    expect(io2.writeFile('/mnt/new', new TextEncoder().encode('after remount'))).toBe(13);
    sb2.ops.putSuper!(sb2);
    expect(fsck(flatten(disk2.driver.disk, path.join(tmp, 'rw-flat2.img'))).status).toBe(0);
    disk2.driver.disk.close();
  });

  it('reports ENOSPC from write() and stays consistent', () => {
    const img = mkImage('small.img', '4M');
    const disk = addDisk(DiskImage.open({ base: img, overlay: path.join(tmp, 'small.ovl') }));
    const env = makeEnv();
    const sb = mountAt(env, disk);
    const { open, write } = io(env);
    const fd = open('/mnt/fill', O_CREAT | O_WRONLY);
    const n = write(fd, new Uint8Array(8 << 20).fill(0x5a));
    expect(n).toBeGreaterThan(1 << 20);
    expect(n).toBeLessThan(4 << 20);
    expect(write(fd, new Uint8Array(4096))).toBe(-E.ENOSPC);
    env.call(N.SYS_close, fd);
    sb.ops.putSuper!(sb);
    const flat = flatten(disk.driver.disk, path.join(tmp, 'small-flat.img'));
    disk.driver.disk.close();
    const ck = fsck(flat);
    expect(ck.status).toBe(0);
    expect(debugfsCat(flat, '/fill').length).toBe(n);
  });
});
