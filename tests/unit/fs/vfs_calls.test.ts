// VFS calls a qemu-user oracle cannot check here: openat2 (qemu 7.2 has none), permission
// rules for an unprivileged caller (the kernel has no setuid(2) yet), and user.* xattrs on tmpfs.
import { describe, expect, it } from 'vitest';
import * as N from '../../../src/kernel/syscall/numbers.js';
import * as E from '../../../src/kernel/errno.js';
import {
  AT_FDCWD,
  O_CREAT,
  O_DIRECTORY,
  O_RDONLY,
  O_WRONLY,
  RESOLVE_BENEATH,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
  RESOLVE_NO_XDEV,
  S_IFCHR,
  S_IFIFO,
} from '../../../src/kernel/fs/uapi.js';
import { procLocksText } from '../../../src/kernel/fs/locks.js';
import { UBUF, makeEnv, type TestEnv } from './helpers.js';

const HOW = UBUF + 0x9000;

function openat2(env: TestEnv, dirfd: number, p: string, flags: number, resolve: number, mode = 0, size = 24): number {
  const b = new Uint8Array(Math.max(size, 24));
  const v = new DataView(b.buffer);
  v.setUint32(0, flags, true);
  v.setUint32(8, mode, true);
  v.setUint32(16, resolve, true);
  env.put(b, 0x9000);
  const r = env.call(N.SYS_openat2, dirfd, env.str(p, 0x100), HOW, size);
  if (r >= 0) env.call(N.SYS_close, r);
  return r >= 0 ? 0 : r;
}

function sys(env: TestEnv, nr: number, ...args: (number | string)[]): number {
  let off = 0x1000;
  const a = args.map((x) => {
    if (typeof x === 'number') return x;
    const addr = env.str(x, off);
    off += x.length + 16;
    return addr;
  });
  return env.call(nr, ...a);
}

function mkfile(env: TestEnv, p: string, mode = 0o644): void {
  const fd = sys(env, N.SYS_openat, AT_FDCWD, p, O_CREAT | O_WRONLY, mode);
  expect(fd).toBeGreaterThanOrEqual(0);
  env.call(N.SYS_close, fd);
  expect(sys(env, N.SYS_fchmodat, AT_FDCWD, p, mode)).toBe(0);
}

describe('openat2 RESOLVE_* (Linux semantics)', () => {
  it('scopes and link restrictions', () => {
    const env = makeEnv();
    sys(env, N.SYS_mkdirat, AT_FDCWD, '/tmp/jail', 0o755);
    sys(env, N.SYS_mkdirat, AT_FDCWD, '/tmp/jail/in', 0o755);
    mkfile(env, '/tmp/jail/in/file');
    mkfile(env, '/tmp/outside');
    sys(env, N.SYS_symlinkat, '../outside', AT_FDCWD, '/tmp/jail/up');
    sys(env, N.SYS_symlinkat, '/tmp/outside', AT_FDCWD, '/tmp/jail/abs');
    sys(env, N.SYS_symlinkat, 'in/file', AT_FDCWD, '/tmp/jail/rel');
    sys(env, N.SYS_symlinkat, '/in/file', AT_FDCWD, '/tmp/jail/absin');
    const jail = sys(env, N.SYS_openat, AT_FDCWD, '/tmp/jail', O_RDONLY | O_DIRECTORY);
    expect(openat2(env, jail, 'rel', O_RDONLY, 0)).toBe(0);
    expect(openat2(env, jail, 'rel', O_RDONLY, RESOLVE_NO_SYMLINKS)).toBe(-E.ELOOP);
    expect(openat2(env, jail, 'in/file', O_RDONLY, RESOLVE_NO_SYMLINKS)).toBe(0);
    expect(openat2(env, jail, '../outside', O_RDONLY, RESOLVE_BENEATH)).toBe(-E.EXDEV);
    expect(openat2(env, jail, 'in/../in/file', O_RDONLY, RESOLVE_BENEATH)).toBe(0);
    expect(openat2(env, jail, 'up', O_RDONLY, RESOLVE_BENEATH)).toBe(-E.EXDEV);
    expect(openat2(env, jail, 'abs', O_RDONLY, RESOLVE_BENEATH)).toBe(-E.EXDEV);
    expect(openat2(env, jail, '/tmp/outside', O_RDONLY, RESOLVE_BENEATH)).toBe(-E.EXDEV);
    expect(openat2(env, jail, '../../in/file', O_RDONLY, RESOLVE_IN_ROOT)).toBe(0);
    expect(openat2(env, jail, 'absin', O_RDONLY, RESOLVE_IN_ROOT)).toBe(0);
    expect(openat2(env, jail, 'up', O_RDONLY, RESOLVE_IN_ROOT)).toBe(-E.ENOENT); // "outside" is not in the jail
    expect(openat2(env, jail, 'rel', O_RDONLY, RESOLVE_IN_ROOT | RESOLVE_BENEATH)).toBe(-E.EINVAL);
    expect(openat2(env, AT_FDCWD, '/proc/self/status', O_RDONLY, RESOLVE_NO_XDEV)).toBe(-E.EXDEV);
    expect(openat2(env, AT_FDCWD, '/proc/self/fd/0', O_RDONLY, RESOLVE_NO_MAGICLINKS)).toBe(-E.ELOOP);
    expect(openat2(env, jail, 'rel', O_RDONLY, 0x1000)).toBe(-E.EINVAL);
    expect(openat2(env, jail, 'rel', 1 << 30, 0)).toBe(-E.EINVAL);
    expect(openat2(env, jail, 'rel', O_RDONLY, 0, 0o644)).toBe(-E.EINVAL); // mode without O_CREAT
    expect(openat2(env, jail, 'rel', O_RDONLY, 0, 0, 8)).toBe(-E.EINVAL); // too small
    expect(openat2(env, jail, 'rel', O_RDONLY, 0, 0, 40)).toBe(0); // zeroed tail is fine
    const b = new Uint8Array(40);
    b[35] = 1;
    env.put(b, 0x9000);
    expect(sys(env, N.SYS_openat2, jail, 'rel', HOW, 40)).toBe(-E.E2BIG);
  });
});

describe('permissions of an unprivileged caller (uid 65534)', () => {
  it('generic_permission, sticky directories, CAP_* rules', () => {
    const env = makeEnv();
    // Set up as root, then drop to nobody (the kernel has no setuid(2) yet: change the cred).
    sys(env, N.SYS_mkdirat, AT_FDCWD, '/tmp/closed', 0o700);
    mkfile(env, '/tmp/closed/inner');
    mkfile(env, '/tmp/priv', 0o600);
    mkfile(env, '/tmp/pub', 0o644);
    mkfile(env, '/tmp/world', 0o666);
    mkfile(env, '/tmp/rootfile', 0o666); // /tmp is 01777
    sys(env, N.SYS_mkdirat, AT_FDCWD, '/tmp/sg', 0o777);
    expect(sys(env, N.SYS_fchownat, AT_FDCWD, '/tmp/sg', 0, 1234, 0)).toBe(0);
    expect(sys(env, N.SYS_fchmodat, AT_FDCWD, '/tmp/sg', 0o2777)).toBe(0);
    const c = env.task.cred;
    Object.assign(c, {
      uid: 65534,
      euid: 65534,
      suid: 65534,
      fsuid: 65534,
      gid: 65534,
      egid: 65534,
      sgid: 65534,
      fsgid: 65534,
    });
    expect(sys(env, N.SYS_openat, AT_FDCWD, '/tmp/priv', O_RDONLY)).toBe(-E.EACCES);
    expect(sys(env, N.SYS_openat, AT_FDCWD, '/tmp/pub', O_WRONLY)).toBe(-E.EACCES);
    expect(sys(env, N.SYS_faccessat, AT_FDCWD, '/tmp/closed/inner', 0)).toBe(-E.EACCES);
    expect(sys(env, N.SYS_fchmodat, AT_FDCWD, '/tmp/pub', 0o777)).toBe(-E.EPERM);
    expect(sys(env, N.SYS_fchownat, AT_FDCWD, '/tmp/pub', 65534, 65534, 0)).toBe(-E.EPERM);
    expect(sys(env, N.SYS_utimensat, AT_FDCWD, '/tmp/pub', 0, 0)).toBe(-E.EACCES);
    expect(sys(env, N.SYS_utimensat, AT_FDCWD, '/tmp/world', 0, 0)).toBe(0);
    expect(sys(env, N.SYS_unlinkat, AT_FDCWD, '/tmp/rootfile', 0)).toBe(-E.EPERM);
    expect(sys(env, N.SYS_renameat2, AT_FDCWD, '/tmp/rootfile', AT_FDCWD, '/tmp/mine', 0)).toBe(-E.EPERM);
    expect(sys(env, N.SYS_mknodat, AT_FDCWD, '/tmp/chr', S_IFCHR | 0o644, 0x103)).toBe(-E.EPERM);
    expect(sys(env, N.SYS_mknodat, AT_FDCWD, '/tmp/fifo', S_IFIFO | 0o644, 0)).toBe(0);
    expect(sys(env, N.SYS_unlinkat, AT_FDCWD, '/tmp/fifo', 0)).toBe(0);
    expect(sys(env, N.SYS_chroot, '/tmp')).toBe(-E.EPERM);
    mkfile(env, '/tmp/own', 0o4755);
    expect(sys(env, N.SYS_fchmodat, AT_FDCWD, '/tmp/own', 0o2755)).toBe(0); // setgid dropped: not in group 0? own group
    expect(sys(env, N.SYS_fchownat, AT_FDCWD, '/tmp/own', 0, -1, 0)).toBe(-E.EPERM);
    expect(sys(env, N.SYS_fchownat, AT_FDCWD, '/tmp/own', -1, 1234, 0)).toBe(-E.EPERM); // not a member
    c.groups = [1234];
    expect(sys(env, N.SYS_fchownat, AT_FDCWD, '/tmp/own', -1, 1234, 0)).toBe(0);
    // Created in a setgid directory: the directory's group.
    const fd = sys(env, N.SYS_openat, AT_FDCWD, '/tmp/sg/n', O_CREAT | O_WRONLY, 0o644);
    expect(fd).toBeGreaterThan(2);
    expect(env.call(N.SYS_fstat, fd, UBUF + 0x20000)).toBe(0);
    const st = env.get(UBUF + 0x20000, 128);
    const v = new DataView(st.buffer, st.byteOffset, 128);
    expect(v.getUint32(28, true)).toBe(1234);
    // Renaming one's own file in a sticky directory is fine.
    expect(sys(env, N.SYS_renameat2, AT_FDCWD, '/tmp/own', AT_FDCWD, '/tmp/own2', 0)).toBe(0);
    // A write by a non-root caller drops setuid, and setgid with group-exec (file_remove_privs).
    const c0 = { ...c };
    Object.assign(c, { uid: 0, euid: 0, fsuid: 0 });
    mkfile(env, '/tmp/setid', 0o6777);
    Object.assign(c, c0);
    const wfd = sys(env, N.SYS_openat, AT_FDCWD, '/tmp/setid', O_WRONLY);
    expect(wfd).toBeGreaterThan(2);
    expect(env.call(N.SYS_write, wfd, UBUF, 1)).toBe(1);
    expect(env.call(N.SYS_fstat, wfd, UBUF + 0x20000)).toBe(0);
    const m = env.get(UBUF + 0x20000, 128);
    expect(new DataView(m.buffer, m.byteOffset, 128).getUint32(16, true) & 0o7777).toBe(0o777);
    // mount needs CAP_SYS_ADMIN.
    expect(sys(env, N.SYS_mount, 'none', '/tmp', 'tmpfs', 0, 0)).toBe(-E.EPERM);
  });
});

describe('/proc/locks', () => {
  it('lists POSIX, OFD and FLOCK locks as lock_get_status does', () => {
    const env = makeEnv();
    mkfile(env, '/tmp/l');
    const fd = sys(env, N.SYS_openat, AT_FDCWD, '/tmp/l', 2);
    const fl = new Uint8Array(32);
    const v = new DataView(fl.buffer);
    v.setInt16(0, 1, true); // F_WRLCK
    v.setUint32(16, 10, true); // l_len
    env.put(fl, 0x6000);
    expect(env.call(N.SYS_fcntl, fd, 6, UBUF + 0x6000)).toBe(0);
    expect(env.call(N.SYS_flock, fd, 1)).toBe(0);
    const text = procLocksText();
    expect(text).toMatch(/^\d+: POSIX {2}ADVISORY {2}WRITE 1 [0-9a-f]{2}:[0-9a-f]{2}:\d+ 0 9\n/m);
    expect(text).toMatch(/^\d+: FLOCK {2}ADVISORY {2}READ {2}1 [0-9a-f]{2}:[0-9a-f]{2}:\d+ 0 EOF\n/m);
    env.call(N.SYS_close, fd);
    expect(procLocksText()).toBe(''); // every lock went with the close
  });
});

describe('extended attributes on tmpfs-like filesystems', () => {
  it('user.* set/get/list/remove with the flags and size rules', () => {
    const env = makeEnv();
    mkfile(env, '/tmp/x');
    const val = env.str('value', 0x3000);
    expect(sys(env, N.SYS_setxattr, '/tmp/x', 'user.a', val, 5, 0)).toBe(0);
    expect(sys(env, N.SYS_setxattr, '/tmp/x', 'user.a', val, 5, 1)).toBe(-E.EEXIST); // XATTR_CREATE
    expect(sys(env, N.SYS_setxattr, '/tmp/x', 'user.b', val, 5, 2)).toBe(-E.ENODATA); // XATTR_REPLACE
    expect(sys(env, N.SYS_setxattr, '/tmp/x', 'user.b', val, 3, 0)).toBe(0);
    expect(sys(env, N.SYS_getxattr, '/tmp/x', 'user.a', UBUF + 0x4000, 0)).toBe(5);
    expect(sys(env, N.SYS_getxattr, '/tmp/x', 'user.a', UBUF + 0x4000, 2)).toBe(-E.ERANGE);
    expect(sys(env, N.SYS_getxattr, '/tmp/x', 'user.a', UBUF + 0x4000, 64)).toBe(5);
    expect(Buffer.from(env.get(UBUF + 0x4000, 5)).toString()).toBe('value');
    expect(sys(env, N.SYS_getxattr, '/tmp/x', 'user.zz', UBUF + 0x4000, 64)).toBe(-E.ENODATA);
    expect(sys(env, N.SYS_listxattr, '/tmp/x', UBUF + 0x4000, 0)).toBe(14);
    expect(sys(env, N.SYS_listxattr, '/tmp/x', UBUF + 0x4000, 64)).toBe(14);
    expect(Buffer.from(env.get(UBUF + 0x4000, 14)).toString('latin1')).toBe('user.a\0user.b\0');
    expect(sys(env, N.SYS_removexattr, '/tmp/x', 'user.a')).toBe(0);
    expect(sys(env, N.SYS_removexattr, '/tmp/x', 'user.a')).toBe(-E.ENODATA);
    expect(sys(env, N.SYS_setxattr, '/tmp/x', 'bogus.a', val, 5, 0)).toBe(-E.EOPNOTSUPP);
    expect(sys(env, N.SYS_setxattr, '/tmp/x', 'system.posix_acl_access', val, 5, 0)).toBe(-E.EOPNOTSUPP);
    expect(sys(env, N.SYS_setxattr, '/tmp/x', '', val, 5, 0)).toBe(-E.ERANGE);
    expect(sys(env, N.SYS_setxattr, '/tmp/x', 'user.a', val, 5, 4)).toBe(-E.EINVAL);
    expect(sys(env, N.SYS_setxattr, '/tmp/missing', 'user.a', val, 5, 0)).toBe(-E.ENOENT);
    expect(sys(env, N.SYS_getxattr, '/proc/self/status', 'user.a', UBUF, 0)).toBe(-E.EOPNOTSUPP);
    expect(sys(env, N.SYS_name_to_handle_at, AT_FDCWD, '/tmp/x', UBUF, UBUF + 64, 0)).toBe(-E.EOPNOTSUPP);
  });
});
