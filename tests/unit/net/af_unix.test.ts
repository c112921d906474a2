import { describe, expect, it } from 'vitest';
import * as E from '../../../src/kernel/errno.js';
import * as N from '../../../src/kernel/syscall/numbers.js';
import { netSyscalls } from '../../../src/kernel/net/syscalls.js';
import { procNetShow } from '../../../src/kernel/net/proc.js';
import { sockRegister, sockUnregister, type ProtoOps } from '../../../src/kernel/net/socket.js';
import {
  AF_INET6,
  AF_UNIX,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
  SCM_RIGHTS,
} from '../../../src/kernel/net/uapi.js';
import { getUser32 } from '../../../src/kernel/mm/uaccess.js';
import { UBUF } from '../fs/helpers.js';
import { makeIpcEnv, settle, type IpcEnv } from '../ipc/helpers.js';

const SV = UBUF + 0x100;
const BUF = UBUF + 0x1000;
const MSG = UBUF + 0x3000;
const IOV = UBUF + 0x3100;
const CTL = UBUF + 0x3200;
const ADDR = UBUF + 0x3400;

function sys(env: IpcEnv, nr: number, ...args: number[]): number | Promise<number> {
  const h = netSyscalls[nr];
  if (!h) return env.sys(nr, ...args);
  const a = [...args, 0, 0, 0, 0, 0, 0];
  return h(env.task, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!);
}

function call(env: IpcEnv, nr: number, ...args: number[]): number {
  const r = sys(env, nr, ...args);
  if (typeof r !== 'number') throw new Error('unexpected Promise');
  return r;
}

function pair(env: IpcEnv, type: number): [number, number] {
  expect(call(env, N.SYS_socketpair, AF_UNIX, type, 0, SV)).toBe(0);
  return [getUser32(env.task.mm, SV)!, getUser32(env.task.mm, SV + 4)!];
}

function u64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v >>> 0, true);
  dv.setUint32(off + 4, Math.floor(v / 2 ** 32), true);
}

/** A struct msghdr at MSG with one iovec of `len` bytes at BUF and `ctl` control bytes at CTL. */
function msghdr(env: IpcEnv, len: number, ctl: Uint8Array | number): void {
  const iov = new Uint8Array(16);
  const iv = new DataView(iov.buffer);
  u64(iv, 0, BUF);
  u64(iv, 8, len);
  env.put(iov, IOV - UBUF);
  const clen = typeof ctl === 'number' ? ctl : ctl.length;
  if (typeof ctl !== 'number') env.put(ctl, CTL - UBUF);
  const m = new Uint8Array(56);
  const dv = new DataView(m.buffer);
  u64(dv, 16, IOV);
  u64(dv, 24, 1);
  u64(dv, 32, clen ? CTL : 0);
  u64(dv, 40, clen);
  env.put(m, MSG - UBUF);
}

function rights(fds: number[]): Uint8Array {
  const len = 16 + fds.length * 4;
  const b = new Uint8Array((len + 7) & ~7);
  const dv = new DataView(b.buffer);
  u64(dv, 0, len);
  dv.setInt32(8, SOL_SOCKET, true);
  dv.setInt32(12, SCM_RIGHTS, true);
  fds.forEach((fd, i) => dv.setInt32(16 + i * 4, fd, true));
  return b;
}

describe('socket layer and AF_UNIX', () => {
  it('reports EAFNOSUPPORT for a family nobody registered, and a registered family is used', () => {
    const env = makeIpcEnv();
    expect(call(env, N.SYS_socket, AF_INET6, SOCK_STREAM, 0)).toBe(-E.EAFNOSUPPORT);
    const seen: number[] = [];
    const ops = { family: AF_INET6, release: () => seen.push(-1) } as unknown as ProtoOps;
    expect(
      sockRegister({
        family: AF_INET6,
        create: (_t, sock, protocol) => {
          seen.push(protocol);
          sock.ops = ops;
          return 0;
        },
      }),
    ).toBe(0);
    try {
      expect(sockRegister({ family: AF_INET6, create: () => 0 })).toBe(-E.EEXIST);
      const fd = call(env, N.SYS_socket, AF_INET6, SOCK_STREAM, 6);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(call(env, N.SYS_close, fd)).toBe(0);
      expect(seen).toEqual([6, -1]);
    } finally {
      sockUnregister(AF_INET6);
    }
  });

  it('sets MSG_CTRUNC and closes the fds that do not fit in a short control buffer', () => {
    const env = makeIpcEnv();
    const [a, b] = pair(env, SOCK_DGRAM);
    const [p0, p1] = pair(env, SOCK_STREAM);
    env.put(new TextEncoder().encode('hi'), BUF - UBUF);
    msghdr(env, 2, rights([p0, p1, p0]));
    expect(call(env, N.SYS_sendmsg, a, MSG, 0)).toBe(2);
    // Room for the header and one fd (CMSG_LEN(4) = 20 bytes).
    msghdr(env, 16, 20);
    const before = env.task.files.maxFds;
    expect(call(env, N.SYS_recvmsg, b, MSG, 0)).toBe(2);
    const dv = new DataView(env.get(MSG, 56).buffer);
    expect(dv.getInt32(48, true) & MSG_CTRUNC).toBe(MSG_CTRUNC);
    expect(dv.getUint32(40, true)).toBe(20);
    const c = new DataView(env.get(CTL, 20).buffer);
    expect(c.getUint32(0, true)).toBe(20);
    const got = c.getInt32(16, true);
    expect(env.task.files.get(got)).not.toBeNull();
    expect(env.task.files.maxFds).toBe(Math.max(before, got + 1));
  });

  it('rejects control messages whose length runs past the buffer', () => {
    const env = makeIpcEnv();
    const [a] = pair(env, SOCK_STREAM);
    const bad = rights([a]);
    new DataView(bad.buffer).setUint32(0, 200, true);
    msghdr(env, 1, bad);
    expect(call(env, N.SYS_sendmsg, a, MSG, 0)).toBe(-E.EINVAL);
    // A bad fd in SCM_RIGHTS is EBADF, and nothing is queued.
    msghdr(env, 1, rights([77]));
    expect(call(env, N.SYS_sendmsg, a, MSG, 0)).toBe(-E.EBADF);
  });

  it('blocks a stream writer while the peer queue is full and wakes it when the reader drains', async () => {
    const env = makeIpcEnv();
    const [a, b] = pair(env, SOCK_STREAM);
    const big = 1 << 19;
    const r = sys(env, N.SYS_sendto, a, BUF, big, 0, 0, 0);
    expect(r).toBeInstanceOf(Promise);
    let done: number | null = null;
    void (r as Promise<number>).then((v) => (done = v));
    let got = 0;
    for (let i = 0; i < 1000 && done === null; i++) {
      const n = call(env, N.SYS_recvfrom, b, BUF, 65536, MSG_DONTWAIT, 0, 0);
      if (n > 0) got += n;
      await settle();
    }
    while (got < big) {
      const n = call(env, N.SYS_recvfrom, b, BUF, 65536, MSG_DONTWAIT, 0, 0);
      if (n <= 0) break;
      got += n;
    }
    expect(done).toBe(big);
    expect(got).toBe(big);
  });

  it('lists bound sockets in /proc/net/unix in Linux format', () => {
    const env = makeIpcEnv();
    const s = call(env, N.SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    const addr = new Uint8Array(2 + 1 + 6);
    addr[0] = AF_UNIX;
    addr.set(new TextEncoder().encode('xprocx'), 3);
    env.put(addr, ADDR - UBUF);
    expect(call(env, N.SYS_bind, s, ADDR, addr.length)).toBe(0);
    expect(call(env, N.SYS_listen, s, 4)).toBe(0);
    const text = procNetShow('unix', env.kernel);
    expect(text.split('\n')[0]).toBe('Num       RefCount Protocol Flags    Type St Inode Path');
    expect(text).toMatch(/^0000000000000000: 00000002 00000000 00010000 0001 01 +\d+ @xprocx$/m);
  });
});

describe('hostile arguments', () => {
  it('never throws out of a socket system call', async () => {
    const env = makeIpcEnv();
    const fds: number[] = [];
    for (const t of [SOCK_STREAM, SOCK_DGRAM, 5]) {
      const [a, b] = pair(env, t | 0o4000);
      fds.push(a, b, call(env, N.SYS_socket, AF_UNIX, t | 0o4000, 0));
    }
    const vals = [
      0,
      1,
      -1,
      2,
      7,
      16,
      108,
      110,
      200,
      0x7fffffff,
      -0x80000000,
      2 ** 40,
      -(2 ** 60),
      UBUF,
      UBUF + 0xffff8,
      BUF,
    ];
    const rejected: unknown[] = [];
    let seed = 12345;
    const pick = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return vals[seed % vals.length]!;
    };
    for (const [nrs, h] of Object.entries(netSyscalls)) {
      for (let i = 0; i < 300; i++) {
        const fd = i % 4 === 0 ? pick() : fds[i % fds.length]!;
        const args = [fd, pick(), pick(), pick(), pick(), pick()];
        let r: number | Promise<number>;
        try {
          r = h!(env.task, args[0]!, args[1]!, args[2]!, args[3]!, args[4]!, args[5]!);
        } catch (e) {
          throw new Error(`syscall ${nrs}(${args.join(', ')}) threw: ${String(e)}`);
        }
        if (typeof r === 'number') expect(Number.isInteger(r)).toBe(true);
        else r.catch((e: unknown) => rejected.push(e));
      }
    }
    await settle();
    expect(rejected).toEqual([]);
  });
});

describe('recvmmsg timeout (not comparable under qemu-user, which ignores it)', () => {
  it('rejects a bad timespec with EINVAL and a bad pointer with EFAULT', () => {
    const env = makeIpcEnv();
    const [, b] = pair(env, SOCK_DGRAM);
    const ts = new Uint8Array(16);
    const dv = new DataView(ts.buffer);
    dv.setUint32(8, 2_000_000_000, true);
    env.put(ts, CTL - UBUF);
    expect(call(env, N.SYS_recvmmsg, b, MSG, 1, MSG_DONTWAIT, CTL)).toBe(-E.EINVAL);
    expect(call(env, N.SYS_recvmmsg, b, MSG, 1, MSG_DONTWAIT, 16)).toBe(-E.EFAULT);
    dv.setUint32(8, 0, true);
    env.put(ts, CTL - UBUF);
    expect(call(env, N.SYS_recvmmsg, b, MSG, 1, MSG_DONTWAIT, CTL)).toBe(-E.EAGAIN);
  });
});
