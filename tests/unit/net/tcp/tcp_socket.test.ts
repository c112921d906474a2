// TCP through the socket system calls (AF_INET SOCK_STREAM over 127.0.0.1): blocking and
// non-blocking connect/accept, poll masks, SO_ERROR, send/recv flags, EPIPE + SIGPIPE,
// ioctls, options and TCP_INFO. Real time (the loopback round trips are immediate).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as E from '../../../../src/kernel/errno.js';
import * as N from '../../../../src/kernel/syscall/numbers.js';
import { netSyscalls, socketOfFile } from '../../../../src/kernel/net/syscalls.js';
import { createNetNs } from '../../../../src/kernel/net/init.js';
import type { NetNs } from '../../../../src/kernel/net/netns.js';
import { copyFromUser, copyToUser, getUser32, putUser32 } from '../../../../src/kernel/mm/uaccess.js';
import { makeSockaddrIn, parseSockaddrIn } from '../../../../src/kernel/net/ipv4/inet_addr.js';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP } from '../../../../src/kernel/fs/select.js';
import {
  AF_INET,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_PEEK,
  MSG_WAITALL,
  SIOCINQ,
  SIOCOUTQ,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SO_REUSEADDR,
} from '../../../../src/kernel/net/uapi.js';
import {
  TCP_CONGESTION,
  TCP_ESTABLISHED,
  TCP_INFO,
  TCP_KEEPIDLE,
  TCP_MAXSEG,
  TCP_NODELAY,
  type TcpSock,
} from '../../../../src/kernel/net/ipv4/tcp_sock.js';
import { procNetShow } from '../../../../src/kernel/net/proc.js';
import '../../../../src/kernel/net/ipv4/af_inet.js';
import { UBUF } from '../../fs/helpers.js';
import { makeIpcEnv, type IpcEnv } from '../../ipc/helpers.js';

const ADDR = UBUF + 0x100;
const LEN = UBUF + 0x200;
const OPT = UBUF + 0x300;
const BUF = UBUF + 0x1000;
const BIG = UBUF + 0x10000;
const SBUF = UBUF + 0x8000;
const IPPROTO_TCP = 6;
const SIGPIPE_BIT = 1n << 12n;
const LO = 0x7f000001;

let env: IpcEnv;
let ns: NetNs;

function sys(nr: number, ...args: number[]): number | Promise<number> {
  const h = netSyscalls[nr];
  const a = [...args, 0, 0, 0, 0, 0, 0];
  if (!h) return env.sys(nr, ...args);
  return h(env.task, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!);
}
function call(nr: number, ...args: number[]): number {
  const r = sys(nr, ...args);
  if (typeof r !== 'number') throw new Error('unexpected Promise');
  return r;
}
const tick = (ms = 2): Promise<void> => new Promise((r) => setTimeout(r, ms));

function socket(flags = 0): number {
  const fd = call(N.SYS_socket, AF_INET, SOCK_STREAM | flags, 0);
  expect(fd).toBeGreaterThanOrEqual(0);
  return fd;
}
function putAddr(addr: number, port: number): void {
  copyToUser(env.task.mm, ADDR, makeSockaddrIn(addr, port));
}
function sk(fd: number): TcpSock {
  return socketOfFile(env.task.files.get(fd)!)!.sk as TcpSock;
}
function poll(fd: number): number {
  const s = socketOfFile(env.task.files.get(fd)!)!;
  return s.ops.poll(s);
}
function setInt(fd: number, level: number, name: number, v: number): number {
  putUser32(env.task.mm, OPT, v);
  return call(N.SYS_setsockopt, fd, level, name, OPT, 4);
}
function getOpt(fd: number, level: number, name: number, len = 4): Uint8Array | number {
  putUser32(env.task.mm, LEN, len);
  const r = call(N.SYS_getsockopt, fd, level, name, OPT, LEN);
  if (r < 0) return r;
  return copyFromUser(env.task.mm, OPT, getUser32(env.task.mm, LEN)!) as Uint8Array;
}
const int = (b: Uint8Array | number): number =>
  typeof b === 'number' ? b : new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true);

function send(fd: number, data: Uint8Array, flags = 0): number | Promise<number> {
  copyToUser(env.task.mm, SBUF, data);
  return sys(N.SYS_sendto, fd, SBUF, data.length, flags, 0, 0);
}
function recvText(fd: number, n: number, flags = 0): string | number {
  const r = call(N.SYS_recvfrom, fd, BUF, n, flags, 0, 0);
  if (r < 0) return r;
  return new TextDecoder().decode(copyFromUser(env.task.mm, BUF, r) as Uint8Array);
}

/** A listener on 127.0.0.1:port. */
function listener(port: number, backlog = 8): number {
  const fd = socket();
  putAddr(LO, port);
  expect(call(N.SYS_bind, fd, ADDR, 16)).toBe(0);
  expect(call(N.SYS_listen, fd, backlog)).toBe(0);
  return fd;
}

async function connected(port: number): Promise<[number, number, number]> {
  const lfd = listener(port);
  const c = socket();
  putAddr(LO, port);
  const r = await sys(N.SYS_connect, c, ADDR, 16);
  expect(r).toBe(0);
  const a = await sys(N.SYS_accept4, lfd, 0, 0, 0);
  expect(a).toBeGreaterThanOrEqual(0);
  return [lfd, c, a as number];
}

beforeEach(() => {
  env = makeIpcEnv();
  ns = createNetNs({
    nowNs: () => env.kernel.clock.monotonicNs(),
    realtimeNs: () => env.kernel.clock.realtimeNs(),
    random32: () => (Math.random() * 2 ** 32) >>> 0,
    log: () => {},
  });
  (env.kernel as unknown as { net: NetNs }).net = ns;
});
afterEach(() => ns.timers.shutdown());

describe('TCP sockets', () => {
  it('connect, accept, names, send and receive over loopback', async () => {
    const [lfd, c, a] = await connected(7000);
    expect(sk(c).skState).toBe(TCP_ESTABLISHED);
    putUser32(env.task.mm, LEN, 16);
    expect(call(N.SYS_getpeername, a, ADDR, LEN)).toBe(0);
    const peer = parseSockaddrIn(copyFromUser(env.task.mm, ADDR, 16) as Uint8Array)!;
    expect(peer.addr).toBe(LO);
    expect(peer.port).toBe(sk(c).lport);
    putUser32(env.task.mm, LEN, 16);
    expect(call(N.SYS_getsockname, c, ADDR, LEN)).toBe(0);
    expect(parseSockaddrIn(copyFromUser(env.task.mm, ADDR, 16) as Uint8Array)!.port).toBe(sk(c).lport);
    expect(call(N.SYS_getpeername, lfd, ADDR, LEN)).toBe(-E.ENOTCONN);
    expect(await send(c, new TextEncoder().encode('hello world'))).toBe(11);
    await tick();
    expect(poll(a) & POLLIN).toBe(POLLIN);
    expect(call(N.SYS_ioctl, a, SIOCINQ, LEN)).toBe(0);
    expect(getUser32(env.task.mm, LEN)).toBe(11);
    expect(recvText(a, 5, MSG_PEEK)).toBe('hello');
    expect(recvText(a, 100)).toBe('hello world');
    expect(recvText(a, 100, MSG_DONTWAIT)).toBe(-E.EAGAIN);
    expect(call(N.SYS_ioctl, c, SIOCOUTQ, LEN)).toBe(0);
    expect(getUser32(env.task.mm, LEN)).toBe(0);
    // /proc/net/tcp shows the listener with its inode.
    const ino = env.task.files.get(lfd)!.inode.ino;
    const proc = procNetShow('tcp', env.kernel);
    expect(proc).toMatch(
      new RegExp(`0100007F:1B58 00000000:0000 0A 00000000:00000000 00:00000000 00000000 +0 +0 ${ino} `),
    );
  });

  it('a blocking recv waits for data; MSG_WAITALL waits for all of it', async () => {
    const [, c, a] = await connected(7001);
    const r = sys(N.SYS_recvfrom, a, BUF, 6, MSG_WAITALL, 0, 0);
    expect(typeof r).not.toBe('number');
    await send(c, new TextEncoder().encode('abc'));
    await tick();
    await send(c, new TextEncoder().encode('def'));
    expect(await r).toBe(6);
    expect(new TextDecoder().decode(copyFromUser(env.task.mm, BUF, 6) as Uint8Array)).toBe('abcdef');
  });

  it('non-blocking connect: EINPROGRESS, then POLLOUT and SO_ERROR 0; EALREADY/EISCONN', async () => {
    listener(7002);
    const c = socket(SOCK_NONBLOCK);
    putAddr(LO, 7002);
    // Even on loopback, where the handshake is over at once, the first answer is EINPROGRESS.
    expect(call(N.SYS_connect, c, ADDR, 16)).toBe(-E.EINPROGRESS);
    await tick();
    expect(poll(c) & POLLOUT).toBe(POLLOUT);
    expect(int(getOpt(c, SOL_SOCKET, SO_ERROR))).toBe(0);
    // The second connect reports the outcome (0), the third EISCONN, as __inet_stream_connect does.
    expect(call(N.SYS_connect, c, ADDR, 16)).toBe(0);
    expect(call(N.SYS_connect, c, ADDR, 16)).toBe(-E.EISCONN);
  });

  it('connection refused: blocking gets ECONNREFUSED, non-blocking POLLERR and SO_ERROR', async () => {
    const c = socket();
    putAddr(LO, 7999);
    expect(await sys(N.SYS_connect, c, ADDR, 16)).toBe(-E.ECONNREFUSED);
    const d = socket(SOCK_NONBLOCK);
    expect(call(N.SYS_connect, d, ADDR, 16)).toBe(-E.EINPROGRESS);
    await tick();
    expect(poll(d) & (POLLERR | POLLHUP | POLLOUT)).toBe(POLLERR | POLLHUP | POLLOUT);
    expect(int(getOpt(d, SOL_SOCKET, SO_ERROR))).toBe(E.ECONNREFUSED);
    expect(poll(d) & POLLERR).toBe(0);
    // Without SO_ERROR read, a second connect reports the failure itself.
    const e = socket(SOCK_NONBLOCK);
    expect(call(N.SYS_connect, e, ADDR, 16)).toBe(-E.EINPROGRESS);
    await tick();
    expect(call(N.SYS_connect, e, ADDR, 16)).toBe(-E.ECONNREFUSED);
    // The socket can try again.
    expect(call(N.SYS_connect, e, ADDR, 16)).toBe(-E.EINPROGRESS);
  });

  it('accept blocks unless the listener is O_NONBLOCK; a listener polls POLLIN when a connection waits', async () => {
    const lfd = listener(7003);
    // accept4's SOCK_NONBLOCK is for the new file; the listener's own O_NONBLOCK decides waiting.
    const pending = sys(N.SYS_accept4, lfd, 0, 0, SOCK_NONBLOCK);
    expect(typeof pending).toBe('object');
    const l2 = listener(7013);
    socketOfFile(env.task.files.get(l2)!)!.file!.flags |= SOCK_NONBLOCK;
    expect(call(N.SYS_accept4, l2, 0, 0, 0)).toBe(-E.EAGAIN);
    expect(poll(l2) & POLLIN).toBe(0);
    const c = socket();
    putAddr(LO, 7013);
    expect(await sys(N.SYS_connect, c, ADDR, 16)).toBe(0);
    expect(poll(l2) & POLLIN).toBe(POLLIN);
    expect(call(N.SYS_accept4, l2, 0, 0, 0)).toBeGreaterThanOrEqual(0);
    const d = socket();
    putAddr(LO, 7003);
    expect(await sys(N.SYS_connect, d, ADDR, 16)).toBe(0);
    expect(await pending).toBeGreaterThanOrEqual(0);
  });

  it('half-close shows as POLLRDHUP and EOF; EPIPE raises SIGPIPE unless MSG_NOSIGNAL', async () => {
    const [, c, a] = await connected(7004);
    expect(call(N.SYS_shutdown, c, 1)).toBe(0);
    await tick();
    expect(poll(a) & (POLLIN | POLLRDHUP)).toBe(POLLIN | POLLRDHUP);
    expect(recvText(a, 10)).toBe('');
    expect(await send(a, new TextEncoder().encode('late reply'))).toBe(10);
    await tick();
    expect(recvText(c, 100)).toBe('late reply');
    env.task.pending = 0n;
    expect(await send(c, new Uint8Array(3), MSG_NOSIGNAL)).toBe(-E.EPIPE);
    expect(env.task.pending & SIGPIPE_BIT).toBe(0n);
    expect(await send(c, new Uint8Array(3))).toBe(-E.EPIPE);
    expect(env.task.pending & SIGPIPE_BIT).toBe(SIGPIPE_BIT);
    env.task.pending = 0n;
  });

  it('SO_RCVTIMEO ends a blocking recv with EAGAIN', async () => {
    const [, , a] = await connected(7005);
    const tv = new Uint8Array(16);
    new DataView(tv.buffer).setUint32(8, 30_000, true);
    copyToUser(env.task.mm, OPT, tv);
    expect(call(N.SYS_setsockopt, a, SOL_SOCKET, SO_RCVTIMEO, OPT, 16)).toBe(0);
    const t0 = Date.now();
    expect(await sys(N.SYS_recvfrom, a, BUF, 10, 0, 0, 0)).toBe(-E.EAGAIN);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
  });

  it('options: TCP_NODELAY, TCP_MAXSEG, TCP_KEEPIDLE, TCP_CONGESTION, TCP_INFO, SO_KEEPALIVE, SO_RCVBUF', async () => {
    const [, c] = await connected(7006);
    expect(int(getOpt(c, IPPROTO_TCP, TCP_NODELAY))).toBe(0);
    expect(setInt(c, IPPROTO_TCP, TCP_NODELAY, 1)).toBe(0);
    expect(int(getOpt(c, IPPROTO_TCP, TCP_NODELAY))).toBe(1);
    // On lo the MSS is 65536 - 40.
    expect(int(getOpt(c, IPPROTO_TCP, TCP_MAXSEG))).toBe(65480);
    expect(setInt(c, IPPROTO_TCP, TCP_KEEPIDLE, 0)).toBe(-E.EINVAL);
    expect(setInt(c, IPPROTO_TCP, TCP_KEEPIDLE, 30)).toBe(0);
    expect(int(getOpt(c, IPPROTO_TCP, TCP_KEEPIDLE))).toBe(30);
    const cong = getOpt(c, IPPROTO_TCP, TCP_CONGESTION, 16) as Uint8Array;
    expect(new TextDecoder().decode(cong).replace(/\0+$/, '')).toBe('reno');
    copyToUser(env.task.mm, OPT, new TextEncoder().encode('cubic\0'));
    expect(call(N.SYS_setsockopt, c, IPPROTO_TCP, TCP_CONGESTION, OPT, 6)).toBe(0);
    copyToUser(env.task.mm, OPT, new TextEncoder().encode('bbr\0'));
    expect(call(N.SYS_setsockopt, c, IPPROTO_TCP, TCP_CONGESTION, OPT, 4)).toBe(-E.ENOENT);
    const info = getOpt(c, IPPROTO_TCP, TCP_INFO, 256) as Uint8Array;
    expect(info.length).toBe(248);
    expect(info[0]).toBe(TCP_ESTABLISHED);
    const dv = new DataView(info.buffer, info.byteOffset);
    expect(dv.getUint32(16, true)).toBe(65480); // snd_mss
    expect(dv.getUint32(80, true)).toBe(10); // snd_cwnd
    expect(setInt(c, SOL_SOCKET, SO_KEEPALIVE, 1)).toBe(0);
    expect(sk(c).keepOpen).toBe(true);
    expect(sk(c).keepTimer.pending).toBe(true);
    expect(setInt(c, SOL_SOCKET, SO_RCVBUF, 50_000)).toBe(0);
    expect(sk(c).rcvbuf).toBe(100_000);
    expect(setInt(c, SOL_SOCKET, SO_REUSEADDR, 1)).toBe(0);
    expect(sk(c).reuse).toBe(true);
  });

  it('bind errors: EADDRINUSE, EINVAL when bound twice, EACCES below 1024 for users', async () => {
    const a = listener(7007);
    const b = socket();
    putAddr(LO, 7007);
    expect(call(N.SYS_bind, b, ADDR, 16)).toBe(-E.EADDRINUSE);
    putAddr(LO, 7008);
    expect(call(N.SYS_bind, b, ADDR, 16)).toBe(0);
    expect(call(N.SYS_bind, b, ADDR, 16)).toBe(-E.EINVAL);
    expect(a).toBeGreaterThanOrEqual(0);
    env.task.cred.euid = 1000;
    const u = socket();
    putAddr(LO, 80);
    expect(call(N.SYS_bind, u, ADDR, 16)).toBe(-E.EACCES);
    env.task.cred.euid = 0;
  });

  it('moves 4 MiB through the system calls', async () => {
    const [, c, a] = await connected(7009);
    const total = 4 << 20;
    const src = new Uint8Array(65536);
    for (let i = 0; i < src.length; i++) src[i] = (i * 31 + 7) & 0xff;
    copyToUser(env.task.mm, BIG, src);
    let sent = 0;
    let got = 0;
    let ok = true;
    const writer = (async () => {
      while (sent < total) {
        const n = await sys(N.SYS_sendto, c, BIG, Math.min(65536, total - sent), 0, 0, 0);
        expect(n).toBeGreaterThan(0);
        sent += n;
      }
    })();
    while (got < total) {
      const n = await sys(N.SYS_recvfrom, a, BUF, 32768, 0, 0, 0);
      expect(n).toBeGreaterThan(0);
      const b = copyFromUser(env.task.mm, BUF, n) as Uint8Array;
      for (let i = 0; i < n; i++) if (b[i] !== src[(got + i) & 0xffff]) ok = false;
      got += n;
    }
    await writer;
    expect(ok).toBe(true);
    expect(got).toBe(total);
  });
});
