import { describe, expect, it } from 'vitest';
import * as N from '../../../src/kernel/syscall/numbers.js';
import * as E from '../../../src/kernel/errno.js';
import { encodeStat, encodeStatx, type Kstat } from '../../../src/kernel/fs/stat.js';
import { direntReclen, fillDirents64 } from '../../../src/kernel/fs/readdir.js';
import { encodeTermios, stdTermios } from '../../../src/kernel/tty/termios.js';
import { makeDev } from '../../../src/kernel/fs/super.js';
import { AT_FDCWD, O_DIRECTORY, O_RDONLY, TCGETS, TIOCGWINSZ, TCSETS } from '../../../src/kernel/fs/uapi.js';
import { UBUF, makeEnv } from './helpers.js';

const BUF = UBUF + 0x80000;

const ks: Kstat = {
  dev: makeDev(0, 0x23),
  ino: 0x1_0000_0002,
  mode: 0o100640,
  nlink: 3,
  uid: 1000,
  gid: 100,
  rdev: makeDev(1, 3),
  size: 0x1_2345_6789,
  blksize: 4096,
  blocks: 17,
  atime: { sec: 1700000000, nsec: 1 },
  mtime: { sec: 1700000001, nsec: 2 },
  ctime: { sec: 1700000002, nsec: 3 },
  btime: { sec: 1600000000, nsec: 4 },
  mntId: 7,
  mountRoot: false,
};

describe('struct layouts', () => {
  it('struct stat is the 128-byte asm-generic layout', () => {
    const b = encodeStat(ks);
    expect(b.length).toBe(128);
    const v = new DataView(b.buffer);
    expect(v.getBigUint64(0, true)).toBe(0x23n);
    expect(v.getBigUint64(8, true)).toBe(0x1_0000_0002n);
    expect(v.getUint32(16, true)).toBe(0o100640);
    expect(v.getUint32(20, true)).toBe(3);
    expect(v.getUint32(24, true)).toBe(1000);
    expect(v.getUint32(28, true)).toBe(100);
    expect(v.getBigUint64(32, true)).toBe(0x103n);
    expect(v.getBigInt64(48, true)).toBe(0x1_2345_6789n);
    expect(v.getInt32(56, true)).toBe(4096);
    expect(v.getBigInt64(64, true)).toBe(17n);
    expect(v.getBigInt64(72, true)).toBe(1700000000n);
    expect(v.getBigUint64(80, true)).toBe(1n);
    expect(v.getBigInt64(88, true)).toBe(1700000001n);
    expect(v.getBigInt64(104, true)).toBe(1700000002n);
    expect(v.getBigUint64(112, true)).toBe(3n);
  });

  it('struct statx is 256 bytes with the linux/stat.h offsets', () => {
    const b = encodeStatx(ks, 0xfff);
    expect(b.length).toBe(256);
    const v = new DataView(b.buffer);
    expect(v.getUint32(0, true)).toBe(0xfff);
    expect(v.getUint32(4, true)).toBe(4096);
    expect(v.getUint32(16, true)).toBe(3);
    expect(v.getUint32(20, true)).toBe(1000);
    expect(v.getUint16(28, true)).toBe(0o100640);
    expect(v.getBigUint64(32, true)).toBe(0x1_0000_0002n);
    expect(v.getBigUint64(40, true)).toBe(0x1_2345_6789n);
    expect(v.getBigInt64(64, true)).toBe(1700000000n); // atime
    expect(v.getBigInt64(80, true)).toBe(1600000000n); // btime
    expect(v.getUint32(88, true)).toBe(4);
    expect(v.getBigInt64(96, true)).toBe(1700000002n); // ctime
    expect(v.getBigInt64(112, true)).toBe(1700000001n); // mtime
    expect(v.getUint32(128, true)).toBe(1); // rdev major
    expect(v.getUint32(132, true)).toBe(3);
    expect(v.getUint32(136, true)).toBe(0); // dev major
    expect(v.getUint32(140, true)).toBe(0x23);
    expect(v.getBigUint64(144, true)).toBe(7n);
  });

  it('linux_dirent64 records: ino, off, reclen aligned to 8, type, NUL-terminated name', () => {
    expect(direntReclen(1)).toBe(24);
    expect(direntReclen(4)).toBe(24);
    expect(direntReclen(5)).toBe(32);
    const { buf, next } = fillDirents64(
      [
        { name: '.', ino: 5, type: 4 },
        { name: 'hello', ino: 0x1_0000_0000, type: 8 },
      ],
      0,
      1000,
    );
    expect(next).toBe(2);
    expect(buf.length).toBe(24 + 32);
    const v = new DataView(buf.buffer);
    expect(v.getBigUint64(0, true)).toBe(5n);
    expect(v.getBigInt64(8, true)).toBe(1n);
    expect(v.getUint16(16, true)).toBe(24);
    expect(buf[18]).toBe(4);
    expect(buf[19]).toBe(46);
    expect(buf[20]).toBe(0);
    expect(v.getBigUint64(24, true)).toBe(0x1_0000_0000n);
    expect(v.getUint16(40, true)).toBe(32);
    expect(buf[42]).toBe(8);
    expect(Buffer.from(buf.subarray(43, 48)).toString()).toBe('hello');
    expect(buf[48]).toBe(0);
    // a buffer too small for the first record
    expect(fillDirents64([{ name: 'x', ino: 1, type: 8 }], 0, 23).next).toBe(0);
  });

  it('getdents64 lists ".", "..", entries once, and EINVAL on a tiny buffer', () => {
    const env = makeEnv();
    const fd = env.call(N.SYS_openat, AT_FDCWD, env.str('/dev'), O_RDONLY | O_DIRECTORY, 0);
    expect(env.call(N.SYS_getdents64, fd, BUF, 10)).toBe(-E.EINVAL);
    const names: string[] = [];
    for (;;) {
      const n = env.call(N.SYS_getdents64, fd, BUF, 64); // small buffer: several calls
      if (n === 0) break;
      expect(n).toBeGreaterThan(0);
      const b = env.get(BUF, n);
      const v = new DataView(b.buffer);
      for (let off = 0; off < n; off += v.getUint16(off + 16, true)) {
        names.push(Buffer.from(b.subarray(off + 19, b.indexOf(0, off + 19))).toString());
      }
    }
    expect(names.slice(0, 2)).toEqual(['.', '..']);
    expect(names.sort()).toEqual([
      '.',
      '..',
      'fd',
      'full',
      'null',
      'ptmx',
      'pts',
      'random',
      'stderr',
      'stdin',
      'stdout',
      'tty',
      'urandom',
      'zero',
    ]);
    expect(env.call(N.SYS_getdents64, 1, BUF, 4096)).toBe(-E.EBADF);
    const f = env.call(N.SYS_openat, AT_FDCWD, env.str('/dev/null'), O_RDONLY, 0);
    expect(env.call(N.SYS_getdents64, f, BUF, 4096)).toBe(-E.ENOTDIR);
  });

  it('termios: 36 bytes, tty_std_termios values', () => {
    const b = encodeTermios(stdTermios());
    expect(b.length).toBe(36);
    const v = new DataView(b.buffer);
    expect(v.getUint32(0, true)).toBe(0x4500); // ICRNL|IXON|IUTF8
    expect(v.getUint32(4, true)).toBe(0x5); // OPOST|ONLCR
    expect(v.getUint32(8, true)).toBe(0x4bf); // B38400|CS8|CREAD|HUPCL
    expect(v.getUint32(12, true)).toBe(0x8a3b);
    expect(b[17 + 0]).toBe(3); // VINTR ^C
    expect(b[17 + 2]).toBe(0x7f); // VERASE
    expect(b[17 + 6]).toBe(1); // VMIN
  });

  it('tty ioctls work on a terminal and fail with ENOTTY otherwise', () => {
    const env = makeEnv({ tty: true });
    expect(env.call(N.SYS_ioctl, 0, TCGETS, BUF)).toBe(0);
    expect(new DataView(env.get(BUF, 36).buffer).getUint32(12, true)).toBe(0x8a3b);
    const t = env.get(BUF, 36);
    t[12] = 0; // clear ICANON etc. in c_lflag low byte
    env.put(t, 0x80000);
    expect(env.call(N.SYS_ioctl, 0, TCSETS, BUF)).toBe(0);
    expect(env.call(N.SYS_ioctl, 1, TCGETS, BUF + 100)).toBe(0); // shared by the three fds
    expect(env.get(BUF + 100 + 12, 1)[0]).toBe(0);
    expect(env.call(N.SYS_ioctl, 1, TIOCGWINSZ, BUF)).toBe(0);
    const ws = new DataView(env.get(BUF, 8).buffer);
    expect([ws.getUint16(0, true), ws.getUint16(2, true)]).toEqual([24, 80]);
    expect(env.call(N.SYS_ioctl, 1, TCGETS, 0x1000)).toBe(-E.EFAULT);
    const st = BUF + 0x1000;
    expect(env.call(N.SYS_fstat, 1, st)).toBe(0);
    expect(new DataView(env.get(st, 128).buffer).getUint32(16, true) >>> 12).toBe(0o2); // S_IFCHR
    const plain = makeEnv({ tty: false });
    expect(plain.call(N.SYS_ioctl, 0, TCGETS, BUF)).toBe(-E.ENOTTY);
    expect(plain.call(N.SYS_ioctl, 1, TIOCGWINSZ, BUF)).toBe(-E.ENOTTY);
    const nul = plain.call(N.SYS_openat, AT_FDCWD, plain.str('/dev/null'), O_RDONLY, 0);
    expect(plain.call(N.SYS_ioctl, nul, TCGETS, BUF)).toBe(-E.ENOTTY);
  });
});
