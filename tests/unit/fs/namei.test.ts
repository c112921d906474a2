import { describe, expect, it } from 'vitest';
import * as E from '../../../src/kernel/errno.js';
import { LOOKUP_FOLLOW, NameiData, parentWalk, pathWalk } from '../../../src/kernel/fs/namei.js';
import { dPath } from '../../../src/kernel/fs/d_path.js';
import { createRootFs } from '../../../src/kernel/fs/rootfs.js';
import type { Path } from '../../../src/kernel/fs/path.js';
import { makeEnv } from './helpers.js';
import * as N from '../../../src/kernel/syscall/numbers.js';
import {
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  AT_EMPTY_PATH,
  O_DIRECTORY,
  O_RDONLY,
  O_PATH,
} from '../../../src/kernel/fs/uapi.js';
import { UBUF } from './helpers.js';

function setup() {
  const rfs = createRootFs();
  rfs.mkdirp('/a/b/c');
  rfs.addFile('/a/b/c/file', new Uint8Array([1, 2, 3]), 0o644);
  rfs.symlink('/a/rel', 'b/c');
  rfs.symlink('/a/abs', '/a/b');
  rfs.symlink('/a/dotdot', '..');
  rfs.symlink('/a/loop1', 'loop2');
  rfs.symlink('/a/loop2', 'loop1');
  rfs.symlink('/a/self', 'self');
  rfs.symlink('/a/dangling', '/nowhere');
  rfs.symlink('/a/tofile', 'b/c/file');
  rfs.symlink('/a/empty', '');
  const walk = (p: string, flags = LOOKUP_FOLLOW): Path | number =>
    pathWalk(new NameiData(null, rfs.root, flags), rfs.root, p);
  const name = (p: string, flags = LOOKUP_FOLLOW): string | number => {
    const r = walk(p, flags);
    return typeof r === 'number' ? r : dPath(r, rfs.root);
  };
  return { rfs, walk, name };
}

describe('path walk (namei)', () => {
  it('resolves ., .., //, and .. at the root', () => {
    const { name } = setup();
    expect(name('/a/b/c')).toBe('/a/b/c');
    expect(name('/a/./b//c/')).toBe('/a/b/c');
    expect(name('/a/b/../b/c/..')).toBe('/a/b');
    expect(name('/..')).toBe('/');
    expect(name('/../../a/../..')).toBe('/');
    expect(name('a/b')).toBe('/a/b'); // relative to the start, here /
    expect(name('/')).toBe('/');
  });

  it('follows symlinks: relative, absolute, .., chains; stops at 40', () => {
    const { name } = setup();
    expect(name('/a/rel/file')).toBe('/a/b/c/file');
    expect(name('/a/abs/c')).toBe('/a/b/c');
    expect(name('/a/dotdot/a/b')).toBe('/a/b');
    expect(name('/a/tofile')).toBe('/a/b/c/file');
    expect(name('/a/tofile', 0)).toBe('/a/tofile');
    expect(name('/a/loop1')).toBe(-E.ELOOP);
    expect(name('/a/self/x')).toBe(-E.ELOOP);
    expect(name('/a/loop1', 0)).toBe('/a/loop1'); // final link not followed: no loop
    expect(name('/a/dangling')).toBe(-E.ENOENT);
    expect(name('/a/empty')).toBe(-E.ENOENT);
    // 40 links are fine, 41 are too many
    const { rfs } = setup();
    rfs.symlink('/l0', '/a/b');
    for (let i = 1; i <= 41; i++) rfs.symlink(`/l${i}`, `/l${i - 1}`);
    const w = (p: string) => pathWalk(new NameiData(null, rfs.root, LOOKUP_FOLLOW), rfs.root, p);
    expect(typeof w('/l39')).toBe('object'); // 40 links
    expect(w('/l40')).toBe(-E.ELOOP); // 41 links
  });

  it('trailing slashes, ENOTDIR, ENAMETOOLONG', () => {
    const { name } = setup();
    expect(name('/a/b/c/file/')).toBe(-E.ENOTDIR);
    expect(name('/a/b/c/file/x')).toBe(-E.ENOTDIR);
    expect(name('/a/tofile/', 0)).toBe(-E.ENOTDIR); // trailing slash forces following, then not a dir
    expect(name('/a/rel/', 0)).toBe('/a/b/c'); // trailing slash follows the final link
    expect(name('/a/' + 'x'.repeat(256))).toBe(-E.ENAMETOOLONG);
    expect(name('/a/' + 'x'.repeat(255))).toBe(-E.ENOENT);
    expect(name('/a/b/c/file/..')).toBe(-E.ENOTDIR);
  });

  it('parent walks report the last component', () => {
    const { rfs } = setup();
    const pw = (p: string) => parentWalk(new NameiData(null, rfs.root, 0), rfs.root, p);
    const r = pw('/a/b/newname/');
    expect(typeof r).toBe('object');
    if (typeof r === 'object') {
      expect(r.last).toBe('newname');
      expect(r.mustDir).toBe(true);
      expect(dPath(r.parent, rfs.root)).toBe('/a/b');
    }
    const r2 = pw('/a/rel/x');
    expect(typeof r2 === 'object' && dPath(r2.parent, rfs.root)).toBe('/a/b/c');
    const r3 = pw('/');
    expect(typeof r3 === 'object' && r3.lastType).toBe('root');
    const r4 = pw('/a/..');
    expect(typeof r4 === 'object' && r4.lastType).toBe('dotdot');
    expect(pw('/nope/x')).toBe(-E.ENOENT);
  });
});

describe('permissions and *at() starting points', () => {
  it('EACCES for a non-root user without search permission; root bypasses', () => {
    const env = makeEnv({ uid: 1000, gid: 1000 });
    env.rootFs.mkdirp('/secret/inner');
    const sec = env.rootFs.lookup('/secret');
    if (typeof sec === 'number') throw new Error();
    sec.dentry.inode.mode = 0o40700; // root-owned, owner only
    const st = UBUF + 0x1000;
    expect(env.call(N.SYS_newfstatat, AT_FDCWD, env.str('/secret/inner'), st, 0)).toBe(-E.EACCES);
    expect(env.call(N.SYS_newfstatat, AT_FDCWD, env.str('/secret'), st, 0)).toBe(0);
    expect(env.call(N.SYS_openat, AT_FDCWD, env.str('/secret'), O_RDONLY | O_DIRECTORY, 0)).toBe(-E.EACCES);
    expect(env.call(N.SYS_mkdirat, AT_FDCWD, env.str('/newdir'), 0o755)).toBe(-E.EACCES);
    expect(env.call(N.SYS_faccessat, AT_FDCWD, env.str('/tmp'), 2 /* W_OK */)).toBe(0);
    expect(env.call(N.SYS_faccessat, AT_FDCWD, env.str('/'), 2)).toBe(-E.EACCES);
    env.task.cred = { ...env.task.cred, uid: 0, euid: 0, fsuid: 0 };
    expect(env.call(N.SYS_newfstatat, AT_FDCWD, env.str('/secret/inner'), st, 0)).toBe(0);
    // root still needs an x bit to execute
    env.rootFs.addFile('/noexec', new Uint8Array(1), 0o644);
    expect(env.call(N.SYS_faccessat, AT_FDCWD, env.str('/noexec'), 1 /* X_OK */)).toBe(-E.EACCES);
    expect(env.call(N.SYS_faccessat, AT_FDCWD, env.str('/noexec'), 6)).toBe(0);
  });

  it('dirfd, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, EBADF/ENOTDIR for bad dirfds', () => {
    const env = makeEnv();
    env.rootFs.mkdirp('/d/e');
    env.rootFs.symlink('/d/ln', 'e');
    const dfd = env.call(N.SYS_openat, AT_FDCWD, env.str('/d'), O_RDONLY | O_DIRECTORY, 0);
    const st = UBUF + 0x1000;
    expect(env.call(N.SYS_newfstatat, dfd, env.str('e'), st, 0)).toBe(0);
    expect(env.call(N.SYS_newfstatat, dfd, env.str('ln'), st, AT_SYMLINK_NOFOLLOW)).toBe(0);
    expect(new DataView(env.get(st, 128).buffer).getUint32(16, true) >>> 12).toBe(0o12);
    expect(env.call(N.SYS_newfstatat, 55, env.str('e'), st, 0)).toBe(-E.EBADF);
    expect(env.call(N.SYS_newfstatat, 55, env.str('/d/e'), st, 0)).toBe(0); // absolute ignores dirfd
    expect(env.call(N.SYS_newfstatat, 1, env.str('e'), st, 0)).toBe(-E.ENOTDIR);
    expect(env.call(N.SYS_newfstatat, dfd, env.str(''), st, 0)).toBe(-E.ENOENT);
    expect(env.call(N.SYS_newfstatat, dfd, env.str(''), st, AT_EMPTY_PATH)).toBe(0);
    expect(new DataView(env.get(st, 128).buffer).getUint32(16, true) >>> 12).toBe(0o4);
    expect(env.call(N.SYS_newfstatat, dfd, env.str('e'), st, 0x8000000)).toBe(-E.EINVAL);
    expect(env.call(N.SYS_newfstatat, dfd, 0, st, 0)).toBe(-E.EFAULT);
    const pfd = env.call(N.SYS_openat, AT_FDCWD, env.str('/d/ln'), O_PATH | 0o400000 /* O_NOFOLLOW */, 0);
    expect(pfd).toBeGreaterThan(2);
    expect(env.call(N.SYS_read, pfd, UBUF, 1)).toBe(-E.EBADF);
    expect(env.call(N.SYS_fchdir, dfd)).toBe(0);
    expect(env.call(N.SYS_newfstatat, AT_FDCWD, env.str('e'), st, 0)).toBe(0);
  });
});
