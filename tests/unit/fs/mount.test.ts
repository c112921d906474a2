// mount(2)/umount2(2), tmpfs limits, devtmpfs, bind mounts, read-only mounts, sync: the parts
// of the VFS a qemu-user oracle cannot check (they would change the host's mounts).
import { describe, expect, it } from 'vitest';
import * as N from '../../../src/kernel/syscall/numbers.js';
import * as E from '../../../src/kernel/errno.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import {
  registerBuiltinFilesystems,
  registerFilesystem,
  procFilesystemsText,
  FS_REQUIRES_DEV,
} from '../../../src/kernel/fs/filesystems.js';
import type { MountContext } from '../../../src/kernel/fs/filesystems.js';
import {
  MNT_DETACH,
  MS_BIND,
  MS_NOEXEC,
  MS_NOSUID,
  MS_RDONLY,
  MS_REMOUNT,
  MS_PRIVATE,
  doMount,
  pathNoexec,
  procMountsText,
  procMountinfoText,
} from '../../../src/kernel/fs/namespace.js';
import { syncFilesystems } from '../../../src/kernel/fs/sync.js';
import { devtmpfsCreateNode } from '../../../src/kernel/fs/devtmpfs.js';
import { ramfsMount } from '../../../src/kernel/fs/ramfs/inode.js';
import { makeDev, type FileSystemType, type SuperBlock } from '../../../src/kernel/fs/super.js';
import {
  AT_FDCWD,
  O_CREAT,
  O_DIRECTORY,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  S_IFBLK,
  S_IFCHR,
} from '../../../src/kernel/fs/uapi.js';
import { UBUF, makeEnv, type TestEnv } from './helpers.js';

const BUF = UBUF + 0x80000;

function setup(uid = 0): TestEnv & { kernel: Kernel } {
  registerBuiltinFilesystems();
  const env = makeEnv({ uid });
  const kernel = env.task.kernel as unknown as Record<string, unknown>;
  kernel['rootFs'] = env.rootFs;
  kernel['clock'] = { realtimeNs: () => Date.now() * 1e6, monotonicNs: () => performance.now() * 1e6 };
  return Object.assign(env, { kernel: env.task.kernel });
}

function mount(env: TestEnv, src: string, target: string, type: string, flags: number, data = ''): number {
  const s = env.str(src, 0x100);
  const t = env.str(target, 0x200);
  const ty = env.str(type, 0x300);
  const d = env.str(data, 0x400);
  return env.call(N.SYS_mount, s, t, ty, flags, d);
}

function umount(env: TestEnv, target: string, flags = 0): number {
  return env.call(N.SYS_umount2, env.str(target, 0x200), flags);
}

function open(env: TestEnv, p: string, flags: number, mode = 0o644): number {
  return env.call(N.SYS_openat, AT_FDCWD, env.str(p, 0x500), flags, mode);
}

function mkdir(env: TestEnv, p: string, mode = 0o755): number {
  return env.call(N.SYS_mkdirat, AT_FDCWD, env.str(p, 0x500), mode);
}

function write(env: TestEnv, fd: number, n: number): number {
  env.put(new Uint8Array(n).fill(0x61), 0x10000);
  return env.call(N.SYS_write, fd, UBUF + 0x10000, n);
}

/** statfs → { type, bsize, blocks, bfree, files, ffree, flags }. */
function statfs(env: TestEnv, p: string): Record<string, number> {
  expect(env.call(N.SYS_statfs, env.str(p, 0x500), BUF)).toBe(0);
  const b = env.get(BUF, 120);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u = (o: number): number => v.getUint32(o, true) + v.getUint32(o + 4, true) * 2 ** 32;
  return { type: u(0), bsize: u(8), blocks: u(16), bfree: u(24), files: u(40), ffree: u(48), flags: u(80) };
}

function statMode(env: TestEnv, p: string): { mode: number; rdev: number } | number {
  const r = env.call(N.SYS_newfstatat, AT_FDCWD, env.str(p, 0x500), BUF, 0x100);
  if (r < 0) return r;
  const b = env.get(BUF, 128);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { mode: v.getUint32(16, true), rdev: v.getUint32(32, true) };
}

describe('mount(2) and umount2(2)', () => {
  it('mounts a tmpfs with size/nr_inodes/mode, reports them, and fills up with ENOSPC', () => {
    const env = setup();
    expect(mkdir(env, '/mnt')).toBe(0);
    expect(mount(env, 'tmpfs', '/mnt', 'tmpfs', MS_NOSUID, 'size=8k,nr_inodes=4,mode=0700')).toBe(0);
    const st = statfs(env, '/mnt');
    expect(st.type).toBe(0x01021994);
    expect(st.blocks).toBe(2);
    expect(st.bfree).toBe(2);
    expect(st.files).toBe(4);
    expect(st.ffree).toBe(3); // the root
    expect(st.flags & 2).toBe(2); // ST_NOSUID
    expect((statMode(env, '/mnt') as { mode: number }).mode & 0o7777).toBe(0o700);
    expect(procMountsText(env.task)).toContain(
      'tmpfs /mnt tmpfs rw,nosuid,relatime,size=8k,nr_inodes=4,mode=700 0 0\n',
    );
    expect(procMountinfoText(env.task)).toMatch(
      / \/ \/mnt rw,nosuid,relatime - tmpfs tmpfs rw,size=8k,nr_inodes=4,mode=700\n/,
    );
    const fd = open(env, '/mnt/f', O_CREAT | O_RDWR);
    expect(fd).toBeGreaterThan(2);
    expect(write(env, fd, 12288)).toBe(8192); // short write: the third page does not fit
    expect(write(env, fd, 1)).toBe(-E.ENOSPC);
    expect(statfs(env, '/mnt').bfree).toBe(0);
    expect(env.call(N.SYS_ftruncate, fd, 100)).toBe(0);
    expect(statfs(env, '/mnt').bfree).toBe(1);
    expect(env.call(N.SYS_fallocate, fd, 0, 0, 3 * 4096)).toBe(-E.ENOSPC);
    expect(env.call(N.SYS_fallocate, fd, 0, 0, 2 * 4096)).toBe(0);
    expect(env.call(N.SYS_close, fd)).toBe(0);
    expect(mkdir(env, '/mnt/d1')).toBe(0);
    expect(open(env, '/mnt/g', O_CREAT | O_WRONLY)).toBeGreaterThan(2);
    expect(open(env, '/mnt/h', O_CREAT | O_WRONLY)).toBe(-E.ENOSPC); // 4 inodes: root, f, d1, g
    // Remount with a bigger size: the file system grows.
    expect(mount(env, 'tmpfs', '/mnt', 'tmpfs', MS_REMOUNT, 'size=1m,nr_inodes=100')).toBe(0);
    expect(statfs(env, '/mnt').blocks).toBe(256);
    expect(open(env, '/mnt/h', O_CREAT | O_WRONLY)).toBeGreaterThan(2);
    // Shrinking below what is used is refused.
    expect(mount(env, 'tmpfs', '/mnt', 'tmpfs', MS_REMOUNT, 'size=4k')).toBe(-E.EINVAL);
    expect(mount(env, 'tmpfs', '/mnt', 'tmpfs', 0, 'bogus=1')).toBe(-E.EINVAL);
    expect(procFilesystemsText()).toContain('nodev\ttmpfs\n');
  });

  it('checks the caller, the type, the target and busy mounts', () => {
    const env = setup();
    mkdir(env, '/mnt');
    expect(mount(env, 'x', '/mnt', 'nosuchfs', 0)).toBe(-E.ENODEV);
    expect(mount(env, 'x', '/missing', 'tmpfs', 0)).toBe(-E.ENOENT);
    expect(umount(env, '/mnt')).toBe(-E.EINVAL); // not a mount point
    expect(umount(env, '/missing')).toBe(-E.ENOENT);
    expect(umount(env, '/mnt', 0x100)).toBe(-E.EINVAL);
    expect(mount(env, 't', '/mnt', 'tmpfs', 0)).toBe(0);
    expect(mkdir(env, '/mnt/sub')).toBe(0);
    const fd = open(env, '/mnt/sub', O_RDONLY | O_DIRECTORY);
    expect(umount(env, '/mnt')).toBe(-E.EBUSY);
    env.call(N.SYS_close, fd);
    // A mount on a mount point inside makes the parent busy.
    expect(mount(env, 't2', '/mnt/sub', 'ramfs', 0)).toBe(0);
    expect(umount(env, '/mnt')).toBe(-E.EBUSY);
    expect(umount(env, '/mnt/sub')).toBe(0);
    expect(umount(env, '/mnt')).toBe(0);
    expect(statMode(env, '/mnt/sub')).toBe(-E.ENOENT);
    expect(umount(env, '/')).toBe(-E.EBUSY);
    // rmdir/rename of a mount point: EBUSY.
    mkdir(env, '/m2');
    expect(mount(env, 't', '/m2', 'tmpfs', 0)).toBe(0);
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, env.str('/m2'), 0x200)).toBe(-E.EBUSY);
    expect(env.call(N.SYS_renameat2, AT_FDCWD, env.str('/m2'), AT_FDCWD, env.str('/m3', 0x40), 0)).toBe(-E.EBUSY);
    // Propagation changes are accepted on a mount root only.
    expect(mount(env, '', '/m2', '', MS_PRIVATE)).toBe(0);
    expect(mount(env, '', '/tmp', '', MS_PRIVATE)).toBe(-E.EINVAL);
  });

  it('refuses unprivileged callers', () => {
    const env = setup(65534);
    expect(mount(env, 't', '/tmp', 'tmpfs', 0)).toBe(-E.EPERM);
    expect(umount(env, '/proc')).toBe(-E.EPERM);
  });

  it('stacks mounts, walks .. across them, and lazily detaches', () => {
    const env = setup();
    mkdir(env, '/mnt');
    expect(mount(env, 'a', '/mnt', 'tmpfs', 0)).toBe(0);
    env.call(N.SYS_close, open(env, '/mnt/from-a', O_CREAT | O_WRONLY));
    expect(mount(env, 'b', '/mnt', 'tmpfs', 0)).toBe(0); // on top
    expect(statMode(env, '/mnt/from-a')).toBe(-E.ENOENT);
    expect(mkdir(env, '/mnt/d')).toBe(0);
    expect(env.call(N.SYS_chdir, env.str('/mnt/d'))).toBe(0);
    expect(typeof statMode(env, '../../tmp')).toBe('object');
    expect(env.call(N.SYS_getcwd, BUF, 100)).toBe(7);
    expect(Buffer.from(env.get(BUF, 6)).toString()).toBe('/mnt/d');
    expect(env.call(N.SYS_chdir, env.str('/'))).toBe(0);
    const fd = open(env, '/mnt/d', O_RDONLY | O_DIRECTORY);
    expect(umount(env, '/mnt', MNT_DETACH)).toBe(0);
    expect(typeof statMode(env, '/mnt/from-a')).toBe('object'); // "a" shows again
    expect(env.call(N.SYS_fstat, fd, BUF)).toBe(0); // the detached tree stays usable
    env.call(N.SYS_close, fd);
    expect(umount(env, '/mnt')).toBe(0);
    expect(statMode(env, '/mnt/from-a')).toBe(-E.ENOENT);
  });

  it('read-only mounts, remounts and bind mounts', () => {
    const env = setup();
    mkdir(env, '/ro');
    expect(mount(env, 't', '/ro', 'tmpfs', 0)).toBe(0);
    const w = open(env, '/ro/f', O_CREAT | O_WRONLY);
    expect(mount(env, 't', '/ro', 'tmpfs', MS_REMOUNT | MS_RDONLY)).toBe(-E.EBUSY); // open for writing
    env.call(N.SYS_close, w);
    expect(mount(env, 't', '/ro', 'tmpfs', MS_REMOUNT | MS_RDONLY)).toBe(0);
    expect(open(env, '/ro/f', O_WRONLY)).toBe(-E.EROFS);
    expect(open(env, '/ro/new', O_CREAT | O_WRONLY)).toBe(-E.EROFS);
    expect(mkdir(env, '/ro/d')).toBe(-E.EROFS);
    expect(env.call(N.SYS_unlinkat, AT_FDCWD, env.str('/ro/f'), 0)).toBe(-E.EROFS);
    expect(env.call(N.SYS_fchmodat, AT_FDCWD, env.str('/ro/f'), 0o600)).toBe(-E.EROFS);
    expect(env.call(N.SYS_faccessat, AT_FDCWD, env.str('/ro/f'), 2)).toBe(-E.EROFS);
    expect(open(env, '/ro/f', O_RDONLY)).toBeGreaterThan(2);
    expect(statfs(env, '/ro').flags & 1).toBe(1);
    expect(procMountsText(env.task)).toContain('t /ro tmpfs ro,relatime 0 0');
    expect(mount(env, 't', '/ro', 'tmpfs', MS_REMOUNT)).toBe(0);
    expect(mkdir(env, '/ro/d')).toBe(0);

    // Bind /ro/d at /b; then make only the bind read-only.
    mkdir(env, '/b');
    expect(mount(env, '/ro/d', '/b', '', MS_BIND)).toBe(0);
    expect(open(env, '/b/x', O_CREAT | O_WRONLY)).toBeGreaterThan(2);
    expect(typeof statMode(env, '/ro/d/x')).toBe('object');
    expect(mount(env, '', '/b', '', MS_BIND | MS_REMOUNT | MS_RDONLY)).toBe(-E.EBUSY); // x open for writing
    env.call(N.SYS_close_range, 3, 100, 0);
    expect(mount(env, '', '/b', '', MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOEXEC)).toBe(0);
    expect(open(env, '/b/y', O_CREAT | O_WRONLY)).toBe(-E.EROFS);
    expect(open(env, '/ro/d/y', O_CREAT | O_WRONLY)).toBeGreaterThan(2);
    const bpath = env.rootFs.lookup('/b/x');
    expect(typeof bpath).toBe('object');
    if (typeof bpath === 'object') expect(pathNoexec(bpath)).toBe(true);
    expect(umount(env, '/b')).toBe(0);
  });

  it('block-device filesystems: ENOTBLK, ENXIO, the disk, one superblock per device, putSuper at umount', () => {
    const env = setup();
    const calls: string[] = [];
    let made = 0;
    const fake: FileSystemType = {
      name: 'fakeblk',
      fsFlags: FS_REQUIRES_DEV,
      mount(ctx: MountContext): SuperBlock {
        made++;
        calls.push(`mount ${ctx.source} ${ctx.disk?.name} ${ctx.data}`);
        const sb = ramfsMount({ realtimeNs: () => 0 }, 0o755, fake);
        (sb.ops as { syncFs?: unknown }).syncFs = () => (calls.push('sync'), 0);
        (sb.ops as { putSuper?: unknown }).putSuper = () => calls.push('put');
        return sb;
      },
    };
    registerFilesystem(fake);
    mkdir(env, '/mnt');
    mkdir(env, '/mnt2');
    expect(mount(env, '/dev/null', '/mnt', 'fakeblk', 0)).toBe(-E.ENOTBLK);
    expect(mount(env, '/dev/nope', '/mnt', 'fakeblk', 0)).toBe(-E.ENOENT);
    expect(mount(env, '', '/mnt', 'fakeblk', 0)).toBe(-E.EINVAL);
    expect(env.call(N.SYS_mknodat, AT_FDCWD, env.str('/dev/vda'), S_IFBLK | 0o600, makeDev(254, 0))).toBe(0);
    expect(mount(env, '/dev/vda', '/mnt', 'fakeblk', 0)).toBe(-E.ENXIO);
    (env.kernel as unknown as Record<string, unknown>)['disks'] = [
      { name: 'vda', major: 254, minor: 0, readOnly: false, bdev: {} },
    ];
    expect(mount(env, '/dev/vda', '/mnt', 'fakeblk', MS_RDONLY, 'ro,errors=remount-ro')).toBe(0);
    expect(calls).toEqual(['mount /dev/vda vda errors=remount-ro']);
    expect(mount(env, '/dev/vda', '/mnt2', 'fakeblk', MS_RDONLY)).toBe(0);
    expect(made).toBe(1); // the same superblock again
    syncFilesystems(env.kernel);
    expect(calls.filter((c) => c === 'sync').length).toBe(0); // read-only: nothing to write
    expect(mount(env, '/dev/vda', '/mnt', 'fakeblk', MS_REMOUNT)).toBe(0);
    syncFilesystems(env.kernel);
    expect(calls.filter((c) => c === 'sync').length).toBe(1);
    expect(umount(env, '/mnt2')).toBe(0);
    expect(calls.includes('put')).toBe(false);
    expect(umount(env, '/mnt')).toBe(0);
    expect(calls.slice(-2)).toEqual(['sync', 'put']);
    // The kernel's own mount (mount_root) names the disk without a node.
    env.call(N.SYS_unlinkat, AT_FDCWD, env.str('/dev/vda'), 0);
    const target = env.rootFs.lookup('/mnt');
    if (typeof target === 'number') throw new Error('no /mnt');
    expect(doMount(env.kernel, null, '/dev/vda', target, 'fakeblk', 0, '')).toBe(0);
    expect(doMount(env.kernel, null, '/dev/vdb', target, 'fakeblk', 0, '')).toBe(-E.ENOENT);
  });

  it('devtmpfs: the kernel devices, one instance, late nodes', () => {
    const env = setup();
    mkdir(env, '/dev2');
    expect(mount(env, 'devtmpfs', '/dev2', 'devtmpfs', 0)).toBe(0);
    const nul = statMode(env, '/dev2/null') as { mode: number; rdev: number };
    expect(nul.mode).toBe(S_IFCHR | 0o666);
    expect(nul.rdev).toBe(makeDev(1, 3));
    expect((statMode(env, '/dev2/ptmx') as { mode: number }).mode).toBe(S_IFCHR | 0o666);
    expect((statMode(env, '/dev2/console') as { rdev: number }).rdev).toBe(makeDev(5, 1));
    expect((statMode(env, '/dev2/ttyS0') as { rdev: number }).rdev).toBe(makeDev(4, 64));
    expect(devtmpfsCreateNode('net/tun', S_IFCHR | 0o666, makeDev(10, 200))).toBe(0);
    expect((statMode(env, '/dev2/net/tun') as { rdev: number }).rdev).toBe(makeDev(10, 200));
    mkdir(env, '/dev3');
    expect(mount(env, 'devtmpfs', '/dev3', 'devtmpfs', 0)).toBe(0);
    expect(open(env, '/dev2/made-here', O_CREAT | O_WRONLY)).toBeGreaterThan(2);
    expect(typeof statMode(env, '/dev3/made-here')).toBe('object'); // same instance
    expect(statfs(env, '/dev2').type).toBe(0x01021994);
  });

  it('moves a mount (MS_MOVE) and refuses moving it below itself', () => {
    const env = setup();
    mkdir(env, '/a');
    mkdir(env, '/b');
    expect(mount(env, 't', '/a', 'tmpfs', 0)).toBe(0);
    open(env, '/a/file', O_CREAT | O_WRONLY);
    mkdir(env, '/a/in');
    expect(mount(env, '/a', '/a/in', '', 8192)).toBe(-E.ELOOP);
    expect(mount(env, '/a', '/b', '', 8192)).toBe(0);
    expect(typeof statMode(env, '/b/file')).toBe('object');
    expect(statMode(env, '/a/file')).toBe(-E.ENOENT);
  });
});
