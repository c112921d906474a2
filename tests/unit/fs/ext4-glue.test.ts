/**
 * The ext4 VFS glue on an in-memory engine that follows the engine contract (docs/CONTRACTS.md):
 * checks what the glue itself decides — page-cache write-back, i_size ownership, inode
 * attribute write-back, eviction of unlinked-but-open inodes, ownership of new inodes, the
 * error path (log + remount read-only) — independently of the on-disk engine.
 */
import { describe, expect, it } from 'vitest';
import * as E from '../../../src/kernel/errno.js';
import { Clock } from '../../../src/machine/dev/clock.js';
import { MemDisk } from '../../../src/machine/dev/disk.js';
import { addDisk } from '../../../src/kernel/block/genhd.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { Mount } from '../../../src/kernel/fs/mount.js';
import { kernPath } from '../../../src/kernel/fs/namei.js';
import type { Path } from '../../../src/kernel/fs/path.js';
import type { SuperBlock } from '../../../src/kernel/fs/super.js';
import { Ext2Error } from '../../../src/kernel/fs/ext2/errors.js';
import type { DirEntryInfo } from '../../../src/kernel/fs/ext2/dir.js';
import type { EngineInode, Ext4Engine } from '../../../src/kernel/fs/ext4/ext4.js';
import { ext4FillSuper, ext4FsType, ext4WritebackAll } from '../../../src/kernel/fs/ext4/super.js';
import {
  AT_FDCWD,
  AT_REMOVEDIR,
  O_CREAT,
  O_DIRECT,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
} from '../../../src/kernel/fs/uapi.js';
import * as N from '../../../src/kernel/syscall/numbers.js';
import { MAP_SHARED, PROT_READ, PROT_WRITE } from '../../../src/kernel/mm/mman.js';
import { copyToUser } from '../../../src/kernel/mm/uaccess.js';
import { UBUF, makeEnv, type TestEnv } from './helpers.js';

interface FInode {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  times: { sec: number; nsec: number };
  data: Uint8Array;
  size: number;
  entries: Map<string, number>;
  target: string;
  /** Allocated 4 KiB blocks by logical number. */
  alloc: Set<number>;
}

/** An engine of the contract, in memory; counts calls the tests look at. */
class FakeEngine implements Ext4Engine {
  readOnly = false;
  readonly blockSize = 4096;
  readonly inodes = new Map<number, FInode>();
  private next = 11;
  freeBlocks = 1000;
  calls: Record<string, number> = {};
  evicted: number[] = [];
  throwOn: string | null = null;

  constructor() {
    this.inodes.set(2, this.mk(2, S_IFDIR | 0o755, 0, 0));
    this.inodes.get(2)!.nlink = 2;
  }
  private mk(ino: number, mode: number, uid: number, gid: number): FInode {
    return {
      ino,
      mode,
      uid,
      gid,
      nlink: 0,
      times: { sec: 1, nsec: 0 },
      data: new Uint8Array(0),
      size: 0,
      entries: new Map(),
      target: '',
      alloc: new Set(),
    };
  }
  private count(n: string): void {
    this.calls[n] = (this.calls[n] ?? 0) + 1;
    if (this.throwOn === n) throw new Ext2Error(`inode #2: block 1234: bad extent header`);
  }
  private get(ino: number): FInode {
    const i = this.inodes.get(ino);
    if (!i) throw new Ext2Error(`bad inode ${ino}`);
    return i;
  }
  readInode(ino: number): EngineInode {
    this.count('readInode');
    const i = this.get(ino);
    const t = i.times;
    return {
      ino,
      mode: i.mode,
      uid: i.uid,
      gid: i.gid,
      size: i.size,
      nlink: i.nlink,
      blocks: i.alloc.size * 8,
      flags: 0,
      atime: t,
      mtime: t,
      ctime: t,
      crtime: t,
      generation: 0,
      fileAcl: 0,
      rdev: 0,
      dtime: 0,
      raw: {} as EngineInode['raw'],
    };
  }
  writeInode(ino: number, n: EngineInode): void {
    this.count('writeInode');
    const i = this.get(ino);
    i.mode = n.mode;
    i.uid = n.uid;
    i.gid = n.gid;
    i.size = n.size;
    i.times = n.mtime;
  }
  lookup(dirIno: number, name: string): number {
    this.count('lookup');
    return this.get(dirIno).entries.get(name) ?? 0;
  }
  readdir(dirIno: number): DirEntryInfo[] {
    this.count('readdir');
    const out: DirEntryInfo[] = [
      { name: '.', ino: dirIno, type: 2 },
      { name: '..', ino: 2, type: 2 },
    ];
    for (const [name, ino] of this.get(dirIno).entries)
      out.push({ name, ino, type: (this.get(ino).mode & S_IFMT) === S_IFDIR ? 2 : 1 });
    return out;
  }
  readlink(ino: number): string {
    return this.get(ino).target;
  }
  read(ino: number, pos: number, buf: Uint8Array): number {
    this.count('read');
    const i = this.get(ino);
    const n = Math.max(0, Math.min(buf.length, i.size - pos));
    buf.fill(0, 0, n);
    buf.set(i.data.subarray(pos, pos + n));
    return n;
  }
  write(ino: number, pos: number, data: Uint8Array): number {
    this.count('write');
    const i = this.get(ino);
    const end = pos + data.length;
    for (let b = Math.floor(pos / 4096); b * 4096 < end; b++) {
      if (!i.alloc.has(b)) {
        if (this.freeBlocks === 0) return -E.ENOSPC;
        this.freeBlocks--;
        i.alloc.add(b);
      }
    }
    if (i.data.length < end) {
      const d = new Uint8Array(Math.max(end, i.data.length * 2));
      d.set(i.data);
      i.data = d;
    }
    i.data.set(data, pos);
    if (end > i.size) i.size = end;
    return data.length;
  }
  mapBlocks(ino: number, lblk: number, maxLen: number, create: boolean): { pblk: number; len: number } | number {
    this.count('mapBlocks');
    const i = this.get(ino);
    if (!i.alloc.has(lblk)) {
      if (!create) return { pblk: 0, len: 1 };
      if (this.freeBlocks === 0) return -E.ENOSPC;
      this.freeBlocks--;
      i.alloc.add(lblk);
    }
    void maxLen;
    return { pblk: 1000 + lblk, len: 1 };
  }
  truncate(ino: number, size: number): number {
    this.count('truncate');
    const i = this.get(ino);
    for (const b of [...i.alloc])
      if (b * 4096 >= size) {
        i.alloc.delete(b);
        this.freeBlocks++;
      }
    if (size < i.data.length) i.data.fill(0, size);
    i.size = size;
    return 0;
  }
  createInode(dirIno: number, mode: number, uid: number, gid: number): number {
    this.count('createInode');
    void dirIno;
    const ino = this.next++;
    this.inodes.set(ino, this.mk(ino, mode, uid, gid));
    return ino;
  }
  link(dirIno: number, name: string, ino: number): number {
    this.count('link');
    const d = this.get(dirIno);
    if (d.entries.has(name)) return -E.EEXIST;
    d.entries.set(name, ino);
    this.get(ino).nlink++;
    return 0;
  }
  unlink(dirIno: number, name: string): number {
    this.count('unlink');
    const d = this.get(dirIno);
    const ino = d.entries.get(name);
    if (!ino) return -E.ENOENT;
    d.entries.delete(name);
    this.get(ino).nlink--;
    return 0;
  }
  mkdir(dirIno: number, name: string, mode: number, uid: number, gid: number): number {
    const ino = this.createInode(dirIno, mode, uid, gid);
    const r = this.link(dirIno, name, ino);
    if (r < 0) return r;
    this.get(ino).nlink = 2;
    this.get(dirIno).nlink++;
    return ino;
  }
  rmdir(dirIno: number, name: string): number {
    const d = this.get(dirIno);
    const ino = d.entries.get(name);
    if (!ino) return -E.ENOENT;
    if (this.get(ino).entries.size > 0) return -E.ENOTEMPTY;
    d.entries.delete(name);
    this.get(ino).nlink = 0;
    d.nlink--;
    return 0;
  }
  symlink(dirIno: number, name: string, target: string, uid: number, gid: number): number {
    const ino = this.createInode(dirIno, S_IFLNK | 0o777, uid, gid);
    this.get(ino).target = target;
    this.get(ino).size = target.length;
    const r = this.link(dirIno, name, ino);
    return r < 0 ? r : ino;
  }
  rename(oldDir: number, oldName: string, newDir: number, newName: string, flags: number): number {
    const od = this.get(oldDir);
    const nd = this.get(newDir);
    const src = od.entries.get(oldName);
    if (!src) return -E.ENOENT;
    const dst = nd.entries.get(newName);
    if (flags & 1 && dst) return -E.EEXIST;
    if (dst) this.get(dst).nlink--;
    od.entries.delete(oldName);
    nd.entries.set(newName, src);
    return 0;
  }
  evictInode(ino: number): void {
    const i = this.get(ino);
    this.freeBlocks += i.alloc.size;
    this.inodes.delete(ino);
    this.evicted.push(ino);
  }
  statfs() {
    return {
      type: 0xef53,
      bsize: 4096,
      blocks: 2000,
      bfree: this.freeBlocks,
      bavail: this.freeBlocks,
      files: 100,
      ffree: 50,
      namelen: 255,
      frsize: 4096,
    };
  }
  sync(): void {
    this.count('sync');
  }
  unmount(): void {
    this.count('unmount');
  }
}

const logs: string[] = [];
const kernel = { clock: new Clock(), log: (m: string) => logs.push(m) } as unknown as Kernel;

function setup(
  uid = 0,
  gid = 0,
): { env: TestEnv; eng: FakeEngine; sb: SuperBlock; open: (p: string, f: number) => number } {
  const eng = new FakeEngine();
  const disk = addDisk(new MemDisk(new Uint8Array(1 << 20)));
  const sb = ext4FillSuper(ext4FsType, kernel, disk, eng, { errors: 'remount-ro', noatime: false, strictatime: false });
  if (typeof sb === 'number') throw new Error(`fill_super ${sb}`);
  const env = makeEnv({ uid, gid });
  // makeEnv's task has an empty Kernel; /proc's load sampler (a 5 s timer) reads its clock.
  Object.assign(env.task.kernel, { clock: kernel.clock, tasks: new Map() });
  env.rootFs.mkdirp('/mnt');
  const mp = kernPath(env.rootFs.root, '/mnt') as Path;
  new Mount(sb, sb.root, '/dev/vda', mp.mnt, mp.dentry);
  const open = (p: string, f: number): number => env.call(N.SYS_openat, AT_FDCWD, env.str(p), f, 0o644);
  return { env, eng, sb, open };
}

describe('ext4 glue on a contract engine', () => {
  it('keeps writes in the page cache until write-back; size and times go with the inode', () => {
    const { env, eng, sb, open } = setup();
    const fd = open('/mnt/a', O_CREAT | O_RDWR);
    expect(fd).toBeGreaterThanOrEqual(0);
    const ino = eng.inodes.get(2)!.entries.get('a')!;
    env.put(new TextEncoder().encode('hello world'), 0x100);
    expect(env.call(N.SYS_write, fd, UBUF + 0x100, 11)).toBe(11);
    expect(eng.calls.write ?? 0).toBe(0); // only blocks were allocated
    expect(eng.inodes.get(ino)!.alloc.size).toBe(1);
    expect(eng.inodes.get(ino)!.size).toBe(0);
    expect(env.call(N.SYS_pread64, fd, UBUF + 0x200, 100, 6)).toBe(5);
    expect(new TextDecoder().decode(env.get(UBUF + 0x200, 5))).toBe('world');
    expect(sb.ops.syncFs!(sb)).toBe(0);
    expect(eng.inodes.get(ino)!.size).toBe(11);
    expect(new TextDecoder().decode(eng.inodes.get(ino)!.data.subarray(0, 11))).toBe('hello world');
    const writes = eng.calls.write;
    expect(sb.ops.syncFs!(sb)).toBe(0); // nothing dirty: nothing written
    expect(eng.calls.write).toBe(writes);
    env.call(N.SYS_close, fd);
  });

  it('gives new inodes the fsuid/fsgid, and the directory group under setgid', () => {
    const { env, eng, open } = setup(1000, 100);
    // /mnt is root's 0755: make it writable and setgid group 50.
    const root = eng.inodes.get(2)!;
    root.mode = S_IFDIR | 0o2777;
    root.gid = 50;
    // The in-core root was read at mount: change it there too.
    const p = kernPath(env.rootFs.root, '/mnt') as Path;
    p.dentry.inode.mode = S_IFDIR | 0o2777;
    p.dentry.inode.gid = 50;
    const fd = open('/mnt/owned', O_CREAT | O_WRONLY);
    expect(fd).toBeGreaterThanOrEqual(0);
    const ino = root.entries.get('owned')!;
    expect(eng.inodes.get(ino)!.uid).toBe(1000);
    expect(eng.inodes.get(ino)!.gid).toBe(50);
    expect(env.call(N.SYS_mkdirat, AT_FDCWD, env.str('/mnt/sub'), 0o755)).toBe(0);
    const sub = eng.inodes.get(root.entries.get('sub')!)!;
    expect(sub.mode & 0o2000).toBe(0o2000);
    expect(sub.gid).toBe(50);
  });

  it('evicts an unlinked file at its last close, not before', () => {
    const { env, eng, open } = setup();
    const fd = open('/mnt/tmpfile', O_CREAT | O_RDWR);
    const ino = eng.inodes.get(2)!.entries.get('tmpfile')!;
    env.put(new Uint8Array(9000).fill(7), 0x100);
    expect(env.call(N.SYS_write, fd, UBUF + 0x100, 9000)).toBe(9000);
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, env.str('/mnt/tmpfile'), 0)).toBe(0);
    expect(eng.evicted).toEqual([]);
    expect(env.call(N.SYS_pread64, fd, UBUF + 0x4000, 9000, 0)).toBe(9000);
    const before = eng.freeBlocks;
    env.call(N.SYS_close, fd);
    expect(eng.evicted).toEqual([ino]);
    expect(eng.freeBlocks).toBe(before + 3);
    // rmdir of an unopened directory evicts it at once
    expect(env.call(N.SYS_mkdirat, AT_FDCWD, env.str('/mnt/d'), 0o755)).toBe(0);
    const dino = eng.inodes.get(2)!.entries.get('d')!;
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, env.str('/mnt/d'), AT_REMOVEDIR)).toBe(0);
    expect(eng.evicted).toContain(dino);
  });

  it('reports ENOSPC at write() time', () => {
    const { env, eng, open } = setup();
    eng.freeBlocks = 2;
    const fd = open('/mnt/full', O_CREAT | O_WRONLY);
    env.put(new Uint8Array(20000).fill(1), 0x100);
    expect(env.call(N.SYS_write, fd, UBUF + 0x100, 20000)).toBe(8192);
    expect(env.call(N.SYS_write, fd, UBUF + 0x100, 100)).toBe(-E.ENOSPC);
  });

  it('truncates through the cache and the engine; O_DIRECT bypasses the cache', () => {
    const { env, eng, sb, open } = setup();
    const fd = open('/mnt/t', O_CREAT | O_RDWR);
    env.put(new Uint8Array(10000).fill(9), 0x100);
    expect(env.call(N.SYS_write, fd, UBUF + 0x100, 10000)).toBe(10000);
    expect(env.call(N.SYS_ftruncate, fd, 5000)).toBe(0);
    expect(env.call(N.SYS_pread64, fd, UBUF + 0x4000, 10000, 0)).toBe(5000);
    expect(env.call(N.SYS_ftruncate, fd, 6000)).toBe(0);
    expect(Array.from(env.get(UBUF + 0x4000, 1))).toEqual([9]);
    expect(env.call(N.SYS_pread64, fd, UBUF + 0x4000, 10000, 0)).toBe(6000);
    expect(env.get(UBUF + 0x4000 + 5000, 1000).every((b) => b === 0)).toBe(true);
    expect(sb.ops.syncFs!(sb)).toBe(0);
    const ino = eng.inodes.get(2)!.entries.get('t')!;
    expect(eng.inodes.get(ino)!.size).toBe(6000);
    const dfd = open('/mnt/t', O_RDWR | O_DIRECT);
    env.put(new Uint8Array(512).fill(0xab), 0x100);
    expect(env.call(N.SYS_pwrite64, dfd, UBUF + 0x100, 512, 512)).toBe(512);
    expect(eng.inodes.get(ino)!.data[512]).toBe(0xab); // on "disk" at once
    expect(env.call(N.SYS_pwrite64, dfd, UBUF + 0x100, 100, 0)).toBe(-E.EINVAL); // unaligned
    // the cached copy was invalidated: a buffered read sees the direct write
    expect(env.call(N.SYS_pread64, fd, UBUF + 0x4000, 1, 512)).toBe(1);
    expect(env.get(UBUF + 0x4000, 1)[0]).toBe(0xab);
  });

  it('logs engine corruption, answers EUCLEAN and remounts read-only', () => {
    const { eng, sb, open } = setup();
    eng.throwOn = 'createInode';
    expect(open('/mnt/x', O_CREAT | O_WRONLY)).toBe(-E.EUCLEAN);
    expect(
      logs.some((l) => /^EXT4-fs error \(device vda\): ext4_create: inode #2: block 1234: bad extent header$/.test(l)),
    ).toBe(true);
    expect(logs).toContain('EXT4-fs (vda): Remounting filesystem read-only');
    expect(sb.readonly).toBe(true);
    eng.throwOn = null;
    expect(open('/mnt/y', O_CREAT | O_WRONLY)).toBe(-E.EROFS);
    expect(open('/mnt', O_RDONLY)).toBeGreaterThanOrEqual(0);
  });

  it('shared mappings reach the engine at sync (dirty PTEs tag the cache pages)', () => {
    const { env, eng, sb, open } = setup();
    const fd = open('/mnt/m', O_CREAT | O_RDWR);
    env.put(new Uint8Array(8192), 0x100);
    expect(env.call(N.SYS_write, fd, UBUF + 0x100, 8192)).toBe(8192);
    expect(sb.ops.syncFs!(sb)).toBe(0);
    const file = env.task.files.get(fd)!;
    const va = env.task.mm.mmapRegion(0x20000000, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
    expect(va).toBe(0x20000000);
    expect(copyToUser(env.task.mm, va + 4100, new TextEncoder().encode('via mmap'))).toBe(0);
    env.call(N.SYS_close, fd); // the mapping keeps the file
    expect(sb.ops.syncFs!(sb)).toBe(0);
    const ino = eng.inodes.get(2)!.entries.get('m')!;
    expect(new TextDecoder().decode(eng.inodes.get(ino)!.data.subarray(4100, 4108))).toBe('via mmap');
    // A second store after the write-back cleaned the PTE is found again.
    expect(copyToUser(env.task.mm, va + 10, new TextEncoder().encode('again'))).toBe(0);
    expect(sb.ops.syncFs!(sb)).toBe(0);
    expect(new TextDecoder().decode(eng.inodes.get(ino)!.data.subarray(10, 15))).toBe('again');
    // Unlinked while mapped: evicted only when the mapping goes.
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, env.str('/mnt/m'), 0)).toBe(0);
    expect(eng.evicted).toEqual([]);
    expect(env.task.mm.unmapRegion(va, 8192)).toBe(0);
    expect(eng.evicted).toEqual([ino]);
  });

  it('periodic write-back writes dirty data without a device flush', () => {
    const { env, eng, open } = setup();
    const fd = open('/mnt/p', O_CREAT | O_WRONLY);
    env.put(new Uint8Array(100).fill(3), 0x100);
    expect(env.call(N.SYS_write, fd, UBUF + 0x100, 100)).toBe(100);
    expect(ext4WritebackAll(kernel)).toBe(0);
    const ino = eng.inodes.get(2)!.entries.get('p')!;
    expect(eng.inodes.get(ino)!.size).toBe(100);
    expect(eng.inodes.get(ino)!.mode & S_IFMT).toBe(S_IFREG);
  });
});
